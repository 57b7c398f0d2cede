package awssm

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/rotorhq/rotor/shared/secretstore"
)

// EndpointEnv is the variable AWS's rotation functions read for the Secrets
// Manager endpoint. When set, it is the client's BaseEndpoint.
const EndpointEnv = "SECRETS_MANAGER_ENDPOINT"

// API is the part of *secretsmanager.Client the store uses, with the SDK's
// signatures.
type API interface {
	DescribeSecret(ctx context.Context, params *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, params *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(ctx context.Context, params *secretsmanager.UpdateSecretVersionStageInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
	GetRandomPassword(ctx context.Context, params *secretsmanager.GetRandomPasswordInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetRandomPasswordOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// Store reads and writes secrets in AWS Secrets Manager.
type Store struct {
	api API
}

// New returns a store over api.
func New(api API) *Store { return &Store{api: api} }

// NewFromConfig returns a store over a client of cfg. SECRETS_MANAGER_ENDPOINT
// is not read here; see [NewFromEnv].
func NewFromConfig(cfg aws.Config, optFns ...func(*secretsmanager.Options)) *Store {
	return New(secretsmanager.NewFromConfig(cfg, optFns...))
}

// NewFromEnv loads the SDK's default configuration (environment, shared
// files, the Lambda role) and returns a store over a client of it, with
// SECRETS_MANAGER_ENDPOINT as its endpoint when that is set. optFns are
// passed on to [config.LoadDefaultConfig].
func NewFromEnv(ctx context.Context, optFns ...func(*config.LoadOptions) error) (*Store, error) {
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return nil, fmt.Errorf("awssm: load AWS config: %w", err)
	}
	endpoint := os.Getenv(EndpointEnv)
	return NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// Describe returns the secret's ARN, name, rotation flag and versions
// (DescribeSecret). A secret that does not exist, or is scheduled for
// deletion, is [secretstore.ErrNotFound].
func (s *Store) Describe(ctx context.Context, secretID string) (secretstore.Description, error) {
	out, err := s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		return secretstore.Description{}, wrap(err, "describe secret %s", secretID)
	}
	if out.DeletedDate != nil {
		return secretstore.Description{}, fmt.Errorf("awssm: describe secret %s: %w: scheduled for deletion", secretID, secretstore.ErrNotFound)
	}
	return description(out), nil
}

func description(out *secretsmanager.DescribeSecretOutput) secretstore.Description {
	d := secretstore.Description{
		ARN:             aws.ToString(out.ARN),
		Name:            aws.ToString(out.Name),
		RotationEnabled: aws.ToBool(out.RotationEnabled),
		Versions:        make(map[string][]string, len(out.VersionIdsToStages)),
	}
	for id, stages := range out.VersionIdsToStages {
		d.Versions[id] = append([]string(nil), stages...)
	}
	if out.LastRotatedDate != nil {
		d.LastRotated = out.LastRotatedDate.UTC()
	}
	return d
}

// Value returns the value of the version (GetSecretValue by VersionId):
// SecretString, or SecretBinary when the secret is binary. A version that
// does not exist or has no value yet is [secretstore.ErrVersionNotFound], and
// so is a secret that does not exist: the service answers both with
// ResourceNotFoundException, and the engine has described the secret already.
func (s *Store) Value(ctx context.Context, secretID, versionID string) ([]byte, error) {
	v, err := s.Version(ctx, secretID, versionID)
	return v.Value, err
}

// CurrentValue returns the AWSCURRENT value; [secretstore.ErrNotFound] when
// the secret does not exist.
func (s *Store) CurrentValue(ctx context.Context, secretID string) ([]byte, error) {
	v, err := s.Current(ctx, secretID)
	return v.Value, err
}

// Version reads the version by id with its staging labels (GetSecretValue
// by VersionId, whose answer carries VersionStages), with the errors of
// [Store.Value].
func (s *Store) Version(ctx context.Context, secretID, versionID string) (secretstore.Version, error) {
	if versionID == "" {
		return secretstore.Version{}, fmt.Errorf("awssm: get secret value %s: %w: empty version id", secretID, secretstore.ErrInvalidRequest)
	}
	return s.read(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID), VersionId: aws.String(versionID)},
		"version "+versionID, secretstore.ErrVersionNotFound)
}

// Current reads the AWSCURRENT version: its id, labels and value
// (GetSecretValue by VersionStage), with the errors of [Store.CurrentValue].
func (s *Store) Current(ctx context.Context, secretID string) (secretstore.Version, error) {
	return s.read(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID), VersionStage: aws.String(secretstore.Current)},
		secretstore.Current, secretstore.ErrNotFound)
}

// read reads a version; notFound is the sentinel for
// ResourceNotFoundException.
func (s *Store) read(ctx context.Context, in *secretsmanager.GetSecretValueInput, what string, notFound error) (secretstore.Version, error) {
	secretID := aws.ToString(in.SecretId)
	out, err := s.api.GetSecretValue(ctx, in)
	if err == nil {
		v := secretstore.Version{
			ARN: aws.ToString(out.ARN), Name: aws.ToString(out.Name), ID: aws.ToString(out.VersionId),
			Stages: append([]string(nil), out.VersionStages...), Value: out.SecretBinary,
		}
		if out.SecretString != nil {
			v.Value = []byte(*out.SecretString)
		}
		return v, nil
	}
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return secretstore.Version{}, fmt.Errorf("awssm: get secret value %s %s: %w: %w", secretID, what, notFound, err)
	}
	return secretstore.Version{}, wrap(err, "get secret value %s %s", secretID, what)
}

// PutPending stores the value as version p.VersionID with AWSPENDING
// (PutSecretValue with ClientRequestToken, SecretString and
// VersionStages=[AWSPENDING]). The same value again succeeds; another value
// is [secretstore.ErrVersionExists].
func (s *Store) PutPending(ctx context.Context, p secretstore.PendingValue) error {
	if p.VersionID == "" {
		// The SDK would invent a token, and the version would not be the
		// rotation's.
		return fmt.Errorf("awssm: put pending value %s: %w: empty version id", p.SecretID, secretstore.ErrInvalidRequest)
	}
	in := &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(p.SecretID),
		ClientRequestToken: aws.String(p.VersionID),
		SecretString:       aws.String(string(p.Value)),
		VersionStages:      []string{secretstore.Pending},
	}
	if p.RotationToken != "" {
		in.RotationToken = aws.String(p.RotationToken)
	}
	if _, err := s.api.PutSecretValue(ctx, in); err != nil {
		return wrap(err, "put pending value %s version %s", p.SecretID, p.VersionID)
	}
	return nil
}

// MoveStage moves the label to m.ToVersion (UpdateSecretVersionStage),
// with RemoveFromVersionId = m.FromVersion when that is another version;
// with no ToVersion, it removes the label from m.FromVersion.
func (s *Store) MoveStage(ctx context.Context, m secretstore.StageMove) error {
	in := &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:     aws.String(m.SecretID),
		VersionStage: aws.String(m.Stage),
	}
	if m.ToVersion != "" {
		in.MoveToVersionId = aws.String(m.ToVersion)
	}
	if m.FromVersion != "" && m.FromVersion != m.ToVersion {
		in.RemoveFromVersionId = aws.String(m.FromVersion)
	}
	if _, err := s.api.UpdateSecretVersionStage(ctx, in); err != nil {
		return wrap(err, "move stage %s of %s to version %s", m.Stage, m.SecretID, m.ToVersion)
	}
	return nil
}

// RandomPassword asks GetRandomPassword for a password. A zero Length
// leaves the length to the service (32).
func (s *Store) RandomPassword(ctx context.Context, spec secretstore.PasswordSpec) (string, error) {
	in := &secretsmanager.GetRandomPasswordInput{RequireEachIncludedType: aws.Bool(spec.RequireEachIncludedType)}
	if spec.Length != 0 {
		in.PasswordLength = aws.Int64(int64(spec.Length))
	}
	if spec.ExcludeCharacters != "" {
		in.ExcludeCharacters = aws.String(spec.ExcludeCharacters)
	}
	out, err := s.api.GetRandomPassword(ctx, in)
	if err != nil {
		return "", wrap(err, "get random password")
	}
	return aws.ToString(out.RandomPassword), nil
}

// wrap maps Secrets Manager's modelled errors to secretstore's sentinels,
// keeping err in the chain. The messages of Secrets Manager's errors name
// secrets and versions, never values.
func wrap(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	var (
		notFound *types.ResourceNotFoundException
		exists   *types.ResourceExistsException
		invReq   *types.InvalidRequestException
		invParam *types.InvalidParameterException
		apiErr   smithy.APIError
	)
	var sentinel error
	switch {
	case errors.As(err, &notFound):
		sentinel = secretstore.ErrNotFound
	case errors.As(err, &exists):
		sentinel = secretstore.ErrVersionExists
	case errors.As(err, &invReq), errors.As(err, &invParam):
		sentinel = secretstore.ErrInvalidRequest
	case errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationException":
		// A request that breaks the API's constraints (a length, a
		// pattern) is not modelled; it is invalid all the same.
		sentinel = secretstore.ErrInvalidRequest
	default:
		return fmt.Errorf("awssm: %s: %w", what, err)
	}
	return fmt.Errorf("awssm: %s: %w: %w", what, sentinel, err)
}

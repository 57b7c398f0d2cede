package storetest

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor/shared/secretstore/awssm"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
)

// MemTarget runs the scenarios on a memstore.
func MemTarget(name string, s *memstore.Store) Target {
	return Target{Name: name, Store: s, Admin: memAdmin{s}}
}

// SDKClient is the part of *secretsmanager.Client the scenarios use.
type SDKClient interface {
	awssm.API
	CreateSecret(ctx context.Context, params *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
}

// SDKTarget runs the scenarios through the SDK: the admin calls on the
// client, the engine's calls through awssm. moto says whether the endpoint
// is moto_server.
func SDKTarget(name string, client SDKClient, moto bool) Target {
	return Target{Name: name, Store: awssm.New(client), Admin: sdkAdmin{client}, Moto: moto}
}

type memAdmin struct{ s *memstore.Store }

func (a memAdmin) CreateSecret(ctx context.Context, name, token string, value *string) (string, error) {
	out, err := a.s.CreateSecret(ctx, memstore.CreateSecretInput{Name: name, ClientRequestToken: token, SecretString: value})
	return out.ARN, err
}

func (a memAdmin) PutSecretValue(ctx context.Context, secretID, token, value string, stages []string) error {
	_, err := a.s.PutSecretValue(ctx, memstore.PutSecretValueInput{SecretID: secretID, ClientRequestToken: token, SecretString: &value, VersionStages: stages})
	return err
}

func (a memAdmin) UpdateSecretVersionStage(ctx context.Context, secretID, stage, moveTo, removeFrom string) error {
	_, err := a.s.UpdateSecretVersionStage(ctx, memstore.UpdateSecretVersionStageInput{SecretID: secretID, VersionStage: stage, MoveToVersionID: moveTo, RemoveFromVersionID: removeFrom})
	return err
}

func (a memAdmin) GetSecretValue(ctx context.Context, secretID, versionID, stage string) (string, error) {
	out, err := a.s.GetSecretValue(ctx, memstore.GetSecretValueInput{SecretID: secretID, VersionID: versionID, VersionStage: stage})
	return string(out.Value()), err
}

func (a memAdmin) VersionStages(ctx context.Context, secretID string) (map[string][]string, error) {
	out, err := a.s.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: secretID})
	return out.VersionIDsToStages, err
}

func (a memAdmin) GetRandomPassword(ctx context.Context, in memstore.GetRandomPasswordInput) (string, error) {
	out, err := a.s.GetRandomPassword(ctx, in)
	return out.RandomPassword, err
}

type sdkAdmin struct{ c SDKClient }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func (a sdkAdmin) CreateSecret(ctx context.Context, name, token string, value *string) (string, error) {
	out, err := a.c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), ClientRequestToken: optional(token), SecretString: value})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ARN), nil
}

func (a sdkAdmin) PutSecretValue(ctx context.Context, secretID, token, value string, stages []string) error {
	_, err := a.c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(secretID), ClientRequestToken: optional(token), SecretString: aws.String(value), VersionStages: stages})
	return err
}

func (a sdkAdmin) UpdateSecretVersionStage(ctx context.Context, secretID, stage, moveTo, removeFrom string) error {
	_, err := a.c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(secretID), VersionStage: aws.String(stage), MoveToVersionId: optional(moveTo), RemoveFromVersionId: optional(removeFrom)})
	return err
}

func (a sdkAdmin) GetSecretValue(ctx context.Context, secretID, versionID, stage string) (string, error) {
	out, err := a.c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID), VersionId: optional(versionID), VersionStage: optional(stage)})
	if err != nil {
		return "", err
	}
	if out.SecretString != nil {
		return *out.SecretString, nil
	}
	return string(out.SecretBinary), nil
}

func (a sdkAdmin) VersionStages(ctx context.Context, secretID string) (map[string][]string, error) {
	out, err := a.c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		return nil, err
	}
	return out.VersionIdsToStages, nil
}

func (a sdkAdmin) GetRandomPassword(ctx context.Context, in memstore.GetRandomPasswordInput) (string, error) {
	req := &secretsmanager.GetRandomPasswordInput{
		ExcludeCharacters:       optional(in.ExcludeCharacters),
		RequireEachIncludedType: in.RequireEachIncludedType,
	}
	if in.PasswordLength != nil {
		req.PasswordLength = aws.Int64(int64(*in.PasswordLength))
	}
	for _, f := range []struct {
		set bool
		dst **bool
	}{
		{in.ExcludeNumbers, &req.ExcludeNumbers},
		{in.ExcludePunctuation, &req.ExcludePunctuation},
		{in.ExcludeUppercase, &req.ExcludeUppercase},
		{in.ExcludeLowercase, &req.ExcludeLowercase},
		{in.IncludeSpace, &req.IncludeSpace},
	} {
		if f.set {
			*f.dst = aws.Bool(true)
		}
	}
	out, err := a.c.GetRandomPassword(ctx, req)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.RandomPassword), nil
}

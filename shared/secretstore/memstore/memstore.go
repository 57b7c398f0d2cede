package memstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rotorhq/rotor/shared/secretstore"
)

// Defaults of a new [Store]: the account and region moto and the AWS
// documentation examples use.
const (
	DefaultAccountID = "123456789012"
	DefaultRegion    = "us-east-1"
)

// Limits of Secrets Manager that the store enforces.
const (
	// MaxValueSize is the largest SecretString or SecretBinary, in bytes.
	MaxValueSize = 65536
	// MaxVersions is the number of versions above which deprecated
	// versions (no staging label) older than [DeprecatedVersionAge] are
	// removed, oldest first.
	MaxVersions = 100
	// DeprecatedVersionAge is how long a deprecated version is kept at
	// least.
	DeprecatedVersionAge = 24 * time.Hour
	// MaxStagesPerVersion is the number of labels a version may carry.
	MaxStagesPerVersion = 20
)

// Store is an in-memory Secrets Manager. The zero value is not usable; call
// [New].
type Store struct {
	mu sync.Mutex

	now       func() time.Time
	versionID func() string
	suffix    func() string
	accountID string
	region    string

	// secrets by name.
	secrets map[string]*secret
}

type secret struct {
	arn             string
	name            string
	description     string
	rotationEnabled bool
	created         time.Time
	lastChanged     time.Time
	// deleted is when DeleteSecret was called; deletion is when the secret
	// goes for good. Both zero unless the secret is scheduled for deletion.
	deleted  time.Time
	deletion time.Time
	// versions in the order they were created.
	versions []*version

	kmsKeyID string
	tags     []Tag // in the order they were first set
	rotation Rotation
}

type version struct {
	id       string
	stages   []string // sorted
	created  time.Time
	hasValue bool
	binary   bool
	value    []byte
}

// Option configures a [Store].
type Option func(*Store)

// WithClock sets the store's clock (default [time.Now]).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithVersionIDs sets the generator of version ids for requests that bring
// no ClientRequestToken (default: random UUIDs).
func WithVersionIDs(next func() string) Option { return func(s *Store) { s.versionID = next } }

// WithARNSuffixes sets the generator of the six characters Secrets Manager
// appends to a secret's name in its ARN (default: random letters and digits).
func WithARNSuffixes(next func() string) Option { return func(s *Store) { s.suffix = next } }

// WithAccountID sets the account id of ARNs (default [DefaultAccountID]).
func WithAccountID(id string) Option { return func(s *Store) { s.accountID = id } }

// WithRegion sets the region of ARNs (default [DefaultRegion]).
func WithRegion(region string) Option { return func(s *Store) { s.region = region } }

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		now:       time.Now,
		versionID: uuid.NewString,
		suffix:    randomSuffix,
		accountID: DefaultAccountID,
		region:    DefaultRegion,
		secrets:   map[string]*secret{},
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// ARNPrefix returns the ARN of a secret named name, without the suffix of
// six random characters: a partial ARN.
func (s *Store) ARNPrefix(name string) string {
	return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s", s.region, s.accountID, name)
}

func randomSuffix() string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

// stamp reads the clock, without monotonic reading or location, so that
// state compares equal after a JSON round trip.
func (s *Store) stamp() time.Time { return s.now().UTC().Round(0) }

// lookup finds a secret by name, ARN or partial ARN. A secret whose
// scheduled deletion has passed is removed first. The caller holds mu.
func (s *Store) lookup(secretID string) (*secret, error) {
	if secretID == "" {
		return nil, errValidation("Value null at 'secretId' failed to satisfy constraint: Member must not be null")
	}
	sec := s.secrets[secretID]
	if sec == nil && strings.HasPrefix(secretID, "arn:") {
		for _, c := range s.secrets {
			if c.arn == secretID {
				sec = c
				break
			}
		}
		if prefix := s.ARNPrefix(""); sec == nil && strings.HasPrefix(secretID, prefix) {
			sec = s.secrets[strings.TrimPrefix(secretID, prefix)]
		}
	}
	if sec == nil {
		return nil, errSecretNotFound()
	}
	if !sec.deletion.IsZero() && !s.stamp().Before(sec.deletion) {
		delete(s.secrets, sec.name)
		return nil, errSecretNotFound()
	}
	return sec, nil
}

// live is lookup for operations refused on a secret marked for deletion.
func (s *Store) live(secretID string) (*secret, error) {
	sec, err := s.lookup(secretID)
	if err != nil {
		return nil, err
	}
	if !sec.deleted.IsZero() {
		return nil, errMarkedDeleted()
	}
	return sec, nil
}

func (sec *secret) version(id string) *version {
	for _, v := range sec.versions {
		if v.id == id {
			return v
		}
	}
	return nil
}

func (sec *secret) withStage(stage string) *version {
	for _, v := range sec.versions {
		if v.has(stage) {
			return v
		}
	}
	return nil
}

func (v *version) has(stage string) bool { return slices.Contains(v.stages, stage) }

func (v *version) add(stage string) {
	if !v.has(stage) {
		v.stages = append(v.stages, stage)
		slices.Sort(v.stages)
	}
}

func (v *version) remove(stage string) {
	v.stages = slices.DeleteFunc(v.stages, func(s string) bool { return s == stage })
}

// attach puts the label on v, taking it off the version that had it. When
// AWSCURRENT moves, the version it leaves gets AWSPREVIOUS.
func (sec *secret) attach(stage string, v *version) {
	if v.has(stage) {
		return
	}
	old := sec.withStage(stage)
	if old != nil {
		old.remove(stage)
	}
	v.add(stage)
	if stage == secretstore.Current && old != nil {
		sec.attach(secretstore.Previous, old)
	}
}

// prune removes deprecated versions as Secrets Manager does: only above
// MaxVersions versions, only those older than DeprecatedVersionAge, oldest
// first.
func (sec *secret) prune(now time.Time) {
	for len(sec.versions) > MaxVersions {
		i := slices.IndexFunc(sec.versions, func(v *version) bool {
			return len(v.stages) == 0 && now.Sub(v.created) >= DeprecatedVersionAge
		})
		if i < 0 {
			return
		}
		sec.versions = slices.Delete(sec.versions, i, i+1)
	}
}

func (sec *secret) stagesByVersion() map[string][]string {
	out := map[string][]string{}
	for _, v := range sec.versions {
		if len(v.stages) > 0 {
			out[v.id] = slices.Clone(v.stages)
		}
	}
	return out
}

func validToken(token string) error {
	if token != "" && (len(token) < 32 || len(token) > 64) {
		return errValidation("Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64")
	}
	return nil
}

func validStages(stages []string) error {
	if len(stages) > MaxStagesPerVersion {
		return errValidation("Value at 'versionStages' failed to satisfy constraint: Member must have length less than or equal to %d", MaxStagesPerVersion)
	}
	for _, st := range stages {
		if st == "" || len(st) > 256 {
			return errValidation("Value at 'versionStages' failed to satisfy constraint: Member must have length between 1 and 256")
		}
	}
	return nil
}

func validName(name string) error {
	if name == "" || len(name) > 512 {
		return errValidation("Value at 'name' failed to satisfy constraint: Member must have length between 1 and 512")
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+=.@-", r)
		if !ok {
			return errInvalidParameter("Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
		}
	}
	return nil
}

// secretValue checks SecretString and SecretBinary and returns the value as
// bytes; ok is false when neither is set.
func secretValue(str *string, bin []byte) (value []byte, binary, ok bool, err error) {
	switch {
	case str != nil && bin != nil:
		return nil, false, false, errInvalidParameter(msgBothValues)
	case str != nil:
		value = []byte(*str)
	case bin != nil:
		value, binary = bytes.Clone(bin), true
	default:
		return nil, false, false, nil
	}
	if len(value) > MaxValueSize {
		return nil, false, false, errValidation("Value at 'secretString' or 'secretBinary' failed to satisfy constraint: Member must have length less than or equal to %d", MaxValueSize)
	}
	return value, binary, true, nil
}

// CreateSecretInput is CreateSecret's request.
type CreateSecretInput struct {
	Name        string
	Description string
	// ClientRequestToken is the id of the first version; empty means a
	// generated one. Repeating a CreateSecret with the same token and value
	// succeeds and changes nothing.
	ClientRequestToken string
	// At most one of SecretString and SecretBinary; with neither the secret
	// has no version until the first PutSecretValue.
	SecretString *string
	SecretBinary []byte
	// KmsKeyID is recorded and reported; the store encrypts nothing.
	KmsKeyID string
	Tags     []Tag
}

// CreateSecretOutput is CreateSecret's response.
type CreateSecretOutput struct {
	ARN       string
	Name      string
	VersionID string // empty when the secret was created without a value
}

// CreateSecret creates a secret; its first version, if a value is given,
// gets AWSCURRENT.
func (s *Store) CreateSecret(ctx context.Context, in CreateSecretInput) (CreateSecretOutput, error) {
	if err := ctx.Err(); err != nil {
		return CreateSecretOutput{}, err
	}
	if err := validName(in.Name); err != nil {
		return CreateSecretOutput{}, err
	}
	if err := validToken(in.ClientRequestToken); err != nil {
		return CreateSecretOutput{}, err
	}
	value, binary, hasValue, err := secretValue(in.SecretString, in.SecretBinary)
	if err != nil {
		return CreateSecretOutput{}, err
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return CreateSecretOutput{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, err := s.lookup(in.Name); err == nil {
		if !old.deleted.IsZero() {
			return CreateSecretOutput{}, errInvalidRequest(msgScheduledDeletion)
		}
		// The same request again (same token, same value) is a retry.
		if v := old.version(in.ClientRequestToken); v != nil && in.ClientRequestToken != "" &&
			v.hasValue && hasValue && v.binary == binary && bytes.Equal(v.value, value) {
			return CreateSecretOutput{ARN: old.arn, Name: old.name, VersionID: v.id}, nil
		}
		return CreateSecretOutput{}, &APIError{Code: CodeResourceExists, Message: fmt.Sprintf(msgSecretExists, in.Name), Err: ErrSecretExists}
	}
	now := s.stamp()
	sec := &secret{
		arn:         s.ARNPrefix(in.Name) + "-" + s.suffix(),
		name:        in.Name,
		description: in.Description,
		created:     now,
		lastChanged: now,
		kmsKeyID:    in.KmsKeyID,
		tags:        tags,
	}
	out := CreateSecretOutput{ARN: sec.arn, Name: sec.name}
	if hasValue {
		id := in.ClientRequestToken
		if id == "" {
			id = s.versionID()
		}
		sec.versions = []*version{{id: id, stages: []string{secretstore.Current}, created: now, hasValue: true, binary: binary, value: value}}
		out.VersionID = id
	}
	s.secrets[sec.name] = sec
	return out, nil
}

// PutSecretValueInput is PutSecretValue's request.
type PutSecretValueInput struct {
	SecretID string
	// ClientRequestToken is the new version's id; empty means a generated
	// one.
	ClientRequestToken string
	// Exactly one of SecretString and SecretBinary.
	SecretString *string
	SecretBinary []byte
	// VersionStages to attach to the version; nil or empty means
	// [AWSCURRENT].
	VersionStages []string
	// RotationToken is accepted and not checked: the store runs no Lambda
	// whose identity it could check.
	RotationToken string
}

// PutSecretValueOutput is PutSecretValue's response.
type PutSecretValueOutput struct {
	ARN           string
	Name          string
	VersionID     string
	VersionStages []string
}

// PutSecretValue stores a value as a version of the secret.
//
// A token naming a version that has the same value is a retry: it succeeds
// and changes nothing. A token naming a version with another value fails
// with ResourceExistsException ([secretstore.ErrVersionExists]). A token
// naming a version that has no value yet (a rotation started by
// [Store.StartRotation]) gives that version its value.
//
// Each label of VersionStages is moved to the version from whichever version
// had it; when AWSCURRENT moves, the version that had it gets AWSPREVIOUS.
// The first version of a secret always gets AWSCURRENT.
func (s *Store) PutSecretValue(ctx context.Context, in PutSecretValueInput) (PutSecretValueOutput, error) {
	if err := ctx.Err(); err != nil {
		return PutSecretValueOutput{}, err
	}
	if err := validToken(in.ClientRequestToken); err != nil {
		return PutSecretValueOutput{}, err
	}
	if err := validStages(in.VersionStages); err != nil {
		return PutSecretValueOutput{}, err
	}
	value, binary, hasValue, err := secretValue(in.SecretString, in.SecretBinary)
	if err != nil {
		return PutSecretValueOutput{}, err
	}
	if !hasValue {
		return PutSecretValueOutput{}, errInvalidParameter(msgNoValue)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(in.SecretID)
	if err != nil {
		return PutSecretValueOutput{}, err
	}
	return s.put(sec, in.ClientRequestToken, value, binary, in.VersionStages)
}

// put stores a value as the version token of sec, with PutSecretValue's
// rules. The caller holds mu and has checked the token, value and stages.
func (s *Store) put(sec *secret, token string, value []byte, binary bool, versionStages []string) (PutSecretValueOutput, error) {
	if token == "" {
		token = s.versionID()
	}
	now := s.stamp()
	first := len(sec.versions) == 0
	v := sec.version(token)
	switch {
	case v != nil && v.hasValue:
		if v.binary == binary && bytes.Equal(v.value, value) {
			return PutSecretValueOutput{ARN: sec.arn, Name: sec.name, VersionID: v.id, VersionStages: slices.Clone(v.stages)}, nil
		}
		return PutSecretValueOutput{}, errTokenInUse(token, sec.arn)
	case v != nil:
		v.hasValue, v.binary, v.value = true, binary, value
	default:
		v = &version{id: token, created: now, hasValue: true, binary: binary, value: value}
		sec.versions = append(sec.versions, v)
	}
	stages := slices.Clone(versionStages)
	if len(stages) == 0 || first {
		stages = append(stages, secretstore.Current)
	}
	for _, st := range stages {
		sec.attach(st, v)
	}
	sec.lastChanged = now
	sec.prune(now)
	return PutSecretValueOutput{ARN: sec.arn, Name: sec.name, VersionID: v.id, VersionStages: slices.Clone(v.stages)}, nil
}

// GetSecretValueInput is GetSecretValue's request. With neither VersionID
// nor VersionStage, the AWSCURRENT version is read.
type GetSecretValueInput struct {
	SecretID     string
	VersionID    string
	VersionStage string
}

// GetSecretValueOutput is GetSecretValue's response. Exactly one of
// SecretString and SecretBinary is set.
type GetSecretValueOutput struct {
	ARN           string
	Name          string
	VersionID     string
	VersionStages []string
	SecretString  *string
	SecretBinary  []byte
	CreatedDate   time.Time
}

// Value returns the value as bytes, whichever field holds it.
func (o GetSecretValueOutput) Value() []byte {
	if o.SecretString != nil {
		return []byte(*o.SecretString)
	}
	return o.SecretBinary
}

// GetSecretValue reads a version's value. A version that does not exist, or
// that has no value yet, is ResourceNotFoundException
// ([secretstore.ErrVersionNotFound]).
func (s *Store) GetSecretValue(ctx context.Context, in GetSecretValueInput) (GetSecretValueOutput, error) {
	if err := ctx.Err(); err != nil {
		return GetSecretValueOutput{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(in.SecretID)
	if err != nil {
		return GetSecretValueOutput{}, err
	}
	kind, id := "VersionId", in.VersionID
	var v *version
	if in.VersionID != "" {
		v = sec.version(in.VersionID)
		if v != nil && in.VersionStage != "" && !v.has(in.VersionStage) {
			return GetSecretValueOutput{}, errInvalidRequest(msgStageMismatch)
		}
	} else {
		kind, id = "staging label", in.VersionStage
		if id == "" {
			id = secretstore.Current
		}
		v = sec.withStage(id)
	}
	if v == nil || !v.hasValue {
		return GetSecretValueOutput{}, errValueNotFound(kind, id)
	}
	out := GetSecretValueOutput{ARN: sec.arn, Name: sec.name, VersionID: v.id, VersionStages: slices.Clone(v.stages), CreatedDate: v.created}
	if v.binary {
		out.SecretBinary = bytes.Clone(v.value)
	} else {
		str := string(v.value)
		out.SecretString = &str
	}
	return out, nil
}

// UpdateSecretVersionStageInput is UpdateSecretVersionStage's request.
type UpdateSecretVersionStageInput struct {
	SecretID     string
	VersionStage string
	// MoveToVersionID gets the label; empty means the label is only
	// removed.
	MoveToVersionID string
	// RemoveFromVersionID must name the version that has the label when
	// that is another version than MoveToVersionID.
	RemoveFromVersionID string
}

// UpdateSecretVersionStageOutput is UpdateSecretVersionStage's response.
type UpdateSecretVersionStageOutput struct {
	ARN  string
	Name string
}

// UpdateSecretVersionStage moves or removes a staging label.
//
// Moving a label that another version carries needs RemoveFromVersionID to
// name that version; otherwise the request fails with
// InvalidParameterException ([secretstore.ErrInvalidRequest]). Moving a
// label to the version that has it already changes nothing. Moving
// AWSCURRENT gives AWSPREVIOUS to the version it left. A label may be
// removed without being moved, except AWSCURRENT: a secret always keeps a
// current version.
func (s *Store) UpdateSecretVersionStage(ctx context.Context, in UpdateSecretVersionStageInput) (UpdateSecretVersionStageOutput, error) {
	if err := ctx.Err(); err != nil {
		return UpdateSecretVersionStageOutput{}, err
	}
	if in.VersionStage == "" || len(in.VersionStage) > 256 {
		return UpdateSecretVersionStageOutput{}, errValidation("Value at 'versionStage' failed to satisfy constraint: Member must have length between 1 and 256")
	}
	if in.MoveToVersionID == "" && in.RemoveFromVersionID == "" {
		return UpdateSecretVersionStageOutput{}, errInvalidParameter("You must specify MoveToVersionId, RemoveFromVersionId, or both.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(in.SecretID)
	if err != nil {
		return UpdateSecretVersionStageOutput{}, err
	}
	var to, from *version
	if in.MoveToVersionID != "" {
		if to = sec.version(in.MoveToVersionID); to == nil {
			return UpdateSecretVersionStageOutput{}, errInvalidParameter("Not a valid version: %s", in.MoveToVersionID)
		}
	}
	if in.RemoveFromVersionID != "" {
		if from = sec.version(in.RemoveFromVersionID); from == nil {
			return UpdateSecretVersionStageOutput{}, errInvalidParameter("Not a valid version: %s", in.RemoveFromVersionID)
		}
		if !from.has(in.VersionStage) {
			return UpdateSecretVersionStageOutput{}, errInvalidParameter("Version stage %s not found in version %s", in.VersionStage, in.RemoveFromVersionID)
		}
	}
	out := UpdateSecretVersionStageOutput{ARN: sec.arn, Name: sec.name}
	if to == nil {
		if in.VersionStage == secretstore.Current {
			return UpdateSecretVersionStageOutput{}, errInvalidParameter("You can't remove the staging label AWSCURRENT from version %s without moving it to another version with MoveToVersionId.", from.id)
		}
		from.remove(in.VersionStage)
	} else {
		// from, when set, carries the label, so it is the holder.
		if holder := sec.withStage(in.VersionStage); holder != nil && holder != to && from == nil {
			return UpdateSecretVersionStageOutput{}, errInvalidParameter(msgRemoveFromNeeded, in.VersionStage, holder.id)
		}
		sec.attach(in.VersionStage, to)
	}
	now := s.stamp()
	sec.lastChanged = now
	sec.prune(now)
	return out, nil
}

// DescribeSecretInput is DescribeSecret's request.
type DescribeSecretInput struct {
	SecretID string
}

// DescribeSecretOutput is DescribeSecret's response.
type DescribeSecretOutput struct {
	ARN             string
	Name            string
	Description     string
	RotationEnabled bool
	CreatedDate     time.Time
	LastChangedDate time.Time
	// DeletedDate is set when the secret is scheduled for deletion.
	DeletedDate *time.Time
	// VersionIDsToStages lists the versions that carry a staging label,
	// including a version a rotation has started that has no value yet.
	// Deprecated versions (no label) are not listed, as in AWS.
	VersionIDsToStages map[string][]string

	KmsKeyID string
	Tags     []Tag
	// Rotation is the rotation configuration RotateSecret recorded.
	Rotation Rotation
}

// DescribeSecret describes the secret and its labelled versions. It answers
// for a secret scheduled for deletion too.
func (s *Store) DescribeSecret(ctx context.Context, in DescribeSecretInput) (DescribeSecretOutput, error) {
	if err := ctx.Err(); err != nil {
		return DescribeSecretOutput{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(in.SecretID)
	if err != nil {
		return DescribeSecretOutput{}, err
	}
	out := DescribeSecretOutput{
		ARN:                sec.arn,
		Name:               sec.name,
		Description:        sec.description,
		RotationEnabled:    sec.rotationEnabled,
		CreatedDate:        sec.created,
		LastChangedDate:    sec.lastChanged,
		VersionIDsToStages: sec.stagesByVersion(),
		KmsKeyID:           sec.kmsKeyID,
		Tags:               slices.Clone(sec.tags),
		Rotation:           sec.rotation,
	}
	if !sec.deleted.IsZero() {
		d := sec.deleted
		out.DeletedDate = &d
	}
	return out, nil
}

// ListSecretVersionIDsInput is ListSecretVersionIds's request.
type ListSecretVersionIDsInput struct {
	SecretID string
	// IncludeDeprecated lists versions without a staging label too.
	IncludeDeprecated bool
}

// ListSecretVersionIDsOutput is ListSecretVersionIds's response. Versions
// are in the order they were created.
type ListSecretVersionIDsOutput struct {
	ARN      string
	Name     string
	Versions []SecretVersion
}

// SecretVersion is one entry of ListSecretVersionIds.
type SecretVersion struct {
	VersionID     string
	VersionStages []string
	CreatedDate   time.Time
}

// ListSecretVersionIDs lists the secret's versions (one page: the store
// never holds more than Secrets Manager keeps).
func (s *Store) ListSecretVersionIDs(ctx context.Context, in ListSecretVersionIDsInput) (ListSecretVersionIDsOutput, error) {
	if err := ctx.Err(); err != nil {
		return ListSecretVersionIDsOutput{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(in.SecretID)
	if err != nil {
		return ListSecretVersionIDsOutput{}, err
	}
	out := ListSecretVersionIDsOutput{ARN: sec.arn, Name: sec.name}
	for _, v := range sec.versions {
		if len(v.stages) > 0 || in.IncludeDeprecated {
			out.Versions = append(out.Versions, SecretVersion{VersionID: v.id, VersionStages: slices.Clone(v.stages), CreatedDate: v.created})
		}
	}
	return out, nil
}

// StartRotation starts a rotation as RotateSecret does before it invokes
// the rotation function: it enables rotation and attaches AWSPENDING to a
// new version with id token (a generated one when token is empty) that has
// no value yet, so that GetSecretValue on it fails with
// [secretstore.ErrVersionNotFound] until createSecret stores one.
//
// A rotation is incomplete while AWSPENDING is on a version other than the
// AWSCURRENT one; StartRotation then refuses with InvalidRequestException
// ([secretstore.ErrInvalidRequest]), unless token names the pending version
// itself: that is a retry of the same request, and it returns the version
// and changes nothing.
func (s *Store) StartRotation(ctx context.Context, secretID, token string) (versionID string, err error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := validToken(token); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(secretID)
	if err != nil {
		return "", err
	}
	if v := sec.version(token); token != "" && v != nil {
		if v.has(secretstore.Pending) {
			return v.id, nil
		}
		return "", errTokenInUse(token, sec.arn)
	}
	if _, err := sec.rotatable(); err != nil {
		return "", err
	}
	if token == "" {
		token = s.versionID()
	}
	now := s.stamp()
	v := &version{id: token, created: now}
	sec.versions = append(sec.versions, v)
	sec.startPending(v, now)
	return token, nil
}

// rotatable returns the AWSCURRENT version of a secret that RotateSecret
// may start a rotation or a configuration test on: it has one, and no
// rotation is incomplete (AWSPENDING on another version).
func (sec *secret) rotatable() (current *version, err error) {
	current = sec.withStage(secretstore.Current)
	if current == nil {
		return nil, errInvalidRequest("You can't rotate secret %s because it has no AWSCURRENT version.", sec.name)
	}
	if p := sec.withStage(secretstore.Pending); p != nil && p != current {
		return nil, errInvalidRequest(msgRotationPending)
	}
	return current, nil
}

// startPending attaches AWSPENDING to v, the version of a rotation or a
// configuration test, and turns rotation on, as RotateSecret does.
func (sec *secret) startPending(v *version, now time.Time) {
	sec.attach(secretstore.Pending, v)
	sec.rotationEnabled = true
	sec.lastChanged = now
	sec.prune(now)
}

// StartConfigurationTest starts the configuration test of RotateSecret
// with RotateImmediately=false, which runs testSecret alone: "The test
// creates an AWSPENDING version of the secret and then removes it" (API
// reference, RotateImmediately). It enables rotation and attaches
// AWSPENDING to a new version with id token (a generated one when token is
// empty) that holds a copy of the AWSCURRENT value, so that a rotation
// function's testSecret, which reads the AWSPENDING version of its token
// (as AWS's own functions do), tests the credential in use. The caller
// removes the label afterwards with [Store.UpdateSecretVersionStage].
//
// It refuses with InvalidRequestException ([secretstore.ErrInvalidRequest])
// while a rotation is incomplete (AWSPENDING on a version other than the
// AWSCURRENT one), whatever the token. A token naming a version that has no
// label and holds the AWSCURRENT value is a retry of the same request: the
// label goes back on that version. Any other existing version's token fails
// with ResourceExistsException ([secretstore.ErrVersionExists]).
func (s *Store) StartConfigurationTest(ctx context.Context, secretID, token string) (versionID string, err error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := validToken(token); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(secretID)
	if err != nil {
		return "", err
	}
	current, err := sec.rotatable()
	if err != nil {
		return "", err
	}
	v := sec.version(token)
	switch {
	case token != "" && v != nil:
		same := len(v.stages) == 0 && v.hasValue && v.binary == current.binary && bytes.Equal(v.value, current.value)
		if !same {
			return "", errTokenInUse(token, sec.arn)
		}
	default:
		if token == "" {
			token = s.versionID()
		}
		v = &version{id: token, created: s.stamp(), hasValue: true, binary: current.binary, value: bytes.Clone(current.value)}
		sec.versions = append(sec.versions, v)
	}
	sec.startPending(v, s.stamp())
	return v.id, nil
}

// SetRotationEnabled turns the secret's rotation on or off (what
// RotateSecret and CancelRotateSecret do to RotationEnabled).
func (s *Store) SetRotationEnabled(ctx context.Context, secretID string, enabled bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.live(secretID)
	if err != nil {
		return err
	}
	sec.rotationEnabled = enabled
	sec.lastChanged = s.stamp()
	return nil
}

// DeleteSecretInput is DeleteSecret's request.
type DeleteSecretInput struct {
	SecretID string
	// RecoveryWindowInDays is 7 to 30; 0 means 30.
	RecoveryWindowInDays int
	// ForceDeleteWithoutRecovery deletes at once.
	ForceDeleteWithoutRecovery bool
}

// DeleteSecretOutput is DeleteSecret's response.
type DeleteSecretOutput struct {
	ARN          string
	Name         string
	DeletionDate time.Time
}

// DeleteSecret schedules the secret for deletion after the recovery window,
// or deletes it at once. Until then most operations on it fail with
// InvalidRequestException, and [Store.RestoreSecret] cancels the deletion.
func (s *Store) DeleteSecret(ctx context.Context, in DeleteSecretInput) (DeleteSecretOutput, error) {
	if err := ctx.Err(); err != nil {
		return DeleteSecretOutput{}, err
	}
	if in.ForceDeleteWithoutRecovery && in.RecoveryWindowInDays != 0 {
		return DeleteSecretOutput{}, errInvalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	window := in.RecoveryWindowInDays
	if window == 0 {
		window = 30
	}
	if window < 7 || window > 30 {
		return DeleteSecretOutput{}, errInvalidParameter("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(in.SecretID)
	now := s.stamp()
	if err != nil {
		// "If you forcibly delete an already deleted or nonexistent secret,
		// the operation does not return ResourceNotFoundException."
		if in.ForceDeleteWithoutRecovery && errors.Is(err, secretstore.ErrNotFound) && in.SecretID != "" {
			out := DeleteSecretOutput{Name: in.SecretID, DeletionDate: now}
			if strings.HasPrefix(in.SecretID, "arn:") {
				out.ARN, out.Name = in.SecretID, ""
			}
			return out, nil
		}
		return DeleteSecretOutput{}, err
	}
	out := DeleteSecretOutput{ARN: sec.arn, Name: sec.name, DeletionDate: now}
	if in.ForceDeleteWithoutRecovery {
		delete(s.secrets, sec.name)
		return out, nil
	}
	if !sec.deleted.IsZero() {
		return DeleteSecretOutput{}, errMarkedDeleted()
	}
	sec.deleted = now
	sec.deletion = now.Add(time.Duration(window) * 24 * time.Hour)
	out.DeletionDate = sec.deletion
	return out, nil
}

// RestoreSecretOutput is RestoreSecret's response.
type RestoreSecretOutput struct {
	ARN  string
	Name string
}

// RestoreSecret cancels a scheduled deletion.
func (s *Store) RestoreSecret(ctx context.Context, secretID string) (RestoreSecretOutput, error) {
	if err := ctx.Err(); err != nil {
		return RestoreSecretOutput{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(secretID)
	if err != nil {
		return RestoreSecretOutput{}, err
	}
	sec.deleted, sec.deletion = time.Time{}, time.Time{}
	return RestoreSecretOutput{ARN: sec.arn, Name: sec.name}, nil
}

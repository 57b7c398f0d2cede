package secretstore

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Staging labels with a meaning to Secrets Manager's rotation.
const (
	Current  = "AWSCURRENT"
	Pending  = "AWSPENDING"
	Previous = "AWSPREVIOUS"
)

// Errors every adapter maps its cloud's errors to.
var (
	// ErrNotFound: the secret does not exist (or is scheduled for deletion).
	ErrNotFound = errors.New("secret not found")
	// ErrVersionNotFound: the version does not exist, or has no value yet
	// (a rotation has started but createSecret has not stored one). It
	// matches ErrNotFound too: Secrets Manager answers a read by version id
	// the same for a missing version and a missing secret, and telling
	// them apart would cost another call.
	ErrVersionNotFound = fmt.Errorf("%w: secret version not found", ErrNotFound)
	// ErrVersionExists: a version with this id already holds another value.
	ErrVersionExists = errors.New("secret version exists with another value")
	// ErrInvalidRequest: the store refused the request as it stands (a
	// label on another version than the one named, rotation in progress,
	// a secret marked for deletion).
	ErrInvalidRequest = errors.New("invalid request")
)

// Description is what the engine needs to know of a secret before it acts:
// DescribeSecret's answer, reduced.
type Description struct {
	ARN             string
	Name            string
	RotationEnabled bool
	// Versions maps each version id to its staging labels. A version that
	// a rotation has started but that has no value yet is listed too.
	Versions map[string][]string
	// LastRotated is when the last rotation finished (AWS: LastRotatedDate,
	// in the same DescribeSecret answer); zero when the secret was never
	// rotated. It starts the grace period of the previous credential.
	LastRotated time.Time
}

// Details is a [Description] with what the deactivation gate reads beyond
// it: the secret's tags (registrations and acknowledgements of consumers).
// Store-neutral, so that the gate works on every cloud's adapter; tags are
// metadata, never secret values.
type Details struct {
	Description
	// Tags maps each tag key (GCP: label) to its value.
	Tags map[string]string
}

// TaggedSecret is a secret found by a tag key.
type TaggedSecret struct {
	// ARN is the secret's id in its store (AWS: ARN; GCP: resource name).
	ARN string
	// Rotation names what rotates the secret (AWS: RotationLambdaARN; GCP:
	// the rotation topic); "" if nothing does.
	Rotation string
}

// VersionWithStage returns the version that carries the label.
func (d Description) VersionWithStage(stage string) (string, bool) {
	for id, stages := range d.Versions {
		if slices.Contains(stages, stage) {
			return id, true
		}
	}
	return "", false
}

// HasStage reports whether the version carries the label.
func (d Description) HasStage(versionID, stage string) bool {
	return slices.Contains(d.Versions[versionID], stage)
}

// PendingValue stores a value under a version id and labels it AWSPENDING
// (PutSecretValue with ClientRequestToken and VersionStages=[AWSPENDING]).
// Storing the same value again under the same id succeeds; another value
// under the same id fails with [ErrVersionExists].
type PendingValue struct {
	SecretID  string
	VersionID string
	Value     []byte
	// RotationToken is passed on from the rotation event, when present.
	RotationToken string
}

// StageMove moves a staging label to a version (UpdateSecretVersionStage).
// FromVersion names the version that carries the label now; it is required
// when the label is on another version, and ignored when it is already on
// ToVersion. Moving AWSCURRENT makes its former version AWSPREVIOUS. With
// no ToVersion, the label is removed from FromVersion (any label but
// AWSCURRENT: a secret always keeps a current version).
type StageMove struct {
	SecretID    string
	Stage       string
	ToVersion   string
	FromVersion string
}

// PasswordSpec asks the store for a random password (GetRandomPassword).
type PasswordSpec struct {
	Length                  int
	ExcludeCharacters       string
	RequireEachIncludedType bool
}

// Version is one version of a secret as a read returns it
// (GetSecretValue by VersionId or by VersionStage): its value and the
// labels it carries at the time of the read. A step that must read a
// value anyway learns the labels with it, without a DescribeSecret.
type Version struct {
	// ARN is the secret's id in its store (AWS: ARN).
	ARN  string
	Name string
	// ID is the version id.
	ID string
	// Stages are the version's staging labels.
	Stages []string
	// Value is SecretString, or SecretBinary for a binary secret.
	Value []byte
}

// HasStage reports whether the version carries the label.
func (v Version) HasStage(stage string) bool { return slices.Contains(v.Stages, stage) }

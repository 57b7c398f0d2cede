package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
)

// Source is the EventBridge "source" of every rotor event but the
// consumers' acknowledgements, whose source is [ConsumerSource].
const Source = "rotor"

// SchemaVersion is the version of [Detail] this package writes. A consumer
// refuses details of a newer major version than it knows.
const SchemaVersion = 1

// DetailType is an EventBridge "detail-type": which phase a rotor event reports.
type DetailType string

// Detail types, one per phase of a rotation.
const (
	// RotationStarted: createSecret began a rotation.
	RotationStarted DetailType = "Rotation Started"
	// PendingSet: the pending credential exists in the target (setSecret).
	PendingSet DetailType = "Rotation Pending Set"
	// Tested: the pending credential logs in (testSecret).
	Tested DetailType = "Rotation Tested"
	// Completed: AWSCURRENT moved to the new version (finishSecret).
	Completed DetailType = "Rotation Completed"
	// ConsumerAcknowledged: a consumer uses the new version.
	ConsumerAcknowledged DetailType = "Consumer Acknowledged"
	// CredentialDeactivated: the previous credential no longer works.
	CredentialDeactivated DetailType = "Credential Deactivated"
	// RotationFailed: a step failed; Secrets Manager will retry it.
	RotationFailed DetailType = "Rotation Failed"
	// RolledBack: AWSCURRENT moved back to the previous version.
	RolledBack DetailType = "Rotation Rolled Back"
)

// DetailTypes lists every detail type, in the order of a rotation.
var DetailTypes = []DetailType{
	RotationStarted, PendingSet, Tested, Completed,
	ConsumerAcknowledged, CredentialDeactivated, RotationFailed, RolledBack,
}

// Phase is the phase of the rotation workflow an event belongs to
// (DESIGN.md, "The rotation workflow").
type Phase string

// Phases.
const (
	PhasePrepare     Phase = "prepare"     // createSecret, setSecret
	PhaseVerify      Phase = "verify"      // testSecret
	PhasePropagate   Phase = "propagate"   // finishSecret
	PhaseAcknowledge Phase = "acknowledge" // consumers report the version they use
	PhaseDeactivate  Phase = "deactivate"  // the old credential is revoked
	PhaseRollback    Phase = "rollback"    // AWSCURRENT moved back
)

// phaseOf is the phase each detail type reports; a failure reports the
// phase of the step that failed.
var phaseOf = map[DetailType]Phase{
	RotationStarted:       PhasePrepare,
	PendingSet:            PhasePrepare,
	Tested:                PhaseVerify,
	Completed:             PhasePropagate,
	ConsumerAcknowledged:  PhaseAcknowledge,
	CredentialDeactivated: PhaseDeactivate,
	RolledBack:            PhaseRollback,
}

// PhaseOf returns the phase of a detail type; false for [RotationFailed],
// whose phase is that of the failed step.
func PhaseOf(t DetailType) (Phase, bool) {
	p, ok := phaseOf[t]
	return p, ok
}

// Outcome says how a phase ended.
type Outcome string

// Outcomes.
const (
	OutcomeSucceeded Outcome = "succeeded"
	// OutcomeSkipped: the work was done already (a retried step).
	OutcomeSkipped Outcome = "skipped"
	OutcomeFailed  Outcome = "failed"
	// OutcomeGraceExpired: the credential was deactivated when the grace
	// period ran out, before every consumer acknowledged.
	OutcomeGraceExpired Outcome = "grace-expired"
	// OutcomeEmergency: an operator's emergency rotation revoked the
	// credential at once, without waiting for acknowledgements or the grace
	// period, and ended its open sessions; Reason says why.
	OutcomeEmergency Outcome = "emergency"
)

// Detail is the "detail" of a rotor event. It names versions and carries a
// fingerprint, never a value.
type Detail struct {
	SchemaVersion int    `json:"schemaVersion"`
	SecretArn     string `json:"secretArn"`
	SecretName    string `json:"secretName"`
	Account       string `json:"account"`
	Region        string `json:"region"`
	// CredentialType and Strategy are the rotator's ("postgres",
	// "alternating-users").
	CredentialType string `json:"credentialType,omitempty"`
	Strategy       string `json:"strategy,omitempty"`
	Phase          Phase  `json:"phase"`
	// Step is the Secrets Manager step that reported, when one did.
	Step string `json:"step,omitempty"`
	// VersionID is the new version (the rotation's ClientRequestToken);
	// PreviousVersionID the one AWSCURRENT held before it.
	VersionID         string `json:"versionId"`
	PreviousVersionID string `json:"previousVersionId,omitempty"`
	// DurationMs is how long the step took.
	DurationMs float64 `json:"durationMs,omitempty"`
	Outcome    Outcome `json:"outcome"`
	// ErrorClass classifies a failure ([ErrorClasses]); never the error text,
	// which could quote a value.
	ErrorClass ErrorClass `json:"errorClass,omitempty"`
	// Fingerprint identifies the new value: see [Fingerprinter].
	Fingerprint string `json:"fingerprint,omitempty"`
	// Consumer names the consumer of a Consumer Acknowledged event; the
	// event's source must be [ConsumerSource] of it.
	Consumer string `json:"consumer,omitempty"`
	// Instance names the process of the consumer that acknowledged: one
	// instance does not speak for the others (see shared/deactivation).
	Instance string `json:"instance,omitempty"`
	// Unacknowledged lists the registered consumers that had not
	// acknowledged when a credential was deactivated after its grace period.
	Unacknowledged []string `json:"unacknowledged,omitempty"`
	// Sessions is the target's evidence of the open sessions of a
	// credential when it was deactivated: who still used it. Never a
	// secret value.
	Sessions *Sessions `json:"sessions,omitempty"`
	// Reason is the operator's reason for an emergency rotation.
	Reason string `json:"reason,omitempty"`
	// Time is when the phase ended.
	Time time.Time `json:"time"`
}

// Sessions is what the target showed of a credential's open sessions:
// how many, from which client addresses, by which applications (where the
// target shows them), and how many an emergency rotation ended.
type Sessions struct {
	Count            int      `json:"count"`
	ClientAddresses  []string `json:"clientAddresses,omitempty"`
	ApplicationNames []string `json:"applicationNames,omitempty"`
	Ended            int      `json:"ended,omitempty"`
}

// ErrorClass classifies a failure without quoting it.
type ErrorClass string

// Error classes.
const (
	ErrorInvalidInput ErrorClass = "invalid-input" // the event or a secret is malformed
	ErrorState        ErrorClass = "state"         // the secret's versions are not as the step needs
	ErrorStore        ErrorClass = "store"         // the secret store failed
	ErrorTarget       ErrorClass = "target"        // the database or provider failed
	ErrorTimeout      ErrorClass = "timeout"
	ErrorInternal     ErrorClass = "internal"
)

// ErrorClasses lists every error class.
var ErrorClasses = []ErrorClass{ErrorInvalidInput, ErrorState, ErrorStore, ErrorTarget, ErrorTimeout, ErrorInternal}

// ValidationError names the field of a detail that is wrong.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("rotor event: field %q: %s", e.Field, e.Reason)
}

// ErrNotRotorEvent is returned by [Parse] for an event of another source.
var ErrNotRotorEvent = errors.New("not a rotor event")

// Validate checks the detail of an event of type t: the fields every event
// needs, and those its type needs.
func (d *Detail) Validate(t DetailType) error {
	bad := func(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }
	switch {
	case !slices.Contains(DetailTypes, t):
		return bad("detail-type", fmt.Sprintf("unknown detail type %q", t))
	case d.SchemaVersion < 1:
		return bad("schemaVersion", "missing")
	case d.SchemaVersion > SchemaVersion:
		return bad("schemaVersion", fmt.Sprintf("version %d is newer than this reader's %d", d.SchemaVersion, SchemaVersion))
	case !strings.HasPrefix(d.SecretArn, "arn:"):
		return bad("secretArn", "not an ARN")
	case d.SecretName == "":
		return bad("secretName", "missing")
	case d.VersionID == "":
		return bad("versionId", "missing")
	case d.Outcome == "":
		return bad("outcome", "missing")
	case d.Time.IsZero():
		return bad("time", "missing")
	case t == ConsumerAcknowledged && d.Consumer == "":
		return bad("consumer", "missing on a Consumer Acknowledged event")
	case t == ConsumerAcknowledged && d.Instance == "":
		return bad("instance", "missing on a Consumer Acknowledged event")
	case d.Instance != "" && CheckInstance(d.Instance) != nil:
		return bad("instance", CheckInstance(d.Instance).Error())
	case t == RotationFailed && d.ErrorClass == "":
		return bad("errorClass", "missing on a Rotation Failed event")
	case d.ErrorClass != "" && !slices.Contains(ErrorClasses, d.ErrorClass):
		return bad("errorClass", fmt.Sprintf("unknown class %q", d.ErrorClass))
	}
	if want, ok := phaseOf[t]; ok && d.Phase != want {
		return bad("phase", fmt.Sprintf("want %q for %q, got %q", want, t, d.Phase))
	}
	if d.Phase == "" {
		return bad("phase", "missing")
	}
	return nil
}

// Event is a rotor event as EventBridge delivers it.
type Event struct {
	ID string
	// Source is the EventBridge source: "" or [Source] for rotor's own
	// events, [ConsumerSource] for an acknowledgement.
	Source     string
	DetailType DetailType
	Account    string
	Region     string
	Time       time.Time
	Detail     Detail
}

// Parse decodes and validates an EventBridge event, as an SQS message body
// or a Lambda payload carries it. An event of another source returns
// [ErrNotRotorEvent].
func Parse(body []byte) (Event, error) {
	var env awsevents.EventBridgeEvent
	if err := json.Unmarshal(body, &env); err != nil {
		return Event{}, fmt.Errorf("rotor event: %w", err)
	}
	return FromEventBridge(env)
}

// FromEventBridge validates a decoded EventBridge event. Its source is
// [Source], or [ConsumerSource] for a Consumer Acknowledged event (whether
// the source names the detail's consumer is the deactivation gate's
// check, which records a forgery instead of failing on it).
func FromEventBridge(env awsevents.EventBridgeEvent) (Event, error) {
	_, fromConsumer := ConsumerOfSource(env.Source)
	switch {
	case fromConsumer && DetailType(env.DetailType) != ConsumerAcknowledged:
		return Event{}, &ValidationError{Field: "source", Reason: fmt.Sprintf("a consumer's source sends only %q, got %q", ConsumerAcknowledged, env.DetailType)}
	case env.Source != Source && !fromConsumer:
		return Event{}, fmt.Errorf("%w: source %q", ErrNotRotorEvent, env.Source)
	}
	ev := Event{ID: env.ID, Source: env.Source, DetailType: DetailType(env.DetailType), Account: env.AccountID, Region: env.Region, Time: env.Time}
	if err := json.Unmarshal(env.Detail, &ev.Detail); err != nil {
		return Event{}, &ValidationError{Field: "detail", Reason: err.Error()}
	}
	if err := ev.Detail.Validate(ev.DetailType); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// Fingerprinter computes fingerprints of secret values: HMAC-SHA-256 under
// a key of the deployment's own. The same value always gives the same
// fingerprint, so a leaked value can be traced to its version by anyone who
// holds the key, while the events carry nothing from which the value could
// be guessed: without the key, a fingerprint can't even be checked against a
// candidate value.
type Fingerprinter struct {
	key []byte
}

// MinFingerprintKeyLen is the shortest key accepted: the output size of
// SHA-256, as RFC 2104 recommends.
const MinFingerprintKeyLen = 32

// NewFingerprinter builds a fingerprinter with the deployment's key.
func NewFingerprinter(key []byte) (*Fingerprinter, error) {
	if len(key) < MinFingerprintKeyLen {
		return nil, fmt.Errorf("fingerprint key: want at least %d bytes, got %d", MinFingerprintKeyLen, len(key))
	}
	return &Fingerprinter{key: slices.Clone(key)}, nil
}

// FingerprintPrefix starts every fingerprint, naming its algorithm.
const FingerprintPrefix = "hmac-sha256:"

// Fingerprint returns the fingerprint of a secret value.
func (f *Fingerprinter) Fingerprint(value []byte) string {
	m := hmac.New(sha256.New, f.key)
	m.Write(value)
	return FingerprintPrefix + hex.EncodeToString(m.Sum(nil))
}

// Matches reports whether a fingerprint is that of value, in constant time.
func (f *Fingerprinter) Matches(fingerprint string, value []byte) bool {
	return hmac.Equal([]byte(fingerprint), []byte(f.Fingerprint(value)))
}

// EventSource is the event's EventBridge source: [Source] unless the event
// names another.
func (ev *Event) EventSource() string {
	if ev.Source == "" {
		return Source
	}
	return ev.Source
}

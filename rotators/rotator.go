package rotators

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Rotator changes one type of credential in its target system.
//
// Every method may be called more than once with the same request: the
// secret store retries a failed step and may deliver one twice. Each method
// must therefore be idempotent, and safe to resume after a crash at any
// point inside it.
type Rotator interface {
	// Info describes the rotator. It is called once when the engine is built.
	Info() Info

	// Create derives the pending secret from the current one, with
	// req.Password as its new password. It validates the current secret and
	// returns an [*InputError] for a secret it cannot act on. Create must
	// not change the target system: the engine stores the pending secret
	// afterwards. Create need not read other secrets (the master secret):
	// Set, the first step that changes the target, reads and validates
	// them before its first change, so a bad master secret changes nothing
	// in the target and leaves AWSCURRENT as it was (the pending version
	// may hold a value, which the next attempt keeps). This saves the
	// master read of every createSecret.
	Create(ctx context.Context, req CreateRequest) (CreateResponse, error)

	// Set makes the pending credential valid in the target system. Unless the
	// strategy says otherwise (single user), the current credential must keep
	// working. Set must succeed when the pending credential already works,
	// and must leave the same state when it is called twice.
	Set(ctx context.Context, req SetRequest) (SetResponse, error)

	// Test logs in with the pending credential and checks that it can do what
	// the current one can. Test changes nothing.
	Test(ctx context.Context, req TestRequest) (TestResponse, error)

	// TestConfiguration checks that a rotation of the current secret could
	// run, without running one: the check of RotateSecret with
	// RotateImmediately=false, where Secrets Manager runs testSecret alone
	// and there is no new credential to test. It validates the current
	// secret (and the master secret it names, if the strategy needs one),
	// logs in with the current credential and, where the strategy acts
	// through another principal (the master user of alternating users),
	// checks that this principal logs in and may do what Set will do.
	//
	// Contract: TestConfiguration changes nothing in the target system,
	// may be called any number of times, and returns an error that says
	// what is wrong (an [*InputError] naming the field for a secret it
	// cannot act on) and never a secret value.
	TestConfiguration(ctx context.Context, req ConfigTestRequest) (ConfigTestResponse, error)
}

// ConfigTestRequest asks to check the rotation configuration of a secret.
type ConfigTestRequest struct {
	SecretID string
	// Current is the AWSCURRENT value.
	Current []byte
	Secrets SecretReader
	Log     *slog.Logger // as in [CreateRequest]
}

// ConfigTestResponse is empty; it exists so that fields can be added.
type ConfigTestResponse struct{}

// Undoer is implemented by strategies whose Set leaves something in the
// target system that must be undone when a rotation is abandoned before
// finishSecret: the operator's rollback that drops the pending version
// (DESIGN.md, "The rotation workflow": before finishSecret, rollback is
// "drop the pending version"). A rotator that is not an Undoer has nothing
// to undo: its pending credential simply stays unused.
//
// Contract:
//
//   - Undo is idempotent and safe to resume after a crash at any point: it
//     may be called again after it succeeded, and for a pending secret
//     that Set never acted on; both change nothing.
//   - Afterwards the current credential logs in (with a single user, Set
//     changed the current user's password: Undo puts the current one back)
//     and the pending credential does not: it will be stored in no live
//     version, so nobody is to use it.
//   - Undo never revokes the current principal.
//   - A secret it cannot act on is an [*InputError] naming the field; no
//     error names a value.
type Undoer interface {
	Undo(ctx context.Context, req UndoRequest) (UndoResponse, error)
}

// UndoRequest asks to undo what Set did for a pending secret that will not
// become current.
type UndoRequest struct {
	SecretID string
	// Current is the AWSCURRENT value, which stays current.
	Current []byte
	// Pending is the value of the version being dropped.
	Pending []byte
	Secrets SecretReader
	Log     *slog.Logger // as in [CreateRequest]
}

// UndoResponse says what Undo did.
type UndoResponse struct {
	// Undone is true when this call changed the target; false when there
	// was nothing to undo (Set never ran, or a repeated call).
	Undone bool
}

// Info describes a rotator.
type Info struct {
	// Type names the credential type, as in events and logs ("postgres").
	Type string
	// Strategy names how the rotator moves credentials ("single-user",
	// "alternating-users", ...).
	Strategy string
	// PasswordChars lists every character the target accepts in a password.
	// The engine never generates a password with another character.
	PasswordChars string
	// MaxPasswordLength is the longest password the target accepts; 0 means
	// no limit of the rotator's own.
	MaxPasswordLength int
}

// SecretReader reads other secrets of the store, such as the master secret
// named by a database secret's masterarn. The engine provides it.
type SecretReader interface {
	// CurrentValue returns the AWSCURRENT value of the secret. It returns an
	// error matching [ErrSecretNotFound] when there is no such secret.
	CurrentValue(ctx context.Context, secretID string) ([]byte, error)
}

// ErrSecretNotFound is matched by errors of [SecretReader] for a secret that
// does not exist.
var ErrSecretNotFound = errors.New("secret not found")

// CreateRequest asks for the pending secret.
type CreateRequest struct {
	// SecretID is the ARN or name of the secret being rotated.
	SecretID string
	// Current is the AWSCURRENT value.
	Current []byte
	// Password is the new password, generated by the engine within
	// [Info.PasswordChars].
	Password string
	// Secrets reads other secrets (the master secret).
	Secrets SecretReader
	// Log is the engine's log for this step: it carries the step's context
	// and masks every secret value the engine has seen. Never nil.
	Log *slog.Logger
}

// CreateResponse carries the pending secret.
type CreateResponse struct {
	// Pending is the value to store as AWSPENDING.
	Pending []byte
}

// SetRequest asks to make the pending credential valid.
type SetRequest struct {
	SecretID string
	Current  []byte
	Pending  []byte
	Secrets  SecretReader
	Log      *slog.Logger // as in [CreateRequest]
	// LastRotated is when the last rotation finished (the store's
	// LastRotatedDate), zero if unknown. With alternating users Set ends
	// the previous credential (it changes that user's password): the grace
	// period that protects the previous credential's consumers runs from
	// here, as the deactivation gate's does.
	LastRotated time.Time
	// LastRotatedFunc, when set, looks LastRotated up on demand: the
	// engine sets it instead of LastRotated when the step did not
	// describe the secret (a cold setSecret learns the labels from the
	// values it reads), so that the lookup, a call to the store, is made
	// only when Set needs the date. Use [SetRequest.LastRotation].
	LastRotatedFunc func(ctx context.Context) (time.Time, error)
}

// LastRotation returns LastRotated, looked up with LastRotatedFunc when
// that is set.
func (r SetRequest) LastRotation(ctx context.Context) (time.Time, error) {
	if r.LastRotatedFunc == nil {
		return r.LastRotated, nil
	}
	t, err := r.LastRotatedFunc(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("look up the last rotation: %w", err)
	}
	return t, nil
}

// SetResponse is empty; it exists so that fields can be added.
type SetResponse struct{}

// TestRequest asks to check the pending credential.
type TestRequest struct {
	SecretID string
	Current  []byte
	Pending  []byte
	Secrets  SecretReader
	Log      *slog.Logger // as in [CreateRequest]
}

// TestResponse is empty; it exists so that fields can be added.
type TestResponse struct{}

// InputError reports a secret a rotator cannot act on. It names the field
// and says what is wrong with it; it never carries the field's value.
type InputError struct {
	// Secret says which secret the field belongs to ("current", "pending",
	// "master").
	Secret string
	// Field is the JSON field, such as "host" or "masterarn".
	Field string
	// Reason says what is wrong, without the value.
	Reason string
}

func (e *InputError) Error() string {
	if e.Secret == "" {
		return fmt.Sprintf("invalid secret: field %q: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("invalid %s secret: field %q: %s", e.Secret, e.Field, e.Reason)
}

// Deactivator is implemented by strategies whose previous credential keeps
// working after a rotation and must be revoked explicitly (alternating
// users, dual keys). It is optional: a rotator that is not a Deactivator has
// nothing to revoke (with a single user, the old password stopped working
// when Set changed it). The deactivation gate (shared/deactivation) calls it
// once every registered consumer has acknowledged the current version, or
// when a grace period has passed; it is the only irreversible step of a
// rotation, so it comes last.
//
// Contract:
//
//   - Deactivate is idempotent: it may be called any number of times with
//     the same request (the gate calls it again after a crash between
//     revoking and recording), and a call that finds the previous
//     credential revoked already succeeds with [AlreadyInactive].
//   - It must do nothing, and return [NothingToRevoke], when the previous
//     and the current secret name the same principal.
//   - It must never touch the current or the pending principal: whatever
//     it revokes, the current credential still logs in afterwards, and a
//     rotation's Set that runs at the same time is not undone. A target
//     that can serialise the two (PostgreSQL: a transaction-level advisory
//     lock that Set takes too) calls [DeactivateRequest.Recheck] while it
//     holds the serialisation, right before it revokes, and revokes nothing
//     when Recheck fails.
//   - Before it revokes, it looks at the target for open sessions of the
//     previous credential where the target can show them; with sessions
//     and without [DeactivateRequest.AllowInUse] it revokes nothing and
//     returns [InUse] with the evidence.
//   - It revokes the credential for new logins or calls; it does not end
//     sessions already open with it (they drain on their own), unless
//     [DeactivateRequest.EndSessions] asks it to (an emergency rotation).
//   - A secret it cannot act on is an [*InputError] naming the field; no
//     error names a value, and no evidence carries one.
type Deactivator interface {
	Deactivate(ctx context.Context, req DeactivateRequest) (DeactivateResponse, error)
}

// DeactivateRequest asks to revoke the previous credential.
type DeactivateRequest struct {
	// SecretID is the ARN or name of the secret.
	SecretID string
	// Current is the AWSCURRENT value; it is never revoked.
	Current []byte
	// Previous is the AWSPREVIOUS value, whose credential is revoked.
	Previous []byte
	// Secrets reads other secrets (the master secret).
	Secrets SecretReader
	// Log masks every secret value the caller has seen; nil discards.
	Log *slog.Logger
	// Recheck, when set, is called under the target's serialisation with
	// Set, right before the revocation: it re-reads the staging state and
	// fails when the previous version became current or pending, or a
	// rotation began, since the caller decided. An error from it refuses
	// the revocation; Deactivate returns it wrapped, having changed nothing.
	Recheck func(ctx context.Context) error
	// AllowInUse revokes even when the target shows open sessions of the
	// previous credential: the grace period has passed, or an operator
	// asked for an emergency revocation. The sessions are reported.
	AllowInUse bool
	// EndSessions ends the previous credential's open sessions after the
	// revocation (an emergency rotation of a leaked credential). It needs
	// AllowInUse.
	EndSessions bool
}

// DeactivateResponse says what Deactivate did.
type DeactivateResponse struct {
	Outcome DeactivateOutcome
	// Sessions is the target's evidence of who still used the previous
	// credential when Deactivate looked (before it revoked).
	Sessions Sessions
}

// Sessions is what a target shows of the open sessions of a credential:
// how many, from where, by which application. Never a secret value.
type Sessions struct {
	// Count is the number of open sessions.
	Count int `json:"count"`
	// ClientAddresses and ApplicationNames are the distinct client
	// addresses and application names, sorted, where the target shows them
	// (PostgreSQL shows other roles' client addresses only to members of
	// pg_read_all_stats).
	ClientAddresses  []string `json:"clientAddresses,omitempty"`
	ApplicationNames []string `json:"applicationNames,omitempty"`
	// Ended is the number of sessions Deactivate ended (EndSessions).
	Ended int `json:"ended,omitempty"`
}

// DeactivateOutcome says what a Deactivate call found and did.
type DeactivateOutcome string

// Outcomes of [Deactivator.Deactivate].
const (
	// Deactivated: this call revoked the previous credential.
	Deactivated DeactivateOutcome = "deactivated"
	// AlreadyInactive: the previous credential was revoked already (a
	// repeated call), or no longer works for another reason; nothing
	// changed.
	AlreadyInactive DeactivateOutcome = "already-inactive"
	// NothingToRevoke: previous and current name the same principal;
	// nothing changed.
	NothingToRevoke DeactivateOutcome = "nothing-to-revoke"
	// InUse: the target shows open sessions of the previous credential and
	// the request did not allow revoking it in use; nothing changed.
	InUse DeactivateOutcome = "in-use"
)

// ErrInUse is matched by an error of a step that refused to end a
// credential that the target shows in use, within its grace period (with
// alternating users, Set would change the password of the previous user
// while its sessions still run). The step is retried; nothing changed.
var ErrInUse = errors.New("the credential is still in use and its grace period has not passed")

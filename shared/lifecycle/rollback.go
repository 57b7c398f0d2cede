package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/redact"
	"github.com/rotorhq/rotor/shared/secretstore"
)

// Rollback is an operator's action, defined per phase (DESIGN.md, "The
// rotation workflow"), and the phase is read from the labels of the
// version the operator names:
//
//   - FromVersion is AWSPENDING (before finishSecret): drop the pending
//     version. The rotator undoes what Set did where the strategy made a
//     credential ([rotators.Undoer]: a single user gets its current
//     password back; an alternating user whose new password would be
//     stored nowhere is locked), then AWSPENDING is removed, so that the
//     secret is ready for the next rotation and a retry of the dropped
//     rotation's steps is refused (its token is no longer pending).
//   - FromVersion is AWSCURRENT (after finishSecret, before deactivation):
//     move AWSCURRENT back to AWSPREVIOUS. It is only safe while the
//     previous credential still works: the engine tests it with the
//     rotator first, so a single-user secret (whose old password is gone)
//     or a deactivated user is refused and nothing moves. AWSPENDING, which
//     finishSecret leaves on the version it promoted, is removed from it
//     first: left there, it would make Secrets Manager refuse every later
//     RotateSecret ("A previous rotation isn't complete"), let a retry of
//     the old token promote the rolled-back version again, and make the
//     deactivation gate believe a rotation is in progress.
//
// After deactivation there is no rollback, only forward: a new rotation.
//
// Every store call is one change, in an order that leaves a state the next
// request resumes from: a rollback that crashes anywhere is finished by
// asking again, and a rollback asked again once done changes nothing.

// RollbackRequest asks to roll back from FromVersion.
type RollbackRequest struct {
	SecretID string
	// FromVersion is the version the operator rolls back from: AWSCURRENT
	// (after finishSecret) or AWSPENDING (before it). It makes a repeated
	// request harmless: once the version has been left, the rollback is
	// done, not done again.
	FromVersion string
}

// Reasons a rollback is refused; nothing has changed.
var (
	ErrNoPrevious         = errors.New("the secret has no AWSPREVIOUS version to roll back to")
	ErrNotCurrent         = errors.New("the version to roll back from is neither AWSCURRENT nor AWSPENDING")
	ErrRotationInProgress = errors.New("a rotation is in progress (AWSPENDING is on another version); let it finish or fail first, or roll back from the pending version")
	ErrPreviousUnusable   = errors.New("the previous credential no longer works (single user, or deactivated); roll forward with a new rotation instead")
)

// RollbackError is what a refused or failed rollback returns; Phase says
// where it stopped.
type RollbackError struct {
	SecretID string
	Phase    string
	Err      error
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("rollback %s: %s: %v", e.SecretID, e.Phase, e.Err)
}

func (e *RollbackError) Unwrap() error { return e.Err }

// rollback is the state of one Rollback.
type rollback struct {
	*Engine
	req   RollbackRequest
	scrub *redact.Scrubber
	log   *slog.Logger
	start time.Time
	desc  secretstore.Description
}

// Rollback rolls back from req.FromVersion (see above) and publishes
// "Rotation Rolled Back": VersionID is AWSCURRENT afterwards, and
// PreviousVersionID the version rolled back from. Asked again once done,
// it publishes again (outcome skipped) and changes nothing.
func (e *Engine) Rollback(ctx context.Context, req RollbackRequest) error {
	scrub := redact.New()
	rb := &rollback{
		Engine: e, req: req, scrub: scrub, start: e.now(),
		log: slog.New(redact.NewHandler(e.logger.Handler(), scrub)).With(
			"secret_id", req.SecretID, "action", "rollback", "from_version", req.FromVersion, "type", e.info.Type, "strategy", e.info.Strategy),
	}
	return rb.run(ctx)
}

func (rb *rollback) fail(phase string, err error) error {
	err = rb.scrub.Error(&RollbackError{SecretID: rb.req.SecretID, Phase: phase, Err: err})
	rb.log.Error("rollback refused or failed; it can be asked again", "error", err)
	return err
}

func (rb *rollback) run(ctx context.Context) error {
	req := rb.req
	switch {
	case req.SecretID == "":
		return rb.fail("request", &InputError{Field: "SecretId", Reason: "missing"})
	case req.FromVersion == "":
		return rb.fail("request", &InputError{Field: "FromVersionId", Reason: "missing"})
	}
	desc, err := rb.store.Describe(ctx, req.SecretID)
	if err != nil {
		return rb.fail("describe", err)
	}
	rb.desc = desc
	current, ok := desc.VersionWithStage(secretstore.Current)
	if !ok {
		return rb.fail("check", ErrNoCurrent)
	}
	from := req.FromVersion
	previous, _ := desc.VersionWithStage(secretstore.Previous)
	switch {
	case current == from:
		return rb.moveCurrentBack(ctx, current)
	case previous == from:
		return rb.rolledBackAlready(ctx, current)
	case desc.HasStage(from, secretstore.Pending):
		return rb.dropPending(ctx, current)
	}
	if _, labelled := desc.Versions[from]; !labelled {
		// A dropped pending version keeps its value, with no label,
		// until Secrets Manager deletes it.
		if _, err := rb.store.Value(ctx, req.SecretID, from); err == nil {
			rb.log.Info("the version carries no label: dropped already; nothing to do", "version", current)
			rb.notify(ctx, current, events.OutcomeSkipped)
			return nil
		}
	}
	return rb.fail("check", fmt.Errorf("%w: AWSCURRENT is on %s", ErrNotCurrent, current))
}

// rolledBackAlready answers a repeated rollback after finishSecret:
// AWSCURRENT left from, which is AWSPREVIOUS now. A rollback of an earlier
// release of rotor left AWSPENDING there, which strands the secret (see
// above): it is removed, and that is the only change.
func (rb *rollback) rolledBackAlready(ctx context.Context, current string) error {
	from := rb.req.FromVersion
	if rb.desc.HasStage(from, secretstore.Pending) {
		if err := rb.removePending(ctx, from); err != nil {
			return rb.fail("remove AWSPENDING", err)
		}
		rb.log.Info("rolled back already; AWSPENDING removed from the version rolled back from", "version", current)
		rb.notify(ctx, current, events.OutcomeSucceeded)
		return nil
	}
	rb.log.Info("already rolled back; nothing to do", "version", current)
	rb.notify(ctx, current, events.OutcomeSkipped)
	return nil
}

// read reads a version and registers its value with the scrubber.
func (rb *rollback) read(ctx context.Context, id string) ([]byte, error) {
	v, err := rb.store.Value(ctx, rb.req.SecretID, id)
	if err == nil {
		rb.scrub.AddSecretJSON(v)
	}
	return v, err
}

// reader reads other secrets afresh: a rollback is rare, and must not act
// on a stale master secret.
func (rb *rollback) reader() rotators.SecretReader {
	return secretstore.Reader{Store: rb.store, Scrub: rb.scrub}
}

// removePending removes AWSPENDING from the version.
func (rb *rollback) removePending(ctx context.Context, version string) error {
	return rb.store.MoveStage(ctx, secretstore.StageMove{SecretID: rb.req.SecretID, Stage: secretstore.Pending, FromVersion: version})
}

// moveCurrentBack rolls back after finishSecret: test the previous
// credential, remove AWSPENDING from the version rolled back from, move
// AWSCURRENT back. A crash after the removal leaves a finished rotation
// without AWSPENDING, from which a repeated request goes on.
func (rb *rollback) moveCurrentBack(ctx context.Context, current string) error {
	previous, _ := rb.desc.VersionWithStage(secretstore.Previous)
	if previous == "" {
		return rb.fail("check", ErrNoPrevious)
	}
	if pending, ok := rb.desc.VersionWithStage(secretstore.Pending); ok && pending != current {
		return rb.fail("check", ErrRotationInProgress)
	}
	cur, err := rb.read(ctx, current)
	if err != nil {
		return rb.fail("read current", err)
	}
	prev, err := rb.read(ctx, previous)
	if err != nil {
		return rb.fail("read previous", err)
	}
	// The rotator's test of "pending" is the test of the credential that is
	// to become current again: it logs in and can do what current can.
	_, err = rb.rotator.Test(ctx, rotators.TestRequest{
		SecretID: rb.req.SecretID, Current: cur, Pending: prev, Secrets: rb.reader(), Log: rb.log,
	})
	if err != nil {
		return rb.fail("test previous", fmt.Errorf("%w: %w", ErrPreviousUnusable, err))
	}
	if rb.desc.HasStage(current, secretstore.Pending) {
		if err := rb.removePending(ctx, current); err != nil {
			return rb.fail("remove AWSPENDING", err)
		}
	}
	err = rb.store.MoveStage(ctx, secretstore.StageMove{
		SecretID: rb.req.SecretID, Stage: secretstore.Current, ToVersion: previous, FromVersion: current,
	})
	if err != nil {
		return rb.fail("move AWSCURRENT", err)
	}
	rb.log.Info("rolled back: AWSCURRENT moved back, no AWSPENDING left", "version", previous)
	rb.notify(ctx, previous, events.OutcomeSucceeded)
	return nil
}

// dropPending rolls back before finishSecret: the rotator undoes what Set
// did, then AWSPENDING is removed. Undo comes first: once the label is
// gone, a repeated request finds nothing to roll back, so the undo must
// be done by then. A pending version with no value had no Set (createSecret
// never stored it), so there is nothing to undo.
func (rb *rollback) dropPending(ctx context.Context, current string) error {
	from := rb.req.FromVersion
	pending, err := rb.read(ctx, from)
	switch {
	case errors.Is(err, secretstore.ErrVersionNotFound):
		rb.log.Info("the pending version has no value; nothing to undo")
	case err != nil:
		return rb.fail("read pending", err)
	default:
		if undoer, ok := rb.rotator.(rotators.Undoer); ok {
			cur, err := rb.read(ctx, current)
			if err != nil {
				return rb.fail("read current", err)
			}
			resp, err := undoer.Undo(ctx, rotators.UndoRequest{
				SecretID: rb.req.SecretID, Current: cur, Pending: pending, Secrets: rb.reader(), Log: rb.log,
			})
			if err != nil {
				return rb.fail("rotator undo", err)
			}
			rb.log.Info("pending credential undone", "undone", resp.Undone)
		}
	}
	if err := rb.removePending(ctx, from); err != nil {
		return rb.fail("remove AWSPENDING", err)
	}
	rb.log.Info("rolled back: pending version dropped; AWSCURRENT unchanged", "version", current)
	rb.notify(ctx, current, events.OutcomeSucceeded)
	return nil
}

// notify publishes "Rotation Rolled Back" (the audit record of the
// action): version is AWSCURRENT now; the event's PreviousVersionID is the
// version rolled back from. A publish failure is logged only.
func (rb *rollback) notify(ctx context.Context, version string, outcome events.Outcome) {
	if rb.notifier == nil {
		return
	}
	end := rb.now()
	desc, log := rb.desc, rb.log
	account, region := arnParts(desc.ARN)
	d := events.Detail{
		SchemaVersion: events.SchemaVersion, SecretArn: desc.ARN, SecretName: desc.Name, Account: account, Region: region,
		CredentialType: rb.info.Type, Strategy: rb.info.Strategy, Phase: events.PhaseRollback,
		VersionID: version, PreviousVersionID: rb.req.FromVersion, Outcome: outcome,
		DurationMs: float64(end.Sub(rb.start).Microseconds()) / 1000, Time: end.UTC(),
	}
	ev := events.Event{DetailType: events.RolledBack, Account: account, Region: region, Time: d.Time, Detail: d}
	if err := d.Validate(ev.DetailType); err != nil {
		log.Warn("no rollback event: it would not be valid", "error", err)
		return
	}
	pctx, cancel := publishContext(ctx)
	defer cancel()
	if err := rb.notifier.Publish(pctx, ev); err != nil {
		log.Warn("rollback event not published", "error", err)
	}
}

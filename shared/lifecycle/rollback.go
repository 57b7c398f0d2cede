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

// Rollback after finishSecret and before deactivation moves AWSCURRENT back
// to AWSPREVIOUS (DESIGN.md, "The rotation workflow"). It is an operator's
// action, for a new credential that breaks something the rotation's test
// did not see. It is only safe while the previous credential still works:
// the engine tests it with the rotator first, so a single-user secret (whose
// old password is gone) or a deactivated user is refused and nothing moves.
// After deactivation there is no rollback, only forward: a new rotation.

// RollbackRequest asks to move AWSCURRENT from FromVersion back to the
// version labelled AWSPREVIOUS.
type RollbackRequest struct {
	SecretID string
	// FromVersion is the version AWSCURRENT is on when the operator asks.
	// It makes a repeated request harmless: once AWSCURRENT has moved
	// away from it, the rollback is done, not done again.
	FromVersion string
}

// Reasons a rollback is refused; nothing has changed.
var (
	ErrNoPrevious         = errors.New("the secret has no AWSPREVIOUS version to roll back to")
	ErrNotCurrent         = errors.New("the version to roll back from is not AWSCURRENT")
	ErrRotationInProgress = errors.New("a rotation is in progress (AWSPENDING is on another version); let it finish or fail first")
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

// Rollback moves AWSCURRENT back to AWSPREVIOUS after testing that the
// previous credential still works, and publishes "Rotation Rolled Back".
// Asked again once done, it publishes again (outcome skipped) and changes
// nothing.
func (e *Engine) Rollback(ctx context.Context, req RollbackRequest) error {
	start := e.now()
	scrub := redact.New()
	log := slog.New(redact.NewHandler(e.logger.Handler(), scrub)).With(
		"secret_id", req.SecretID, "action", "rollback", "from_version", req.FromVersion, "type", e.info.Type, "strategy", e.info.Strategy)
	fail := func(phase string, err error) error {
		err = scrub.Error(&RollbackError{SecretID: req.SecretID, Phase: phase, Err: err})
		log.Error("rollback refused or failed; nothing changed", "error", err)
		return err
	}
	switch {
	case req.SecretID == "":
		return fail("request", &InputError{Field: "SecretId", Reason: "missing"})
	case req.FromVersion == "":
		return fail("request", &InputError{Field: "FromVersionId", Reason: "missing"})
	}
	desc, err := e.store.Describe(ctx, req.SecretID)
	if err != nil {
		return fail("describe", err)
	}
	current, ok := desc.VersionWithStage(secretstore.Current)
	if !ok {
		return fail("check", ErrNoCurrent)
	}
	previous, _ := desc.VersionWithStage(secretstore.Previous)
	if current != req.FromVersion {
		if previous == req.FromVersion {
			log.Info("already rolled back; nothing to do", "version", current)
			e.notifyRollback(ctx, log, desc, current, previous, events.OutcomeSkipped, start)
			return nil
		}
		return fail("check", fmt.Errorf("%w: AWSCURRENT is on %s", ErrNotCurrent, current))
	}
	if previous == "" {
		return fail("check", ErrNoPrevious)
	}
	if pending, ok := desc.VersionWithStage(secretstore.Pending); ok && pending != current {
		return fail("check", ErrRotationInProgress)
	}
	read := func(id string) ([]byte, error) {
		v, err := e.store.Value(ctx, req.SecretID, id)
		if err == nil {
			scrub.AddSecretJSON(v)
		}
		return v, err
	}
	cur, err := read(current)
	if err != nil {
		return fail("read current", err)
	}
	prev, err := read(previous)
	if err != nil {
		return fail("read previous", err)
	}
	// The rotator's test of "pending" is the test of the credential that is
	// to become current again: it logs in and can do what current can.
	_, err = e.rotator.Test(ctx, rotators.TestRequest{
		SecretID: req.SecretID, Current: cur, Pending: prev, Secrets: secretReader{e.store, scrub}, Log: log,
	})
	if err != nil {
		return fail("test previous", fmt.Errorf("%w: %w", ErrPreviousUnusable, err))
	}
	err = e.store.MoveStage(ctx, secretstore.StageMove{
		SecretID: req.SecretID, Stage: secretstore.Current, ToVersion: previous, FromVersion: current,
	})
	if err != nil {
		return fail("move AWSCURRENT", err)
	}
	log.Info("rolled back: AWSCURRENT moved back", "version", previous)
	e.notifyRollback(ctx, log, desc, previous, current, events.OutcomeSucceeded, start)
	return nil
}

// notifyRollback publishes "Rotation Rolled Back": version is AWSCURRENT
// now, from the version it left. A publish failure is logged only.
func (e *Engine) notifyRollback(ctx context.Context, log *slog.Logger, desc secretstore.Description, version, from string, outcome events.Outcome, start time.Time) {
	if e.notifier == nil {
		return
	}
	end := e.now()
	account, region := arnParts(desc.ARN)
	d := events.Detail{
		SchemaVersion: events.SchemaVersion, SecretArn: desc.ARN, SecretName: desc.Name, Account: account, Region: region,
		CredentialType: e.info.Type, Strategy: e.info.Strategy, Phase: events.PhaseRollback,
		VersionID: version, PreviousVersionID: from, Outcome: outcome,
		DurationMs: float64(end.Sub(start).Microseconds()) / 1000, Time: end.UTC(),
	}
	ev := events.Event{DetailType: events.RolledBack, Account: account, Region: region, Time: d.Time, Detail: d}
	if err := d.Validate(ev.DetailType); err != nil {
		log.Warn("no rollback event: it would not be valid", "error", err)
		return
	}
	pctx, cancel := publishContext(ctx)
	defer cancel()
	if err := e.notifier.Publish(pctx, ev); err != nil {
		log.Warn("rollback event not published", "error", err)
	}
}

package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/test/faults"
)

// A rollback tests the previous credential, moves AWSCURRENT back to it and
// says so in an event; asked again, it changes nothing and says so again.
func TestRollback(t *testing.T) {
	f := newFixture(t, nil)
	n := f.withEvents(t, nil)
	second := f.rotate(t)
	n.reset()
	var tested []byte
	f.rot.test = func(r rotators.TestRequest) error { tested = r.Pending; return nil }
	req := lifecycle.RollbackRequest{SecretID: f.arn, FromVersion: second}
	if err := f.eng.Rollback(f.ctx, req); err != nil {
		t.Fatalf("want the rollback done, got %v", err)
	}
	if string(tested) != currentValue {
		t.Errorf("want the previous credential tested before the move, got %q tested", tested)
	}
	st := f.stages(t)
	if !slices.Contains(st[f.first], "AWSCURRENT") || !slices.Contains(st[second], "AWSPREVIOUS") {
		t.Fatalf("want AWSCURRENT back on %s and AWSPREVIOUS on %s, got %v", f.first, second, st)
	}
	evs := n.events(t)
	if len(evs) != 1 || evs[0].DetailType != events.RolledBack || evs[0].Detail.VersionID != f.first ||
		evs[0].Detail.PreviousVersionID != second || evs[0].Detail.Outcome != events.OutcomeSucceeded || evs[0].Detail.Phase != events.PhaseRollback {
		t.Fatalf("want one Rotation Rolled Back to %s from %s, got %+v", f.first, second, evs)
	}
	if err := evs[0].Detail.Validate(evs[0].DetailType); err != nil {
		t.Fatal(err)
	}

	n.reset()
	if err := f.eng.Rollback(f.ctx, req); err != nil {
		t.Fatalf("asked again: want nil, got %v", err)
	}
	if again := f.stages(t); !slices.Contains(again[f.first], "AWSCURRENT") {
		t.Fatalf("asked again: want AWSCURRENT to stay on %s, got %v", f.first, again)
	}
	if evs := n.events(t); len(evs) != 1 || evs[0].Detail.Outcome != events.OutcomeSkipped {
		t.Fatalf("asked again: want one event with outcome skipped, got %+v", evs)
	}
}

// Refused rollbacks name the reason and change nothing; each case tweaks
// one valid baseline (a finished rotation, rolled back from AWSCURRENT).
func TestRollbackRefusals(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, f *fixture, req *lifecycle.RollbackRequest)
		want  error
		field string
	}{
		{"no secret id", func(_ *testing.T, _ *fixture, r *lifecycle.RollbackRequest) { r.SecretID = "" }, nil, "SecretId"},
		{"no version", func(_ *testing.T, _ *fixture, r *lifecycle.RollbackRequest) { r.FromVersion = "" }, nil, "FromVersionId"},
		{"from a version that is not current", func(_ *testing.T, f *fixture, r *lifecycle.RollbackRequest) { r.FromVersion = "not-a-version" }, lifecycle.ErrNotCurrent, ""},
		{"no previous version", func(t *testing.T, f *fixture, r *lifecycle.RollbackRequest) {
			g := newFixture(t, nil)
			*f = *g
			r.SecretID, r.FromVersion = g.arn, g.first
		}, lifecycle.ErrNoPrevious, ""},
		{"rotation in progress", func(t *testing.T, f *fixture, _ *lifecycle.RollbackRequest) { f.start(t) }, lifecycle.ErrRotationInProgress, ""},
		{"previous credential refused", func(_ *testing.T, f *fixture, _ *lifecycle.RollbackRequest) {
			f.rot.test = func(rotators.TestRequest) error { return errors.New("password authentication failed") }
		}, lifecycle.ErrPreviousUnusable, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			second := f.rotate(t)
			req := lifecycle.RollbackRequest{SecretID: f.arn, FromVersion: second}
			c.setup(t, f, &req)
			n := f.withEvents(t, nil)
			before := f.stages(t)
			err := f.eng.Rollback(f.ctx, req)
			var re *lifecycle.RollbackError
			if !errors.As(err, &re) {
				t.Fatalf("want a RollbackError, got %v", err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("want %v, got %v", c.want, err)
			}
			var in *lifecycle.InputError
			if c.field != "" && (!errors.As(err, &in) || in.Field != c.field) {
				t.Fatalf("want an InputError naming %s, got %v", c.field, err)
			}
			if after := f.stages(t); !equalStages(before, after) {
				t.Fatalf("want nothing changed, got %v after %v", after, before)
			}
			if evs := n.events(t); len(evs) != 0 {
				t.Fatalf("want no event for a refused rollback, got %+v", evs)
			}
			if strings.Contains(err.Error(), "Secret-Value") || strings.Contains(f.logs.String(), "Secret-Value") {
				t.Fatalf("want no secret value in the error or the log")
			}
		})
	}
}

func equalStages(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(slices.Sorted(slices.Values(v)), slices.Sorted(slices.Values(b[k]))) {
			return false
		}
	}
	return true
}

// undoRotator is a fakeRotator that is a rotators.Undoer too.
type undoRotator struct {
	*fakeRotator
	undos []rotators.UndoRequest
	err   error
}

func (u *undoRotator) Undo(_ context.Context, r rotators.UndoRequest) (rotators.UndoResponse, error) {
	u.undos = append(u.undos, r)
	return rotators.UndoResponse{Undone: len(u.undos) == 1}, u.err
}

// withUndo rebuilds the fixture's engine over an Undoer.
func (f *fixture) withUndo(t *testing.T) *undoRotator {
	t.Helper()
	u := &undoRotator{fakeRotator: f.rot}
	eng, err := lifecycle.New(&faults.Store{Next: f.store, Inj: f.inj}, u, f.config, loggerTo(f))
	if err != nil {
		t.Fatal(err)
	}
	f.eng = eng
	return u
}

// checkReady checks that the secret is ready for the next rotation: no
// AWSPENDING anywhere, AWSCURRENT on want, and that a rotation then runs.
func (f *fixture) checkReady(t *testing.T, want string) {
	t.Helper()
	st := f.stages(t)
	for id, stages := range st {
		if slices.Contains(stages, secretstore.Pending) {
			t.Fatalf("want no AWSPENDING left, got it on %s: %v", id, st)
		}
	}
	if !slices.Contains(st[want], secretstore.Current) {
		t.Fatalf("want AWSCURRENT on %s, got %v", want, st)
	}
	f.inj.Reset()
	next := f.rotate(t)
	if !slices.Contains(f.stages(t)[next], secretstore.Current) {
		t.Fatalf("want the next rotation to finish, got %v", f.stages(t))
	}
}

// After a rollback past finishSecret, no AWSPENDING is left on the
// rolled-back version: the old token's steps are refused (a retry cannot
// promote it again), and the next rotation starts and finishes.
func TestRollbackLeavesTheSecretReady(t *testing.T) {
	f := newFixture(t, nil)
	second := f.rotate(t)
	if err := f.eng.Rollback(f.ctx, lifecycle.RollbackRequest{SecretID: f.arn, FromVersion: second}); err != nil {
		t.Fatal(err)
	}
	before := f.store.Snapshot()
	if err := f.run(lifecycle.FinishSecret, second); !errors.Is(err, lifecycle.ErrNotPending) {
		t.Fatalf("a retried finishSecret of the rolled-back token: want ErrNotPending, got %v", err)
	}
	if !reflect.DeepEqual(before, f.store.Snapshot()) {
		t.Fatal("want the refused retry to change nothing")
	}
	f.checkReady(t, f.first)
}

// A secret an earlier rollback left stranded (AWSPENDING still on the
// version rolled back from, now AWSPREVIOUS) is repaired by asking again.
func TestRollbackRepairsAStrandedSecret(t *testing.T) {
	f := newFixture(t, nil)
	second := f.rotate(t)
	// What the rollback of earlier releases did: AWSCURRENT moved back,
	// AWSPENDING left where it was.
	if err := f.store.MoveStage(f.ctx, secretstore.StageMove{SecretID: f.arn, Stage: secretstore.Current, ToVersion: f.first, FromVersion: second}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.StartRotation(f.ctx, f.arn, uuid.NewString()); err == nil {
		t.Fatal("set-up: want the stranded secret to refuse a rotation")
	}
	if err := f.eng.Rollback(f.ctx, lifecycle.RollbackRequest{SecretID: f.arn, FromVersion: second}); err != nil {
		t.Fatal(err)
	}
	f.checkReady(t, f.first)
}

// Before finishSecret, a rollback from the pending version drops it: the
// rotator undoes what Set did, AWSPENDING goes, AWSCURRENT stays; the
// dropped rotation's steps are refused; asked again, nothing changes.
func TestRollbackBeforeFinish(t *testing.T) {
	f := newFixture(t, nil)
	u := f.withUndo(t)
	n := f.withEvents(t, nil)
	token := f.start(t)
	for _, step := range []lifecycle.Step{lifecycle.CreateSecret, lifecycle.SetSecret, lifecycle.TestSecret} {
		if err := f.run(step, token); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := f.store.Value(f.ctx, f.arn, token)
	if err != nil {
		t.Fatal(err)
	}
	n.reset()
	req := lifecycle.RollbackRequest{SecretID: f.arn, FromVersion: token}
	if err := f.eng.Rollback(f.ctx, req); err != nil {
		t.Fatalf("want the pending version dropped, got %v", err)
	}
	if len(u.undos) != 1 || string(u.undos[0].Current) != currentValue || string(u.undos[0].Pending) != string(pending) || u.undos[0].Secrets == nil {
		t.Fatalf("want one Undo with the current and the pending value, got %d", len(u.undos))
	}
	evs := n.events(t)
	if len(evs) != 1 || evs[0].DetailType != events.RolledBack || evs[0].Detail.VersionID != f.first ||
		evs[0].Detail.PreviousVersionID != token || evs[0].Detail.Outcome != events.OutcomeSucceeded {
		t.Fatalf("want one Rotation Rolled Back (AWSCURRENT %s, from %s), got %+v", f.first, token, evs)
	}
	if strings.Contains(f.logs.String(), "old-Secret-Value-1") {
		t.Fatal("want no secret value in the log")
	}
	before := f.store.Snapshot()
	for _, step := range lifecycle.Steps {
		// The dropped version has no label left: DescribeSecret no longer
		// lists it.
		if err := f.run(step, token); !errors.Is(err, lifecycle.ErrUnknownVersion) {
			t.Fatalf("%s of the dropped token: want ErrUnknownVersion, got %v", step, err)
		}
	}
	n.reset()
	if err := f.eng.Rollback(f.ctx, req); err != nil {
		t.Fatalf("asked again: want nil, got %v", err)
	}
	if evs := n.events(t); len(evs) != 1 || evs[0].Detail.Outcome != events.OutcomeSkipped {
		t.Fatalf("asked again: want one event with outcome skipped, got %+v", evs)
	}
	if len(u.undos) != 1 || !reflect.DeepEqual(before, f.store.Snapshot()) {
		t.Fatalf("asked again: want nothing changed and no second Undo, got %d Undo calls", len(u.undos))
	}
	f.checkReady(t, f.first)
}

// A pending version with no value (createSecret never stored one) is
// dropped without an Undo: no Set can have run. A failing Undo keeps the
// label, so that the rollback can be asked again.
func TestRollbackBeforeFinishEdges(t *testing.T) {
	f := newFixture(t, nil)
	u := f.withUndo(t)
	token := f.start(t)
	if err := f.eng.Rollback(f.ctx, lifecycle.RollbackRequest{SecretID: f.arn, FromVersion: token}); err != nil {
		t.Fatal(err)
	}
	if len(u.undos) != 0 {
		t.Fatalf("want no Undo for a pending version with no value, got %d", len(u.undos))
	}
	f.checkReady(t, f.first)

	token = f.start(t)
	if err := f.run(lifecycle.CreateSecret, token); err != nil {
		t.Fatal(err)
	}
	u.err = errors.New("cannot log in")
	err := f.eng.Rollback(f.ctx, lifecycle.RollbackRequest{SecretID: f.arn, FromVersion: token})
	if err == nil || !strings.Contains(err.Error(), "rotator undo") {
		t.Fatalf("want the failed Undo reported, got %v", err)
	}
	if !slices.Contains(f.stages(t)[token], secretstore.Pending) {
		t.Fatal("want AWSPENDING kept after a failed Undo")
	}
	u.err = nil
	if err := f.eng.Rollback(f.ctx, lifecycle.RollbackRequest{SecretID: f.arn, FromVersion: token}); err != nil {
		t.Fatal(err)
	}
}

// Crash anywhere: the k-th store call of a rollback fails, before it is
// made or after it took effect with its answer lost; asking again then
// finishes the rollback, and the secret is ready for the next rotation.
func TestRollbackCrashAnywhere(t *testing.T) {
	type setup func(t *testing.T, f *fixture) (from, wantCurrent string)
	afterFinish := func(t *testing.T, f *fixture) (string, string) { return f.rotate(t), f.first }
	beforeFinish := func(t *testing.T, f *fixture) (string, string) {
		f.withUndo(t)
		token := f.start(t)
		for _, step := range []lifecycle.Step{lifecycle.CreateSecret, lifecycle.SetSecret} {
			if err := f.run(step, token); err != nil {
				t.Fatal(err)
			}
		}
		return token, f.first
	}
	for name, prepare := range map[string]setup{"after finishSecret": afterFinish, "before finishSecret": beforeFinish} {
		// Count the calls of an undisturbed rollback.
		f := newFixture(t, nil)
		from, _ := prepare(t, f)
		f.inj.Reset()
		if err := f.eng.Rollback(f.ctx, lifecycle.RollbackRequest{SecretID: f.arn, FromVersion: from}); err != nil {
			t.Fatal(err)
		}
		calls := f.inj.Count()
		for _, mode := range []faults.Mode{faults.Before, faults.After} {
			for k := 1; k <= calls; k++ {
				t.Run(fmt.Sprintf("%s/%s/k=%d", name, mode, k), func(t *testing.T) {
					f := newFixture(t, nil)
					from, want := prepare(t, f)
					req := lifecycle.RollbackRequest{SecretID: f.arn, FromVersion: from}
					f.inj.Arm(k, mode)
					first := f.eng.Rollback(f.ctx, req)
					if f.inj.Fired() == "" {
						t.Fatalf("want call %d to fail, none did", k)
					}
					if first == nil && mode == faults.Before {
						t.Fatalf("want the rollback to fail at %s, got nil", f.inj.Fired())
					}
					f.inj.Reset()
					if err := f.eng.Rollback(f.ctx, req); err != nil {
						t.Fatalf("after %s: want the rollback finished by asking again, got %v", f.inj.Fired(), err)
					}
					f.checkReady(t, want)
				})
			}
		}
	}
}

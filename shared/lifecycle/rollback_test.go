package lifecycle_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/lifecycle"
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

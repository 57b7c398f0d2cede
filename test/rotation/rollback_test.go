package rotation_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/test/faults"
)

// TestRollbackCrashAnywhere: an operator's rollback, before finishSecret
// (drop the pending version, undo Set) for either strategy, and after it
// (AWSCURRENT back to AWSPREVIOUS) for alternating users, against the real
// server. The k-th store or database call of the rollback fails, for every
// k; asking again finishes it. Then AWSCURRENT logs in, no AWSPENDING is
// left, the dropped credential does not log in, and the next rotation
// runs.
func TestRollbackCrashAnywhere(t *testing.T) {
	type scenario struct {
		strategy postgres.Strategy
		finished bool // roll back after finishSecret
	}
	for _, sc := range []scenario{
		{postgres.SingleUser, false}, {postgres.AlternatingUsers, false}, {postgres.AlternatingUsers, true},
	} {
		// prepare rotates once (the clone exists from then on) and runs a
		// second rotation up to setSecret, or to its end; it returns the
		// version to roll back from and the credential that must then be
		// dead.
		prepare := func(e *env) (from string, dropped cred) {
			e.rotate()
			token := e.start()
			steps := lifecycle.Steps[:2]
			if sc.finished {
				steps = lifecycle.Steps
			}
			for _, s := range steps {
				if err := e.step(s, token); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			if sc.finished {
				return token, cred{}
			}
			return token, e.mustCredential(secretstore.Pending)
		}
		check := func(e *env, label string, dropped cred) {
			t.Helper()
			d, err := e.store.Describe(e.ctx, e.arn)
			if err != nil {
				t.Fatal(err)
			}
			for id, stages := range d.Versions {
				if slices.Contains(stages, secretstore.Pending) {
					t.Fatalf("%s: want no AWSPENDING left, got it on %s", label, id)
				}
			}
			if err := e.logsIn(e.mustCredential(secretstore.Current)); err != nil {
				t.Fatalf("%s: want AWSCURRENT to log in, got %v", label, err)
			}
			if dropped.User != "" && e.logsIn(dropped) == nil {
				t.Fatalf("%s: want the dropped pending credential not to log in, got a login", label)
			}
			e.rotate()
			e.checkSettled(label + " after the next rotation")
			e.checkNoSecretInLogs(label)
		}
		name := fmt.Sprintf("%s/finished=%v", sc.strategy, sc.finished)
		e := newEnv(t, sc.strategy)
		from, _ := prepare(e)
		e.inj.Reset()
		if err := e.engine.Rollback(e.ctx, lifecycle.RollbackRequest{SecretID: e.arn, FromVersion: from}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		calls := e.inj.Count()
		for _, mode := range []faults.Mode{faults.Before, faults.After} {
			t.Run(fmt.Sprintf("%s/%s", name, mode), func(t *testing.T) {
				t.Logf("%d store and database calls per rollback", calls)
				for k := 1; k <= calls; k++ {
					e := newEnv(t, sc.strategy)
					from, dropped := prepare(e)
					req := lifecycle.RollbackRequest{SecretID: e.arn, FromVersion: from}
					e.inj.Arm(k, mode)
					_ = e.engine.Rollback(e.ctx, req)
					fired := e.inj.Fired()
					e.inj.Reset()
					if err := e.engine.Rollback(e.ctx, req); err != nil {
						t.Fatalf("k=%d (%s): want the rollback finished by asking again, got %v", k, fired, err)
					}
					check(e, fmt.Sprintf("k=%d (%s)", k, fired), dropped)
				}
			})
		}
	}
}

package rotation_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/test/faults"
)

// TestCrashAnywhere fails the k-th store or database call of a rotation, for
// every k, and retries the steps with the same token as Secrets Manager
// does. The rotation must complete, and at every point in between the
// credentials consumers use must still log in: AWSCURRENT with alternating
// users; with a single user, AWSCURRENT or AWSPENDING (between setSecret and
// finishSecret only the new password works: the window the single-user
// strategy accepts by design).
//
// Each k runs two rotations on a fresh secret: the first creates the clone
// user, the second changes an existing one. Store calls fail before they
// are made or after they took effect with their answer lost; database calls
// fail before they are made (see faults.After).
//
// Steps run in one engine (a warm container, which keeps what it read) and
// each in an engine of its own (cold containers, which read everything).
func TestCrashAnywhere(t *testing.T) {
	for _, strategy := range []postgres.Strategy{postgres.AlternatingUsers, postgres.SingleUser} {
		for _, mode := range []faults.Mode{faults.Before, faults.After} {
			for _, cold := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/cold=%v", strategy, mode, cold), func(t *testing.T) {
					crashAnywhere(t, strategy, mode, cold)
				})
			}
		}
	}
}

func crashAnywhere(t *testing.T, strategy postgres.Strategy, mode faults.Mode, cold bool) {
	calls := callsPerRotation(t, strategy, cold)
	t.Logf("calls per rotation (first, second): %v", calls)
	recovered := 0
	for k := 1; k <= max(calls[0], calls[1]); k++ {
		e := newEnv(t, strategy, coldSteps(cold))
		for r := range 2 {
			if k > calls[r] {
				e.rotate()
				continue
			}
			e.inj.Arm(k, mode)
			// A fault need not fail its step: the rotator may
			// treat a failed probe (does the pending password
			// work yet?) as "not yet" and go on.
			if e.rotateWithRetries(fmt.Sprintf("k=%d rotation %d", k, r+1)) > 1 {
				recovered++
			}
		}
		e.inj.Reset()
		e.checkSettled(fmt.Sprintf("k=%d", k))
		e.checkNoSecretInLogs(fmt.Sprintf("k=%d", k))
	}
	if recovered == 0 {
		t.Fatalf("want rotations that failed and recovered, got none")
	}
	t.Logf("%d rotations failed at an injected fault and completed on retry", recovered)
}

// callsPerRotation counts the store and database calls of a first and a
// second rotation.
func callsPerRotation(t *testing.T, strategy postgres.Strategy, cold bool) [2]int {
	e := newEnv(t, strategy, coldSteps(cold))
	var out [2]int
	for r := range 2 {
		e.inj.Reset()
		e.rotate()
		out[r] = e.inj.Count()
	}
	return out
}

// rotateWithRetries starts a rotation and runs its steps until they all
// succeed, retrying with the same token; after every failure it checks that
// consumers can still log in. It returns the number of attempts.
func (e *env) rotateWithRetries(label string) int {
	e.t.Helper()
	token := e.start()
	for attempt := 1; attempt <= 4; attempt++ {
		err := e.steps(token)
		if err == nil {
			return attempt
		}
		if e.inj.Fired() == "" {
			e.t.Fatalf("%s: a step failed with no fault injected: %v", label, err)
		}
		e.checkConsumersLogIn(fmt.Sprintf("%s after %s", label, e.inj.Fired()))
	}
	e.t.Fatalf("%s: the rotation did not complete after retries", label)
	return 0
}

func (e *env) checkConsumersLogIn(label string) {
	e.t.Helper()
	cur := e.mustCredential(secretstore.Current)
	err := e.logsIn(cur)
	if err == nil {
		return
	}
	if e.strategy == postgres.SingleUser {
		if pending, ok := e.credential(secretstore.Pending); ok && e.logsIn(pending) == nil {
			return
		}
	}
	e.t.Errorf("%s: want AWSCURRENT to log in, got %v", label, err)
}

// checkSettled checks a secret after its rotations: AWSCURRENT logs in, and
// with alternating users AWSPREVIOUS too, with the same memberships.
func (e *env) checkSettled(label string) {
	e.t.Helper()
	cur := e.mustCredential(secretstore.Current)
	if err := e.logsIn(cur); err != nil {
		e.t.Errorf("%s: want AWSCURRENT to log in after the rotations, got %v", label, err)
	}
	if e.strategy != postgres.AlternatingUsers {
		return
	}
	prev := e.mustCredential(secretstore.Previous)
	if err := e.logsIn(prev); err != nil {
		e.t.Errorf("%s: want AWSPREVIOUS to log in, got %v", label, err)
	}
	if a, b := e.groups(cur.User), e.groups(prev.User); fmt.Sprint(a) != fmt.Sprint(b) || len(a) != 2 {
		e.t.Errorf("%s: want both users with the two roles, got %v and %v", label, a, b)
	}
	e.cloneAnchored(label)
}

// checkNoSecretInLogs scans the engine's log lines, failures included, for
// every password the store has held.
func (e *env) checkNoSecretInLogs(label string) {
	e.t.Helper()
	logs := e.logs.String()
	if logs == "" {
		e.t.Fatalf("%s: want log lines, got none", label)
	}
	for _, pw := range append(e.passwords(), masterPassword) {
		if strings.Contains(logs, pw) {
			e.t.Errorf("%s: want no password in the logs, found one", label)
		}
	}
}

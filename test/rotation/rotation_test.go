package rotation_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore"
)

func TestAlternatingUsersRotations(t *testing.T) {
	e := newEnv(t, postgres.AlternatingUsers)
	var history []cred
	history = append(history, e.mustCredential(secretstore.Current))
	for i := 1; i <= 4; i++ {
		e.rotate()
		cur, prev := e.mustCredential(secretstore.Current), e.mustCredential(secretstore.Previous)
		history = append(history, cur)
		if err := e.logsIn(cur); err != nil {
			t.Fatalf("rotation %d: want AWSCURRENT to log in, got %v", i, err)
		}
		if err := e.logsIn(prev); err != nil {
			t.Errorf("rotation %d: want AWSPREVIOUS to log in until the next rotation, got %v", i, err)
		}
		if prev != history[i-1] {
			t.Errorf("rotation %d: want AWSPREVIOUS to be the former AWSCURRENT", i)
		}
		if cur.User == prev.User {
			t.Errorf("rotation %d: want the users to alternate, got %s twice", i, cur.User)
		}
		if i >= 2 {
			if err := e.logsIn(history[i-2]); err == nil {
				t.Errorf("rotation %d: want the credential of two rotations ago to stop working, it logs in", i)
			}
		}
		if got, want := e.groups(cur.User), e.groups(prev.User); !reflect.DeepEqual(got, want) {
			t.Errorf("rotation %d: want equal memberships, got %v and %v", i, got, want)
		}
		e.cloneAnchored(fmt.Sprintf("rotation %d", i))
	}
	if !strings.Contains(e.logs.String(), `"msg":"pending user set"`) {
		t.Errorf("want the rotator's lines in the engine's log, got:\n%s", e.logs.String())
	}
	if got, want := e.mustCredential(secretstore.Current).User, e.user; got != want {
		t.Errorf("want the base user back after an even number of rotations: want %s, got %s", want, got)
	}
	assertNoPasswordInServerLog(t, e)
}

func TestSingleUserRotations(t *testing.T) {
	e := newEnv(t, postgres.SingleUser)
	for i := 1; i <= 3; i++ {
		e.rotate()
		cur, prev := e.mustCredential(secretstore.Current), e.mustCredential(secretstore.Previous)
		if err := e.logsIn(cur); err != nil {
			t.Fatalf("rotation %d: want AWSCURRENT to log in, got %v", i, err)
		}
		if err := e.logsIn(prev); err == nil {
			t.Errorf("rotation %d: want the old password to stop working, it logs in", i)
		}
		if cur.User != e.user {
			t.Errorf("rotation %d: want user %s, got %s", i, e.user, cur.User)
		}
	}
	assertNoPasswordInServerLog(t, e)
}

func assertNoPasswordInServerLog(t *testing.T, e *env) {
	t.Helper()
	log, err := server.Log()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "ALTER ROLE") {
		t.Fatalf("want the statement log to show the rotations (log_statement=all), it does not")
	}
	generated := e.generated()
	if len(generated) == 0 {
		t.Fatalf("want generated passwords to look for, got none")
	}
	for _, pw := range generated {
		if strings.Contains(string(log), pw) {
			t.Errorf("want no password in the server log, found one")
		}
	}
}

func TestPendingSecretKeepsOtherFields(t *testing.T) {
	e := newEnv(t, postgres.AlternatingUsers)
	e.rotate()
	out, err := e.store.CurrentValue(e.ctx, e.arn)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"custom_field":"kept"`, `"masterarn"`, `"engine":"postgres"`} {
		if !strings.Contains(string(out), field) {
			t.Errorf("want %s kept in the rotated secret", field)
		}
	}
}

func TestEveryStepTwiceGivesTheSameResult(t *testing.T) {
	for _, strategy := range []postgres.Strategy{postgres.AlternatingUsers, postgres.SingleUser} {
		t.Run(string(strategy), func(t *testing.T) {
			e := newEnv(t, strategy)
			e.rotate() // the clone exists from here on
			token := e.start()
			for _, step := range lifecycle.Steps {
				if err := e.step(step, token); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				store1, logins1, members1 := e.store.Snapshot(), e.loginMatrix(), e.memberships("")
				if err := e.step(step, token); err != nil {
					t.Fatalf("%s again: %v", step, err)
				}
				if !reflect.DeepEqual(store1, e.store.Snapshot()) {
					t.Errorf("%s: want the same store after a second run", step)
				}
				if got := e.loginMatrix(); got != logins1 {
					t.Errorf("%s: want the same logins after a second run: want %s, got %s", step, logins1, got)
				}
				if got := e.memberships(""); !reflect.DeepEqual(got, members1) {
					t.Errorf("%s: want the same memberships, want %v, got %v", step, members1, got)
				}
			}
		})
	}
}

// loginMatrix says which of the store's credentials log in now.
func (e *env) loginMatrix() string {
	var b strings.Builder
	for _, stage := range []string{secretstore.Current, secretstore.Pending, secretstore.Previous} {
		c, ok := e.credential(stage)
		fmt.Fprintf(&b, "%s:", stage)
		switch {
		case !ok:
			b.WriteString("none ")
		case e.logsIn(c) == nil:
			b.WriteString("ok ")
		default:
			b.WriteString("refused ")
		}
	}
	return b.String()
}

func TestStepForATokenNotPendingIsRefused(t *testing.T) {
	e := newEnv(t, postgres.AlternatingUsers)
	first := e.rotate()
	second := e.rotate()
	_ = second
	pendingToken := e.start()
	if err := e.step(lifecycle.CreateSecret, pendingToken); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		token string
		step  lifecycle.Step
		want  error
	}{
		{"unknown token, create", uuid.NewString(), lifecycle.CreateSecret, lifecycle.ErrUnknownVersion},
		{"unknown token, set", uuid.NewString(), lifecycle.SetSecret, lifecycle.ErrUnknownVersion},
		{"AWSPREVIOUS token, set", first, lifecycle.SetSecret, lifecycle.ErrNotPending},
		{"AWSPREVIOUS token, test", first, lifecycle.TestSecret, lifecycle.ErrNotPending},
		{"AWSPREVIOUS token, finish", first, lifecycle.FinishSecret, lifecycle.ErrNotPending},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store, db := e.store.Snapshot(), e.dbState()
			err := e.step(c.step, c.token)
			if !errors.Is(err, c.want) {
				t.Fatalf("want %v, got %v", c.want, err)
			}
			if !reflect.DeepEqual(store, e.store.Snapshot()) {
				t.Errorf("want the store unchanged")
			}
			if got := e.dbState(); got != db {
				t.Errorf("want the database unchanged")
			}
		})
	}
}

func TestUsernamesThatLookLikeSQL(t *testing.T) {
	names := []string{`o'brien`, `app "quoted"`, `x"; DROP ROLE rotor_master; --`, `with space`, `ünïcödé`}
	for _, strategy := range []postgres.Strategy{postgres.AlternatingUsers, postgres.SingleUser} {
		for i, name := range names {
			t.Run(fmt.Sprintf("%s/%d", strategy, i), func(t *testing.T) {
				e := newEnv(t, strategy, withUser(fmt.Sprintf("%s%d%s", name, roleSeq.Add(1), strategy[:1])))
				e.rotate()
				e.rotate()
				if err := e.logsIn(e.mustCredential(secretstore.Current)); err != nil {
					t.Errorf("want AWSCURRENT to log in, got %v", err)
				}
				var exists bool
				if err := e.admin().QueryRow(e.ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, masterUser).Scan(&exists); err != nil || !exists {
					t.Errorf("want %s to exist still, got exists=%v err=%v", masterUser, exists, err)
				}
			})
		}
	}
}

func TestMembershipsResyncOnEveryRotation(t *testing.T) {
	e := newEnv(t, postgres.AlternatingUsers)
	e.rotate() // app -> app_clone, with both roles
	e.rotate() // back to app
	cur := e.mustCredential(secretstore.Current)
	prev := e.mustCredential(secretstore.Previous)
	if cur.User != e.user {
		t.Fatalf("want the base user current, got %s", cur.User)
	}
	// The base user, in use, loses a role; the next rotation must take it
	// from the clone too (the clone mirrors the base, the anchor of the
	// pair).
	if _, err := e.admin().Exec(e.ctx, `REVOKE app_writers FROM `+pgx.Identifier{cur.User}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	e.rotate()
	if got, want := e.groups(prev.User), []string{"app_readers"}; !reflect.DeepEqual(got, want) {
		t.Errorf("want %s re-synced to %v, got %v", prev.User, want, got)
	}
	if !slices.Equal(e.groups(cur.User), e.groups(prev.User)) {
		t.Errorf("want equal memberships")
	}
	e.cloneAnchored("after the revoke")
}

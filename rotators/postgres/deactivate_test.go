package postgres_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/dbsecret"
	"github.com/rotorhq/rotor/rotators/postgres"
)

func TestDeactivatorOnlyWhenAsked(t *testing.T) {
	tests := []struct {
		name string
		opts postgres.Options
		want bool
	}{
		{"alternating users, locking", postgres.Options{Strategy: postgres.AlternatingUsers, LockIdleUser: true}, true},
		{"alternating users", postgres.Options{Strategy: postgres.AlternatingUsers}, false},
		{"single user, locking asked", postgres.Options{Strategy: postgres.SingleUser, LockIdleUser: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newRotator(t, tt.opts).Deactivator()
			if got := d != nil; got != tt.want {
				t.Fatalf("want a Deactivator: %v, got %v", tt.want, got)
			}
		})
	}
}

// TestLockAndReactivate: rotate, deactivate, rotate again. The locked user
// is refused with SQLSTATE 28000 while its session opened before the lock
// keeps working; the next rotation's Set makes it log in again.
func TestLockAndReactivate(t *testing.T) {
	ctx := ctxT(t)
	user, clone := "lock_app", "lock_app_clone"
	r, secrets, pw, v1, v2 := rotatedOnce(t, user, postgres.Options{LockIdleUser: true}) // lock_app_clone
	d := r.Deactivator()

	// A session of the previous user opened before the lock.
	old, err := srv.Connect(ctx, user, pw)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close(ctx)

	// The open session is evidence: without the policy's leave, nothing is
	// revoked and the sessions are reported.
	resp, err := d.Deactivate(ctx, rotators.DeactivateRequest{SecretID: "s", Current: v2, Previous: v1, Secrets: secrets})
	if err != nil || resp.Outcome != rotators.InUse || resp.Sessions.Count != 1 {
		t.Fatalf("Deactivate with a session open: want %q with 1 session, got %q %+v (%v)", rotators.InUse, resp.Outcome, resp.Sessions, err)
	}
	if err := secretLogin(ctx, srv, v1); err != nil {
		t.Fatalf("want the previous user still logging in after %q, got %v", rotators.InUse, err)
	}
	resp, err = d.Deactivate(ctx, rotators.DeactivateRequest{SecretID: "s", Current: v2, Previous: v1, Secrets: secrets, AllowInUse: true})
	if err != nil || resp.Outcome != rotators.Deactivated || resp.Sessions.Count != 1 {
		t.Fatalf("Deactivate in use, allowed: want %q with 1 session, got %q %+v (%v)", rotators.Deactivated, resp.Outcome, resp.Sessions, err)
	}
	err = secretLogin(ctx, srv, v1)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28000" {
		t.Fatalf("login as the locked user: want SQLSTATE 28000, got %v", err)
	}
	if err := secretLogin(ctx, srv, v2); err != nil {
		t.Fatalf("want the current user %s to log in, got %v", clone, err)
	}
	if _, err := old.Exec(ctx, "SELECT 1"); err != nil {
		t.Errorf("want the session opened before the lock to keep working, got %v", err)
	}

	v3 := rotation(t, r, v2, secrets) // back to lock_app, with a new password
	if got := field(t, v3, "username"); got != user {
		t.Fatalf("want rotation 2 to move back to %s, got %s", user, got)
	}
	if err := secretLogin(ctx, srv, v3); err != nil {
		t.Fatalf("want the re-activated user to log in with its new password, got %v", err)
	}
	noConnectionsLeft(t, clone) // rotation 2's logins of the previous user
	resp, err = d.Deactivate(ctx, rotators.DeactivateRequest{SecretID: "s", Current: v3, Previous: v2, Secrets: secrets})
	if err != nil || resp.Outcome != rotators.Deactivated {
		t.Fatalf("second Deactivate: want %q, got %q (%v)", rotators.Deactivated, resp.Outcome, err)
	}
	if err := secretLogin(ctx, srv, v2); err == nil {
		t.Errorf("want %s locked after the second deactivation, got a login", clone)
	}
	if err := secretLogin(ctx, srv, v3); err != nil {
		t.Errorf("want the current user to log in, got %v", err)
	}
	checkLog(t)
	old.Close(ctx)
	noConnectionsLeft(t, user, clone, masterUser)
}

// TestDeactivateLeavesMovedOnUser: when the previous user's password has
// changed since (a later rotation's Set gave it a new one, and it is about
// to become current), Deactivate must not lock it.
func TestDeactivateLeavesMovedOnUser(t *testing.T) {
	ctx := ctxT(t)
	user := "moved_app"
	r, secrets, _, v1, v2 := rotatedOnce(t, user, postgres.Options{LockIdleUser: true})
	v3 := rotation(t, r, v2, secrets) // moved_app has a new password; v3 is still pending
	resp, err := r.Deactivator().Deactivate(ctx, rotators.DeactivateRequest{Current: v2, Previous: v1, Secrets: secrets})
	if err != nil || resp.Outcome != rotators.AlreadyInactive {
		t.Fatalf("want %q, got %q (%v)", rotators.AlreadyInactive, resp.Outcome, err)
	}
	if err := secretLogin(ctx, srv, v3); err != nil {
		t.Fatalf("want the pending user untouched and logging in, got %v", err)
	}
}

// TestDeactivateBadInput: a request the deactivator cannot act on is an
// InputError naming the field, without a value, and locks nobody.
func TestDeactivateBadInput(t *testing.T) {
	user, clone := "bad_deact_app", "bad_deact_app_clone"
	pw := newUser(t, srv, user)
	clonePW := newUser(t, srv, clone)
	bystanderPW := newUser(t, srv, "bad_deact_bystander")
	secrets := masterSecrets(t, srv, masterUser, masterPassword)
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers, LockIdleUser: true})
	tests := []struct {
		name      string
		previous  func(m map[string]any)
		secrets   rotators.SecretReader
		wantField string
	}{
		{name: "previous is another user", previous: func(m map[string]any) { m["username"] = "bad_deact_bystander"; m["password"] = bystanderPW }, wantField: dbsecret.FieldUsername},
		{name: "previous on another host", previous: func(m map[string]any) { m["host"] = "db.invalid" }, wantField: dbsecret.FieldHost},
		{name: "previous with another port", previous: func(m map[string]any) { m["port"] = 1 }, wantField: dbsecret.FieldPort},
		{name: "previous without password", previous: func(m map[string]any) { delete(m, "password") }, wantField: dbsecret.FieldPassword},
		{name: "master secret missing", previous: func(map[string]any) {}, secrets: secretMap{}, wantField: dbsecret.FieldMasterARN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxT(t)
			prev := baseSecret(srv, user, pw)
			tt.previous(prev)
			sec := tt.secrets
			if sec == nil {
				sec = secrets
			}
			_, err := r.Deactivator().Deactivate(ctx, rotators.DeactivateRequest{
				Current: encode(t, baseSecret(srv, clone, clonePW)), Previous: encode(t, prev), Secrets: sec,
			})
			var in *rotators.InputError
			if !errors.As(err, &in) || in.Field != tt.wantField {
				t.Fatalf("want an InputError naming %q, got %v", tt.wantField, err)
			}
			for _, pw := range []string{pw, clonePW, bystanderPW, masterPassword} {
				if strings.Contains(err.Error(), pw) {
					t.Errorf("want an error without a password, got one with it")
				}
			}
			for _, c := range []struct{ user, pw string }{{user, pw}, {clone, clonePW}, {"bad_deact_bystander", bystanderPW}} {
				if err := srv.CanLogin(ctx, c.user, c.pw, false); err != nil {
					t.Errorf("want %s untouched, got %v", c.user, err)
				}
			}
		})
	}
}

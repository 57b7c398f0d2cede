package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/postgres"
)

func connectConfig(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	return pgx.ConnectConfig(ctx, cfg)
}

// waitBlockedOnPairLock waits until a session waits for an advisory lock,
// or until done is closed (the other side did not wait at all). A
// condition, not a timing: the poll only decides when to look again.
func waitBlockedOnPairLock(t *testing.T, ctx context.Context, done <-chan struct{}) bool {
	t.Helper()
	conn, err := srv.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for {
		var waiting int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1`,
			int64(postgres.LockNamespace)).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return true
		}
		select {
		case <-done:
			return false
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestSetWaitsForRevocation: the gate's revocation and the next rotation's
// Set change the same role. When Set arrives while the deactivator holds
// the pair's lock (after its checks, right before NOLOGIN), Set waits, and
// then gives the user LOGIN back with its new password: the pending
// credential logs in, and testSecret passes. Without the lock on either
// side, Set commits first and the revocation locks the pending user.
func TestSetWaitsForRevocation(t *testing.T) {
	ctx := ctxT(t)
	user := "race_app"
	r, secrets, _, v1, v2 := rotatedOnce(t, user, postgres.Options{LockIdleUser: true}) // race_app_clone current, race_app previous
	created, err := r.Create(ctx, rotators.CreateRequest{SecretID: "s", Current: v2, Password: genPassword(t), Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	v3 := created.Pending // race_app again, with a new password

	setErr := make(chan error, 1)
	done := make(chan struct{})
	blocked := false
	defer postgres.SetHooks(nil, func(context.Context) {
		go func() {
			defer close(done)
			_, err := r.Set(ctx, rotators.SetRequest{SecretID: "s", Current: v2, Pending: v3, Secrets: secrets})
			setErr <- err
		}()
		blocked = waitBlockedOnPairLock(t, ctx, done)
	})()
	resp, err := r.Deactivator().Deactivate(ctx, rotators.DeactivateRequest{SecretID: "s", Current: v2, Previous: v1, Secrets: secrets, AllowInUse: true})
	if err != nil || resp.Outcome != rotators.Deactivated {
		t.Fatalf("Deactivate: want %q, got %q (%v)", rotators.Deactivated, resp.Outcome, err)
	}
	<-done
	if err := <-setErr; err != nil {
		t.Fatalf("Set: want no error, got %v", err)
	}
	if !blocked {
		t.Errorf("want Set to wait for the deactivator's lock, got it through without waiting")
	}
	if err := secretLogin(ctx, srv, v3); err != nil {
		t.Fatalf("want the pending user to log in after Set (LOGIN given back), got %v", err)
	}
	if _, err := r.Test(ctx, rotators.TestRequest{SecretID: "s", Current: v2, Pending: v3, Secrets: secrets}); err != nil {
		t.Fatalf("Test: want the pending credential to pass, got %v", err)
	}
	if err := secretLogin(ctx, srv, v1); err == nil {
		t.Errorf("want the old password of %s refused, got a login", user)
	}
}

// TestSetRepairsRevokedPending: a repeated Set whose password check ran
// before a revocation committed (the password works, then NOLOGIN lands
// while Set waits for the lock) must not leave the pending user NOLOGIN:
// under the lock it reads rolcanlogin again and gives LOGIN back.
func TestSetRepairsRevokedPending(t *testing.T) {
	ctx := ctxT(t)
	user := "repair_app"
	r, secrets, _, v1, v2 := rotatedOnce(t, user, postgres.Options{LockIdleUser: true}) // repair_app_clone logs in with v2's password

	// A revocation holding the pair's lock, not committed yet.
	admin, err := srv.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, int32(postgres.LockNamespace), user); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `ALTER ROLE `+ident(user+"_clone")+` NOLOGIN`); err != nil {
		t.Fatal(err)
	}
	setErr := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := r.Set(ctx, rotators.SetRequest{SecretID: "s", Current: v1, Pending: v2, Secrets: secrets})
		setErr <- err
	}()
	if !waitBlockedOnPairLock(t, ctx, done) {
		t.Fatalf("want the repeated Set to wait for the pair's lock, got it through (%v)", <-setErr)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := <-setErr; err != nil {
		t.Fatalf("repeated Set: want no error, got %v", err)
	}
	if err := secretLogin(ctx, srv, v2); err != nil {
		t.Fatalf("want the pending user to log in after the repeated Set, got %v", err)
	}
}

// TestSetGracePolicy: Set ends the previous credential of an alternating
// pair (it changes its user's password), so the grace policy applies: with
// a session of that user open and the grace period since the last rotation
// running, Set refuses with ErrInUse and changes nothing; after it, or
// with no session, or with the policy off, Set goes on.
func TestSetGracePolicy(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		grace       time.Duration
		lastRotated time.Time
		session     bool
		wantInUse   bool
	}{
		{name: "session within the grace period", grace: time.Hour, lastRotated: now.Add(-10 * time.Minute), session: true, wantInUse: true},
		{name: "session after the grace period", grace: time.Hour, lastRotated: now.Add(-2 * time.Hour), session: true},
		{name: "no session within the grace period", grace: time.Hour, lastRotated: now.Add(-10 * time.Minute)},
		{name: "policy off", lastRotated: now.Add(-10 * time.Minute), session: true},
		{name: "last rotation unknown", grace: time.Hour, session: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxT(t)
			user := fmt.Sprintf("grace_app_%d", i)
			r, secrets, pw, v1, v2 := rotatedOnce(t, user, postgres.Options{GracePeriod: tt.grace, Now: func() time.Time { return now }})
			noConnectionsLeft(t, user)
			if tt.session {
				old, err := srv.Connect(ctx, user, pw)
				if err != nil {
					t.Fatal(err)
				}
				defer old.Close(context.WithoutCancel(ctx))
			}
			created, err := r.Create(ctx, rotators.CreateRequest{SecretID: "s", Current: v2, Password: genPassword(t), Secrets: secrets})
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Set(ctx, rotators.SetRequest{SecretID: "s", Current: v2, Pending: created.Pending, Secrets: secrets, LastRotated: tt.lastRotated})
			if tt.wantInUse {
				if !errors.Is(err, rotators.ErrInUse) || !strings.Contains(err.Error(), "1 open sessions") {
					t.Fatalf("want ErrInUse naming 1 session, got %v", err)
				}
				if err := secretLogin(ctx, srv, v1); err != nil {
					t.Errorf("want the previous credential untouched, got %v", err)
				}
				if err := secretLogin(ctx, srv, created.Pending); err == nil {
					t.Errorf("want the pending password not set, got a login")
				}
				return
			}
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if err := secretLogin(ctx, srv, created.Pending); err != nil {
				t.Errorf("want the pending credential set, got %v", err)
			}
		})
	}
}

// TestEmergencyEndsSessions: with EndSessions the deactivator locks the
// previous user and ends its open sessions (pg_terminate_backend, which the
// master may do as a member of pg_signal_backend); the current user's
// sessions go on. The evidence names the session's client address and
// application name (the master is a member of pg_read_all_stats).
func TestEmergencyEndsSessions(t *testing.T) {
	ctx := ctxT(t)
	user := "leak_app"
	r, secrets, pw, v1, v2 := rotatedOnce(t, user, postgres.Options{LockIdleUser: true})
	noConnectionsLeft(t, user)
	cfg := srv.ConnConfig(user, pw, srv.TLS())
	cfg.RuntimeParams["application_name"] = "leaky-service"
	old, err := connectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close(context.WithoutCancel(ctx))
	// A holder of the leaked credential may call itself rotor: it is not
	// evidence (rotor's probes are named so), but an emergency ends it too.
	disguised := srv.ConnConfig(user, pw, srv.TLS())
	disguised.RuntimeParams["application_name"] = "rotor"
	intruder, err := connectConfig(ctx, disguised)
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Close(context.WithoutCancel(ctx))
	cur, err := connectSecret(ctx, srv, v2)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close(context.WithoutCancel(ctx))

	d := r.Deactivator()
	if _, err := d.Deactivate(ctx, rotators.DeactivateRequest{Current: v2, Previous: v1, Secrets: secrets, EndSessions: true}); err == nil {
		t.Fatalf("EndSessions without AllowInUse: want an error, got none")
	}
	resp, err := d.Deactivate(ctx, rotators.DeactivateRequest{Current: v2, Previous: v1, Secrets: secrets, AllowInUse: true, EndSessions: true})
	if err != nil || resp.Outcome != rotators.Deactivated {
		t.Fatalf("want %q, got %q (%v)", rotators.Deactivated, resp.Outcome, err)
	}
	if resp.Sessions.Count != 1 || resp.Sessions.Ended != 2 || !slices.Equal(resp.Sessions.ApplicationNames, []string{"leaky-service"}) || len(resp.Sessions.ClientAddresses) != 1 {
		t.Errorf("want the evidence of 1 session of leaky-service from one address, and it and the disguised one ended, got %+v", resp.Sessions)
	}
	if _, err := intruder.Exec(ctx, "SELECT 1"); err == nil {
		t.Errorf("want the disguised session of the leaked credential ended, got a query through")
	}
	if _, err := old.Exec(ctx, "SELECT 1"); err == nil {
		t.Errorf("want the leaked credential's session ended, got a query through")
	}
	if _, err := cur.Exec(ctx, "SELECT 1"); err != nil {
		t.Errorf("want the current user's session to go on, got %v", err)
	}
	var pgErr *pgconn.PgError
	if err := secretLogin(ctx, srv, v1); !errors.As(err, &pgErr) || pgErr.Code != "28000" {
		t.Errorf("want the leaked credential refused with SQLSTATE 28000, got %v", err)
	}
	// Repeated: the user is locked already and has no session left.
	resp, err = d.Deactivate(ctx, rotators.DeactivateRequest{Current: v2, Previous: v1, Secrets: secrets, AllowInUse: true, EndSessions: true})
	if err != nil || resp.Outcome != rotators.AlreadyInactive || resp.Sessions.Ended != 0 {
		t.Errorf("repeated: want %q with nothing ended, got %q %+v (%v)", rotators.AlreadyInactive, resp.Outcome, resp.Sessions, err)
	}
}

// A master without pg_read_all_stats sees other roles' sessions with most
// columns NULL (backend_type among them): the evidence must still count
// them, so that such a master holds revocation back rather than see no
// session at all.
func TestSessionsSeenByAnUnprivilegedMaster(t *testing.T) {
	ctx := ctxT(t)
	const plainMaster = "plain_master"
	masterPW := newUser(t, srv, plainMaster)
	exec(t, srv, `ALTER ROLE `+plainMaster+` CREATEROLE`)
	user := "unseen_app"
	r, _, pw, v1, v2 := rotatedOnce(t, user, postgres.Options{LockIdleUser: true})
	secrets := masterSecrets(t, srv, plainMaster, masterPW)
	noConnectionsLeft(t, user)
	old, err := srv.Connect(ctx, user, pw)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close(context.WithoutCancel(ctx))
	resp, err := r.Deactivator().Deactivate(ctx, rotators.DeactivateRequest{Current: v2, Previous: v1, Secrets: secrets})
	if err != nil || resp.Outcome != rotators.InUse || resp.Sessions.Count != 1 {
		t.Fatalf("want %q with 1 session seen, got %q %+v (%v)", rotators.InUse, resp.Outcome, resp.Sessions, err)
	}
	if err := secretLogin(ctx, srv, v1); err != nil {
		t.Errorf("want the previous credential left working while in use, got %v", err)
	}
}

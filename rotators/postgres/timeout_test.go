package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/postgres"
)

// TestLockedCatalogFailsTheStep: while another session holds a lock on the
// role the step must change, Set gives up after LockTimeout with
// lock_not_available instead of hanging, changes nothing, and succeeds on
// retry once the lock is gone.
func TestLockedCatalogFailsTheStep(t *testing.T) {
	ctx := ctxT(t)
	user := "locked_app"
	pw := newUser(t, srv, user)
	r := newRotator(t, postgres.Options{Strategy: postgres.SingleUser, LockTimeout: 200 * time.Millisecond})
	current := encode(t, baseSecret(srv, user, pw))
	created, err := r.Create(ctx, rotators.CreateRequest{Current: current, Password: genPassword(t)})
	if err != nil {
		t.Fatal(err)
	}

	admin, err := srv.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// An uncommitted change of the role locks its row.
	if _, err := tx.Exec(ctx, `ALTER ROLE `+ident(user)+` CONNECTION LIMIT 50`); err != nil {
		t.Fatal(err)
	}
	set := rotators.SetRequest{Current: current, Pending: created.Pending}
	// lock_not_available is the lock timeout's own error: without it the
	// step would wait for the lock until the test's context ran out.
	_, err = r.Set(ctx, set)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "55P03" {
		t.Fatalf("want lock_not_available (55P03) while the role is locked, got %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := secretLogin(ctx, srv, current); err != nil {
		t.Errorf("want the current password unchanged after the failed step, got %v", err)
	}
	if _, err := r.Set(ctx, set); err != nil {
		t.Fatalf("retried Set: want no error, got %v", err)
	}
	if err := secretLogin(ctx, srv, created.Pending); err != nil {
		t.Errorf("want the pending password to work after the retry, got %v", err)
	}
}

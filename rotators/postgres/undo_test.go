package postgres_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/postgres"
)

// TestUndoSingleUser: Set changed the user's own password, so the current
// secret stopped logging in; Undo puts it back, and the dropped password
// stops working.
func TestUndoSingleUser(t *testing.T) {
	ctx := ctxT(t)
	const user = "undo_single"
	pw := newUser(t, srv, user)
	r := newRotator(t, postgres.Options{Strategy: postgres.SingleUser})
	current := encode(t, baseSecret(srv, user, pw))
	created, err := r.Create(ctx, rotators.CreateRequest{Current: current, Password: genPassword(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Set(ctx, rotators.SetRequest{Current: current, Pending: created.Pending}); err != nil {
		t.Fatal(err)
	}
	if err := secretLogin(ctx, srv, current); err == nil {
		t.Fatal("set-up: want the current password replaced by Set")
	}
	req := rotators.UndoRequest{Current: current, Pending: created.Pending}
	if resp, err := r.Undo(ctx, req); err != nil || !resp.Undone {
		t.Fatalf("want Undone, got %+v, %v", resp, err)
	}
	if err := secretLogin(ctx, srv, current); err != nil {
		t.Fatalf("want the current secret to log in again, got %v", err)
	}
	if err := secretLogin(ctx, srv, created.Pending); err == nil {
		t.Fatal("want the dropped password refused, got a login")
	}
	if resp, err := r.Undo(ctx, req); err != nil || resp.Undone {
		t.Fatalf("again: want nothing to undo, got %+v, %v", resp, err)
	}
	noConnectionsLeft(t, user)
	checkLog(t)
}

// TestUndoAlternatingUsers: the pending user's new password would be
// stored nowhere, so Undo locks it; before Set, the pending user still has
// the previous rotation's password, which AWSPREVIOUS's consumers may use,
// and Undo leaves it alone. The next rotation's Set unlocks it.
func TestUndoAlternatingUsers(t *testing.T) {
	ctx := ctxT(t)
	const user, clone = "undo_alt", "undo_alt_clone"
	pw := newUser(t, srv, user)
	r := newRotator(t, postgres.Options{Strategy: postgres.AlternatingUsers})
	secrets := masterSecrets(t, srv, masterUser, masterPassword)
	v1 := encode(t, baseSecret(srv, user, pw))
	v2 := rotation(t, r, v1, secrets) // the clone is current, v1 previous

	// A rotation from v2 that has not reached Set: its pending user is
	// v1's, whose password v1 holds.
	created, err := r.Create(ctx, rotators.CreateRequest{Current: v2, Password: genPassword(t), Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	req := rotators.UndoRequest{Current: v2, Pending: created.Pending, Secrets: secrets}
	if resp, err := r.Undo(ctx, req); err != nil || resp.Undone {
		t.Fatalf("before Set: want nothing to undo, got %+v, %v", resp, err)
	}
	if err := secretLogin(ctx, srv, v1); err != nil {
		t.Fatalf("before Set: want the previous secret left working, got %v", err)
	}

	if _, err := r.Set(ctx, rotators.SetRequest{Current: v2, Pending: created.Pending, Secrets: secrets}); err != nil {
		t.Fatal(err)
	}
	if resp, err := r.Undo(ctx, req); err != nil || !resp.Undone {
		t.Fatalf("after Set: want Undone, got %+v, %v", resp, err)
	}
	var pgErr *pgconn.PgError
	if err := secretLogin(ctx, srv, created.Pending); !errors.As(err, &pgErr) || pgErr.Code != "28000" {
		t.Fatalf("want the dropped pending user locked (SQLSTATE 28000), got %v", err)
	}
	if err := secretLogin(ctx, srv, v2); err != nil {
		t.Fatalf("want the current secret to log in, got %v", err)
	}
	if resp, err := r.Undo(ctx, req); err != nil || resp.Undone {
		t.Fatalf("again: want nothing to undo, got %+v, %v", resp, err)
	}
	// The next rotation gives the user LOGIN back.
	v3 := rotation(t, r, v2, secrets)
	if err := secretLogin(ctx, srv, v3); err != nil {
		t.Fatalf("the rotation after the undo: want its secret to log in, got %v", err)
	}
	noConnectionsLeft(t, user, clone, masterUser)
	checkLog(t)
}

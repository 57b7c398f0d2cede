package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/dbsecret"
)

var _ rotators.Undoer = (*Rotator)(nil)

// Undo undoes what Set did for a pending secret that an operator drops
// before finishSecret.
//
// Single user: Set changed the user's own password, so the current secret
// no longer logs in. Undo logs in with the pending password and puts the
// current one back (as a fresh SCRAM verifier). When the current password
// works already, there is nothing to undo.
//
// Alternating users: Set gave the alternate user a new password, which the
// dropped version alone holds (it stays readable by version id until
// Secrets Manager deletes the deprecated version). The alternate user's
// old password, AWSPREVIOUS's, stopped working at that Set, so nothing
// else uses the user: Undo locks it (NOLOGIN) through the master user,
// under the pair's advisory lock that Set and Deactivate take.
// The next rotation's Set gives it LOGIN back with its new password. When
// the pending password does not log in (Set never ran, or a repeated
// call), there is nothing to undo: AWSPREVIOUS's consumers may still use
// the alternate user, and it is left alone.
func (r *Rotator) Undo(ctx context.Context, req rotators.UndoRequest) (rotators.UndoResponse, error) {
	const step = "undo"
	cur, pen, err := r.pair(req.Current, req.Pending)
	if err != nil {
		return rotators.UndoResponse{}, err
	}
	log := logger(req.Log)
	if r.strategy == SingleUser {
		switch err := r.ping(ctx, step, roleCurrent, cur, cur.Username, cur.Password); {
		case err == nil:
			log.InfoContext(ctx, "the current password logs in; nothing to undo", "step", step, "host", cur.Host)
			return rotators.UndoResponse{}, nil
		case !errors.Is(err, ErrLoginFailed):
			return rotators.UndoResponse{}, err
		}
		verifier, err := scramVerifier(cur.Password)
		if err != nil {
			return rotators.UndoResponse{}, err
		}
		conn, err := r.connect(ctx, step, rolePending, pen, pen.Username, pen.Password)
		if err != nil {
			return rotators.UndoResponse{}, fmt.Errorf("postgres: %s: neither the current nor the pending password logs in; cannot put the current one back: %w", step, err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if _, err := conn.Exec(ctx, fmt.Sprintf(sqlAlterOwnPassword, verifier)); err != nil {
			return rotators.UndoResponse{}, r.sqlError(step, "put the current password back", cur.Host, err)
		}
		log.InfoContext(ctx, "current password put back", "step", step, "host", cur.Host, "user", roleCurrent)
		return rotators.UndoResponse{Undone: true}, nil
	}

	switch err := r.ping(ctx, step, rolePending, pen, pen.Username, pen.Password); {
	case errors.Is(err, ErrLoginFailed), errors.Is(err, ErrLoginRefused):
		log.InfoContext(ctx, "the pending password does not log in; nothing to undo", "step", step, "host", cur.Host)
		return rotators.UndoResponse{}, nil
	case err != nil:
		return rotators.UndoResponse{}, err
	}
	m, err := r.master(ctx, step, cur, req.Secrets)
	if err != nil {
		return rotators.UndoResponse{}, err
	}
	conn, err := r.connectMaster(ctx, step, cur, m)
	if err != nil {
		return rotators.UndoResponse{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// Under the pair's lock, as Set and Deactivate (serialize.go).
	tx, err := conn.Begin(ctx)
	if err != nil {
		return rotators.UndoResponse{}, r.sqlError(step, "begin", cur.Host, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := lockPair(ctx, tx, pen.Username); err != nil {
		return rotators.UndoResponse{}, r.sqlError(step, "lock the user pair", cur.Host, err)
	}
	switch exists, super, err := role(ctx, tx, pen.Username); {
	case err != nil:
		return rotators.UndoResponse{}, r.sqlError(step, "look up the pending user", cur.Host, err)
	case !exists:
		return rotators.UndoResponse{}, nil
	case super:
		return rotators.UndoResponse{}, &rotators.InputError{Secret: rolePending, Field: dbsecret.FieldUsername, Reason: "the pending user is a superuser; refusing to lock it"}
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(sqlLockRole, ident(pen.Username))); err != nil {
		return rotators.UndoResponse{}, r.sqlError(step, "lock the pending user", cur.Host, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return rotators.UndoResponse{}, r.sqlError(step, "commit", cur.Host, err)
	}
	log.InfoContext(ctx, "pending user locked (NOLOGIN): its new password is stored in no live version", "step", step, "host", cur.Host, "user", rolePending)
	return rotators.UndoResponse{Undone: true}, nil
}

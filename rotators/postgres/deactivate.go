package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/dbsecret"
)

// rolePrevious names the AWSPREVIOUS secret and its user in errors and logs.
const rolePrevious = "previous"

// Deactivator returns the [rotators.Deactivator] of the rotator: with
// alternating users and [Options.LockIdleUser], one that locks the idle
// user; otherwise nil, because there is nothing to revoke (a single user's
// old password stopped working at Set) or the deployment did not ask for it.
func (r *Rotator) Deactivator() rotators.Deactivator {
	if r.strategy != AlternatingUsers || !r.lockIdle {
		return nil
	}
	return idleLocker{r}
}

// idleLocker locks the idle user of an alternating pair.
type idleLocker struct{ r *Rotator }

var _ rotators.Deactivator = idleLocker{}

// Deactivate locks the user of the previous secret (ALTER ROLE ... NOLOGIN)
// through the master secret. NOLOGIN stops new logins only: sessions it has
// open are not terminated (they drain on their own, and ending them is the
// consumer's business), except when the request asks for it (EndSessions,
// an emergency rotation): then pg_terminate_backend ends them, which needs
// the master to be a member of the user or of pg_signal_backend. The next
// rotation's Set gives the user LOGIN back with its new password
// (sqlAlterRole says WITH LOGIN).
//
// Everything happens in one transaction that holds the pair's advisory
// lock, which Set takes too (serialize.go), after req.Recheck. Under it,
// Deactivate reads the previous user's open sessions (pg_stat_activity):
// with sessions and without req.AllowInUse it revokes nothing and returns
// [rotators.InUse] with the evidence. Then it checks that the previous
// password still logs in: a user whose password has moved on was given a
// new one by a later rotation's Set (it is about to become, or is, the
// current user) and must be left alone; its old credential is dead already.
func (l idleLocker) Deactivate(ctx context.Context, req rotators.DeactivateRequest) (rotators.DeactivateResponse, error) {
	const step = "deactivate"
	r := l.r
	log := logger(req.Log)
	// First, without the rules of the pair (masterarn, the clone suffix):
	// a secret of a single user, which has none, names the same user on
	// both sides and has nothing to revoke.
	lenient := func(secret string) dbsecret.Rules {
		rules := r.rules(roleMaster)
		rules.Secret = secret
		return rules
	}
	cur, err := dbsecret.Parse(req.Current, lenient(roleCurrent))
	if err != nil {
		return rotators.DeactivateResponse{}, err
	}
	prev, err := dbsecret.Parse(req.Previous, lenient(rolePrevious))
	if err != nil {
		return rotators.DeactivateResponse{}, err
	}
	if prev.Username == cur.Username && strings.EqualFold(prev.Host, cur.Host) && prev.Port == cur.Port {
		log.InfoContext(ctx, "previous and current secrets name the same principal; nothing to revoke", "step", step, "host", cur.Host)
		return rotators.DeactivateResponse{Outcome: rotators.NothingToRevoke}, nil
	}
	if cur, err = dbsecret.Parse(req.Current, r.rules(roleCurrent)); err != nil {
		return rotators.DeactivateResponse{}, err
	}
	if prev, err = dbsecret.Parse(req.Previous, r.rules(rolePrevious)); err != nil {
		return rotators.DeactivateResponse{}, err
	}
	differs := func(field string) error {
		return &rotators.InputError{Secret: rolePrevious, Field: field, Reason: "differs from the current secret"}
	}
	switch {
	case !strings.EqualFold(prev.Host, cur.Host):
		return rotators.DeactivateResponse{}, differs(dbsecret.FieldHost)
	case prev.Port != cur.Port:
		return rotators.DeactivateResponse{}, differs(dbsecret.FieldPort)
	case prev.MasterARN != cur.MasterARN:
		return rotators.DeactivateResponse{}, differs(dbsecret.FieldMasterARN)
	case prev.Username != dbsecret.Alternate(cur.Username, CloneSuffix):
		// Never lock a user that is not the other half of the pair.
		return rotators.DeactivateResponse{}, &rotators.InputError{Secret: rolePrevious, Field: dbsecret.FieldUsername, Reason: "is not the alternate of the current user"}
	}
	if req.EndSessions && !req.AllowInUse {
		return rotators.DeactivateResponse{}, errors.New("postgres: deactivate: EndSessions needs AllowInUse")
	}
	m, err := r.master(ctx, step, cur, req.Secrets)
	if err != nil {
		return rotators.DeactivateResponse{}, err
	}

	// The master connects to the secret's own database (dbname), where Set
	// takes the same lock: see serialize.go.
	conn, err := r.connectMaster(ctx, step, cur, m)
	if err != nil {
		return rotators.DeactivateResponse{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	resp, probe, err := l.revoke(ctx, log, conn, cur, prev, req)
	if err != nil || resp.Outcome == rotators.InUse || !req.EndSessions {
		return resp, err
	}
	// Emergency: end the sessions once NOLOGIN is committed, so that a
	// client that reconnects is refused; under the lock again, and after
	// another Recheck, so that no session of a user that a rotation has
	// since made pending is ended.
	ended, err := l.end(ctx, conn, cur, prev, req, probe)
	resp.Sessions.Ended = ended
	if err != nil {
		return resp, err
	}
	log.WarnContext(ctx, "emergency: the previous user's open sessions were ended", "step", step, "host", cur.Host,
		"user", rolePrevious, "ended", ended)
	return resp, nil
}

// revoke locks the previous user (NOLOGIN) in one transaction that holds
// the pair's advisory lock, after Recheck and after the target's evidence
// of sessions allows it.
func (l idleLocker) revoke(ctx context.Context, log *slog.Logger, conn *pgx.Conn, cur, prev dbsecret.Secret, req rotators.DeactivateRequest) (_ rotators.DeactivateResponse, probe uint32, _ error) {
	const step = "deactivate"
	r := l.r
	tx, err := conn.Begin(ctx)
	if err != nil {
		return rotators.DeactivateResponse{}, probe, r.sqlError(step, "begin", cur.Host, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := lockPair(ctx, tx, prev.Username); err != nil {
		return rotators.DeactivateResponse{}, probe, r.sqlError(step, "lock the user pair", cur.Host, err)
	}
	if req.Recheck != nil {
		if err := req.Recheck(ctx); err != nil {
			return rotators.DeactivateResponse{}, probe, fmt.Errorf("postgres: %s: recheck under the lock: %w", step, err)
		}
	}
	var super, canLogin bool
	switch err := tx.QueryRow(ctx, sqlRoleCanLogin, prev.Username).Scan(&super, &canLogin); {
	case errors.Is(err, pgx.ErrNoRows):
		log.InfoContext(ctx, "the previous user does not exist; nothing to revoke", "step", step, "host", cur.Host)
		return rotators.DeactivateResponse{Outcome: rotators.AlreadyInactive}, probe, nil
	case err != nil:
		return rotators.DeactivateResponse{}, probe, r.sqlError(step, "look up the previous user", cur.Host, err)
	case super:
		return rotators.DeactivateResponse{}, probe, &rotators.InputError{Secret: rolePrevious, Field: dbsecret.FieldUsername, Reason: "the previous user is a superuser; refusing to lock it"}
	case !canLogin:
		log.InfoContext(ctx, "the previous user is locked already", "step", step, "host", cur.Host)
		return rotators.DeactivateResponse{Outcome: rotators.AlreadyInactive}, probe, nil
	}
	// The evidence, before the login probe below adds a session of its own.
	seen, err := sessions(ctx, tx, prev.Username)
	if err != nil {
		return rotators.DeactivateResponse{}, probe, r.sqlError(step, "read the sessions of the previous user", cur.Host, err)
	}
	attrs := []any{"step", step, "host", cur.Host, "sessions", seen.Count,
		"client_addresses", seen.ClientAddresses, "application_names", seen.ApplicationNames}
	if seen.Count > 0 && !req.AllowInUse {
		log.InfoContext(ctx, "the previous user still has open sessions; not revoking yet", attrs...)
		return rotators.DeactivateResponse{Outcome: rotators.InUse, Sessions: seen}, probe, nil
	}
	probe, err = r.probe(ctx, step, rolePrevious, prev, prev.Username, prev.Password)
	switch {
	case errors.Is(err, ErrLoginFailed):
		log.InfoContext(ctx, "the previous password no longer logs in (a later rotation changed it); leaving the user alone", "step", step, "host", cur.Host)
		return rotators.DeactivateResponse{Outcome: rotators.AlreadyInactive, Sessions: seen}, probe, nil
	case errors.Is(err, ErrLoginRefused):
		log.InfoContext(ctx, "the previous user is locked already", "step", step, "host", cur.Host)
		return rotators.DeactivateResponse{Outcome: rotators.AlreadyInactive, Sessions: seen}, probe, nil
	case err != nil:
		return rotators.DeactivateResponse{}, probe, err
	}
	if deactivateLockedHook != nil {
		deactivateLockedHook(ctx)
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(sqlLockRole, ident(prev.Username))); err != nil {
		return rotators.DeactivateResponse{}, probe, r.sqlError(step, "lock the previous user", cur.Host, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return rotators.DeactivateResponse{}, probe, r.sqlError(step, "commit", cur.Host, err)
	}
	if seen.Count > 0 {
		log.WarnContext(ctx, "previous user locked (NOLOGIN) while it still had open sessions; they are not ended and drain on their own", attrs...)
	} else {
		log.InfoContext(ctx, "previous user locked (NOLOGIN); no open session of it was seen", attrs...)
	}
	return rotators.DeactivateResponse{Outcome: rotators.Deactivated, Sessions: seen}, probe, nil
}

// end ends the previous user's open sessions, under the pair's lock and
// after another Recheck.
//
// Every session of the user is ended, whatever its application_name (a
// holder of the leaked credential can call itself anything), except the
// backend of revoke's own login probe, which may still be listed.
func (l idleLocker) end(ctx context.Context, conn *pgx.Conn, cur, prev dbsecret.Secret, req rotators.DeactivateRequest, probe uint32) (int, error) {
	const step = "deactivate"
	r := l.r
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, r.sqlError(step, "begin", cur.Host, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := lockPair(ctx, tx, prev.Username); err != nil {
		return 0, r.sqlError(step, "lock the user pair", cur.Host, err)
	}
	if req.Recheck != nil {
		if err := req.Recheck(ctx); err != nil {
			return 0, fmt.Errorf("postgres: %s: recheck before ending sessions: %w", step, err)
		}
	}
	// Only a locked user's sessions: a user that logs in again was given
	// LOGIN by a later Set and is not the revoked credential any more.
	if ok, err := canLogin(ctx, tx, prev.Username); err != nil {
		return 0, r.sqlError(step, "look up the previous user", cur.Host, err)
	} else if ok {
		return 0, fmt.Errorf("postgres: %s: the previous user may log in again; not ending its sessions", step)
	}
	n, err := endSessions(ctx, tx, prev.Username, probe)
	if err != nil {
		return n, r.sqlError(step, "end the previous user's sessions", cur.Host, err)
	}
	return n, tx.Commit(ctx)
}

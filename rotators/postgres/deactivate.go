package postgres

import (
	"context"
	"errors"
	"fmt"
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
// through the master secret. Sessions it has open are not terminated: they
// drain on their own, and ending them is the consumer's business. The next
// rotation's Set gives the user LOGIN back with its new password
// (sqlAlterRole says WITH LOGIN).
//
// Before it locks, it checks that the previous password still logs in:
// a user whose password has moved on was given a new one by a later
// rotation's Set (it is about to become, or is, the current user) and must
// be left alone; its old credential is dead already.
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
	m, err := r.master(ctx, step, cur, req.Secrets)
	if err != nil {
		return rotators.DeactivateResponse{}, err
	}

	conn, err := r.connect(ctx, step, roleMaster, masterTarget(cur, m), m.Username, m.Password)
	if err != nil {
		return rotators.DeactivateResponse{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var super, canLogin bool
	switch err := conn.QueryRow(ctx, sqlRoleCanLogin, prev.Username).Scan(&super, &canLogin); {
	case errors.Is(err, pgx.ErrNoRows):
		log.InfoContext(ctx, "the previous user does not exist; nothing to revoke", "step", step, "host", cur.Host)
		return rotators.DeactivateResponse{Outcome: rotators.AlreadyInactive}, nil
	case err != nil:
		return rotators.DeactivateResponse{}, r.sqlError(step, "look up the previous user", cur.Host, err)
	case super:
		return rotators.DeactivateResponse{}, &rotators.InputError{Secret: rolePrevious, Field: dbsecret.FieldUsername, Reason: "the previous user is a superuser; refusing to lock it"}
	case !canLogin:
		log.InfoContext(ctx, "the previous user is locked already", "step", step, "host", cur.Host)
		return rotators.DeactivateResponse{Outcome: rotators.AlreadyInactive}, nil
	}
	switch err := r.ping(ctx, step, rolePrevious, prev, prev.Username, prev.Password); {
	case errors.Is(err, ErrLoginFailed):
		log.InfoContext(ctx, "the previous password no longer logs in (a later rotation changed it); leaving the user alone", "step", step, "host", cur.Host)
		return rotators.DeactivateResponse{Outcome: rotators.AlreadyInactive}, nil
	case errors.Is(err, ErrLoginRefused):
		log.InfoContext(ctx, "the previous user is locked already", "step", step, "host", cur.Host)
		return rotators.DeactivateResponse{Outcome: rotators.AlreadyInactive}, nil
	case err != nil:
		return rotators.DeactivateResponse{}, err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(sqlLockRole, ident(prev.Username))); err != nil {
		return rotators.DeactivateResponse{}, r.sqlError(step, "lock the previous user", cur.Host, err)
	}
	log.InfoContext(ctx, "previous user locked (NOLOGIN); its open sessions drain on their own", "step", step, "host", cur.Host, "user", rolePrevious)
	return rotators.DeactivateResponse{Outcome: rotators.Deactivated}, nil
}

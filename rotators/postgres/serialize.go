package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/rotators"
)

// Serialisation of Set and Deactivate.
//
// With alternating users the idle user of the pair is both the previous
// credential, which the deactivation gate revokes (NOLOGIN), and the next
// rotation's pending user, whose password Set changes (WITH LOGIN). Both
// take one transaction-level advisory lock of the pair before they touch
// the role, so they never interleave:
//
//   - the lock lives in the secret's own database (dbname), where Set and
//     Deactivate both connect with the master user: one agreed place,
//     whatever else the server holds;
//   - pg_advisory_xact_lock is released by the transaction's end, commit,
//     rollback or a dropped connection, so a crashed function never leaves
//     it held, and it works through transaction-mode poolers (PgBouncer),
//     which keep a transaction on one server connection, where a
//     session-level lock would not;
//   - the key is the pair, not the role: (lockNamespace, hashtext of the
//     base user's name). A hash collision only serialises two unrelated
//     pairs.
//
// Under the lock the deactivator calls the gate's Recheck, which re-reads
// the staging labels: a Set can only run while the store holds AWSPENDING,
// so either Set took the lock first (and Recheck sees the pending version
// and refuses), or the revocation commits first (and Set, which waits for
// the lock, gives the user LOGIN back with its new password).
const (
	// lockNamespace is the first key of rotor's advisory locks ("roto").
	lockNamespace = 0x726f746f
	sqlLockPair   = `SELECT pg_catalog.pg_advisory_xact_lock($1, pg_catalog.hashtext($2))`
	// sqlSessions reads the open sessions of a role other than the caller's
	// own. pg_stat_activity shows every role's sessions, but their client
	// addresses only to superusers and members of pg_read_all_stats (or of
	// the role): without it the addresses are NULL and left out. It cannot
	// show sessions on replicas, nor clients behind a proxy or pooler
	// (RDS Proxy, PgBouncer), whose address is the pooler's and whose
	// server connections may be idle in the pool.
	//
	// backend_type is NULL in the rows of other roles' sessions to a master
	// without pg_read_all_stats (usename and application_name stay
	// visible): such a row counts as a session, so that a master with too
	// few privileges sees too many sessions, never none.
	//
	// Sessions with rotor's own application_name ($2) are left out: they are
	// the rotator's login probes (a probe's backend stays listed for a moment
	// after it closes) and the steps of other invocations, never a consumer.
	sqlSessions = `SELECT count(*),
	COALESCE(array_agg(DISTINCT pg_catalog.host(client_addr)) FILTER (WHERE client_addr IS NOT NULL), '{}'),
	COALESCE(array_agg(DISTINCT application_name) FILTER (WHERE application_name <> ''), '{}')
FROM pg_catalog.pg_stat_activity
WHERE usename = $1 AND pid <> pg_catalog.pg_backend_pid() AND (backend_type = 'client backend' OR backend_type IS NULL)
	AND application_name IS DISTINCT FROM $2`
	// sqlEndSessions ends the open sessions of a role (an emergency
	// rotation). pg_terminate_backend needs membership in the role or in
	// pg_signal_backend; it never ends a superuser's session.
	sqlEndSessions = `SELECT count(*) FILTER (WHERE pg_catalog.pg_terminate_backend(pid))
FROM pg_catalog.pg_stat_activity
WHERE usename = $1 AND pid <> pg_catalog.pg_backend_pid() AND (backend_type = 'client backend' OR backend_type IS NULL)
	AND pid <> $2`
)

// pairKey names the alternating pair of a user: the base user's name.
func pairKey(user string) string {
	return strings.TrimSuffix(user, CloneSuffix)
}

// lockPair takes the pair's advisory lock for the rest of the transaction.
// The statement timeout bounds the wait.
func lockPair(ctx context.Context, tx pgx.Tx, user string) error {
	_, err := tx.Exec(ctx, sqlLockPair, int32(lockNamespace), pairKey(user))
	return err
}

// sessions reads the open sessions of user.
func sessions(ctx context.Context, q querier, user string) (rotators.Sessions, error) {
	var s rotators.Sessions
	if err := q.QueryRow(ctx, sqlSessions, user, applicationName).Scan(&s.Count, &s.ClientAddresses, &s.ApplicationNames); err != nil {
		return rotators.Sessions{}, err
	}
	slices.Sort(s.ClientAddresses)
	slices.Sort(s.ApplicationNames)
	return s, nil
}

// endSessions ends the open sessions of user and returns how many ended.
// probe is the backend pid of rotor's own login probe, left alone (0: none).
func endSessions(ctx context.Context, q querier, user string, probe uint32) (int, error) {
	var n int
	err := q.QueryRow(ctx, sqlEndSessions, user, int64(probe)).Scan(&n)
	return n, err
}

// canLogin reports whether the role may log in; false when it does not
// exist.
func canLogin(ctx context.Context, q querier, user string) (bool, error) {
	var super, ok bool
	err := q.QueryRow(ctx, sqlRoleCanLogin, user).Scan(&super, &ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return ok, err
}

// Test hooks, nil in production: called with the pair locked, right before
// Set changes the pending user and right before Deactivate locks the
// previous user, so that a test drives the interleavings with the gate
// deterministically.
var (
	setLockedHook        func(ctx context.Context)
	deactivateLockedHook func(ctx context.Context)
)

// serializeSet is Set's part of the serialisation, in its transaction: it
// takes the pair's lock, then decides under it whether the pending user's
// password must be changed (it must when the user may not log in: a
// revocation that committed before the lock left it NOLOGIN, and the
// verifier alone would not give LOGIN back), and applies the grace policy
// when it will be. It returns the new pendingWorks.
func (r *Rotator) serializeSet(ctx context.Context, log *slog.Logger, tx pgx.Tx, host, user string, exists, pendingWorks bool, lastRotated func(context.Context) (time.Time, error)) (bool, error) {
	if err := lockPair(ctx, tx, user); err != nil {
		return false, r.sqlError("set", "lock the user pair", host, err)
	}
	if setLockedHook != nil {
		setLockedHook(ctx)
	}
	if !exists {
		return false, nil
	}
	if pendingWorks {
		ok, err := canLogin(ctx, tx, user)
		if err != nil {
			return false, r.sqlError("set", "look up the pending user", host, err)
		}
		pendingWorks = ok
	}
	if !pendingWorks {
		if err := r.pendingInUse(ctx, log, tx, host, user, lastRotated); err != nil {
			return false, err
		}
	}
	return pendingWorks, nil
}

// pendingInUse applies the grace policy to Set, which ends the previous
// credential of an alternating pair by changing its user's password: with
// sessions of that user open and the grace period since the last rotation
// not over, Set refuses with an error matching [rotators.ErrInUse]; the
// step fails, Secrets Manager retries it, and nothing has changed. A zero
// grace period (the library's default) or an unknown last rotation turns
// the check off. Called under the pair's lock, only when Set is about to
// change the password (a repeated Set whose password is set already finds
// the new credential's sessions, which are not evidence against it). The
// last rotation is looked up only when there are sessions: it may cost a
// call to the secret store (SetRequest.LastRotatedFunc).
func (r *Rotator) pendingInUse(ctx context.Context, log *slog.Logger, tx pgx.Tx, host, user string, lastRotation func(context.Context) (time.Time, error)) error {
	s, err := sessions(ctx, tx, user)
	if err != nil {
		return r.sqlError("set", "read the sessions of the pending user", host, err)
	}
	if s.Count == 0 {
		return nil
	}
	if r.grace <= 0 {
		// No grace policy: Set changes the password as AWS's multi-user
		// function does (open sessions go on; new logins need the new
		// password), and records who still used it.
		log.WarnContext(ctx, "the pending user still has sessions of its previous password; no grace policy is set, changing it",
			"step", "set", "host", host, "sessions", s.Count, "client_addresses", s.ClientAddresses, "application_names", s.ApplicationNames)
		return nil
	}
	lastRotated, err := lastRotation(ctx)
	if err != nil {
		return fmt.Errorf("postgres: set: %w", err)
	}
	if lastRotated.IsZero() {
		return nil
	}
	ends := lastRotated.Add(r.grace)
	if !r.now().Before(ends) {
		log.WarnContext(ctx, "the pending user still has sessions of its previous password; the grace period has passed, changing it",
			"step", "set", "host", host, "sessions", s.Count, "client_addresses", s.ClientAddresses, "application_names", s.ApplicationNames)
		return nil
	}
	log.WarnContext(ctx, "the pending user still has sessions of its previous password within the grace period; set refused, to be retried",
		"step", "set", "host", host, "sessions", s.Count, "client_addresses", s.ClientAddresses, "application_names", s.ApplicationNames, "grace_ends", ends)
	return fmt.Errorf("postgres: set: the pending user (the previous credential) has %d open sessions on %s, grace period ends %s: %w",
		s.Count, host, ends.UTC().Format(time.RFC3339), rotators.ErrInUse)
}

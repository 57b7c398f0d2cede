package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/dbsecret"
)

// SQL of the configuration test: reads only.
const (
	// sqlConfigMaster: may the master user create and alter roles? On
	// PostgreSQL 16 and later CREATEROLE alone no longer lets it alter a
	// role: it needs ADMIN OPTION on that role (which it has on the roles
	// it created itself).
	sqlConfigMaster = `SELECT rolsuper, rolcreaterole, pg_catalog.current_setting('server_version_num')::int
FROM pg_catalog.pg_roles WHERE rolname = current_user`
	// sqlConfigNoAdmin lists, on PostgreSQL 16 and later, the roles Set
	// grants or alters on which the master user lacks ADMIN OPTION: the
	// users of the pair ($1) and the roles the base user ($2) is a member
	// of, which Set grants to the clone.
	sqlConfigNoAdmin = `SELECT r.rolname FROM pg_catalog.pg_roles r
WHERE (r.rolname = ANY($1) OR r.oid IN (
	SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles b ON b.oid = m.member WHERE b.rolname = $2))
	AND NOT pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION')
ORDER BY 1`
)

// pg16 is server_version_num of PostgreSQL 16.
const pg16 = 160000

// ErrConfiguration is matched (with errors.Is) by an error of
// [Rotator.TestConfiguration] for a configuration that logs in but could
// not rotate: a master user that may not manage the alternate user, an
// alternate user that is a superuser, a current user that does not exist.
var ErrConfiguration = errors.New("the rotation configuration would fail")

// TestConfiguration checks, changing nothing, that a rotation of the
// current secret could run: the secret parses and the current credential
// logs in; with alternating users, the master secret parses and names the
// same server, the master user logs in (with its own secret's ssl, as Set
// does), the current user exists, and the master user may do what Set
// does: CREATEROLE (or superuser), and on PostgreSQL 16+ ADMIN OPTION on
// the users of the pair and on the roles the base user is a member of (see
// README, "What the master needs"). The alternate user must not be a
// superuser.
func (r *Rotator) TestConfiguration(ctx context.Context, req rotators.ConfigTestRequest) (rotators.ConfigTestResponse, error) {
	const step = "configuration test"
	cur, err := dbsecret.Parse(req.Current, r.rules(roleCurrent))
	if err != nil {
		return rotators.ConfigTestResponse{}, err
	}
	log := logger(req.Log)
	if r.strategy == SingleUser {
		if err := r.ping(ctx, step, roleCurrent, cur, cur.Username, cur.Password); err != nil {
			return rotators.ConfigTestResponse{}, err
		}
		log.InfoContext(ctx, "configuration test passed: the current user logs in", "step", step, "host", cur.Host)
		return rotators.ConfigTestResponse{}, nil
	}
	m, err := r.master(ctx, step, cur, req.Secrets)
	if err != nil {
		return rotators.ConfigTestResponse{}, err
	}
	conn, err := r.connectMaster(ctx, step, cur, m)
	if err != nil {
		return rotators.ConfigTestResponse{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := r.checkMaster(ctx, step, conn, cur); err != nil {
		return rotators.ConfigTestResponse{}, err
	}
	if err := r.ping(ctx, step, roleCurrent, cur, cur.Username, cur.Password); err != nil {
		return rotators.ConfigTestResponse{}, err
	}
	log.InfoContext(ctx, "configuration test passed: the current and the master user log in; the master user may manage the alternate user",
		"step", step, "host", cur.Host)
	return rotators.ConfigTestResponse{}, nil
}

// checkMaster checks, as the master user, what Set will need of it.
func (r *Rotator) checkMaster(ctx context.Context, step string, conn *pgx.Conn, cur dbsecret.Secret) error {
	var super, createRole bool
	var version int
	if err := conn.QueryRow(ctx, sqlConfigMaster).Scan(&super, &createRole, &version); err != nil {
		return r.sqlError(step, "read the master user's attributes", cur.Host, err)
	}
	if !super && !createRole {
		return fmt.Errorf("postgres: %s: %w: the master user on %s may not create or alter roles (it needs CREATEROLE)", step, ErrConfiguration, cur.Host)
	}
	switch exists, _, err := role(ctx, conn, cur.Username); {
	case err != nil:
		return r.sqlError(step, "look up the current user", cur.Host, err)
	case !exists:
		return fmt.Errorf("postgres: %s: %w: the current user does not exist on %s", step, ErrConfiguration, cur.Host)
	}
	alternate := r.pendingUsername(cur.Username)
	switch exists, altSuper, err := role(ctx, conn, alternate); {
	case err != nil:
		return r.sqlError(step, "look up the alternate user", cur.Host, err)
	case !exists:
		// The first rotation creates it.
	case altSuper:
		return &rotators.InputError{Secret: roleCurrent, Field: dbsecret.FieldUsername, Reason: "the alternate user is a superuser; a rotation would refuse to change its password"}
	}
	if super || version < pg16 {
		// Up to PostgreSQL 15, CREATEROLE may alter and grant any role
		// but a superuser.
		return nil
	}
	rows, err := conn.Query(ctx, sqlConfigNoAdmin, []string{cur.Username, alternate}, pairKey(cur.Username))
	if err != nil {
		return r.sqlError(step, "read the master user's ADMIN OPTIONs", cur.Host, err)
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return r.sqlError(step, "read the master user's ADMIN OPTIONs", cur.Host, err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("postgres: %s: %w: the master user on %s lacks ADMIN OPTION on %q, which PostgreSQL %d needs to alter or grant them (GRANT <role> TO <master> WITH ADMIN OPTION)",
			step, ErrConfiguration, cur.Host, missing, version/10000)
	}
	return nil
}

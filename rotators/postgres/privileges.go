package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotorhq/rotor/rotators/dbsecret"
)

// The pair of alternating users is anchored on the base user (the name
// without [CloneSuffix]): whichever of the two is current, the clone is a
// member of the base (GRANT base TO clone, as AWS's multi-user function
// does) and its sessions act as the base (ALTER ROLE clone SET role = base).
// So the clone can use everything the base owns or was granted, directly or
// through groups, and what the clone creates is owned by the base: no
// ownership drift, whatever is created while either user is current stays
// usable by the other. The base never becomes a member of the clone (that
// would be a cycle).
//
// What membership does not carry is copied to the clone whenever it is the
// pending user: its per-role settings (ALTER ROLE ... SET, per database
// too: they apply to the session user at login, not through SET ROLE), the
// attributes that act at login (CONNECTION LIMIT) or count for a session
// that ran SET ROLE NONE (CREATEDB), and the base's role memberships
// (exactly: what the base lost, the clone loses), so that such a session,
// or a base that is NOINHERIT, still has its groups. When the base is the pending
// user, it only gains what the current clone was given directly
// (memberships, settings it has no value for): the base is the anchor and
// loses nothing at a rotation. Objects the clone owns (created before the
// pair was anchored, or after SET ROLE NONE) are reassigned to the base, by
// the clone itself once the transaction committed.

// Per-role settings whose values are lists of quoted elements; pg_dump's
// variable_is_guc_list_quote names the same ones. Each element goes in as
// its own literal, or search_path = '"$user", public' would become one
// schema with a strange name.
var listSettings = []string{
	"local_preload_libraries", "search_path", "session_preload_libraries",
	"shared_preload_libraries", "temp_tablespaces", "unix_socket_directories",
}

// settingRole is the per-role setting that makes the clone's sessions act
// as the base user.
const settingRole = "role"

// SQL of the pair's sync; identifiers go in through [ident], setting values
// through [literal].
const (
	sqlPairRoles = `SELECT rolname, rolinherit, rolcreatedb, rolconnlimit
FROM pg_catalog.pg_roles WHERE rolname = ANY($1)`
	sqlRoleSettings = `SELECT r.rolname, s.setdatabase = 0, coalesce(d.datname, ''), s.setconfig
FROM pg_catalog.pg_db_role_setting s
JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
WHERE r.rolname = ANY($1)`
	// sqlOwnsObjects says whether a role owns anything in the current
	// database or a shared object (a database).
	sqlOwnsObjects = `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_shdepend d
JOIN pg_catalog.pg_roles r ON r.oid = d.refobjid
WHERE d.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND d.deptype = 'o' AND r.rolname = $1
AND d.dbid IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())))`
	sqlReassignOwned = `SET ROLE NONE; REASSIGN OWNED BY %s TO %s`
	sqlSetting       = `ALTER ROLE %s SET %s = %s`
	sqlSettingInDB   = `ALTER ROLE %s IN DATABASE %s SET %s = %s`
	sqlReset         = `ALTER ROLE %s RESET %s`
	sqlResetInDB     = `ALTER ROLE %s IN DATABASE %s RESET %s`
	sqlAttributes    = `ALTER ROLE %s WITH INHERIT %s CONNECTION LIMIT %d`
)

// pairNames are the two users of an alternating pair.
type pairNames struct {
	base, clone string
	// pendingIsClone says which one Set changes.
	pendingIsClone bool
}

// anchor names the pair from the current and pending users; the pending
// user is the alternate of the current one ([Rotator.pair] checked it).
func anchor(current, pending string) pairNames {
	if pending == current+CloneSuffix {
		return pairNames{base: current, clone: pending, pendingIsClone: true}
	}
	return pairNames{base: pending, clone: current}
}

// execer is what the sync needs of the master's transaction.
type execer interface {
	querier
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// syncResult counts what a sync changed, for the log; all zero when the
// pair was in sync already (a second Set).
type syncResult struct {
	Granted, Revoked, Settings, Attributes int
	// CloneOwns says that the clone owns objects in the database (or a
	// database), which [Rotator.reassignClone] gives to the base.
	CloneOwns bool
}

// roleAttrs are the attributes the clone takes from the base.
type roleAttrs struct {
	inherit, createDB bool
	connLimit         int
}

// settingsKey is one row of pg_db_role_setting: all databases, or one.
type settingsKey struct {
	all      bool
	database string
}

// syncPair brings the pending user of the pair in line, inside the master's
// transaction. It only runs statements for what differs, so a second call
// changes nothing.
func syncPair(ctx context.Context, tx execer, p pairNames) (syncResult, error) {
	var res syncResult
	exec := func(what, sql string) error {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}

	// Memberships: the clone mirrors the base and is a member of it; the
	// base only gains what the clone holds directly.
	baseRoles, err := memberships(ctx, tx, p.base)
	if err != nil {
		return res, fmt.Errorf("read role memberships: %w", err)
	}
	cloneRoles, err := memberships(ctx, tx, p.clone)
	if err != nil {
		return res, fmt.Errorf("read role memberships: %w", err)
	}
	wantClone := append(slices.Clone(baseRoles), p.base)
	var grant, revoke []string
	target := p.clone
	if p.pendingIsClone {
		for _, w := range wantClone {
			if w != p.clone && !slices.Contains(cloneRoles, w) {
				grant = append(grant, w)
			}
		}
		for _, h := range cloneRoles {
			if !slices.Contains(wantClone, h) {
				revoke = append(revoke, h)
			}
		}
	} else {
		target = p.base
		if !slices.Contains(cloneRoles, p.base) {
			// The anchor: the current clone becomes a member of the base
			// (a pair set up before it was anchored); it only gains.
			if err := exec("make the clone a member of the base user", fmt.Sprintf(sqlGrantRole, ident(p.base), ident(p.clone))); err != nil {
				return res, err
			}
			res.Granted++
		}
		for _, h := range cloneRoles {
			if h != p.base && h != p.clone && !slices.Contains(baseRoles, h) {
				grant = append(grant, h)
			}
		}
	}
	for _, g := range grant {
		if err := exec("grant a role to the pending user", fmt.Sprintf(sqlGrantRole, ident(g), ident(target))); err != nil {
			return res, err
		}
	}
	for _, g := range revoke {
		if err := exec("revoke a role from the pending user", fmt.Sprintf(sqlRevokeRole, ident(g), ident(target))); err != nil {
			return res, err
		}
	}
	res.Granted += len(grant)
	res.Revoked = len(revoke)

	// Attributes, when the clone is pending. INHERIT always: the clone
	// uses the base's privileges through its membership.
	if p.pendingIsClone {
		attrs, err := pairAttrs(ctx, tx, p)
		if err != nil {
			return res, err
		}
		want := attrs[p.base]
		want.inherit = true
		if attrs[p.clone] != want {
			createDB := "NOCREATEDB"
			if want.createDB {
				createDB = "CREATEDB"
			}
			if err := exec("copy role attributes to the pending user", fmt.Sprintf(sqlAttributes, ident(p.clone), createDB, want.connLimit)); err != nil {
				return res, err
			}
			res.Attributes++
		}
	}

	n, err := syncSettings(ctx, tx, p)
	res.Settings = n
	if err != nil {
		return res, err
	}

	if err := tx.QueryRow(ctx, sqlOwnsObjects, p.clone).Scan(&res.CloneOwns); err != nil {
		return res, fmt.Errorf("look for objects the clone owns: %w", err)
	}
	return res, nil
}

func pairAttrs(ctx context.Context, q querier, p pairNames) (map[string]roleAttrs, error) {
	rows, err := q.Query(ctx, sqlPairRoles, []string{p.base, p.clone})
	if err != nil {
		return nil, fmt.Errorf("read role attributes: %w", err)
	}
	attrs := map[string]roleAttrs{}
	var name string
	var a roleAttrs
	_, err = pgx.ForEachRow(rows, []any{&name, &a.inherit, &a.createDB, &a.connLimit}, func() error {
		attrs[name] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read role attributes: %w", err)
	}
	return attrs, nil
}

// roleSettings reads the per-role settings of users: user → row → name →
// value as the server stores it.
func roleSettings(ctx context.Context, q querier, users ...string) (map[string]map[settingsKey]map[string]string, error) {
	rows, err := q.Query(ctx, sqlRoleSettings, users)
	if err != nil {
		return nil, err
	}
	out := map[string]map[settingsKey]map[string]string{}
	var user string
	var key settingsKey
	var config []string
	_, err = pgx.ForEachRow(rows, []any{&user, &key.all, &key.database, &config}, func() error {
		if out[user] == nil {
			out[user] = map[settingsKey]map[string]string{}
		}
		m := map[string]string{}
		for _, item := range config {
			name, value, _ := strings.Cut(item, "=")
			m[name] = value
		}
		out[user][key] = m
		return nil
	})
	return out, err
}

// syncSettings copies per-role settings. The clone, when pending, gets
// exactly the base's (but for role, which is the base itself); the base,
// when pending, gets the clone's settings it has no value for. The clone's
// role setting is kept in place either way.
func syncSettings(ctx context.Context, tx execer, p pairNames) (int, error) {
	all, err := roleSettings(ctx, tx, p.base, p.clone)
	if err != nil {
		return 0, fmt.Errorf("read per-role settings: %w", err)
	}
	base, clone := all[p.base], all[p.clone]
	type change struct {
		user  string
		key   settingsKey
		name  string
		value *string // nil: reset
	}
	var changes []change
	anchorKey := settingsKey{all: true}
	if clone[anchorKey][settingRole] != p.base {
		v := p.base
		changes = append(changes, change{p.clone, anchorKey, settingRole, &v})
	}
	if p.pendingIsClone {
		for k, m := range base {
			for name, v := range m {
				if name == settingRole {
					continue
				}
				if have, ok := clone[k][name]; !ok || have != v {
					changes = append(changes, change{p.clone, k, name, &v})
				}
			}
		}
		for k, m := range clone {
			for name := range m {
				if _, ok := base[k][name]; !ok && !(k == anchorKey && name == settingRole) {
					changes = append(changes, change{p.clone, k, name, nil})
				}
			}
		}
	} else {
		for k, m := range clone {
			for name, v := range m {
				if name == settingRole {
					continue
				}
				if _, ok := base[k][name]; !ok {
					changes = append(changes, change{p.base, k, name, &v})
				}
			}
		}
	}
	// A stable order, so that a failure names the same setting each time.
	slices.SortFunc(changes, func(a, b change) int {
		return strings.Compare(a.user+"\x00"+a.key.database+"\x00"+a.name, b.user+"\x00"+b.key.database+"\x00"+b.name)
	})
	for _, c := range changes {
		var sql string
		switch {
		case c.value == nil && c.key.all:
			sql = fmt.Sprintf(sqlReset, ident(c.user), ident(c.name))
		case c.value == nil:
			sql = fmt.Sprintf(sqlResetInDB, ident(c.user), ident(c.key.database), ident(c.name))
		case c.key.all:
			sql = fmt.Sprintf(sqlSetting, ident(c.user), ident(c.name), settingValue(c.name, *c.value))
		default:
			sql = fmt.Sprintf(sqlSettingInDB, ident(c.user), ident(c.key.database), ident(c.name), settingValue(c.name, *c.value))
		}
		if _, err := tx.Exec(ctx, sql); err != nil {
			where := "all databases"
			if !c.key.all {
				where = "database " + c.key.database
			}
			// The setting's name, never its value.
			return 0, fmt.Errorf("copy the per-role setting %q (%s) to the pending user: %w", c.name, where, err)
		}
	}
	return len(changes), nil
}

// settingValue turns a value as pg_db_role_setting stores it back into SQL.
func settingValue(name, value string) string {
	if !slices.Contains(listSettings, strings.ToLower(name)) {
		return literal(value)
	}
	items := splitSettingList(value)
	quoted := make([]string, len(items))
	for i, it := range items {
		quoted[i] = literal(it)
	}
	if len(quoted) == 0 {
		return literal("")
	}
	return strings.Join(quoted, ", ")
}

// splitSettingList splits a list setting as the server flattened it:
// elements separated by commas, each bare or double-quoted with "" for a
// quote (the server's SplitGUCList).
func splitSettingList(s string) []string {
	var out []string
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			return out
		}
		var b strings.Builder
		if s[i] == '"' {
			i++
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
		} else {
			for i < len(s) && s[i] != ',' {
				b.WriteByte(s[i])
				i++
			}
		}
		out = append(out, strings.TrimRight(b.String(), " "))
		for i < len(s) && s[i] != ',' {
			i++
		}
		i++ // the comma
	}
}

// reassignClone gives the base user whatever the clone owns in the
// database, so that the base can use it once it is current. It runs as the
// clone, after the master's transaction committed: REASSIGN OWNED needs the
// privileges of both roles, which the clone has (its own, and the base's
// through its membership) and the master has not (a CREATEROLE master is a
// member of neither; making it one for the statement would, on PostgreSQL
// 16, rewrite the ADMIN-only membership it holds on a clone it created).
// SET ROLE NONE first: the clone's sessions act as the base, which has no
// privileges of the clone. It is idempotent: a Set retried after a crash
// between the two reassigns what is left.
func (r *Rotator) reassignClone(ctx context.Context, step, host string, clone dbsecret.Secret, base string) error {
	conn, err := r.connect(ctx, step, roleClone, clone, clone.Username, clone.Password)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, fmt.Sprintf(sqlReassignOwned, ident(clone.Username), ident(base))); err != nil {
		return r.sqlError(step, "reassign the clone's objects to the base user", host, err)
	}
	return nil
}

// literal quotes a string constant for the statements that take no
// parameters (ALTER ROLE ... SET). The E'...' form reads the same whatever
// standard_conforming_strings says.
func literal(s string) string {
	return "E'" + literalEscaper.Replace(s) + "'"
}

// literalEscaper escapes what an E'...' literal treats specially; built
// once, not per setting.
var literalEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

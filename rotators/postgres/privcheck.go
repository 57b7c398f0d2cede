package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// sqlMissingPrivileges lists, in one statement whatever the number of
// objects, every privilege the current user ($1) holds that the pending
// user ($2) does not, kind by kind: (kind, object, privilege). Role
// attributes are compared only when the pending user is the clone ($3),
// which mirrors the base's: the base is the anchor of the pair, and its
// attributes are the administrator's, whatever the clone's. It runs as
// the pending user: the has_*_privilege functions take any role, and the
// catalogs it reads are readable by every user. Column privileges are
// checked only where a column has its own ACL (a table-wide privilege
// covers the others and is checked with the table). Large objects have no
// has_largeobject_privilege before PostgreSQL 17: their ACL is exploded
// (no ACL: the owner only). A missing role is a row of its own. Privileges
// named here exist from PostgreSQL 12 on (MAINTAIN, new in 17, is left out
// so that the statement runs on every supported server).
const sqlMissingPrivileges = `WITH u AS (
  SELECT (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) AS cur,
         (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $2) AS pen
)
SELECT 'role', $1::text, 'EXISTS' FROM u WHERE u.cur IS NULL
UNION ALL
SELECT 'role', $2::text, 'EXISTS' FROM u WHERE u.pen IS NULL
UNION ALL
SELECT 'role attribute', r.rolname::text, 'LOGIN'
FROM pg_catalog.pg_roles r JOIN u ON r.oid = u.pen WHERE NOT r.rolcanlogin
UNION ALL
SELECT 'role attribute', p.rolname::text, 'CONNECTION LIMIT'
FROM u JOIN pg_catalog.pg_roles c ON c.oid = u.cur JOIN pg_catalog.pg_roles p ON p.oid = u.pen
WHERE $3 AND p.rolconnlimit <> -1 AND (c.rolconnlimit = -1 OR p.rolconnlimit < c.rolconnlimit)
UNION ALL
SELECT 'role attribute', p.rolname::text, 'CREATEDB'
FROM u JOIN pg_catalog.pg_roles c ON c.oid = u.cur JOIN pg_catalog.pg_roles p ON p.oid = u.pen
WHERE $3 AND c.rolcreatedb AND NOT p.rolcreatedb
UNION ALL
SELECT 'role membership', r.rolname::text, m.priv
FROM u, pg_catalog.pg_roles r, unnest(ARRAY['MEMBER', 'USAGE']) AS m(priv)
WHERE r.oid <> u.cur AND r.oid <> u.pen
  AND pg_catalog.pg_has_role(u.cur, r.oid, m.priv) AND NOT pg_catalog.pg_has_role(u.pen, r.oid, m.priv)
UNION ALL
SELECT 'database', d.datname::text, p.priv
FROM u, pg_catalog.pg_database d, unnest(ARRAY['CREATE', 'CONNECT', 'TEMPORARY']) AS p(priv)
WHERE pg_catalog.has_database_privilege(u.cur, d.oid, p.priv) AND NOT pg_catalog.has_database_privilege(u.pen, d.oid, p.priv)
UNION ALL
SELECT 'schema', pg_catalog.quote_ident(n.nspname), p.priv
FROM u, pg_catalog.pg_namespace n, unnest(ARRAY['CREATE', 'USAGE']) AS p(priv)
WHERE pg_catalog.has_schema_privilege(u.cur, n.oid, p.priv) AND NOT pg_catalog.has_schema_privilege(u.pen, n.oid, p.priv)
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'table' END,
       pg_catalog.format('%I.%I', n.nspname, c.relname), p.priv
FROM u, pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
     unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(priv)
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND pg_catalog.has_table_privilege(u.cur, c.oid, p.priv) AND NOT pg_catalog.has_table_privilege(u.pen, c.oid, p.priv)
UNION ALL
SELECT 'sequence', pg_catalog.format('%I.%I', n.nspname, c.relname), p.priv
FROM u, pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) AS p(priv)
WHERE c.relkind = 'S'
  AND pg_catalog.has_sequence_privilege(u.cur, c.oid, p.priv) AND NOT pg_catalog.has_sequence_privilege(u.pen, c.oid, p.priv)
UNION ALL
SELECT 'column', pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname), p.priv
FROM u, pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
     unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) AS p(priv)
WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
  AND pg_catalog.has_column_privilege(u.cur, c.oid, a.attnum, p.priv) AND NOT pg_catalog.has_column_privilege(u.pen, c.oid, a.attnum, p.priv)
UNION ALL
SELECT CASE f.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
       pg_catalog.format('%I.%I(%s)', n.nspname, f.proname, pg_catalog.pg_get_function_identity_arguments(f.oid)), 'EXECUTE'
FROM u, pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace
WHERE pg_catalog.has_function_privilege(u.cur, f.oid, 'EXECUTE') AND NOT pg_catalog.has_function_privilege(u.pen, f.oid, 'EXECUTE')
UNION ALL
SELECT 'large object', l.oid::text, p.priv
FROM u, pg_catalog.pg_largeobject_metadata l, unnest(ARRAY['SELECT', 'UPDATE']) AS p(priv)
WHERE (pg_catalog.pg_has_role(u.cur, l.lomowner, 'USAGE') OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(l.lomacl) e
        WHERE e.privilege_type = p.priv AND (e.grantee = 0 OR pg_catalog.pg_has_role(u.cur, e.grantee, 'USAGE'))))
  AND NOT (pg_catalog.pg_has_role(u.pen, l.lomowner, 'USAGE') OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(l.lomacl) e
        WHERE e.privilege_type = p.priv AND (e.grantee = 0 OR pg_catalog.pg_has_role(u.pen, e.grantee, 'USAGE'))))
UNION ALL
SELECT 'row-level security policy', pg_catalog.format('%I on %I.%I', pol.polname, n.nspname, c.relname), 'APPLIES'
FROM u, pg_catalog.pg_policy pol JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE EXISTS (SELECT 1 FROM unnest(pol.polroles) x(r) WHERE x.r <> 0 AND pg_catalog.pg_has_role(u.cur, x.r, 'USAGE'))
  AND NOT EXISTS (SELECT 1 FROM unnest(pol.polroles) x(r) WHERE x.r = 0 OR pg_catalog.pg_has_role(u.pen, x.r, 'USAGE'))
UNION ALL
SELECT 'per-role setting', pg_catalog.split_part(c.item, '=', 1) || CASE WHEN s.setdatabase = 0 THEN ' (all databases)'
         ELSE ' (database ' || pg_catalog.quote_ident(d.datname) || ')' END, 'SET'
FROM u, pg_catalog.pg_db_role_setting s
LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase, unnest(s.setconfig) AS c(item)
WHERE s.setrole = u.cur AND pg_catalog.split_part(c.item, '=', 1) <> 'role'
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s2
                  WHERE s2.setrole = u.pen AND s2.setdatabase = s.setdatabase AND c.item = ANY (s2.setconfig))
ORDER BY 1, 2, 3`

// maxMissingNamed bounds the privileges an error lists; it says how many
// more there are.
const maxMissingNamed = 20

// Missing is one privilege the current user holds and the pending user
// does not.
type Missing struct {
	// Kind is the kind of object: "table", "column", "sequence",
	// "function", "schema", "database", "role membership", "per-role
	// setting", "row-level security policy", ...
	Kind string
	// Object names it, schema-qualified where it has a schema (whatever
	// the session's search_path); a per-role setting by its name and
	// database, never its value.
	Object string
	// Privilege is the privilege missing ("SELECT", "EXECUTE", "MEMBER",
	// "SET", ...).
	Privilege string
}

func (m Missing) String() string { return m.Kind + " " + m.Object + " " + m.Privilege }

// PrivilegeError is the error of Test when the pending user lacks something
// the current user holds: switching to it would break the application.
type PrivilegeError struct {
	Host    string
	Missing []Missing
}

func (e *PrivilegeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "postgres: test: the pending user lacks %d privilege(s) the current user holds on %s: ", len(e.Missing), e.Host)
	for i, m := range e.Missing {
		if i == maxMissingNamed {
			fmt.Fprintf(&b, "; and %d more", len(e.Missing)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(m.String())
	}
	return b.String()
}

// missingPrivileges compares the two users with one catalog query.
func missingPrivileges(ctx context.Context, q querier, current, pending string) ([]Missing, error) {
	rows, err := q.Query(ctx, sqlMissingPrivileges, current, pending, anchor(current, pending).pendingIsClone)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Missing, error) {
		var m Missing
		err := row.Scan(&m.Kind, &m.Object, &m.Privilege)
		return m, err
	})
}

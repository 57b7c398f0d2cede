package postgres

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/xdg-go/scram"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/dbsecret"
	"github.com/rotorhq/rotor/rotators/dbtls"
	"github.com/rotorhq/rotor/shared/password"
)

// Type is the rotator's credential type.
const Type = "postgres"

// Strategy says how the rotator moves credentials.
type Strategy string

const (
	// SingleUser changes the password of the secret's own user.
	SingleUser Strategy = "single-user"
	// AlternatingUsers changes the password of the other user of a pair
	// (app, app_clone), using the master secret named by masterarn.
	AlternatingUsers Strategy = "alternating-users"
)

// CloneSuffix makes the name of the alternate user.
const CloneSuffix = "_clone"

const (
	// maxNameLength is NAMEDATALEN-1: PostgreSQL truncates longer names.
	maxNameLength           = 63
	defaultPort             = 5432
	defaultDBName           = "postgres"
	defaultConnectTimeout   = 5 * time.Second
	scramIterations         = 4096
	scramSaltLength         = 16
	applicationName         = "rotor"
	defaultLockTimeout      = 5 * time.Second
	defaultStatementTimeout = 15 * time.Second
)

// SQL. Identifiers go in through [ident], verifiers through [checkVerifier];
// values are bound as parameters wherever the statement takes them.
const (
	sqlPing             = `SELECT 1`
	sqlAlterOwnPassword = `ALTER ROLE CURRENT_USER WITH PASSWORD '%s'`
	sqlCreateRole       = `CREATE ROLE %s WITH LOGIN PASSWORD '%s'`
	sqlAlterRole        = `ALTER ROLE %s WITH LOGIN PASSWORD '%s'`
	sqlGrantRole        = `GRANT %s TO %s`
	sqlRevokeRole       = `REVOKE %s FROM %s`
	sqlLockRole         = `ALTER ROLE %s WITH NOLOGIN`
	sqlRole             = `SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = $1`
	sqlRoleCanLogin     = `SELECT rolsuper, rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = $1`
	sqlMemberships      = `SELECT DISTINCT r.rolname
FROM pg_catalog.pg_auth_members m
JOIN pg_catalog.pg_roles r ON r.oid = m.roleid
JOIN pg_catalog.pg_roles u ON u.oid = m.member
WHERE u.rolname = $1
ORDER BY 1`
)

// Roles of users in errors and logs.
const (
	rolePending = "pending"
	roleCurrent = "current"
	roleMaster  = "master"
	roleClone   = "clone"
)

// ErrLoginFailed is matched (with errors.Is) by an error of a step that
// could not log in because the server refused the password (SQLSTATE
// 28P01).
var ErrLoginFailed = errors.New("login failed")

// SQLSTATEs of failed logins: invalid_password, and
// invalid_authorization_specification, which PostgreSQL sends for a role
// without LOGIN ("role ... is not permitted to log in").
const (
	sqlStateInvalidPassword = "28P01"
	sqlStateNotPermitted    = "28000"
)

// ErrLoginRefused is matched (with errors.Is) by an error of a step that
// could not log in because the role may not log in (SQLSTATE 28000): a
// user that [Deactivator] locked.
var ErrLoginRefused = errors.New("login refused: the role may not log in")

// Options configures a [Rotator].
type Options struct {
	// Strategy is SingleUser or AlternatingUsers; empty means
	// AlternatingUsers, the default for databases.
	Strategy Strategy
	// RootCAs verifies server certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// Roots, when set, verifies server certificates instead of RootCAs:
	// the system roots and CA files, parsed only when a certificate is
	// verified ([dbtls.LoadRoots]), which is what a function's cold step
	// wants.
	Roots *dbtls.Roots
	// ConnectTimeout bounds each connection attempt; default 5s.
	ConnectTimeout time.Duration
	// LockTimeout and StatementTimeout bound the waits of each statement
	// (ALTER ROLE and GRANT lock the role catalogs), so that a busy server
	// fails the step, which Secrets Manager retries, instead of holding the
	// function until Lambda kills it; defaults 5s and 15s.
	LockTimeout      time.Duration
	StatementTimeout time.Duration
	// Tracer, if set, is set on every connection (pgx also uses it as a
	// pgx.ConnectTracer when it is one).
	Tracer pgx.QueryTracer
	// LockIdleUser makes [Rotator.Deactivator] return a deactivator that
	// locks the idle user of an alternating pair (ALTER ROLE ... NOLOGIN)
	// once the deactivation gate allows it. The next rotation's Set gives
	// the user LOGIN back with its new password. Ignored with SingleUser.
	LockIdleUser bool
	// GracePeriod is the deployment's grace policy for ending a previous
	// credential that the database shows in use (ROTOR_GRACE_PERIOD, the
	// deactivation gate's). With alternating users Set ends the previous
	// credential too, by changing its user's password: while that user has
	// open sessions and less than GracePeriod has passed since the last
	// rotation (SetRequest.LastRotated), Set refuses with an error matching
	// rotators.ErrInUse, and the step is retried. 0 turns the refusal off:
	// Set then changes the password as AWS's function does and logs the
	// sessions that still used it.
	GracePeriod time.Duration
	// Now is the clock of the grace policy; nil means time.Now.
	Now func() time.Time
}

// Rotator rotates PostgreSQL passwords. It is safe for concurrent use.
type Rotator struct {
	strategy Strategy
	roots    *x509.CertPool
	lazy     *dbtls.Roots
	timeout  time.Duration
	params   map[string]string // session settings of every connection
	tracer   pgx.QueryTracer
	lockIdle bool
	grace    time.Duration
	now      func() time.Time
}

var _ rotators.Rotator = (*Rotator)(nil)

// New returns a rotator, or an error for an unknown strategy.
func New(opts Options) (*Rotator, error) {
	r := &Rotator{
		strategy: opts.Strategy,
		roots:    opts.RootCAs,
		lazy:     opts.Roots,
		timeout:  opts.ConnectTimeout,
		tracer:   opts.Tracer,
		lockIdle: opts.LockIdleUser,
		grace:    opts.GracePeriod,
		now:      opts.Now,
	}
	if r.now == nil {
		r.now = time.Now
	}
	switch r.strategy {
	case "":
		r.strategy = AlternatingUsers
	case SingleUser, AlternatingUsers:
	default:
		return nil, fmt.Errorf("postgres: unknown strategy %q: want %q or %q", opts.Strategy, SingleUser, AlternatingUsers)
	}
	if r.timeout <= 0 {
		r.timeout = defaultConnectTimeout
	}
	ms := func(d, def time.Duration) string {
		if d <= 0 {
			d = def
		}
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	r.params = map[string]string{
		"application_name":  applicationName,
		"lock_timeout":      ms(opts.LockTimeout, defaultLockTimeout),
		"statement_timeout": ms(opts.StatementTimeout, defaultStatementTimeout),
	}
	return r, nil
}

// passwordChars is every printable ASCII character but the space:
// PostgreSQL takes any character, and a space is easy to lose in a shell.
const passwordChars = password.Printable

// Info describes the rotator.
func (r *Rotator) Info() rotators.Info {
	return rotators.Info{
		Type:              Type,
		Strategy:          string(r.strategy),
		PasswordChars:     passwordChars,
		MaxPasswordLength: 0,
	}
}

func (r *Rotator) rules(secret string) dbsecret.Rules {
	rules := dbsecret.Rules{
		Secret:            secret,
		Engines:           []string{Type},
		DefaultPort:       defaultPort,
		DefaultDBName:     defaultDBName,
		MaxUsernameLength: maxNameLength,
	}
	if r.strategy == AlternatingUsers && secret != roleMaster {
		rules.RequireMasterARN = true
		rules.CloneSuffix = CloneSuffix
	}
	return rules
}

// pendingUsername is the user the pending secret must name.
func (r *Rotator) pendingUsername(current string) string {
	if r.strategy == AlternatingUsers {
		return dbsecret.Alternate(current, CloneSuffix)
	}
	return current
}

// Create derives the pending secret. It reads no other secret and touches no
// database: Set reads and checks the master secret (alternating users)
// before it changes anything (see [rotators.Rotator]).
func (r *Rotator) Create(ctx context.Context, req rotators.CreateRequest) (rotators.CreateResponse, error) {
	if req.Password == "" || strings.ContainsRune(req.Password, 0) {
		return rotators.CreateResponse{}, errors.New("postgres: create: the new password is empty or holds a NUL character")
	}
	cur, err := dbsecret.Parse(req.Current, r.rules(roleCurrent))
	if err != nil {
		return rotators.CreateResponse{}, err
	}
	pending, err := cur.WithCredentials(r.pendingUsername(cur.Username), req.Password)
	if err != nil {
		return rotators.CreateResponse{}, err
	}
	return rotators.CreateResponse{Pending: pending}, nil
}

// master reads and checks the master secret that cur names.
func (r *Rotator) master(ctx context.Context, step string, cur dbsecret.Secret, secrets rotators.SecretReader) (dbsecret.Secret, error) {
	if secrets == nil {
		return dbsecret.Secret{}, fmt.Errorf("postgres: %s: no secret reader for the master secret", step)
	}
	raw, err := secrets.CurrentValue(ctx, cur.MasterARN)
	if errors.Is(err, rotators.ErrSecretNotFound) {
		return dbsecret.Secret{}, &rotators.InputError{Secret: roleCurrent, Field: dbsecret.FieldMasterARN, Reason: "master secret not found"}
	}
	if err != nil {
		return dbsecret.Secret{}, fmt.Errorf("postgres: %s: read the master secret: %w", step, err)
	}
	m, err := dbsecret.Parse(raw, r.rules(roleMaster))
	if err != nil {
		return dbsecret.Secret{}, err
	}
	switch {
	case !strings.EqualFold(m.Host, cur.Host):
		return dbsecret.Secret{}, &rotators.InputError{Secret: roleMaster, Field: dbsecret.FieldHost, Reason: "names another host than the current secret"}
	case m.Port != cur.Port:
		return dbsecret.Secret{}, &rotators.InputError{Secret: roleMaster, Field: dbsecret.FieldPort, Reason: "names another port than the current secret"}
	case m.Username == cur.Username || m.Username == r.pendingUsername(cur.Username):
		return dbsecret.Secret{}, &rotators.InputError{Secret: roleMaster, Field: dbsecret.FieldUsername, Reason: "is the rotated user or its alternate"}
	}
	return m, nil
}

// pair parses the current and pending secrets and checks that the pending
// one is what Create makes of the current one: the same server, and the
// expected user. A pending secret naming another user must never get that
// user's password changed.
func (r *Rotator) pair(current, pending []byte) (cur, pen dbsecret.Secret, err error) {
	if cur, err = dbsecret.Parse(current, r.rules(roleCurrent)); err != nil {
		return cur, pen, err
	}
	if pen, err = dbsecret.Parse(pending, r.rules(rolePending)); err != nil {
		return cur, pen, err
	}
	differs := func(field string) error {
		return &rotators.InputError{Secret: rolePending, Field: field, Reason: "differs from the current secret"}
	}
	switch {
	case !strings.EqualFold(pen.Host, cur.Host):
		return cur, pen, differs(dbsecret.FieldHost)
	case pen.Port != cur.Port:
		return cur, pen, differs(dbsecret.FieldPort)
	case pen.DBName != cur.DBName:
		return cur, pen, differs(dbsecret.FieldDBName)
	case pen.SSL != cur.SSL:
		return cur, pen, differs(dbsecret.FieldSSL)
	case pen.MasterARN != cur.MasterARN:
		return cur, pen, differs(dbsecret.FieldMasterARN)
	case pen.Username != r.pendingUsername(cur.Username):
		return cur, pen, &rotators.InputError{Secret: rolePending, Field: dbsecret.FieldUsername, Reason: "is not the user the strategy rotates"}
	}
	return cur, pen, nil
}

// Set makes the pending password valid.
func (r *Rotator) Set(ctx context.Context, req rotators.SetRequest) (rotators.SetResponse, error) {
	cur, pen, err := r.pair(req.Current, req.Pending)
	if err != nil {
		return rotators.SetResponse{}, err
	}
	if r.strategy == SingleUser {
		return rotators.SetResponse{}, r.setSingle(ctx, logger(req.Log), cur, pen)
	}
	return rotators.SetResponse{}, r.setAlternating(ctx, logger(req.Log), cur, pen, req.Secrets, req.LastRotation)
}

func (r *Rotator) setSingle(ctx context.Context, log *slog.Logger, cur, pen dbsecret.Secret) error {
	const step = "set"
	if err := r.ping(ctx, step, rolePending, pen, pen.Username, pen.Password); err == nil {
		log.InfoContext(ctx, "pending password already set", "step", step, "host", cur.Host)
		return nil
	}
	verifier, err := scramVerifier(pen.Password)
	if err != nil {
		return err
	}
	conn, err := r.connect(ctx, step, roleCurrent, cur, cur.Username, cur.Password)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, fmt.Sprintf(sqlAlterOwnPassword, verifier)); err != nil {
		return fmt.Errorf("postgres: %s: change the password of the current user on %s: %w", step, cur.Host, err)
	}
	log.InfoContext(ctx, "password changed", "step", step, "host", cur.Host, "user", rolePending)
	return nil
}

func (r *Rotator) setAlternating(ctx context.Context, log *slog.Logger, cur, pen dbsecret.Secret, secrets rotators.SecretReader, lastRotated func(context.Context) (time.Time, error)) error {
	const step = "set"
	m, err := r.master(ctx, step, cur, secrets)
	if err != nil {
		return err
	}
	// A pending user that already logs in keeps its verifier, so a second
	// Set leaves exactly the state of the first.
	pendingWorks := r.ping(ctx, step, rolePending, pen, pen.Username, pen.Password) == nil

	conn, err := r.connectMaster(ctx, step, cur, m)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	// One transaction: a crash anywhere leaves the pending user as it was.
	tx, err := conn.Begin(ctx)
	if err != nil {
		return r.sqlError(step, "begin", cur.Host, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	exists, super, err := role(ctx, tx, pen.Username)
	if err != nil {
		return r.sqlError(step, "look up the pending user", cur.Host, err)
	}
	if super {
		return &rotators.InputError{Secret: roleCurrent, Field: dbsecret.FieldUsername, Reason: "the alternate user is a superuser; refusing to change its password"}
	}
	// Serialised with the deactivation gate (serialize.go).
	if pendingWorks, err = r.serializeSet(ctx, log, tx, cur.Host, pen.Username, exists, pendingWorks, lastRotated); err != nil {
		return err
	}
	if !exists || !pendingWorks {
		verifier, err := scramVerifier(pen.Password)
		if err != nil {
			return err
		}
		sql, what := sqlAlterRole, "change the password of the pending user"
		if !exists {
			sql, what = sqlCreateRole, "create the pending user"
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(sql, ident(pen.Username), verifier)); err != nil {
			return r.sqlError(step, what, cur.Host, err)
		}
	}
	if ok, _, err := role(ctx, tx, cur.Username); err != nil {
		return r.sqlError(step, "look up the current user", cur.Host, err)
	} else if !ok {
		return fmt.Errorf("postgres: %s: the current user does not exist on %s", step, cur.Host)
	}
	pair := anchor(cur.Username, pen.Username)
	synced, err := syncPair(ctx, tx, pair)
	if err != nil {
		return r.sqlError(step, "sync the pending user with the pair", cur.Host, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return r.sqlError(step, "commit", cur.Host, err)
	}
	if synced.CloneOwns {
		clone := cur
		if pair.pendingIsClone {
			clone = pen
		}
		if err := r.reassignClone(ctx, step, cur.Host, clone, pair.base); err != nil {
			return err
		}
	}
	log.InfoContext(ctx, "pending user set", "step", step, "host", cur.Host,
		"created", !exists, "password_changed", !exists || !pendingWorks,
		"granted", synced.Granted, "revoked", synced.Revoked, "settings", synced.Settings,
		"attributes", synced.Attributes, "reassigned", synced.CloneOwns)
	return nil
}

// Test logs in as the pending user and runs a query. With alternating users
// the query is the privilege comparison: the pending user must log in
// (rolcanlogin) and hold every privilege the current user holds, kind by
// kind, or Test fails with a [*PrivilegeError] naming what is missing. It
// makes the same number of catalog queries whatever the number of objects
// (one), so a database with many tables costs time on the server, not round
// trips.
func (r *Rotator) Test(ctx context.Context, req rotators.TestRequest) (rotators.TestResponse, error) {
	const step = "test"
	cur, pen, err := r.pair(req.Current, req.Pending)
	if err != nil {
		return rotators.TestResponse{}, err
	}
	conn, err := r.connect(ctx, step, rolePending, pen, pen.Username, pen.Password)
	if err != nil {
		return rotators.TestResponse{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if r.strategy == AlternatingUsers {
		missing, err := missingPrivileges(ctx, conn, cur.Username, pen.Username)
		if err != nil {
			return rotators.TestResponse{}, r.sqlError(step, "compare the privileges of the pending and current users", cur.Host, err)
		}
		if len(missing) > 0 {
			return rotators.TestResponse{}, &PrivilegeError{Host: cur.Host, Missing: missing}
		}
		return rotators.TestResponse{}, nil
	}
	if _, err := conn.Exec(ctx, sqlPing); err != nil {
		return rotators.TestResponse{}, r.sqlError(step, "run a query as the pending user", cur.Host, err)
	}
	return rotators.TestResponse{}, nil
}

// logger returns the engine's log, or one that discards when a caller
// (a test) gave none.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// querier is what catalog queries need of a connection or transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// role reports whether a role exists and whether it is a superuser.
func role(ctx context.Context, q querier, name string) (exists, super bool, err error) {
	err = q.QueryRow(ctx, sqlRole, name).Scan(&super)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, nil
	}
	return err == nil, super, err
}

func memberships(ctx context.Context, q querier, name string) ([]string, error) {
	rows, err := q.Query(ctx, sqlMemberships, name)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ident quotes an identifier; every identifier in SQL text goes through it.
func ident(name string) string {
	return pgx.Identifier{name}.Sanitize()
}

// connConfig builds the connection configuration field by field, never from
// a connection string holding the password.
func (r *Rotator) connConfig(s dbsecret.Secret, user, password string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, fmt.Errorf("postgres: base connection config: %w", err)
	}
	cfg.Host = s.Host
	cfg.Port = uint16(s.Port)
	cfg.Database = s.DBName
	cfg.User = user
	cfg.Password = password
	cfg.ConnectTimeout = r.timeout
	cfg.RuntimeParams = maps.Clone(r.params)
	cfg.ValidateConnect = nil
	cfg.AfterConnect = nil
	cfg.SSLNegotiation = ""
	// No fallback: a TLS connection that fails does not become a plain one.
	cfg.Fallbacks = nil
	cfg.TLSConfig = nil
	switch {
	case s.SSL && r.lazy != nil:
		cfg.TLSConfig = r.lazy.Config(s.Host)
	case s.SSL:
		cfg.TLSConfig = dbtls.Config(s.Host, r.roots)
	}
	cfg.Tracer = r.tracer
	return cfg, nil
}

// connectMaster logs in as the master user m (from [Rotator.master]) where
// every step that acts through it must: at the master secret's own host,
// port and ssl (master checked that host and port match the current
// secret's), in the application's database, where its objects are. The
// application secret's ssl does not count: whoever can write that secret
// must not be able to put the master's session on plain text.
func (r *Rotator) connectMaster(ctx context.Context, step string, cur, m dbsecret.Secret) (*pgx.Conn, error) {
	t := m
	t.DBName = cur.DBName
	return r.connect(ctx, step, roleMaster, t, m.Username, m.Password)
}

// connect logs in as user; role says which user it is in errors.
func (r *Rotator) connect(ctx context.Context, step, role string, s dbsecret.Secret, user, password string) (*pgx.Conn, error) {
	cfg, err := r.connConfig(s, user, password)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == sqlStateInvalidPassword {
			return nil, fmt.Errorf("postgres: %s: log in as the %s user on %s: %w: %w", step, role, s.Host, ErrLoginFailed, err)
		}
		if errors.As(err, &pgErr) && pgErr.Code == sqlStateNotPermitted {
			return nil, fmt.Errorf("postgres: %s: log in as the %s user on %s: %w: %w", step, role, s.Host, ErrLoginRefused, err)
		}
		return nil, fmt.Errorf("postgres: %s: connect as the %s user to %s: %w", step, role, s.Host, err)
	}
	return conn, nil
}

// ping reports whether user logs in.
func (r *Rotator) ping(ctx context.Context, step, role string, s dbsecret.Secret, user, password string) error {
	_, err := r.probe(ctx, step, role, s, user, password)
	return err
}

// probe is ping that also returns the backend pid of the login, which
// pg_stat_activity may list for a moment after the connection closed.
func (r *Rotator) probe(ctx context.Context, step, role string, s dbsecret.Secret, user, password string) (uint32, error) {
	conn, err := r.connect(ctx, step, role, s, user, password)
	if err != nil {
		return 0, err
	}
	pid := conn.PgConn().PID()
	return pid, conn.Close(ctx)
}

func (r *Rotator) sqlError(step, what, host string, err error) error {
	return fmt.Errorf("postgres: %s: %s on %s: %w", step, what, host, err)
}

// verifierPattern is the only shape of text embedded in a statement as a
// password literal: base64 never holds a quote or a backslash. Compiled on
// first use: a cold step that sets no password does not pay for it.
var verifierPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}:[A-Za-z0-9+/]+={0,2}$`)
})

// scramVerifier computes the SCRAM-SHA-256 verifier PostgreSQL stores for
// password, with a fresh random salt.
func scramVerifier(password string) (string, error) {
	salt := make([]byte, scramSaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("postgres: random salt: %w", err)
	}
	client, err := scram.SHA256.NewClient("", password, "")
	if err != nil {
		// PostgreSQL uses the password as is when SASLprep refuses it.
		if client, err = scram.SHA256.NewClientUnprepped("", password, ""); err != nil {
			return "", errors.New("postgres: cannot compute the SCRAM verifier of the password")
		}
	}
	creds, err := client.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: scramIterations})
	if err != nil {
		return "", errors.New("postgres: cannot compute the SCRAM verifier of the password")
	}
	enc := base64.StdEncoding
	v := fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", scramIterations,
		enc.EncodeToString(salt), enc.EncodeToString(creds.StoredKey), enc.EncodeToString(creds.ServerKey))
	if err := checkVerifier(v); err != nil {
		return "", err
	}
	return v, nil
}

func checkVerifier(v string) error {
	if !verifierPattern().MatchString(v) {
		return errors.New("postgres: the SCRAM verifier has an unexpected shape")
	}
	return nil
}

package postgres_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/dbsecret"
	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/password"
	"github.com/rotorhq/rotor/test/pgserver"
)

// srv is the package's server: TLS, plain connections accepted too.
var srv *pgserver.Server

const (
	masterARN  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rotor-master"
	masterUser = "rotor_master"
)

// masterPassword is set in TestMain.
var masterPassword string

func TestMain(m *testing.M) {
	s, err := pgserver.Start(pgserver.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv = s
	code := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Like the RDS master user: CREATEROLE, not a superuser, a member
		// of pg_signal_backend (to end a leaked credential's sessions) and
		// of pg_read_all_stats (to see other roles' client addresses), as
		// rds_superuser is.
		masterPassword = mustPassword()
		if err := srv.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN CREATEROLE PASSWORD %s IN ROLE pg_signal_backend, pg_read_all_stats`, masterUser, literal(masterPassword))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func mustPassword() string {
	pw, err := password.Generate(password.Spec{Length: 32, Allowed: password.Printable, RequireEachClass: true})
	if err != nil {
		panic(err)
	}
	return pw
}

// generated records every password the tests hand to a rotator, so that
// the server log can be searched for them.
var generated struct {
	sync.Mutex
	list []string
}

func newPassword() (string, error) {
	pw, err := password.Generate(password.Spec{Length: 32, Allowed: password.Printable, RequireEachClass: true})
	if err != nil {
		return "", err
	}
	generated.Lock()
	generated.list = append(generated.list, pw)
	generated.Unlock()
	return pw, nil
}

func genPassword(t *testing.T) string {
	t.Helper()
	pw, err := newPassword()
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

// checkLog fails if the server log holds a generated password, and checks
// that the log does record the statements that set them.
func checkLog(t *testing.T) {
	t.Helper()
	log, err := srv.Log()
	if err != nil {
		t.Fatal(err)
	}
	generated.Lock()
	defer generated.Unlock()
	for _, pw := range generated.list {
		if strings.Contains(string(log), pw) {
			t.Errorf("want no generated password in the server log, got one")
		}
	}
	if len(generated.list) > 0 && !strings.Contains(string(log), "PASSWORD 'SCRAM-SHA-256$4096:") {
		t.Errorf("want the log to record the password statements (as verifiers), got none")
	}
}

// literal quotes a string for SQL in test set-up only.
func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func ident(s string) string {
	return pgx.Identifier{s}.Sanitize()
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func exec(t *testing.T, s *pgserver.Server, sql string) {
	t.Helper()
	if err := s.Exec(ctxT(t), sql); err != nil {
		t.Fatalf("set-up %q: %v", sql, err)
	}
}

// newUser creates a login role with a generated password on s. The role
// and its clone, when an earlier run of the test in this binary left them
// (go test -count=2), are dropped first, so that every run starts clean.
// A failure names the role, not the statement, which holds the password.
func newUser(t *testing.T, s *pgserver.Server, name string) string {
	t.Helper()
	forgetRole(t, s, name)
	forgetRole(t, s, name+postgres.CloneSuffix)
	pw := mustPassword()
	if err := s.Exec(ctxT(t), fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD %s`, ident(name), literal(pw))); err != nil {
		t.Fatalf("set-up: create role %s: %v", name, err)
	}
	return pw
}

// newRole creates a role without a password (a group role, or a user that
// must not log in), dropping one left by an earlier run first.
func newRole(t *testing.T, s *pgserver.Server, name, attributes string) {
	t.Helper()
	forgetRole(t, s, name)
	exec(t, s, fmt.Sprintf(`CREATE ROLE %s %s`, ident(name), attributes))
}

// forgetRole drops a role and everything it owns or was granted, in every
// database of s, if it exists.
func forgetRole(t *testing.T, s *pgserver.Server, role string) {
	t.Helper()
	ctx := ctxT(t)
	admin, err := s.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var dbs []string
	if err := admin.QueryRow(ctx, `SELECT array_agg(datname::text) FROM pg_database
		WHERE datallowconn AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&dbs); err != nil {
		t.Fatalf("set-up: look for role %s: %v", role, err)
	}
	for _, db := range dbs {
		inDB(t, s, db, `DROP OWNED BY `+ident(role)+` CASCADE`)
	}
	if len(dbs) > 0 {
		exec(t, s, `DROP ROLE `+ident(role))
	}
}

// secretMap is a SecretReader over a map.
type secretMap map[string][]byte

func (m secretMap) CurrentValue(_ context.Context, id string) ([]byte, error) {
	v, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", rotators.ErrSecretNotFound, id)
	}
	return v, nil
}

// baseSecret is a valid secret for s as a map that tests tweak.
func baseSecret(s *pgserver.Server, user, pw string) map[string]any {
	return map[string]any{
		"engine":    "postgres",
		"host":      s.Host,
		"port":      s.Port,
		"username":  user,
		"password":  pw,
		"dbname":    "postgres",
		"masterarn": masterARN,
		"note":      map[string]any{"kept": true},
	}
}

func encode(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// masterSecrets returns a reader holding the master secret for s.
func masterSecrets(t *testing.T, s *pgserver.Server, user, pw string) secretMap {
	t.Helper()
	m := baseSecret(s, user, pw)
	delete(m, "masterarn")
	return secretMap{masterARN: encode(t, m)}
}

func newRotator(t *testing.T, opts postgres.Options) *postgres.Rotator {
	t.Helper()
	if opts.RootCAs == nil {
		opts.RootCAs = srv.RootCAs()
	}
	r, err := postgres.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// secretLogin logs in with a secret's credential on s.
func secretLogin(ctx context.Context, s *pgserver.Server, secret []byte) error {
	p, err := dbsecret.Parse(secret, dbsecret.Rules{DefaultPort: 5432, DefaultDBName: "postgres"})
	if err != nil {
		return err
	}
	return s.CanLogin(ctx, p.Username, p.Password, p.SSL)
}

// field reads a string field of a secret.
func field(t *testing.T, secret []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(secret, &m); err != nil {
		t.Fatal(err)
	}
	v, _ := m[name].(string)
	return v
}

// memberships returns the roles name is a member of, as the superuser sees
// them.
func memberships(t *testing.T, s *pgserver.Server, name string) []string {
	t.Helper()
	ctx := ctxT(t)
	conn, err := s.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT r.rolname FROM pg_auth_members m
		JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
		WHERE u.rolname = $1 ORDER BY 1`, name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func roleExists(t *testing.T, s *pgserver.Server, name string) bool {
	t.Helper()
	ctx := ctxT(t)
	conn, err := s.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// roleState describes roles for the conformance suite: password verifier,
// login, memberships, per-role settings, connection limit.
func roleState(s *pgserver.Server, names ...string) func(ctx context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		conn, err := s.Admin(ctx)
		if err != nil {
			return nil, err
		}
		defer conn.Close(ctx)
		var b strings.Builder
		for _, n := range names {
			var pw *string
			var login bool
			var member, settings []string
			var limit int
			err := conn.QueryRow(ctx, `SELECT a.rolpassword, a.rolcanlogin,
				ARRAY(SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = a.oid ORDER BY 1),
				ARRAY(SELECT s.setdatabase || ':' || x FROM pg_db_role_setting s, unnest(s.setconfig) x WHERE s.setrole = a.oid ORDER BY 1),
				a.rolconnlimit
				FROM pg_authid a WHERE a.rolname = $1`, n).Scan(&pw, &login, &member, &settings, &limit)
			if err == pgx.ErrNoRows {
				fmt.Fprintf(&b, "%s: absent\n", n)
				continue
			}
			if err != nil {
				return nil, err
			}
			verifier := "<none>"
			if pw != nil {
				verifier = *pw
			}
			fmt.Fprintf(&b, "%s: login=%v memberships=%v settings=%v connlimit=%d verifier=%s\n", n, login, member, settings, limit, verifier)
		}
		return []byte(b.String()), nil
	}
}

// tlsRecorder is a tracer that records whether each connection used TLS
// and can fail the first statement holding a string, as a crash would.
type tlsRecorder struct {
	mu     sync.Mutex
	tls    []bool
	failOn string
	failed bool
}

func (r *tlsRecorder) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return ctx
}

func (r *tlsRecorder) TraceConnectEnd(_ context.Context, data pgx.TraceConnectEndData) {
	if data.Conn == nil {
		return
	}
	_, isTLS := data.Conn.PgConn().Conn().(*tls.Conn)
	r.mu.Lock()
	r.tls = append(r.tls, isTLS)
	r.mu.Unlock()
}

func (r *tlsRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failOn != "" && !r.failed && strings.Contains(data.SQL, r.failOn) {
		r.failed = true
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		return ctx
	}
	return ctx
}

func (r *tlsRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *tlsRecorder) connections() []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bool(nil), r.tls...)
}

// noConnectionsLeft fails if users still have sessions on srv: every step
// must close what it opens, failed ones too. Sessions end asynchronously
// after a close, so it waits a little.
func noConnectionsLeft(t *testing.T, users ...string) {
	t.Helper()
	ctx := ctxT(t)
	conn, err := srv.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	// A closed connection's backend leaves pg_stat_activity shortly after;
	// on a busy machine that can take a while (bounded at 10 s).
	for range 500 {
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = ANY($1)`, users).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("want no sessions of %q left, got %d", users, n)
}

package rotation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
	"github.com/rotorhq/rotor/test/faults"
	"github.com/rotorhq/rotor/test/pgserver"
)

var (
	server *pgserver.Server
	// masterPassword is the password of the CREATEROLE role that plays the
	// RDS master user: not a superuser, as on RDS.
	masterPassword = "Master-" + uuid.NewString()
	roleSeq        atomic.Int64
)

const masterUser = "rotor_master"

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rotation tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	var err error
	server, err = pgserver.Start(pgserver.Options{TLS: true})
	if err != nil {
		return 0, err
	}
	defer server.Stop()
	ctx := context.Background()
	conn, err := server.Admin(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		`CREATE ROLE ` + masterUser + ` WITH LOGIN CREATEROLE PASSWORD '` + masterPassword + `'`,
		`CREATE TABLE orders (id serial PRIMARY KEY, item text)`,
		`CREATE ROLE app_readers NOLOGIN`,
		`CREATE ROLE app_writers NOLOGIN`,
		`GRANT SELECT ON orders TO app_readers`,
		`GRANT INSERT, SELECT ON orders TO app_writers`,
		`GRANT USAGE ON SEQUENCE orders_id_seq TO app_writers`,
		`GRANT app_readers, app_writers TO ` + masterUser + ` WITH ADMIN OPTION`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return 0, fmt.Errorf("%s: %w", sql, err)
		}
	}
	return m.Run(), nil
}

// env is one secret under rotation, with its own role on the shared server.
type env struct {
	t      testing.TB
	ctx    context.Context
	store  *memstore.Store
	inj    *faults.Injector
	engine *lifecycle.Engine
	// newEngine builds another engine like engine: with cold set, every
	// step runs in one of its own, as in a container of its own, which
	// keeps nothing from the steps before.
	newEngine func() *lifecycle.Engine
	cold      bool
	strategy  postgres.Strategy
	user      string
	arn       string
	logs      *syncBuffer
	conn      *pgx.Conn // superuser connection, opened on first use
	initial   []string  // passwords set by the test, not by a rotation
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type envOption func(*envSpec)

type envSpec struct {
	user   string
	secret map[string]any // overrides of the application secret
	master map[string]any // overrides of the master secret; nil value deletes
	config lifecycle.Config
	// rawSecret and rawMaster, when set, are stored as they are instead of
	// the JSON built from the fields.
	rawSecret, rawMaster *string
	cold                 bool
}

func withUser(u string) envOption { return func(s *envSpec) { s.user = u } }

// coldSteps runs every step in an engine of its own.
func coldSteps(cold bool) envOption { return func(s *envSpec) { s.cold = cold } }

// newEnv creates a login role with app_readers and app_writers, its
// secret (and the master secret) in a fresh store, and an engine whose
// store and database calls go through one fault injector.
func newEnv(t testing.TB, strategy postgres.Strategy, opts ...envOption) *env {
	t.Helper()
	spec := envSpec{user: fmt.Sprintf("app%d", roleSeq.Add(1)), config: lifecycle.DefaultConfig()}
	for _, o := range opts {
		o(&spec)
	}
	e := &env{t: t, ctx: context.Background(), store: memstore.New(), inj: &faults.Injector{}, strategy: strategy, user: spec.user, logs: &syncBuffer{}}
	pw := "Initial-" + uuid.NewString()
	admin := e.admin()
	ident := pgx.Identifier{spec.user}.Sanitize()
	for _, sql := range []string{
		`CREATE ROLE ` + ident + ` WITH LOGIN PASSWORD '` + pw + `'`,
		`GRANT app_readers, app_writers TO ` + ident,
	} {
		if _, err := admin.Exec(e.ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	master := map[string]any{
		"engine": "postgres", "host": server.Host, "port": server.Port,
		"username": masterUser, "password": masterPassword, "dbname": "postgres",
	}
	for k, v := range spec.master {
		if v == nil {
			delete(master, k)
		} else {
			master[k] = v
		}
	}
	e.initial = []string{pw, masterPassword}
	seq := roleSeq.Add(1) // secret names allow fewer characters than role names
	masterOut := e.create(fmt.Sprintf("master/%d", seq), master, spec.rawMaster)
	secret := map[string]any{
		"engine": "postgres", "host": server.Host, "port": server.Port,
		"username": spec.user, "password": pw, "dbname": "postgres",
		"masterarn": masterOut, "custom_field": "kept",
	}
	for k, v := range spec.secret {
		if v == nil {
			delete(secret, k)
		} else {
			secret[k] = v
		}
	}
	e.arn = e.create(fmt.Sprintf("app/%d", seq), secret, spec.rawSecret)
	rot, err := postgres.New(postgres.Options{Strategy: strategy, RootCAs: server.RootCAs(), Tracer: faults.Tracer{Inj: e.inj}})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.newEngine = func() *lifecycle.Engine {
		eng, err := lifecycle.New(&faults.Store{Next: e.store, Inj: e.inj}, rot, spec.config, logger)
		if err != nil {
			t.Fatal(err)
		}
		return eng
	}
	e.engine, e.cold = e.newEngine(), spec.cold
	return e
}

func (e *env) create(name string, doc map[string]any, rawValue *string) string {
	e.t.Helper()
	raw, err := json.Marshal(doc)
	if err != nil {
		e.t.Fatal(err)
	}
	s := string(raw)
	if rawValue != nil {
		s = *rawValue
	}
	out, err := e.store.CreateSecret(e.ctx, memstore.CreateSecretInput{Name: name, SecretString: &s})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.ARN
}

func (e *env) admin() *pgx.Conn {
	e.t.Helper()
	if e.conn != nil {
		return e.conn
	}
	conn, err := server.Admin(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close(context.Background()) })
	e.conn = conn
	return conn
}

// start begins a rotation as RotateSecret does.
func (e *env) start() string {
	e.t.Helper()
	token, err := e.store.StartRotation(e.ctx, e.arn, uuid.NewString())
	if err != nil {
		e.t.Fatal(err)
	}
	return token
}

func (e *env) step(step lifecycle.Step, token string) error {
	eng := e.engine
	if e.cold {
		eng = e.newEngine()
	}
	return eng.Run(e.ctx, lifecycle.Request{SecretID: e.arn, Token: token, Step: step})
}

// steps runs the four steps in order and stops at the first failure.
func (e *env) steps(token string) error {
	for _, s := range lifecycle.Steps {
		if err := e.step(s, token); err != nil {
			return err
		}
	}
	return nil
}

// rotate runs one whole rotation and fails the test on an error.
func (e *env) rotate() string {
	e.t.Helper()
	token := e.start()
	if err := e.steps(token); err != nil {
		e.t.Fatalf("rotation: %v", err)
	}
	return token
}

type cred struct{ User, Password string }

func (e *env) credential(stage string) (cred, bool) {
	e.t.Helper()
	out, err := e.store.GetSecretValue(e.ctx, memstore.GetSecretValueInput{SecretID: e.arn, VersionStage: stage})
	if err != nil {
		return cred{}, false
	}
	var c struct{ Username, Password string }
	if err := json.Unmarshal(out.Value(), &c); err != nil {
		e.t.Fatal(err)
	}
	return cred{c.Username, c.Password}, true
}

func (e *env) mustCredential(stage string) cred {
	e.t.Helper()
	c, ok := e.credential(stage)
	if !ok {
		e.t.Fatalf("want a %s version", stage)
	}
	return c
}

func (e *env) logsIn(c cred) error {
	return server.CanLogin(e.ctx, c.User, c.Password, true)
}

// generated lists the passwords rotations have generated.
func (e *env) generated() []string {
	var out []string
	for _, pw := range e.passwords() {
		if !slices.Contains(e.initial, pw) {
			out = append(out, pw)
		}
	}
	return out
}

// passwords lists every password the store has held for this env.
func (e *env) passwords() []string {
	var out []string
	for _, s := range e.store.Snapshot().Secrets {
		for _, v := range s.Versions {
			var c struct{ Password string }
			if json.Unmarshal(v.Value, &c) == nil && c.Password != "" {
				out = append(out, c.Password)
			}
		}
	}
	return out
}

// dbState is what the database knows of roles: names, password verifiers,
// login and memberships. Equal states mean nothing changed.
func (e *env) dbState() string {
	e.t.Helper()
	conn := e.admin()
	var lines []string
	rows, err := conn.Query(e.ctx, `SELECT rolname, coalesce(rolpassword, ''), rolcanlogin FROM pg_authid WHERE rolname !~ '^pg_' ORDER BY 1`)
	if err != nil {
		e.t.Fatal(err)
	}
	for rows.Next() {
		var name, verifier string
		var login bool
		if err := rows.Scan(&name, &verifier, &login); err != nil {
			e.t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("role %s login=%v verifier=%s", name, login, verifier))
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	for _, m := range e.memberships("") {
		lines = append(lines, "member "+m)
	}
	return strings.Join(lines, "\n")
}

// groups lists the roles member belongs to but for the pair's base user,
// which the clone is always a member of (the anchor of the pair).
func (e *env) groups(member string) []string {
	e.t.Helper()
	var out []string
	for _, r := range e.memberships(member) {
		if r != e.user {
			out = append(out, r)
		}
	}
	return out
}

// cloneAnchored fails unless the clone is a member of the base user.
func (e *env) cloneAnchored(label string) {
	e.t.Helper()
	if !slices.Contains(e.memberships(e.user+postgres.CloneSuffix), e.user) {
		e.t.Errorf("%s: want the clone a member of the base user %s, got %v", label, e.user, e.memberships(e.user+postgres.CloneSuffix))
	}
}

// memberships lists "member -> role" pairs, for one member or all.
func (e *env) memberships(member string) []string {
	e.t.Helper()
	rows, err := e.admin().Query(e.ctx, `SELECT u.rolname, r.rolname FROM pg_auth_members m
		JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
		WHERE $1 = '' OR u.rolname = $1`, member)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var u, r string
		if err := rows.Scan(&u, &r); err != nil {
			e.t.Fatal(err)
		}
		if member != "" {
			out = append(out, r)
		} else {
			out = append(out, u+" -> "+r)
		}
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

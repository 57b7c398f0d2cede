package pgadapter_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotorhq/rotor/events/consumer"
	"github.com/rotorhq/rotor/events/pgadapter"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
	"github.com/rotorhq/rotor/test/pgserver"
)

var (
	srv      *pgserver.Server
	endpoint *awslocal.Server
	smc      *sm.Client
	seq      atomic.Int64
)

func TestMain(m *testing.M) {
	var err error
	srv, err = pgserver.Start(pgserver.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgadapter tests:", err)
		os.Exit(1)
	}
	endpoint, err = awslocal.Start(awslocal.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgadapter tests:", err)
		_ = srv.Stop()
		os.Exit(1)
	}
	cfg := awstest.Config(endpoint.URL)
	cfg.RetryMaxAttempts = 1
	smc = sm.NewFromConfig(cfg)
	code := m.Run()
	if err := endpoint.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "pgadapter tests: close endpoint:", err)
	}
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgadapter tests: stop server:", err)
	}
	os.Exit(code)
}

// newPassword is a password that is easy to scan for and needs no quoting.
func newPassword(t testing.TB) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "PW" + hex.EncodeToString(b)
}

// newRole creates a login role with a fresh password.
func newRole(t testing.TB) (name, password string) {
	t.Helper()
	name = fmt.Sprintf("pga_%d_%d", os.Getpid(), seq.Add(1))
	password = newPassword(t)
	if err := srv.Exec(context.Background(), fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, name, password)); err != nil {
		t.Fatal(err)
	}
	return name, password
}

// setPassword changes a role's password, as a single-user rotation does.
func setPassword(t testing.TB, role, password string) {
	t.Helper()
	if err := srv.Exec(context.Background(), fmt.Sprintf(`ALTER ROLE %s PASSWORD '%s'`, role, password)); err != nil {
		t.Fatal(err)
	}
}

// secretFields is a valid database secret whose address fields are wrong
// on purpose: the adapters must take addresses from the caller's config.
func secretFields(user, password string) map[string]any {
	return map[string]any{
		"engine": "postgres", "host": "db.invalid", "port": 1,
		"username": user, "password": password, "dbname": "nosuchdb",
	}
}

func secretValue(t testing.TB, fields map[string]any) []byte {
	t.Helper()
	raw, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func version(t testing.TB, user, password string) consumer.Version {
	t.Helper()
	return consumer.Version{ID: fmt.Sprintf("v-%d", seq.Add(1)), Value: secretValue(t, secretFields(user, password)), Stages: []string{"AWSCURRENT"}}
}

// fakeCreds is a Credentials whose versions the test moves. Like the real
// cache, Current prefers the version AuthFailed returned until a swap.
type fakeCreds struct {
	mu        sync.Mutex
	cur       consumer.Version
	next      *consumer.Version // what AuthFailed offers; nil: nothing newer
	preferred *consumer.Version
	hooks     []*func(old, new consumer.Version)
	failed    []string
}

func newFakeCreds(v consumer.Version) *fakeCreds { return &fakeCreds{cur: v} }

func (f *fakeCreds) Current() consumer.Version {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.preferred != nil {
		return *f.preferred
	}
	return f.cur
}

func (f *fakeCreds) AuthFailed(_ context.Context, id string) (consumer.Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = append(f.failed, id)
	if f.next == nil || f.next.ID == id {
		return consumer.Version{}, consumer.ErrNoNewerCredential
	}
	v := *f.next
	f.preferred = &v
	return v, nil
}

func (f *fakeCreds) OnSwap(fn func(old, new consumer.Version)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := &fn
	f.hooks = append(f.hooks, h)
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.hooks = slices.DeleteFunc(f.hooks, func(x *func(old, new consumer.Version)) bool { return x == h })
	}
}

// hookCount is how many swap hooks are registered.
func (f *fakeCreds) hookCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.hooks)
}

// offer makes AuthFailed return v (a pending version).
func (f *fakeCreds) offer(v consumer.Version) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = &v
}

// swap moves Current to v and runs the hooks, as the cache does.
func (f *fakeCreds) swap(v consumer.Version) {
	f.mu.Lock()
	old := f.cur
	if f.preferred != nil {
		old = *f.preferred
	}
	f.cur, f.preferred, f.next = v, nil, nil
	hooks := slices.Clone(f.hooks)
	f.mu.Unlock()
	for _, h := range hooks {
		(*h)(old, v)
	}
}

func (f *fakeCreds) failures() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.failed...)
}

// connConfig is the server's address with a user and password that must
// be replaced.
func connConfig() *pgx.ConnConfig {
	return srv.ConnConfig("nobody", "not-the-password", srv.TLS())
}

func poolConfig(t testing.TB) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig = connConfig()
	cfg.MaxConns = 4
	return cfg
}

// logBuffer is a logger's output that tests scan for secret values.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// noSecrets fails the test if text contains any of the values.
func noSecrets(t testing.TB, what, text string, values ...string) {
	t.Helper()
	for _, v := range values {
		if v != "" && strings.Contains(text, v) {
			t.Errorf("%s contains a secret value", what)
		}
	}
}

// waitBlocked waits until backend pid waits for an advisory lock, so that
// its query is known to be in flight.
func waitBlocked(t testing.TB, pid uint32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := srv.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	for {
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND pid = $1`, int32(pid)).Scan(&n); err != nil {
			t.Fatalf("waiting for backend %d to block: %v", pid, err)
		}
		if n > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("backend %d never blocked on the lock", pid)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// lockHolder holds an advisory lock on a superuser connection until
// release; queries that take the same lock wait, in flight, until then.
type lockHolder struct {
	conn *pgx.Conn
	key  int64
}

func holdLock(t testing.TB) *lockHolder {
	t.Helper()
	ctx := context.Background()
	conn, err := srv.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := &lockHolder{conn: conn, key: seq.Add(1) + 1_000_000}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, h.key); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return h
}

func (h *lockHolder) release(t testing.TB) {
	t.Helper()
	if _, err := h.conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, h.key); err != nil {
		t.Fatal(err)
	}
}

// blockingQuery waits for the holder's lock, then returns current_user.
const blockingQuery = `WITH l AS (SELECT pg_advisory_xact_lock($1)) SELECT current_user::text FROM l`

// compile-time check that the test fake is a Credentials.
var _ pgadapter.Credentials = (*fakeCreds)(nil)

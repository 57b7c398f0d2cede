package pgadapter_test

import (
	"context"
	"database/sql"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/events/pgadapter"
)

// TestPoolAlternatingUsers swaps from user A to user B while a query on A
// is in flight: new connections log in as B, the query on A completes,
// and with a zero retire window A's idle connection closes at once and the
// busy one when it is taken after its release (TestPoolRetiresOldConnectionsGradually
// has a window).
func TestPoolAlternatingUsers(t *testing.T) {
	ctx := context.Background()
	userA, pwA := newRole(t)
	userB, pwB := newRole(t)
	vA, vB := version(t, userA, pwA), version(t, userB, pwB)
	creds := newFakeCreds(vA)
	log, logs := newLogger()

	cfg := poolConfig(t)
	closed := make(chan uint32, 16)
	cfg.BeforeClose = func(c *pgx.Conn) { closed <- c.PgConn().PID() }
	var hookCalls atomic.Int64
	var hookUser atomic.Value
	cfg.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
		hookCalls.Add(1)
		hookUser.Store(cc.User)
		return nil
	}
	pool, err := pgadapter.NewPool(ctx, creds, cfg, pgadapter.WithLogger(log), pgadapter.WithRetireWindow(0))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	busy, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	busyPID := busy.Conn().PgConn().PID()
	if id, ok := pgadapter.VersionOf(busy.Conn()); !ok || id != vA.ID {
		t.Errorf("VersionOf: want %s, got %q (%v)", vA.ID, id, ok)
	}
	var idlePID uint32
	if err := pool.QueryRow(ctx, `SELECT current_user::text, pg_backend_pid()`).Scan(new(string), &idlePID); err != nil {
		t.Fatal(err)
	}
	if idlePID == busyPID {
		t.Fatalf("want a second connection, got the busy one")
	}

	lock := holdLock(t)
	type result struct {
		user string
		err  error
	}
	inFlight := make(chan result, 1)
	go func() {
		var r result
		r.err = busy.QueryRow(ctx, blockingQuery, lock.key).Scan(&r.user)
		inFlight <- r
	}()
	waitBlocked(t, busyPID)

	creds.swap(vB)

	// The idle connection of A closes at once.
	if pid := waitClosed(t, closed); pid != idlePID {
		t.Errorf("closed after the swap: want idle backend %d, got %d", idlePID, pid)
	}
	var user string
	if err := pool.QueryRow(ctx, `SELECT current_user::text`).Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != userB {
		t.Errorf("new connection after the swap: want user %s, got %s", userB, user)
	}
	if got := hookUser.Load(); got != userB {
		t.Errorf("caller's BeforeConnect: want to see user %s, got %v", userB, got)
	}
	if hookCalls.Load() != 3 {
		t.Errorf("caller's BeforeConnect: want 3 calls, got %d", hookCalls.Load())
	}

	lock.release(t)
	r := <-inFlight
	if r.err != nil {
		t.Fatalf("query in flight across the swap: %v", r.err)
	}
	if r.user != userA {
		t.Errorf("query in flight: want user %s, got %s", userA, r.user)
	}
	busy.Release()
	// Taken again (the most recently released), it is closed instead.
	if err := pool.QueryRow(ctx, `SELECT current_user::text`).Scan(&user); err != nil || user != userB {
		t.Errorf("query after the release: want user %s, got %q, %v", userB, user, err)
	}
	if pid := waitClosed(t, closed); pid != busyPID {
		t.Errorf("closed when taken after the swap: want backend %d, got %d", busyPID, pid)
	}
	waitFor(t, "one connection left (user B's)", func() bool { return pool.Stat().TotalConns() == 1 })

	st := pool.Stats()
	if st.Swaps != 1 || st.Retries != 0 || st.AuthFailures != 0 || st.Logins != 3 {
		t.Errorf("stats: want 1 swap, 3 logins, no failure, got %+v", st)
	}
	noSecrets(t, "log", logs.String(), pwA, pwB)
}

func waitClosed(t *testing.T, closed <-chan uint32) uint32 {
	t.Helper()
	select {
	case pid := <-closed:
		return pid
	case <-time.After(30 * time.Second):
		t.Fatal("no connection closed")
		return 0
	}
}

// TestDBAlternatingUsers is the same swap through database/sql: with a zero
// retire window a connection of A is discarded before reuse, never while
// in use.
func TestDBAlternatingUsers(t *testing.T) {
	ctx := context.Background()
	userA, pwA := newRole(t)
	userB, pwB := newRole(t)
	vA, vB := version(t, userA, pwA), version(t, userB, pwB)
	creds := newFakeCreds(vA)
	log, logs := newLogger()
	var hookCalls atomic.Int64
	connector, err := pgadapter.NewConnector(creds, connConfig(), pgadapter.WithLogger(log), pgadapter.WithRetireWindow(0),
		pgadapter.WithBeforeConnect(func(context.Context, *pgx.ConnConfig) error { hookCalls.Add(1); return nil }))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()

	busy, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var busyPID uint32
	if err := busy.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&busyPID); err != nil {
		t.Fatal(err)
	}
	var idlePID uint32
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&idlePID); err != nil {
		t.Fatal(err)
	}
	if idlePID == busyPID {
		t.Fatalf("want a second connection, got the busy one")
	}

	lock := holdLock(t)
	type result struct {
		user string
		err  error
	}
	inFlight := make(chan result, 1)
	go func() {
		var r result
		r.err = busy.QueryRowContext(ctx, blockingQuery, lock.key).Scan(&r.user)
		inFlight <- r
	}()
	waitBlocked(t, busyPID)

	creds.swap(vB)

	// The idle connection of A is discarded when database/sql takes it;
	// the query runs on a new connection as B.
	var user string
	var pid uint32
	if err := db.QueryRowContext(ctx, `SELECT current_user::text, pg_backend_pid()`).Scan(&user, &pid); err != nil {
		t.Fatal(err)
	}
	if user != userB || pid == idlePID {
		t.Errorf("query after the swap: want user %s on a new backend, got %s on %d (idle was %d)", userB, user, pid, idlePID)
	}
	if got := connector.Stats().StaleConnsDiscarded; got != 1 {
		t.Errorf("stale connections discarded after the first query: want 1, got %d", got)
	}

	lock.release(t)
	r := <-inFlight
	if r.err != nil {
		t.Fatalf("query in flight across the swap: %v", r.err)
	}
	if r.user != userA {
		t.Errorf("query in flight: want user %s, got %s", userA, r.user)
	}
	if err := busy.Close(); err != nil { // back to the pool
		t.Fatal(err)
	}
	// The released connection of A is the most recently freed: the next
	// query takes it, discards it, and uses B's.
	if err := db.QueryRowContext(ctx, `SELECT current_user::text, pg_backend_pid()`).Scan(&user, &pid); err != nil {
		t.Fatal(err)
	}
	if user != userB || pid == busyPID {
		t.Errorf("query after the release: want user %s off backend %d, got %s on %d", userB, busyPID, user, pid)
	}
	st := connector.Stats()
	if st.StaleConnsDiscarded != 2 {
		t.Errorf("stale connections discarded: want 2, got %d", st.StaleConnsDiscarded)
	}
	if n := db.Stats().OpenConnections; n != 1 {
		t.Errorf("open connections: want 1 (user B's), got %d", n)
	}
	if st.Swaps != 1 || st.Retries != 0 || st.Logins != 3 || hookCalls.Load() != 3 {
		t.Errorf("stats: want 1 swap, 3 logins (3 hook calls), no retry, got %+v (%d hook calls)", st, hookCalls.Load())
	}
	noSecrets(t, "log", logs.String(), pwA, pwB)
}

// Closing a pool, or the sql.DB of a connector, unregisters its swap hook:
// a cache that outlives the pool must not keep it reachable, nor reset it.
func TestCloseUnregistersTheSwapHook(t *testing.T) {
	ctx := context.Background()
	user, pw := newRole(t)
	creds := newFakeCreds(version(t, user, pw))
	pool, err := pgadapter.NewPool(ctx, creds, poolConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgadapter.NewConnector(creds, connConfig())
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	if got := creds.hookCount(); got != 2 {
		t.Fatalf("want 2 swap hooks registered, got %d", got)
	}
	pool.Close()
	if got := creds.hookCount(); got != 1 {
		t.Fatalf("after pool.Close: want 1 swap hook, got %d", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := creds.hookCount(); got != 0 {
		t.Fatalf("after db.Close: want no swap hook, got %d", got)
	}
}

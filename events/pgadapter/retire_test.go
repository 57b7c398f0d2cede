package pgadapter_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotorhq/rotor/events/pgadapter"
)

// fakeClock drives the retire window: the test moves now, sees when the
// sweeper asked to wake, and wakes it.
type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	wakeAt  time.Time
	jitters []float64
	fire    chan time.Time
}

func newFakeClock(jitters ...float64) *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), jitters: jitters, fire: make(chan time.Time)}
}

func (c *fakeClock) option() pgadapter.Option { return pgadapter.WithClock(c.now, c.after, c.jitter) }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// after records when the sweeper wants to wake; it wakes when the test
// fires.
func (c *fakeClock) after(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wakeAt = c.t.Add(d)
	return c.fire
}

func (c *fakeClock) wake() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wakeAt
}

// jitter hands out the places in the window in login order, then 0.5.
func (c *fakeClock) jitter() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.jitters) == 0 {
		return 0.5
	}
	j := c.jitters[0]
	c.jitters = c.jitters[1:]
	return j
}

// advance moves now to t, waits until the sweeper sleeps until want, and
// wakes it.
func (c *fakeClock) advance(tb testing.TB, t, want time.Time) {
	tb.Helper()
	waitFor(tb, "the sweeper to sleep until "+want.String(), func() bool { return c.wake().Equal(want) })
	c.set(t)
	select {
	case c.fire <- t:
	case <-time.After(30 * time.Second):
		tb.Fatal("the sweeper did not wait for its timer")
	}
}

// waitFor waits until cond holds (a state, not a time), or fails after a
// generous deadline.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waiting for %s: never happened", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPoolRetiresOldConnectionsGradually: after a swap the connections of
// the old user close one by one at their own moment in the window (drawn
// when they logged in), idle ones by the sweeper and one in use at its
// moment soon after its release; until then they keep serving, and a
// query in flight across the swap completes. pgxpool's Reset, which closed every
// idle one at the swap, made every instance of a fleet log in at once.
func TestPoolRetiresOldConnectionsGradually(t *testing.T) {
	ctx := context.Background()
	userA, pwA := newRole(t)
	userB, pwB := newRole(t)
	vA, vB := version(t, userA, pwA), version(t, userB, pwB)
	creds := newFakeCreds(vA)
	log, logs := newLogger()
	const window = 10 * time.Minute
	clk := newFakeClock(0.1, 0.5, 0.9, 0.2) // the places of the four logins below
	t0 := clk.now()

	cfg := poolConfig(t)
	closed := make(chan uint32, 16)
	cfg.BeforeClose = func(c *pgx.Conn) { closed <- c.PgConn().PID() }
	pool, err := pgadapter.NewPool(ctx, creds, cfg, pgadapter.WithLogger(log), pgadapter.WithRetireWindow(window), clk.option())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // waits for every connection to be released

	var conns [4]*pgxpool.Conn
	var pids [4]uint32
	for i := range conns {
		if conns[i], err = pool.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		pids[i] = conns[i].Conn().PgConn().PID()
	}
	busy := conns[3]
	for _, c := range conns[:3] {
		c.Release()
	}
	waitFor(t, "three idle connections", func() bool { return pool.Stat().IdleConns() == 3 })

	type result struct {
		user string
		err  error
	}
	inFlight := make(chan result, 1)
	queryDone := make(chan struct{})
	t.Cleanup(func() { // after the lock is gone, if the test stopped early
		<-queryDone
		busy.Release()
	})
	lock := holdLock(t)
	go func() {
		defer close(queryDone)
		var r result
		r.err = busy.QueryRow(ctx, blockingQuery, lock.key).Scan(&r.user)
		inFlight <- r
	}()
	waitBlocked(t, pids[3])

	creds.swap(vB)
	// The swap sweeps at once: nothing is due, the first at 0.1 window.
	waitFor(t, "the sweep after the swap", func() bool { return pool.Sweeps() >= 1 || len(closed) > 0 })
	waitFor(t, "the idle connections back", func() bool { return pool.Stat().IdleConns() == 3 || len(closed) > 0 })
	if n := len(closed); n != 0 {
		t.Fatalf("at the swap: want no connection closed, got %d", n)
	}
	waitFor(t, "the sweeper to sleep until the first moment", func() bool { return clk.wake().Equal(t0.Add(window / 10)) })
	var user string
	if err := pool.QueryRow(ctx, `SELECT current_user::text`).Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != userA {
		t.Errorf("until its moment an old connection keeps serving: want user %s, got %s", userA, user)
	}

	// At 0.3 window the first idle one (0.1) closes. The busy one (0.2) is
	// due too: it closes when next taken, or at a sweep a second later.
	clk.advance(t, t0.Add(3*window/10), t0.Add(window/10))
	if pid := waitClosed(t, closed); pid != pids[0] {
		t.Errorf("at 0.3 window: want backend %d (at 0.1) closed, got %d", pids[0], pid)
	}
	lock.release(t)
	r := <-inFlight
	if r.err != nil || r.user != userA {
		t.Fatalf("query in flight across the swap: want user %s, got %q, %v", userA, r.user, r.err)
	}
	busy.Release()
	recheck := t0.Add(3*window/10 + time.Second)
	clk.advance(t, recheck, recheck)
	if pid := waitClosed(t, closed); pid != pids[3] {
		t.Errorf("in use at its moment: want backend %d closed a second later, got %d", pids[3], pid)
	}

	// At the end of the window the rest close.
	clk.advance(t, t0.Add(window), t0.Add(window/2))
	got := map[uint32]bool{waitClosed(t, closed): true, waitClosed(t, closed): true}
	if !got[pids[1]] || !got[pids[2]] {
		t.Errorf("at the end of the window: want backends %d and %d closed, got %v", pids[1], pids[2], got)
	}
	waitFor(t, "no connection left", func() bool { return pool.Stat().TotalConns() == 0 })
	if err := pool.QueryRow(ctx, `SELECT current_user::text`).Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != userB {
		t.Errorf("after the window: want user %s, got %s", userB, user)
	}
	if st := pool.Stats(); st.StaleConnsDiscarded != 4 || st.Logins != 5 || st.Swaps != 1 {
		t.Errorf("stats: want 4 retired, 5 logins, 1 swap, got %+v", st)
	}
	noSecrets(t, "log", logs.String(), pwA, pwB)
}

// TestPoolKeepsConnectionsOfTheNewVersion: in the single-user window a
// refused login is retried with the pending version; once the swap makes
// that version current, its connection keeps serving, and only the
// connection of the old password is retired.
func TestPoolKeepsConnectionsOfTheNewVersion(t *testing.T) {
	ctx := context.Background()
	user, pw1 := newRole(t)
	v1 := version(t, user, pw1)
	creds := newFakeCreds(v1)
	const window = time.Minute
	clk := newFakeClock()
	t0 := clk.now()
	cfg := poolConfig(t)
	closed := make(chan uint32, 16)
	cfg.BeforeClose = func(c *pgx.Conn) { closed <- c.PgConn().PID() }
	pool, err := pgadapter.NewPool(ctx, creds, cfg, pgadapter.WithRetireWindow(window), clk.option())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	oldConn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(oldConn.Release) // if the test stops early: Close waits for it
	pw2 := newPassword(t)
	setPassword(t, user, pw2)
	v2 := version(t, user, pw2)
	creds.offer(v2)
	newConn, err := pool.Acquire(ctx) // refused with v1, retried with v2
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(newConn.Release)
	if id, _ := pgadapter.VersionOf(newConn.Conn()); id != v2.ID {
		t.Fatalf("retried connection: want version %s, got %s", v2.ID, id)
	}
	oldPID, newPID := oldConn.Conn().PgConn().PID(), newConn.Conn().PgConn().PID()
	oldConn.Release()
	newConn.Release()
	waitFor(t, "two idle connections", func() bool { return pool.Stat().IdleConns() == 2 })

	creds.swap(v2)
	waitFor(t, "the sweep after the swap", func() bool { return pool.Sweeps() >= 1 || len(closed) > 0 })
	if len(closed) > 0 {
		t.Fatalf("at the swap: want no connection closed (the window has just begun), got backend %d", <-closed)
	}
	clk.advance(t, t0.Add(window), t0.Add(window/2))
	if pid := waitClosed(t, closed); pid != oldPID {
		t.Errorf("want the connection of the old password (%d) closed, got %d", oldPID, pid)
	}
	waitFor(t, "one idle connection", func() bool { return pool.Stat().TotalConns() == 1 && pool.Stat().IdleConns() == 1 })
	var pid uint32
	if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if pid != newPID {
		t.Errorf("want the connection of the new version (%d) kept, got a query on %d", newPID, pid)
	}
	if st := pool.Stats(); st.StaleConnsDiscarded != 1 {
		t.Errorf("stats: want 1 retired, got %+v", st)
	}
}

// TestDBRetiresOldConnectionsGradually: database/sql keeps reusing a
// connection of the old user until its moment in the window, then
// discards it when it takes it.
func TestDBRetiresOldConnectionsGradually(t *testing.T) {
	ctx := context.Background()
	userA, pwA := newRole(t)
	userB, pwB := newRole(t)
	creds := newFakeCreds(version(t, userA, pwA))
	const window = time.Minute
	clk := newFakeClock(0.5)
	t0 := clk.now()
	connector, err := pgadapter.NewConnector(creds, connConfig(), pgadapter.WithRetireWindow(window), clk.option())
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	query := func() (user string, pid uint32) {
		t.Helper()
		if err := db.QueryRowContext(ctx, `SELECT current_user::text, pg_backend_pid()`).Scan(&user, &pid); err != nil {
			t.Fatal(err)
		}
		return user, pid
	}
	_, oldPID := query()
	creds.swap(version(t, userB, pwB))
	clk.set(t0.Add(window/2 - time.Nanosecond))
	if user, pid := query(); user != userA || pid != oldPID {
		t.Errorf("before its moment: want user %s on backend %d, got %s on %d", userA, oldPID, user, pid)
	}
	clk.set(t0.Add(window / 2))
	if user, pid := query(); user != userB || pid == oldPID {
		t.Errorf("at its moment: want user %s on a new backend, got %s on %d", userB, user, pid)
	}
	if st := connector.Stats(); st.StaleConnsDiscarded != 1 {
		t.Errorf("stats: want 1 discarded, got %+v", st)
	}
}

// TestOpenDBLimitsIdleTime: database/sql has no hook on an idle
// connection, so OpenDB sets an idle limit: an old connection never taken
// again does not keep the old credential.
func TestOpenDBLimitsIdleTime(t *testing.T) {
	ctx := context.Background()
	user, pw := newRole(t)
	db := pgadapter.OpenDB(newFakeCreds(version(t, user, pw)), connConfig(), pgadapter.WithRetireWindow(0))
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the idle connection closed by database/sql", func() bool { return db.Stats().MaxIdleTimeClosed == 1 })
}

package pgadapter

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// busyRecheck is how long after its moment a connection that was in use
// then is looked at again, if no acquire has closed it meanwhile; it
// doubles with each sweep that finds it still open, up to maxRecheck (a
// connection taken out of the pool with Hijack stays on the list).
const (
	busyRecheck = time.Second
	maxRecheck  = time.Minute
)

// tracked is an open connection of the pool.
type tracked struct {
	stamp stamp
	// recheck is the wait before the next look at a due connection;
	// seenDue says a sweep found it due already.
	recheck time.Duration
	seenDue bool
}

// sweeper closes a [Pool]'s idle connections of an old credential when
// their moments in the retire window come (see [retirement]). It knows
// every open connection of the pool and its stamp (added after connect,
// removed before close), so it sleeps until the earliest moment of an old
// one, and not at all while there is none. A sweep takes every idle
// connection ([pgxpool.Pool.AcquireAllIdle]), which runs the pool's
// PrepareConn: the adapter's check there closes the due ones, and the
// others (after the caller's own PrepareConn) are released, running the
// caller's AfterRelease; pgxpool's own health check takes them without
// either hook. One that was in use
// at its moment is closed when it is next taken, or by a sweep
// busyRecheck later.
type sweeper struct {
	core *core
	kick chan struct{} // capacity 1: something changed, look again
	done chan struct{}
	once sync.Once

	mu   sync.Mutex
	live map[*pgconn.PgConn]*tracked
	// now asks for a sweep at once (after a swap).
	now bool
	// sweeps counts sweeps made, for tests.
	sweeps int64
}

func newSweeper(c *core) *sweeper {
	return &sweeper{core: c, kick: make(chan struct{}, 1), done: make(chan struct{}), live: map[*pgconn.PgConn]*tracked{}}
}

// add records an open connection of the pool.
func (s *sweeper) add(pc *pgconn.PgConn) {
	st, ok := stampOf(pc)
	if !ok {
		return
	}
	s.mu.Lock()
	s.live[pc] = &tracked{stamp: st, recheck: busyRecheck}
	s.mu.Unlock()
}

// remove forgets a connection the pool closes, and wakes the sweeper,
// whose next moment may have been that connection's.
func (s *sweeper) remove(pc *pgconn.PgConn) {
	s.mu.Lock()
	delete(s.live, pc)
	s.mu.Unlock()
	s.wake()
}

// swapped asks for a sweep now (a zero window, or a connection at the
// start of it).
func (s *sweeper) swapped() {
	s.mu.Lock()
	s.now = true
	s.mu.Unlock()
	s.wake()
}

func (s *sweeper) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *sweeper) stop() { s.once.Do(func() { close(s.done) }) }

// next is when to sweep: at once if asked, else the earliest moment of an
// old connection, or busyRecheck from now for one already due (in use at
// its moment). Zero: no old connection is open.
func (s *sweeper) next(now time.Time) time.Time {
	gen := s.core.generation.Load()
	cur := s.core.creds.Current().ID
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.now {
		return now
	}
	var next time.Time
	for _, t := range s.live {
		due, at := s.core.retire.due(t.stamp, gen, cur)
		switch {
		case due:
			at = now.Add(t.recheck)
		case at.IsZero():
			continue // not old
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}

// run sweeps pool at the moments next names until stop.
func (s *sweeper) run(pool *pgxpool.Pool) {
	clk := s.core.retire.clock
	for {
		now := clk.now()
		at := s.next(now)
		var timer <-chan time.Time
		if !at.IsZero() {
			if d := at.Sub(now); d > 0 {
				timer = clk.after(d)
			} else {
				s.sweep(pool)
				continue
			}
		}
		select {
		case <-s.done:
			return
		case <-s.kick:
		case <-timer:
			s.sweep(pool)
		}
	}
}

// sweep takes every idle connection, which closes the due ones (the
// pool's PrepareConn), and releases the rest.
func (s *sweeper) sweep(pool *pgxpool.Pool) {
	gen := s.core.generation.Load()
	cur := s.core.creds.Current().ID
	s.mu.Lock()
	s.now = false
	s.sweeps++
	for _, t := range s.live {
		if due, _ := s.core.retire.due(t.stamp, gen, cur); due {
			if t.seenDue {
				t.recheck = min(2*t.recheck, maxRecheck)
			}
			t.seenDue = true
		}
	}
	s.mu.Unlock()
	select {
	case <-s.done:
		return
	default:
	}
	for _, c := range pool.AcquireAllIdle(context.Background()) {
		c.Release()
	}
}

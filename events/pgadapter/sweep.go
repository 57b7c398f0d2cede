package pgadapter

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// sweeper closes a [Pool]'s idle connections of an old credential when
// their moment in the retire window comes (see [retirement]); released
// ones are closed by the pool's AfterRelease. A sweep acquires every idle
// connection ([pgxpool.Pool.AcquireAllIdle]) and releases it again, so
// that AfterRelease decides, in one place: it closes the due ones and
// notes when each old one not yet due will be, which sets the next sweep.
// The sweeper sleeps while no old connection is left.
type sweeper struct {
	core *core
	kick chan struct{} // capacity 1: the next wake-up changed
	done chan struct{}
	once sync.Once

	mu sync.Mutex
	// next is the earliest moment noted for an old connection; final is
	// the end of the window of the last swap, a last sweep for one that
	// became idle without a release (pgxpool's MinConns). Zero: none.
	next, final time.Time
	// sweeps counts sweeps made, for tests.
	sweeps int64
}

func newSweeper(c *core) *sweeper {
	return &sweeper{core: c, kick: make(chan struct{}, 1), done: make(chan struct{})}
}

// note makes the sweeper wake at at, unless it wakes earlier.
func (s *sweeper) note(at time.Time) {
	s.mu.Lock()
	earlier := s.next.IsZero() || at.Before(s.next)
	if earlier {
		s.next = at
	}
	s.mu.Unlock()
	if earlier {
		s.wake()
	}
}

// swapped sweeps now (connections due at once: jitter 0, a zero window),
// and once more at the end of the window.
func (s *sweeper) swapped() {
	now := s.core.retire.clock.now()
	s.mu.Lock()
	s.final = now.Add(s.core.retire.window)
	s.mu.Unlock()
	s.note(now)
}

func (s *sweeper) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *sweeper) stop() { s.once.Do(func() { close(s.done) }) }

// run sweeps pool at each noted moment until stop.
func (s *sweeper) run(pool *pgxpool.Pool) {
	clk := s.core.retire.clock
	for {
		s.mu.Lock()
		at := s.next
		if at.IsZero() || (!s.final.IsZero() && s.final.Before(at)) {
			at = s.final
		}
		s.mu.Unlock()
		var timer <-chan time.Time
		if !at.IsZero() {
			d := at.Sub(clk.now())
			if d <= 0 {
				s.sweep(pool, at)
				continue
			}
			timer = clk.after(d)
		}
		select {
		case <-s.done:
			return
		case <-s.kick:
		case <-timer:
		}
	}
}

// sweep releases every idle connection through AfterRelease, which closes
// the due ones and notes the rest. at is the moment it sweeps for.
func (s *sweeper) sweep(pool *pgxpool.Pool, at time.Time) {
	s.mu.Lock()
	if !s.next.After(at) {
		s.next = time.Time{}
	}
	if !s.final.After(at) {
		s.final = time.Time{}
	}
	s.sweeps++
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

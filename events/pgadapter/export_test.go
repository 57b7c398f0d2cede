package pgadapter

import "time"

// WithClock replaces the clock of the retire window (test only): now, the
// sweeper's timer and each connection's place in the window.
func WithClock(now func() time.Time, after func(time.Duration) <-chan time.Time, jitter func() float64) Option {
	return func(o *options) { o.clock = clock{now: now, after: after, jitter: jitter} }
}

// Sweeps returns how many sweeps the pool's sweeper has made.
func (p *Pool) Sweeps() int64 {
	p.sweeper.mu.Lock()
	defer p.sweeper.mu.Unlock()
	return p.sweeper.sweeps
}

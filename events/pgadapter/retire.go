package pgadapter

import (
	"math/rand/v2"
	"sync"
	"time"
)

// DefaultRetireWindow is the retire window of [WithRetireWindow] when none
// is given: old-credential connections are closed at moments spread over
// 30 s after a swap. It is well under the deactivation gate's grace period
// (at least 330 s, the longest consumer cache lifetime): no connection of
// the pool holds the old credential, nor keeps a session the gate waits
// for, when the grace period ends; without a limit an idle one would, for
// ever.
const DefaultRetireWindow = 30 * time.Second

// maxRetiredVersions bounds the versions whose swap time is remembered;
// a connection of a version older than these is due at once.
const maxRetiredVersions = 16

// clock is the time the retirement rules read; tests replace it.
type clock struct {
	now func() time.Time
	// after is time.After: the sweeper's wake-up.
	after func(time.Duration) <-chan time.Time
	// jitter draws a connection's place in the window, in [0, 1).
	jitter func() float64
}

func realClock() clock {
	return clock{now: time.Now, after: time.After, jitter: rand.Float64}
}

// retirement decides when a connection of an old credential is closed.
//
// Closing every old connection at the moment of a swap (what
// [pgxpool.Pool.Reset] does) makes every instance of every consumer log in
// again at once, since they all swap on the same event: a login storm
// (TLS and SCRAM cost the server CPU) right when the database is being
// rotated. Instead each connection draws, when it logs in, a place in the
// window (jitter in [0, 1)), and once a swap makes its version old it is
// due at swap time + jitter × window: connections retire one by one over
// the window, and none outlives it (plus the query it runs).
//
// A connection is old when a swap happened since it logged in and its
// version is not the one [Credentials.Current] hands out: a connection
// made with AWSPENDING in the single-user window (after a refused login)
// keeps serving once that version becomes current, and one made with
// AWSCURRENT in that window is not touched before the swap.
type retirement struct {
	window time.Duration
	clock  clock

	mu sync.Mutex
	// swapAt[i] is when swap number base+i+1 happened (the generation went
	// from base+i to base+i+1).
	swapAt []time.Time
	base   uint64
	// retiredAt is when recent versions stopped being current.
	retiredAt []retiredVersion
}

type retiredVersion struct {
	id string
	at time.Time
}

// swapped records swap number gen (the generation after it), which moved
// the current version away from oldID.
func (r *retirement) swapped(gen uint64, oldID string) {
	now := r.clock.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.swapAt = append(r.swapAt, now)
	if n := len(r.swapAt); n > maxRetiredVersions {
		r.swapAt = append(r.swapAt[:0], r.swapAt[n-maxRetiredVersions:]...)
		r.base = gen - maxRetiredVersions
	}
	for _, v := range r.retiredAt {
		if v.id == oldID {
			return // went back to it (a rollback) and away again: keep the first time
		}
	}
	r.retiredAt = append(r.retiredAt, retiredVersion{id: oldID, at: now})
	if n := len(r.retiredAt); n > maxRetiredVersions {
		r.retiredAt = append(r.retiredAt[:0], r.retiredAt[n-maxRetiredVersions:]...)
	}
}

// due reports whether the connection stamped s is to be closed now (gen
// is the current generation, currentID the version Current hands out), or
// else, for an old connection, the moment it will be.
func (r *retirement) due(s stamp, gen uint64, currentID string) (now bool, at time.Time) {
	if s.generation >= gen || s.versionID == currentID {
		return false, time.Time{}
	}
	r.mu.Lock()
	since, ok := r.oldSince(s)
	r.mu.Unlock()
	if !ok {
		return true, time.Time{}
	}
	at = since.Add(time.Duration(s.jitter * float64(r.window)))
	return !r.clock.now().Before(at), at
}

// oldSince is when s's version stopped being current: the swap away from
// it, or for a version that never was current here (a pending version of
// an abandoned rotation), the first swap after s logged in. r.mu is held.
func (r *retirement) oldSince(s stamp) (time.Time, bool) {
	for _, v := range r.retiredAt {
		if v.id == s.versionID {
			return v.at, true
		}
	}
	if s.generation < r.base || s.generation-r.base >= uint64(len(r.swapAt)) {
		return time.Time{}, false
	}
	return r.swapAt[s.generation-r.base], true
}

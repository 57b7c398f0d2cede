// Package inflight counts asynchronous work of the local endpoint (event
// deliveries, asynchronous invocations) so that tests and Close can wait
// until none is left, instead of sleeping.
package inflight

import (
	"context"
	"sync"
)

// Tracker counts work in flight. The zero value is ready.
type Tracker struct {
	mu   sync.Mutex
	n    int
	idle chan struct{}
}

// Add counts one more piece of work.
func (t *Tracker) Add() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		t.idle = make(chan struct{})
	}
	t.n++
}

// Done counts one piece of work finished.
func (t *Tracker) Done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.n == 0 {
		close(t.idle)
	}
}

// Wait returns when no work is in flight, or with ctx's error.
func (t *Tracker) Wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

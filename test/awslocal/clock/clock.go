// Package clock is the local endpoint's time: real, or running faster than
// real so that rotation schedules of days pass in seconds in tests and demos.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the endpoint's time and waits on it.
type Clock interface {
	Now() time.Time
	// Sleep waits for d of this clock's time, or until ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the wall clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	return sleep(ctx, d)
}

// Scaled returns a clock that starts at the wall clock's now and runs speed
// times faster: with speed 86400, a day passes each second.
func Scaled(speed float64) Clock {
	if speed <= 0 {
		speed = 1
	}
	now := time.Now()
	return &scaled{origin: now, wall: now, speed: speed}
}

type scaled struct {
	mu     sync.Mutex
	origin time.Time // this clock's time at wall
	wall   time.Time
	speed  float64
}

func (s *scaled) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	elapsed := time.Since(s.wall)
	return s.origin.Add(time.Duration(float64(elapsed) * s.speed))
}

func (s *scaled) Sleep(ctx context.Context, d time.Duration) error {
	return sleep(ctx, time.Duration(float64(d)/s.speed))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

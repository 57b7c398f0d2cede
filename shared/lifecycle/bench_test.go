package lifecycle_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
)

// BenchmarkEngineRotation measures the engine alone: a whole rotation
// against the in-memory store with a rotator that does no I/O, and the
// Secrets Manager calls it makes.
func BenchmarkEngineRotation(b *testing.B) {
	for _, source := range []lifecycle.PasswordSource{lifecycle.PasswordLocal, lifecycle.PasswordFromStore} {
		b.Run(string(source), func(b *testing.B) {
			// Secrets Manager keeps deprecated versions for a day; a clock
			// that moves a day a rotation keeps the secret at its steady
			// size instead of growing by a version an iteration.
			var now time.Time
			clock := func() time.Time { now = now.Add(6 * time.Hour); return now }
			f := newFixture(b, func(f *fixture) {
				f.config.PasswordSource = source
				f.store = memstore.New(memstore.WithClock(clock))
			})
			f.inj.Reset()
			b.ReportAllocs()
			for b.Loop() {
				token, err := f.store.StartRotation(f.ctx, f.arn, uuid.NewString())
				if err != nil {
					b.Fatal(err)
				}
				for _, step := range lifecycle.Steps {
					if err := f.run(step, token); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(f.inj.CountOf("store"))/float64(b.N), "sm-calls/rotation")
		})
	}
}

// BenchmarkEngineRotationWithEvents is BenchmarkEngineRotation with events
// on: the cost of building, fingerprinting and handing over one event a
// step, and the Publish calls per rotation (one a step). The publish itself
// is measured by events/publish's BenchmarkPublish.
func BenchmarkEngineRotationWithEvents(b *testing.B) {
	var now time.Time
	clock := func() time.Time { now = now.Add(6 * time.Hour); return now }
	f := newFixture(b, func(f *fixture) { f.store = memstore.New(memstore.WithClock(clock)) })
	n := &countingNotifier{}
	f.eng = f.eng.WithEvents(n, newFingerprinter(b))
	b.ReportAllocs()
	for b.Loop() {
		token, err := f.store.StartRotation(f.ctx, f.arn, uuid.NewString())
		if err != nil {
			b.Fatal(err)
		}
		for _, step := range lifecycle.Steps {
			if err := f.run(step, token); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n.calls.Load())/float64(b.N), "publishes/rotation")
}

// countingNotifier counts Publish calls and keeps nothing.
type countingNotifier struct{ calls atomic.Int64 }

func (n *countingNotifier) Publish(context.Context, ...events.Event) error {
	n.calls.Add(1)
	return nil
}

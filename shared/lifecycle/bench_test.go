package lifecycle_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/rotorhq/rotor/shared/lifecycle"
)

// BenchmarkEngineRotation measures the engine alone: a whole rotation
// against the in-memory store with a rotator that does no I/O, and the
// Secrets Manager calls it makes.
func BenchmarkEngineRotation(b *testing.B) {
	for _, source := range []lifecycle.PasswordSource{lifecycle.PasswordLocal, lifecycle.PasswordFromStore} {
		b.Run(string(source), func(b *testing.B) {
			f := newFixture(b, func(f *fixture) { f.config.PasswordSource = source })
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

package rotation_test

import (
	"testing"

	"github.com/rotorhq/rotor/rotators/postgres"
)

// BenchmarkRotation times a whole rotation (the four steps, as Secrets
// Manager invokes them) against the throwaway PostgreSQL, and counts the
// Secrets Manager and database calls it makes.
func BenchmarkRotation(b *testing.B) {
	for _, strategy := range []postgres.Strategy{postgres.AlternatingUsers, postgres.SingleUser} {
		b.Run(string(strategy), func(b *testing.B) {
			e := newEnv(b, strategy)
			e.rotate() // the clone exists from here on
			e.inj.Reset()
			b.ResetTimer()
			for b.Loop() {
				e.rotate()
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(e.inj.CountOf("store"))/n, "sm-calls/rotation")
			b.ReportMetric(float64(e.inj.CountOf("store GetSecretValue"))/n, "sm-gets/rotation")
			b.ReportMetric(float64(e.inj.CountOf("db"))/n, "db-calls/rotation")
		})
	}
}

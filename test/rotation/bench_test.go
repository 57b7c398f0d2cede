package rotation_test

import (
	"testing"

	"github.com/rotorhq/rotor/rotators/postgres"
)

// BenchmarkRotation times a whole rotation (the four steps, as Secrets
// Manager invokes them) against the throwaway PostgreSQL, and counts the
// Secrets Manager and database calls it makes: with the four steps in one
// warm engine (a warm container, which also keeps what the rotation before
// left), and with every step in an engine of its own (cold containers).
func BenchmarkRotation(b *testing.B) {
	for _, strategy := range []postgres.Strategy{postgres.AlternatingUsers, postgres.SingleUser} {
		for _, cold := range []bool{false, true} {
			name := string(strategy)
			if cold {
				name += "/cold"
			}
			b.Run(name, func(b *testing.B) { benchmarkRotation(b, strategy, cold) })
		}
	}
}

func benchmarkRotation(b *testing.B, strategy postgres.Strategy, cold bool) {
	e := newEnv(b, strategy, coldSteps(cold))
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
}

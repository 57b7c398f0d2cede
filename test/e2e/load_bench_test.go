package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/events/pgadapter"
)

const (
	loadConsumers = 20
	loadRotations = 50
	loadQueryGap  = 2 * time.Millisecond
)

// BenchmarkConsumerLoad: 20 services, each with its own SQS queue, the
// SDK's cache and a pgx pool (connections live 40-80 ms, so logins happen
// all the time, also between setSecret and finishSecret), query the throwaway PostgreSQL continuously while
// 50 rotations run through the real function under aws-lambda-rie. It
// reports failed queries (the goal is 0), the time from the end of
// finishSecret (the Rotation Completed event's time) to each consumer's
// swap, and the pools' retries after a refused login: with a single user,
// logins in the window between setSecret and finishSecret are refused and
// retried with AWSPENDING.
func BenchmarkConsumerLoad(b *testing.B) {
	for _, strategy := range []string{"alternating-users", "single-user"} {
		b.Run(strategy, func(b *testing.B) {
			f := newFanout(b, "load_"+strings.ReplaceAll(strategy, "-", "_"), strategy, nil, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var consumers []*consumerUnderTest
			var pools []*pgadapter.Pool
			load := &queryLoad{}
			for i := range loadConsumers {
				c := f.newConsumer(b, ctx, fmt.Sprintf("service-%02d", i), false, time.Hour)
				consumers = append(consumers, c)
				pool := newPool(b, ctx, c, 2)
				pools = append(pools, pool)
				load.run(ctx, pool, loadQueryGap)
			}
			var propagation []time.Duration
			rotations := 0
			for b.Loop() {
				for range loadRotations {
					version := f.rotate(b)
					waitSwapped(b, version, consumers...)
					rotations++
					finished := completedAt(b, f, version)
					for _, c := range consumers {
						at, _ := c.swappedAt(version)
						propagation = append(propagation, at.Sub(finished))
					}
				}
			}
			b.StopTimer()
			cancel()
			load.wg.Wait()
			var retries, refused, logins int64
			for _, p := range pools {
				s := p.Stats()
				retries += s.Retries
				refused += s.AuthFailures
				logins += s.Logins
			}
			slices.Sort(propagation)
			p50, p99 := percentile(propagation, 0.50), percentile(propagation, 0.99)
			b.ReportMetric(float64(load.failed), "failed-queries")
			b.ReportMetric(float64(load.ok), "queries")
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-swap-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-swap-ms")
			b.ReportMetric(float64(retries), "auth-retries")
			b.ReportMetric(float64(logins), "logins")
			b.Logf("%s: %d consumers, %d rotations: %d queries, %d failed %v; finishSecret -> swap p50 %v, p99 %v, max %v; %d logins, %d refused, %d retried",
				strategy, loadConsumers, rotations, load.ok, load.failed, load.failureSamples, p50, p99, propagation[len(propagation)-1], logins, refused, retries)
		})
	}
}

// completedAt is when finishSecret ended for version, as its Rotation
// Completed event says.
func completedAt(tb testing.TB, f *fanout, version string) time.Time {
	tb.Helper()
	settle(tb)
	for _, ev := range f.observed(tb) {
		if ev.DetailType == events.Completed && ev.Detail.VersionID == version {
			return ev.Detail.Time
		}
	}
	tb.Fatalf("no Rotation Completed event for %s", version)
	return time.Time{}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

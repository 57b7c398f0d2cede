package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/events/pgadapter"
)

const (
	loadConsumers = 20
	loadRotations = 50
	loadQueryGap  = 2 * time.Millisecond
	// loadRetireWindow is the long-lived case's retire window: shorter than
	// the default (30 s) so that the old connections retire within the
	// run (10 rotations take a few seconds).
	loadRetireWindow = 2 * time.Second
	// loginBucket is the width of the buckets logins are counted in.
	loginBucket = 100 * time.Millisecond
)

// BenchmarkConsumerLoad: 20 services, each with its own SQS queue, the
// SDK's cache and a pgx pool (connections live 40 ms, so logins happen all
// the time, also between setSecret and finishSecret; pgxpool draws
// MaxConnLifetimeJitter in whole seconds, so the 40 ms of jitter asked
// for add nothing), query the throwaway PostgreSQL continuously while
// 50 rotations run through the real function under aws-lambda-rie. It
// reports failed queries (the goal is 0), the time from the end of
// finishSecret (the Rotation Completed event's time) to each consumer's
// swap, and the pools' retries after a refused login: with a single user,
// logins in the window between setSecret and finishSecret are refused and
// retried with AWSPENDING. It also reports the peak rate of logins
// around a swap (the fullest 100 ms bucket from 500 ms before the first
// consumer's swap to 1 s after the last one's, over all rotations, scaled
// to logins per second) beside the median rate of all buckets: a pool that
// closes every old connection at once on a swap makes the fleet log in
// again all at the same moment.
//
// The third case, "long-lived", keeps connections for the whole run (as
// services do) so that the logins around a swap are those the swap
// causes: 20 pools of 2 connections, 10 rotations, a retire window of
// loadRetireWindow. Each rotation waits for the previous user's sessions
// to end: the next setSecret changes that user's password and refuses
// while it has sessions.
func BenchmarkConsumerLoad(b *testing.B) {
	cases := []struct {
		name, strategy string
		churn          bool
		rotations      int
		opts           []pgadapter.Option
	}{
		{"alternating-users", "alternating-users", true, loadRotations, nil},
		{"single-user", "single-user", true, loadRotations, nil},
		{"long-lived", "alternating-users", false, 10, []pgadapter.Option{pgadapter.WithRetireWindow(loadRetireWindow)}},
	}
	for _, tc := range cases {
		strategy := tc.strategy
		b.Run(tc.name, func(b *testing.B) {
			f := newFanout(b, "load_"+strings.ReplaceAll(tc.name, "-", "_"), strategy, nil, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var consumers []*consumerUnderTest
			var pools []*pgadapter.Pool
			load := &queryLoad{}
			logins := &loginClock{}
			for i := range loadConsumers {
				c := f.newConsumer(b, ctx, fmt.Sprintf("service-%02d", i), false, time.Hour)
				consumers = append(consumers, c)
				pool := newPoolWith(b, ctx, c, 2, tc.churn, logins.count, tc.opts...)
				pools = append(pools, pool)
				load.run(ctx, pool, loadQueryGap)
			}
			// Every pool logged in before the first rotation: the logins
			// counted around swaps are the swaps'.
			for _, p := range pools {
				if err := p.Ping(ctx); err != nil {
					b.Fatal(err)
				}
			}
			started := time.Now()
			var propagation []time.Duration
			var swapWindows [][2]time.Time
			var rotationStarts []time.Time
			var rotationVersions []string
			rotations := 0
			for b.Loop() {
				for range tc.rotations {
					rotationStarts = append(rotationStarts, time.Now())
					version := f.rotate(b)
					rotationVersions = append(rotationVersions, version)
					waitSwapped(b, version, consumers...)
					if !tc.churn {
						// The next rotation's setSecret changes the previous
						// user's password, and refuses while that user has
						// sessions (the grace policy): let the old
						// connections retire first.
						waitNoSessions(b, consumers[0])
					}
					rotations++
					finished := completedAt(b, f, version)
					var first, last time.Time
					for _, c := range consumers {
						at, _ := c.swappedAt(version)
						propagation = append(propagation, at.Sub(finished))
						if first.IsZero() || at.Before(first) {
							first = at
						}
						if at.After(last) {
							last = at
						}
					}
					from := first.Add(-500 * time.Millisecond)
					if from.Before(started) {
						from = started
					}
					swapWindows = append(swapWindows, [2]time.Time{from, last.Add(time.Second)})
				}
			}
			b.StopTimer()
			cancel()
			load.wg.Wait()
			var retries, refused, retriesRefused, loginCount int64
			for _, p := range pools {
				s := p.Stats()
				retries += s.Retries
				refused += s.AuthFailures
				retriesRefused += s.RetryFailures
				loginCount += s.Logins
			}
			peak, median := logins.rates(swapWindows)
			if load.failed > 0 {
				explainFailures(b)
			}
			if retriesRefused > 0 {
				explainSecondRetries(b, started, rotationVersions, rotationStarts)
			}
			slices.Sort(propagation)
			p50, p99 := percentile(propagation, 0.50), percentile(propagation, 0.99)
			b.ReportMetric(float64(load.failed), "failed-queries")
			b.ReportMetric(float64(load.ok), "queries")
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-swap-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-swap-ms")
			b.ReportMetric(float64(retries), "auth-retries")
			b.ReportMetric(float64(retriesRefused), "retries-refused")
			b.ReportMetric(float64(loginCount), "logins")
			b.ReportMetric(peak, "peak-swap-logins/s")
			b.ReportMetric(median, "median-logins/s")
			b.Logf("%s, %s: %d consumers, %d rotations: %d queries, %d failed %v; finishSecret -> swap p50 %v, p99 %v, max %v; %d logins, %d refused, %d retried (%d retries refused); logins/s: peak around a swap %.0f, median %.0f",
				tc.name, strategy, loadConsumers, rotations, load.ok, load.failed, load.failureSamples, p50, p99, propagation[len(propagation)-1], loginCount, refused, retries, retriesRefused, peak, median)
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

// loginClock records when pools logged in (their BeforeConnect hook).
type loginClock struct {
	mu sync.Mutex
	at []time.Time
}

func (l *loginClock) count(context.Context, *pgx.ConnConfig) error {
	now := time.Now()
	l.mu.Lock()
	l.at = append(l.at, now)
	l.mu.Unlock()
	return nil
}

// rates counts the logins in buckets of loginBucket and returns, scaled to
// logins per second, the fullest bucket that starts inside one of windows
// and the median of all buckets from the first login to the last.
func (l *loginClock) rates(windows [][2]time.Time) (peak, median float64) {
	l.mu.Lock()
	at := slices.Clone(l.at)
	l.mu.Unlock()
	if len(at) == 0 {
		return 0, 0
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	perSecond := float64(time.Second / loginBucket)
	for _, w := range windows {
		for start := w[0]; start.Before(w[1]); start = start.Add(loginBucket) {
			lo, _ := slices.BinarySearchFunc(at, start, func(a, t time.Time) int { return a.Compare(t) })
			hi, _ := slices.BinarySearchFunc(at, start.Add(loginBucket), func(a, t time.Time) int { return a.Compare(t) })
			peak = max(peak, float64(hi-lo)*perSecond)
		}
	}
	var buckets []int
	origin := at[0]
	for _, t := range at {
		i := int(t.Sub(origin) / loginBucket)
		for len(buckets) <= i {
			buckets = append(buckets, 0)
		}
		buckets[i]++
	}
	slices.Sort(buckets)
	return peak, float64(buckets[len(buckets)/2]) * perSecond
}

// explainFailures logs what the pools and the server said about refused or
// failed connections: the pools' warnings and the server's FATAL lines
// other than the refusals the single-user window causes, with counts.
func explainFailures(tb testing.TB) {
	tb.Helper()
	for _, line := range strings.Split(string(consumerLogs.Bytes()), "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			tb.Log("consumer log:", line)
		}
	}
	raw, err := os.ReadFile(db.LogPath)
	if err != nil {
		tb.Log("server log:", err)
		return
	}
	counts := map[string]int{}
	for _, line := range strings.Split(string(raw), "\n") {
		if i := strings.Index(line, "FATAL:"); i >= 0 {
			counts[line[i:]]++
		}
	}
	for msg, n := range counts {
		tb.Logf("server log: %d × %s", n, msg)
	}
}

// explainSecondRetries logs, for each retry made since started after a
// refused retry, the version the refused retry used, the rotation that
// made it, and when the next rotation started.
func explainSecondRetries(tb testing.TB, started time.Time, versions []string, starts []time.Time) {
	tb.Helper()
	for _, line := range strings.Split(string(consumerLogs.Bytes()), "\n") {
		var l struct {
			Time          time.Time `json:"time"`
			Msg           string    `json:"msg"`
			FailedVersion string    `json:"failedVersion"`
			Retry         int       `json:"retry"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Retry != 2 || l.Time.Before(started) {
			continue
		}
		i := slices.Index(versions, l.FailedVersion)
		next := "none"
		if i >= 0 && i+1 < len(starts) {
			next = starts[i+1].Format(time.RFC3339Nano)
		}
		tb.Logf("second retry at %s: the retry with the version of rotation %d was refused; rotation %d started at %s",
			l.Time.Format(time.RFC3339Nano), i, i+1, next)
	}
}

// waitNoSessions waits until the previous user of c's cache has no session
// left (a state, not a time), or fails after a generous deadline.
func waitNoSessions(tb testing.TB, c *consumerUnderTest) {
	tb.Helper()
	prev, ok := c.cache.Previous()
	if !ok {
		return
	}
	var s struct {
		Username string `json:"username"`
	}
	if err := json.Unmarshal(prev.Value, &s); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := db.Admin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close(context.Background())
	for {
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, s.Username).Scan(&n); err != nil {
			tb.Fatalf("sessions of %s: %v", s.Username, err)
		}
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%s still has %d sessions", s.Username, n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

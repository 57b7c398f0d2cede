package audit_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rotorhq/rotor/events/audit"
)

// BenchmarkAppendBatch: what Consume does per batch, a batch of
// audit.BatchSize events written, then fsynced, to a file in a temporary
// directory (so the numbers depend on its file system).
func BenchmarkAppendBatch(b *testing.B) {
	body := fixture(b, "rotation-completed")
	bodies := make([][]byte, 0, 1024)
	for i := range cap(bodies) {
		bodies = append(bodies, withID(b, body, fmt.Sprint("bench-", i)))
	}
	// Remembering fewer ids than there are bodies, the writer has
	// forgotten each id by the time it comes round again.
	w, err := audit.Open(filepath.Join(b.TempDir(), "audit.jsonl"), audit.Options{RecentIDs: 100})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	n := 0
	b.ResetTimer()
	for b.Loop() {
		for range audit.BatchSize {
			res, err := w.Append(audit.Message{Body: bodies[n%len(bodies)]})
			if err != nil || res.Duplicate {
				b.Fatalf("want the event written, got %+v, %v", res, err)
			}
			n++
		}
		if err := w.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkOpen: Open on a file of 100,000 lines, reading the ids of the
// last DefaultRecentIDs back.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "audit.jsonl")
	w, err := audit.Open(path, audit.Options{})
	if err != nil {
		b.Fatal(err)
	}
	body := fixture(b, "rotation-completed")
	const lines = 100_000
	for i := range lines {
		if _, err := w.Append(audit.Message{Body: withID(b, body, fmt.Sprint("open-", i))}); err != nil {
			b.Fatal(err)
		}
	}
	w.Close()
	b.ResetTimer()
	for b.Loop() {
		w, err := audit.Open(path, audit.Options{})
		if err != nil {
			b.Fatal(err)
		}
		w.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/open")
}

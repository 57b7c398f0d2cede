package consumer_test

import (
	"testing"

	"github.com/rotorhq/rotor/events/consumer"
)

// BenchmarkRefreshNoChange: a refresh that finds nothing new costs one
// DescribeSecret (reported as describe/op, as the endpoint counts them)
// and no GetSecretValue.
func BenchmarkRefreshNoChange(b *testing.B) {
	s, _ := newSecret(b)
	c := newCache(b, s, consumer.Options{})
	describes, gets := calls.Get(describeTarget), calls.Get(getValueTarget)
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Refresh(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(calls.Get(describeTarget)-describes)/float64(b.N), "describe/op")
	b.ReportMetric(float64(calls.Get(getValueTarget)-gets)/float64(b.N), "getvalue/op")
}

// BenchmarkCurrent: the read every connection makes.
func BenchmarkCurrent(b *testing.B) {
	s, _ := newSecret(b)
	c := newCache(b, s, consumer.Options{})
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n += len(c.Current().Value)
	}
	if n == 0 {
		b.Fatal("want a value, got none")
	}
}

// BenchmarkCurrentParallel: reads from every core at once.
func BenchmarkCurrentParallel(b *testing.B) {
	s, _ := newSecret(b)
	c := newCache(b, s, consumer.Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if len(c.Current().Value) == 0 {
				b.Error("want a value, got none")
				return
			}
		}
	})
}

package deactivation_test

import (
	"testing"
)

// BenchmarkRevocation measures one revocation: the last consumer's
// acknowledgement, the decision, the Deactivator under the database lock
// (with the Recheck's DescribeSecret) and the record. It reports the
// secret store calls it made, by kind (the rotation before each
// revocation is set-up, not measured).
func BenchmarkRevocation(b *testing.B) {
	h := newGate(b, alternating, 0)
	calls := map[string]int{}
	n := 0
	for b.Loop() {
		b.StopTimer()
		a := newApp(b, false, "orders-api")
		cur := a.rotate(b, false)
		prev, _ := a.read(b, "AWSPREVIOUS")
		settle(b, prev.Username)
		h.store.total()
		b.StartTimer()
		ack(b, h, a, "orders-api", cur)
		b.StopTimer()
		for k, v := range h.store.total() {
			calls[k] += v
		}
		n++
		if got := a.tags(b)["rotor:deactivated"]; got == "" {
			b.Fatalf("want the previous credential revoked, got no %s tag", "rotor:deactivated")
		}
		b.StartTimer()
	}
	total := 0
	for k, v := range calls {
		b.ReportMetric(float64(v)/float64(n), k+"/op")
		total += v
	}
	b.ReportMetric(float64(total)/float64(n), "store-calls/op")
}

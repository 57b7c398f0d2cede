package deactivation_test

import (
	"fmt"
	"testing"

	"github.com/rotorhq/rotor/shared/deactivation"
)

// BenchmarkAcknowledge reports the secret store calls of one
// acknowledgement that is recorded but does not complete the consumer (so
// nothing is revoked): DescribeSecret to check it, TagResource to record
// it, and DescribeSecret again to evaluate with what every concurrent
// acknowledgement wrote (the fix for concurrent acknowledgements costs the
// second DescribeSecret). And of a duplicate, which writes nothing and
// evaluates what it read.
func BenchmarkAcknowledge(b *testing.B) {
	a := newApp(b, false, "orders-api")
	// More instances than the benchmark keeps acknowledged: the consumer
	// never completes, so every acknowledgement evaluates and waits.
	a.register(b, "orders-api", "sqs instances=50")
	cur := a.rotate(b, false)
	h := newGate(b, alternating, 0)
	for _, c := range []struct {
		name string
		want deactivation.AckResult
	}{{"recorded", deactivation.AckRecorded}, {"duplicate", deactivation.AckDuplicate}} {
		b.Run(c.name, func(b *testing.B) {
			req := ackOf(a, "orders-api", cur)
			req.Instance = "pod-dup"
			if c.want == deactivation.AckDuplicate {
				if _, err := h.gate.Acknowledge(b.Context(), req); err != nil {
					b.Fatal(err)
				}
			}
			h.store.total()
			calls := map[string]int{}
			n := 0
			for i := 0; b.Loop(); i++ {
				if c.want == deactivation.AckRecorded {
					req.Instance = fmt.Sprintf("pod-%d", i)
				}
				res, err := h.gate.Acknowledge(b.Context(), req)
				if err != nil || res != c.want {
					b.Fatalf("want %q, got %q (%v)", c.want, res, err)
				}
				b.StopTimer()
				for k, v := range h.store.total() {
					calls[k] += v
				}
				n++
				if c.want == deactivation.AckRecorded {
					// Make room for the next instance (not counted).
					key, _ := deactivation.InstanceAckTag(req.Consumer, req.Instance, cur)
					if err := h.store.Untag(b.Context(), a.arn, []string{key}); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
			}
			for _, k := range []string{"DescribeSecret", "TagResource"} {
				b.ReportMetric(float64(calls[k])/float64(n), k+"/op")
			}
		})
	}
}

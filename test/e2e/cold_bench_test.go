package e2e_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor/test/awslocal/lambda"
)

// steps are the rotation steps, in the order Secrets Manager runs them.
var steps = []string{"createSecret", "setSecret", "testSecret", "finishSecret"}

// coldCosts collects what each cold step cost the function's process.
type coldCosts struct {
	mu   sync.Mutex
	cpu  map[string]time.Duration
	wall map[string]time.Duration
	n    map[string]int
	err  error
}

func (c *coldCosts) observe(payload []byte, inv lambda.ColdInvocation) {
	var ev struct{ Step string }
	_ = json.Unmarshal(payload, &ev)
	c.mu.Lock()
	defer c.mu.Unlock()
	if inv.Err != nil && c.err == nil {
		c.err = fmt.Errorf("%s: %w", ev.Step, inv.Err)
	}
	c.cpu[ev.Step] += inv.CPU
	c.wall[ev.Step] += inv.Wall
	c.n[ev.Step]++
}

// BenchmarkColdRotation is BenchmarkRotation with every step in a new
// execution environment: a new aws-lambda-rie and a new bootstrap process
// per step (the binary `make local-build` builds), as when Lambda has no
// warm environment for the step. Besides the Secrets Manager calls per
// rotation (compare BenchmarkRotation, where the four steps share one warm
// process), it reports the CPU time (user and system) and the wall time of
// one cold step, the function's process alone (not aws-lambda-rie): the
// process's start, the Go runtime's and the packages' init, the
// configuration, and the step; per step and averaged over the four.
func BenchmarkColdRotation(b *testing.B) {
	for _, strategy := range []string{"alternating-users", "single-user"} {
		b.Run(strategy, func(b *testing.B) {
			costs := &coldCosts{cpu: map[string]time.Duration{}, wall: map[string]time.Duration{}, n: map[string]int{}}
			function := "rotor-postgres-cold-" + strategy
			cold, err := lambda.NewCold(endpoint.FunctionARN(function), lambda.RIEOptions{
				Path: rie, Bootstrap: bootstrap, Timeout: 30 * time.Second, LogFile: fnLogPath,
				Env: functionEnv(strategy),
			})
			if err != nil {
				b.Fatal(err)
			}
			cold.OnInvoke = costs.observe
			endpoint.Lambda.Register(endpoint.FunctionARN(function), cold)

			benchRotations(b, benchSecret(b, "cold", strategy), function)
			if costs.err != nil {
				b.Fatalf("want every cold step measured, got %v", costs.err)
			}
			reportCalls(b)
			var cpu, wall time.Duration
			n := 0
			for _, step := range steps {
				if costs.n[step] != b.N {
					b.Fatalf("want %d cold %s steps, got %d", b.N, step, costs.n[step])
				}
				cpu += costs.cpu[step]
				wall += costs.wall[step]
				n += costs.n[step]
				b.ReportMetric(ms(costs.cpu[step])/float64(b.N), step+"-cpu-ms")
			}
			b.ReportMetric(ms(cpu)/float64(n), "cpu-ms/step")
			b.ReportMetric(ms(wall)/float64(n), "wall-ms/step")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

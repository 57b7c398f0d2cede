package lambda

import (
	"encoding/json"
	"testing"
)

// TestCold runs each invocation of testdata/echo in a new process, reports
// the process's CPU time and wall time, and leaves no process behind.
func TestCold(t *testing.T) {
	fn, err := NewCold(echoARN, RIEOptions{Path: rieTB(t), Bootstrap: bootstrap(t, "./testdata/echo"), Env: map[string]string{"ECHO_VAR": "cold"}})
	if err != nil {
		t.Fatal(err)
	}
	var seen []ColdInvocation
	fn.OnInvoke = func(_ []byte, inv ColdInvocation) { seen = append(seen, inv) }
	pids := map[int]bool{}
	for i := range 2 {
		out, err := fn.Invoke(t.Context(), []byte(`{"print":"ECHO_VAR"}`))
		if err != nil {
			t.Fatalf("invocation %d: %v", i+1, err)
		}
		var resp echoResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Value != "cold" || resp.FunctionARN == "" {
			t.Errorf("want the function's environment and context, got %+v", resp)
		}
		if alive(resp.PID) {
			t.Errorf("invocation %d: want the function's process %d gone after Invoke", i+1, resp.PID)
		}
		pids[resp.PID] = true
	}
	if len(pids) != 2 {
		t.Errorf("want a new process per invocation, got pids %v", pids)
	}
	if len(seen) != 2 {
		t.Fatalf("want OnInvoke called once per invocation, got %d", len(seen))
	}
	for i, inv := range seen {
		if inv.Err != nil || inv.CPU <= 0 || inv.Wall <= 0 {
			t.Errorf("invocation %d: want CPU and wall time measured, got %+v", i+1, inv)
		}
	}
}

// TestNewColdRefusesABadARN: the ARN names the function, as in StartFunction.
func TestNewColdRefusesABadARN(t *testing.T) {
	if _, err := NewCold("echo", RIEOptions{Bootstrap: "/bin/true"}); err == nil {
		t.Errorf("want an error for a name that is not an ARN")
	}
	if _, err := NewCold(echoARN, RIEOptions{}); err == nil {
		t.Errorf("want an error without a bootstrap")
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemo runs what `make demo` runs, shorter: two scheduled rotations
// through the local endpoint with the real function under aws-lambda-rie,
// services querying meanwhile through the consumer SDK and its pgx pool.
// Every service must swap and acknowledge each rotation, the gate must lock
// a previous user at least once, and it must finish by itself with no
// failure.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "postgres", "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrap, "github.com/rotorhq/rotor/functions/postgres")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the function: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	o := options{rotations: 2, interval: time.Second, consumers: 2, strategy: "alternating-users", bootstrap: bootstrap, logDir: filepath.Join(dir, "logs")}
	if err := run(ctx, o, &out); err != nil {
		t.Fatalf("want the demo to succeed, got %v\n%s", err, out.String())
	}
	for _, want := range []string{"rotation 2 ", "2 succeeded", "ok, 0 failed;", "found 0 times",
		"acknowledgements     4 of rotated versions (2 services x 2 rotations expected), 2 more when the services started", "rotor Rotation Completed 2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("want %q in the demo's output, got\n%s", want, out.String())
		}
	}
	// The gate's sweep (a schedule rule the endpoint runs) locks previous
	// users once the pools retired their sessions; the last one may be cut
	// by the end, so at least one.
	m := regexp.MustCompile(`locked the previous user (\d+) times`).FindStringSubmatch(out.String())
	if m == nil {
		t.Errorf("want the deactivation line in the demo's output, got\n%s", out.String())
	} else if n, _ := strconv.Atoi(m[1]); n < 1 {
		t.Errorf("want the gate to lock a previous user at least once, got %d times\n%s", n, out.String())
	}
	for _, log := range []string{"function.log", "consumers.log", "audit.jsonl"} {
		if st, err := os.Stat(filepath.Join(dir, "logs", log)); err != nil || st.Size() == 0 {
			t.Errorf("want %s kept, got %v", log, err)
		}
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []options{
		{rotations: 0, interval: time.Second, bootstrap: "x"},
		{rotations: 1, interval: 0, bootstrap: "x"},
		{rotations: 1, interval: time.Second, strategy: "alternating-users", bootstrap: filepath.Join(t.TempDir(), "missing")},
		{rotations: 1, interval: time.Second, strategy: "round-robin", bootstrap: "x"},
	} {
		if err := run(context.Background(), o, &bytes.Buffer{}); err == nil {
			t.Errorf("want %+v refused, got nil", o)
		}
	}
}

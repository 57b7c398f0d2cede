package lambda

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Cold is a [Function] that runs every invocation in a new execution
// environment: a new aws-lambda-rie and a new bootstrap process, which
// serves that one invocation and is then stopped. Lambda does this when no
// warm environment is free (a first call, a scale-out, a call after the
// environment was reclaimed), so a Cold function shows what a step costs
// when nothing survives from an earlier one: the process's start, the Go
// runtime's and the packages' init, the function's configuration, the
// step itself.
type Cold struct {
	opts RIEOptions
	// OnInvoke, when set, receives each invocation's payload (the
	// caller's own event) and what the invocation cost; it is called
	// before Invoke returns.
	OnInvoke func(payload []byte, inv ColdInvocation)
}

var _ Function = (*Cold)(nil)

// ColdInvocation is what one invocation of a [Cold] function cost.
type ColdInvocation struct {
	// CPU is the user and system CPU time of the function's process (the
	// bootstrap, not aws-lambda-rie): its init and the one invocation.
	CPU time.Duration
	// Wall is the time from the invocation to its response, with the
	// process's start and init (aws-lambda-rie was already listening).
	Wall time.Duration
	// Err is the invocation's error, as Invoke returns it.
	Err error
}

// NewCold returns a function that starts opts anew for each invocation.
// The name and region default to the ARN's and the access key to its
// account, as [Registry.StartFunction] sets them.
func NewCold(arn string, opts RIEOptions) (*Cold, error) {
	opts, err := optionsFor(arn, opts)
	if err != nil {
		return nil, err
	}
	if opts.Bootstrap == "" {
		return nil, errors.New("lambda: RIEOptions.Bootstrap is required")
	}
	return &Cold{opts: opts}, nil
}

// Invoke starts aws-lambda-rie, invokes the function once (its init is
// part of the call, as in Lambda), measures the function's process and
// stops both.
func (c *Cold) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	rie, err := StartRIE(ctx, c.opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := rie.Invoke(ctx, payload)
	wall := time.Since(start)
	cpu, cpuErr := rie.FunctionCPU()
	if closeErr := rie.Close(); err == nil && closeErr != nil {
		err = closeErr
	}
	if c.OnInvoke != nil {
		inv := ColdInvocation{CPU: cpu, Wall: wall, Err: err}
		if err == nil && cpuErr != nil {
			inv.Err = cpuErr
		}
		c.OnInvoke(payload, inv)
	}
	return out, err
}

// FunctionCPU is the CPU time (user and system) the function's process has
// used so far: the bootstrap that aws-lambda-rie started, which, between
// invocations, waits for the next one. It is read from the scheduler's
// per-thread run time (/proc/<pid>/task/<tid>/schedstat, in nanoseconds;
// /proc/<pid>/stat counts in clock ticks of 10 ms, too coarse for a step),
// summed over the process's live threads (the Go runtime ends a thread
// only when a goroutine exits locked to it, which a function does not do,
// so none is missed).
func (r *RIE) FunctionCPU() (time.Duration, error) {
	children := childProcesses(r.cmd.Process.Pid)
	if len(children) != 1 {
		return 0, fmt.Errorf("lambda: %s: want one function process under aws-lambda-rie, found %d", r.name, len(children))
	}
	return processCPU(children[0])
}

// processCPU sums the run time of a process's threads.
func processCPU(pid int) (time.Duration, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("lambda: threads of process %d: %w", pid, err)
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			return 0, fmt.Errorf("lambda: run time of process %d: %w", pid, err)
		}
		// run time (ns), wait time (ns), time slices
		fields := strings.Fields(string(b))
		if len(fields) == 0 {
			return 0, fmt.Errorf("lambda: run time of process %d: empty schedstat", pid)
		}
		ns, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("lambda: run time of process %d: %w", pid, err)
		}
		total += time.Duration(ns)
	}
	return total, nil
}

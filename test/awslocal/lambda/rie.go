package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// Lambda's defaults and limits for a function's configuration.
const (
	DefaultTimeout    = 3 * time.Second
	MaxTimeout        = 900 * time.Second
	DefaultMemorySize = 128
	DefaultRegion     = "us-east-1"
	// DefaultAccessKeyID is the function's access key when RIEOptions gives
	// none: on the local endpoint it resolves to the default account.
	DefaultAccessKeyID = "AKIAROTORLOCALLAMBDA"
)

// Bounds of a StartRIE and a Close; variables so that a slow machine can
// raise them.
var (
	StartTimeout = 10 * time.Second
	// CloseGrace is how long Close waits after SIGTERM before SIGKILL.
	CloseGrace = 5 * time.Second
)

// ErrClosed is returned by Invoke on a closed RIE.
var ErrClosed = errors.New("lambda: aws-lambda-rie is closed")

// reservedEnv are the variables Lambda sets itself and refuses in a
// function's configuration, plus those aws-lambda-rie reads as its own
// settings (AWS_LAMBDA_FUNCTION_TIMEOUT, AWS_LAMBDA_FUNCTION_HANDLER and
// AWS_LAMBDA_MAX_CONCURRENCY, which switches it to another mode).
var reservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION",
	"AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
	"AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
	"AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
	"AWS_LAMBDA_FUNCTION_TIMEOUT", "AWS_LAMBDA_FUNCTION_HANDLER", "AWS_LAMBDA_MAX_CONCURRENCY",
}

// RIEOptions configures a function under aws-lambda-rie: what Lambda's
// CreateFunction would say about it.
type RIEOptions struct {
	// Path is the aws-lambda-rie executable; empty means [EnsureRIE].
	Path string
	// Bootstrap is the function's executable (functions/<name> built with
	// -tags lambda.norpc for the host). Its directory is the function's
	// working directory and LAMBDA_TASK_ROOT, as /var/task is in Lambda.
	Bootstrap string
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME; default "function".
	FunctionName string
	// Region is AWS_REGION and AWS_DEFAULT_REGION; default us-east-1.
	Region string
	// AccessKeyID stands for the function's role credentials, which Lambda
	// always provides. On the local endpoint a twelve-digit key selects
	// that account. Default [DefaultAccessKeyID].
	AccessKeyID string
	// Env is the function's environment variables. A variable Lambda
	// reserves is refused, as CreateFunction refuses it.
	Env map[string]string
	// Timeout is the function's timeout, in whole seconds as Lambda's is
	// (rounded up); default 3 s, Lambda's default; at most 900 s.
	Timeout time.Duration
	// MemorySize is AWS_LAMBDA_FUNCTION_MEMORY_SIZE in MB; default 128.
	MemorySize int
	// Stdout and Stderr receive aws-lambda-rie's output, which carries the
	// function's own (its JSON log lines, START/END/REPORT lines). LogFile,
	// when set, is appended both. Nil and empty discard it.
	Stdout, Stderr io.Writer
	LogFile        string
	// LogLevel is aws-lambda-rie's own log level; default info.
	LogLevel string
}

// RIE is a function running under aws-lambda-rie on a loopback port. It
// implements [Function]; invocations run one at a time, as aws-lambda-rie
// serves only one.
type RIE struct {
	name    string
	timeout time.Duration
	url     string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	tail    *tailBuffer
	logFile *os.File

	slot   chan struct{}
	client *http.Client
	life   context.Context
	stop   context.CancelFunc
	mu     sync.Mutex // guards closed and calls.Add against Close
	closed bool
	calls  sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

var _ Function = (*RIE)(nil)

// StartRIE starts aws-lambda-rie with the bootstrap on a free loopback port
// and returns once it accepts connections. The function itself starts on
// the first invocation, as in Lambda (its init is part of that call). ctx
// bounds the start only; [RIE.Close] stops the process.
func StartRIE(ctx context.Context, opts RIEOptions) (*RIE, error) {
	if opts.Bootstrap == "" {
		return nil, errors.New("lambda: RIEOptions.Bootstrap is required")
	}
	bootstrap, err := filepath.Abs(opts.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("lambda: bootstrap: %w", err)
	}
	if !isExecutable(bootstrap) {
		return nil, fmt.Errorf("lambda: bootstrap %s is not an executable file", bootstrap)
	}
	env, err := functionEnv(opts, filepath.Dir(bootstrap))
	if err != nil {
		return nil, err
	}
	timeout, _ := strconv.Atoi(env["AWS_LAMBDA_FUNCTION_TIMEOUT"])
	if opts.Path == "" {
		if opts.Path, err = EnsureRIE(ctx); err != nil {
			return nil, err
		}
	}
	r := &RIE{
		name:    env["AWS_LAMBDA_FUNCTION_NAME"],
		timeout: time.Duration(timeout) * time.Second,
		tail:    &tailBuffer{max: 16 << 10},
		slot:    make(chan struct{}, 1),
		client:  &http.Client{Transport: &http.Transport{}},
	}
	r.life, r.stop = context.WithCancel(context.Background())
	if opts.LogFile != "" {
		if r.logFile, err = os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			return nil, fmt.Errorf("lambda: log file: %w", err)
		}
	}
	logLevel := opts.LogLevel
	if logLevel == "" {
		logLevel = "info"
	}
	// Another process may take a free port between our probe and
	// aws-lambda-rie's listen: try again with new ports.
	for attempt := 1; ; attempt++ {
		err = r.start(ctx, opts, bootstrap, logLevel, env)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			r.stop()
			if r.logFile != nil {
				r.logFile.Close()
			}
			return nil, err
		}
	}
}

var errPortTaken = errors.New("address already in use")

func (r *RIE) start(ctx context.Context, opts RIEOptions, bootstrap, logLevel string, env map[string]string) error {
	invokeAddr, err := freeAddr()
	if err != nil {
		return err
	}
	runtimeAddr, err := freeAddr()
	if err != nil {
		return err
	}
	// aws-lambda-rie listens on 0.0.0.0:8080 and 127.0.0.1:9001 unless told:
	// loopback and free ports only, so that several run side by side.
	cmd := exec.Command(opts.Path,
		"--log-level", logLevel,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", runtimeAddr,
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = make([]string, 0, len(env))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	slices.Sort(cmd.Env)
	stdout := []io.Writer{r.tail}
	stderr := []io.Writer{r.tail}
	if opts.Stdout != nil {
		stdout = append(stdout, opts.Stdout)
	}
	if opts.Stderr != nil {
		stderr = append(stderr, opts.Stderr)
	}
	if r.logFile != nil {
		stdout = append(stdout, r.logFile)
		stderr = append(stderr, r.logFile)
	}
	cmd.Stdout = io.MultiWriter(stdout...)
	cmd.Stderr = io.MultiWriter(stderr...)
	// Its own group, so Close reaches all of it; and if the test binary
	// dies, so does aws-lambda-rie (the function, blocked on the runtime
	// API, then exits by itself).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// A function orphaned by a SIGKILL may hold the output pipe open.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("lambda: start aws-lambda-rie: %w", err)
	}
	exited := make(chan struct{})
	r.cmd, r.exited = cmd, exited
	go func() {
		r.waitErr = cmd.Wait()
		close(exited)
	}()
	r.url = "http://" + invokeAddr + "/2015-03-31/functions/function/invocations"

	deadline := time.Now().Add(StartTimeout)
	for {
		conn, err := net.DialTimeout("tcp", invokeAddr, 100*time.Millisecond)
		if err == nil {
			conn.Close()
			select {
			case <-exited: // the port was someone else's
			default:
				return nil
			}
		}
		select {
		case <-exited:
			out := r.tail.String()
			if strings.Contains(out, "address already in use") {
				return fmt.Errorf("lambda: aws-lambda-rie: %w", errPortTaken)
			}
			return fmt.Errorf("lambda: aws-lambda-rie exited at start (%v):\n%s", r.waitErr, out)
		case <-ctx.Done():
			r.kill()
			return fmt.Errorf("lambda: waiting for aws-lambda-rie: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.kill()
			return fmt.Errorf("lambda: aws-lambda-rie did not listen on %s within %s:\n%s", invokeAddr, StartTimeout, r.tail.String())
		}
	}
}

// functionEnv is the whole environment of aws-lambda-rie, which passes it
// on to the function: Lambda's variables and opts.Env, nothing inherited.
func functionEnv(opts RIEOptions, taskRoot string) (map[string]string, error) {
	for k := range opts.Env {
		if slices.Contains(reservedEnv, k) {
			return nil, fmt.Errorf("lambda: Env: %s is reserved by Lambda; set it through RIEOptions", k)
		}
	}
	name := opts.FunctionName
	if name == "" {
		name = "function"
	}
	region := opts.Region
	if region == "" {
		region = DefaultRegion
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 || timeout > MaxTimeout {
		return nil, fmt.Errorf("lambda: Timeout %s is outside Lambda's 1 s to 900 s", timeout)
	}
	memory := opts.MemorySize
	if memory == 0 {
		memory = DefaultMemorySize
	}
	key := opts.AccessKeyID
	if key == "" {
		key = DefaultAccessKeyID
	}
	env := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"LAMBDA_TASK_ROOT":                taskRoot,
		"_HANDLER":                        "bootstrap",
		"AWS_REGION":                      region,
		"AWS_DEFAULT_REGION":              region,
		"AWS_LAMBDA_FUNCTION_NAME":        name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(memory),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int(math.Ceil(timeout.Seconds()))),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + strings.ReplaceAll(uuid.NewString(), "-", ""),
		"AWS_ACCESS_KEY_ID":               key,
		"AWS_SECRET_ACCESS_KEY":           "rotor-local-secret",
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	return env, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("lambda: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// PID is aws-lambda-rie's process id (and process group).
func (r *RIE) PID() int { return r.cmd.Process.Pid }

// Name is the function's name, AWS_LAMBDA_FUNCTION_NAME.
func (r *RIE) Name() string { return r.name }

// Invoke runs the function once. Calls wait for one another: aws-lambda-rie
// serves one invocation at a time. When ctx ends first, Invoke returns at
// once, but the invocation goes on in aws-lambda-rie until it ends or times
// out, and the next one waits for it, as an execution environment would be
// busy.
func (r *RIE) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	select {
	case r.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.life.Done():
		return nil, ErrClosed
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.slot
		return nil, ErrClosed
	}
	r.calls.Add(1)
	r.mu.Unlock()
	requestID := invocationFrom(ctx).RequestID
	if requestID == "" {
		requestID = uuid.NewString()
	}
	type result struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		defer r.calls.Done()
		defer func() { <-r.slot }()
		status, body, err := r.post(requestID, payload)
		done <- result{status, body, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return nil, res.err
		}
		return r.interpret(requestID, res.status, res.body)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *RIE) post(requestID string, payload []byte) (int, []byte, error) {
	// aws-lambda-rie ends a call at the function's timeout; the margin
	// covers an init and a reset, and only guards against a hung emulator.
	ctx, cancel := context.WithTimeout(r.life, r.timeout+15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amzn-RequestId", requestID)
	resp, err := r.client.Do(req)
	if err != nil {
		select {
		case <-r.exited:
			return 0, nil, fmt.Errorf("lambda: %s: aws-lambda-rie exited (%v): %w", r.name, r.waitErr, err)
		default:
		}
		if r.life.Err() != nil {
			return 0, nil, ErrClosed
		}
		return 0, nil, fmt.Errorf("lambda: %s: invoke through aws-lambda-rie: %w", r.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("lambda: %s: read aws-lambda-rie's response: %w", r.name, err)
	}
	return resp.StatusCode, body, nil
}

// timedOut is how aws-lambda-rie answers an invocation that ran out of
// time: 200 and this text, where Lambda reports a function error.
var timedOut = []byte("Task timed out after ")

func (r *RIE) interpret(requestID string, status int, body []byte) ([]byte, error) {
	switch {
	case status == http.StatusOK && bytes.HasPrefix(body, timedOut):
		return nil, &FunctionError{
			Type:    "Sandbox.Timedout",
			Message: fmt.Sprintf("RequestId: %s Error: %s", requestID, body),
		}
	case status == http.StatusOK:
		if fe, ok := parseFunctionError(body, false); ok {
			return nil, fe
		}
		return body, nil
	case status == http.StatusBadGateway:
		// The runtime crashed or exited (Runtime.ExitError), after a panic
		// it had reported or during init.
		if fe, ok := parseFunctionError(body, true); ok {
			return nil, fe
		}
		// A runtime that exits during init gets a 502 with no body, where
		// Lambda reports Runtime.ExitError; the exit status is in the output.
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, &FunctionError{
				Type:    "Runtime.ExitError",
				Message: fmt.Sprintf("RequestId: %s Error: Runtime exited during init; see the function's output", requestID),
			}
		}
	}
	return nil, fmt.Errorf("lambda: %s: aws-lambda-rie answered %d: %.300s", r.name, status, body)
}

// parseFunctionError recognizes the error body a runtime posts, which
// aws-lambda-rie returns with 200 and no header. Unless lenient, the body
// must have no other field, so that a response that merely has an
// errorType field is not taken for an error.
func parseFunctionError(body []byte, lenient bool) (*FunctionError, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return nil, false
	}
	if _, ok := fields["errorType"]; !ok {
		return nil, false
	}
	if !lenient {
		for k := range fields {
			if k != "errorType" && k != "errorMessage" && k != "stackTrace" {
				return nil, false
			}
		}
	}
	var fe FunctionError
	if json.Unmarshal(body, &fe) != nil {
		return nil, false
	}
	fe.Payload = bytes.Clone(body)
	return &fe, true
}

// Close stops aws-lambda-rie and the function: SIGTERM to its process
// group (it then kills the function and exits), SIGKILL after
// [CloseGrace]; then the function's own process group, in case
// aws-lambda-rie did not get to it. Invocations in flight end with
// [ErrClosed]. Close waits until the processes are gone.
func (r *RIE) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		r.stop()
		children := childProcesses(r.cmd.Process.Pid)
		pgid := r.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(CloseGrace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-r.exited
		}
		for _, pid := range children {
			if g, err := syscall.Getpgid(pid); err == nil && g == pid {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
		for _, pid := range children {
			if !waitGone(pid, 5*time.Second) {
				r.closeErr = fmt.Errorf("lambda: %s: function process %d still running after Close", r.name, pid)
			}
		}
		r.calls.Wait()
		r.client.CloseIdleConnections()
		if r.logFile != nil {
			if err := r.logFile.Close(); err != nil && r.closeErr == nil {
				r.closeErr = err
			}
		}
	})
	return r.closeErr
}

// kill ends a start that failed.
func (r *RIE) kill() {
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.exited
}

// childProcesses lists the processes whose parent is pid, from /proc.
func childProcesses(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(child); ok && ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// procStat reads a process's parent and state from /proc/<pid>/stat.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	return ppid, fields[0][0], err == nil
}

// alive reports whether pid is a running process (a zombie, which only
// waits for its parent to reap it, is not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	_, state, ok := procStat(pid)
	return !ok || state != 'Z'
}

func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// tailBuffer keeps the last max bytes written, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

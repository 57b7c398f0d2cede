package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
)

// echoResponse is testdata/echo's Response.
type echoResponse struct {
	Echo        json.RawMessage `json:"echo"`
	Value       string          `json:"value"`
	PID         int             `json:"pid"`
	RequestID   string          `json:"requestId"`
	FunctionARN string          `json:"functionArn"`
	DeadlineMS  int64           `json:"deadlineMs"`
}

func invokeEcho(t *testing.T, ctx context.Context, reg *Registry, arn, payload string) echoResponse {
	t.Helper()
	out, err := reg.Invoke(ctx, arn, []byte(payload))
	if err != nil {
		t.Fatalf("invoke %s: want a response, got %v", payload, err)
	}
	var resp echoResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return resp
}

func wantFunctionError(t *testing.T, err error, wantType, wantInMessage string) *FunctionError {
	t.Helper()
	var fe *FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("want a *FunctionError %s, got %v", wantType, err)
	}
	if fe.Type != wantType || !strings.Contains(fe.Message, wantInMessage) {
		t.Errorf("want %s with %q in its message, got %s: %q", wantType, wantInMessage, fe.Type, fe.Message)
	}
	return fe
}

// TestRIE runs testdata/echo, a real Lambda binary, under aws-lambda-rie.
func TestRIE(t *testing.T) {
	rie := rieTB(t)
	boot := bootstrap(t, "./testdata/echo")
	reg := NewRegistry(RegistryOptions{})
	t.Cleanup(func() { reg.Close() })
	var output syncBuffer
	start := time.Now()
	fn, err := reg.StartFunction(t.Context(), echoARN, RIEOptions{
		Path:      rie,
		Bootstrap: boot,
		Env:       map[string]string{"ECHO_VAR": "hello-from-env", "LOG_LEVEL": "debug"},
		Timeout:   time.Second,
		Stdout:    &output,
		Stderr:    &output,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("aws-lambda-rie listening after %s", time.Since(start))
	ctx := callerCtx(t.Context(), account, region)

	t.Run("payload, environment, context", func(t *testing.T) {
		start := time.Now()
		resp := invokeEcho(t, withInvocation(ctx, invocation{RequestID: "req-echo-1"}), reg, "echo", `{"echo":{"a":[1,"two"]},"print":"ECHO_VAR"}`)
		t.Logf("first invocation (with the function's init) took %s", time.Since(start))
		if string(resp.Echo) != `{"a":[1,"two"]}` || resp.Value != "hello-from-env" {
			t.Errorf("want the payload echoed and ECHO_VAR, got %s and %q", resp.Echo, resp.Value)
		}
		if resp.RequestID != "req-echo-1" {
			t.Errorf("want the request id passed to the function, got %q", resp.RequestID)
		}
		if resp.DeadlineMS <= 0 || resp.DeadlineMS > 1000 {
			t.Errorf("want a deadline within the 1 s timeout, got %d ms", resp.DeadlineMS)
		}
		if want := `{"env":"ECHO_VAR","value":"hello-from-env"}`; !eventually(2*time.Second, func() bool { return strings.Contains(output.String(), want) }) {
			t.Errorf("want the function's output line %s in the captured output, got:\n%s", want, output.String())
		}
		for name, want := range map[string]string{
			"AWS_REGION":               region,
			"AWS_DEFAULT_REGION":       region,
			"AWS_LAMBDA_FUNCTION_NAME": "echo",
			"AWS_ACCESS_KEY_ID":        account,
			"LOG_LEVEL":                "debug",
			"LAMBDA_TASK_ROOT":         strings.TrimSuffix(boot, "/bootstrap"),
			"HOME":                     "", // nothing inherited from the test
			"GOFLAGS":                  "",
		} {
			if got := invokeEcho(t, ctx, reg, echoARN, fmt.Sprintf(`{"print":%q}`, name)).Value; got != want {
				t.Errorf("want %s=%q in the function's environment, got %q", name, want, got)
			}
		}
	})

	t.Run("returned error", func(t *testing.T) {
		_, err := reg.Invoke(ctx, echoARN, []byte(`{"fail":"locked"}`))
		fe := wantFunctionError(t, err, "EchoError", "locked")
		if fe.Message != "locked" {
			t.Errorf("want errorMessage %q, got %q", "locked", fe.Message)
		}
	})

	t.Run("payload that does not decode", func(t *testing.T) {
		_, err := reg.Invoke(ctx, echoARN, []byte(`[1]`))
		wantFunctionError(t, err, "UnmarshalTypeError", "cannot unmarshal")
	})

	t.Run("panic, and the next call starts a new process", func(t *testing.T) {
		before := invokeEcho(t, ctx, reg, echoARN, `{}`).PID
		_, err := reg.Invoke(ctx, echoARN, []byte(`{"panic":"kaboom"}`))
		fe := wantFunctionError(t, err, "string", "kaboom")
		if !strings.Contains(string(fe.Body()), `"stackTrace"`) {
			t.Errorf("want the runtime's body with its stack trace, got %s", fe.Body())
		}
		if after := invokeEcho(t, ctx, reg, echoARN, `{}`).PID; after == before {
			t.Errorf("want a new process after a panic, got the same pid %d", after)
		}
	})

	t.Run("crash", func(t *testing.T) {
		_, err := reg.Invoke(ctx, echoARN, []byte(`{"exit":3}`))
		wantFunctionError(t, err, "Runtime.ExitError", "exit status 3")
		invokeEcho(t, ctx, reg, echoARN, `{}`)
	})

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		_, err := reg.Invoke(ctx, echoARN, []byte(`{"sleep":"3s"}`))
		wantFunctionError(t, err, "Sandbox.Timedout", "Task timed out after 1.00 seconds")
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Errorf("want the call ended at the 1 s timeout, got %s", d)
		}
		invokeEcho(t, ctx, reg, echoARN, `{}`)
	})

	t.Run("concurrent calls are served one at a time", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				out, err := reg.Invoke(ctx, echoARN, []byte(fmt.Sprintf(`{"echo":%d,"sleep":"20ms"}`, i)))
				if err == nil && !strings.Contains(string(out), fmt.Sprintf(`"echo":%d`, i)) {
					err = fmt.Errorf("call %d: got %s", i, out)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("want every call answered, got %v", err)
			}
		}
	})

	t.Run("an abandoned call holds the function until it ends", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := reg.Invoke(short, echoARN, []byte(`{"sleep":"400ms"}`))
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 300*time.Millisecond {
			t.Fatalf("want the caller's deadline at once, got %v after %s", err, time.Since(start))
		}
		invokeEcho(t, ctx, reg, echoARN, `{}`)
		if d := time.Since(start); d < 400*time.Millisecond {
			t.Errorf("want the next call to wait for the abandoned one (400 ms), got it after %s", d)
		}
	})

	t.Run("through the Invoke API", func(t *testing.T) {
		client := serve(t, reg, account, region)
		out, err := client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"echo":"sdk"}`)})
		if err != nil || out.FunctionError != nil || !strings.Contains(string(out.Payload), `"echo":"sdk"`) {
			t.Fatalf("want the echo, got %v, %q, %s", err, aws.ToString(out.FunctionError), out.Payload)
		}
		out, err = client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"fail":"by sdk"}`)})
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ ErrorType, ErrorMessage string }
		_ = json.Unmarshal(out.Payload, &body)
		if aws.ToString(out.FunctionError) != "Unhandled" || body.ErrorType != "EchoError" || body.ErrorMessage != "by sdk" {
			t.Errorf("want Unhandled and EchoError: by sdk, got %q and %s", aws.ToString(out.FunctionError), out.Payload)
		}
	})

	t.Run("Close leaves no process", func(t *testing.T) {
		pid := invokeEcho(t, ctx, reg, echoARN, `{}`).PID
		riePID := fn.PID()
		if !alive(pid) || !alive(riePID) {
			t.Fatalf("want the function (%d) and aws-lambda-rie (%d) running before Close", pid, riePID)
		}
		start := time.Now()
		if err := reg.Close(); err != nil {
			t.Fatalf("want Close to succeed, got %v", err)
		}
		t.Logf("Close took %s", time.Since(start))
		for what, p := range map[string]int{"the function": pid, "aws-lambda-rie": riePID} {
			if alive(p) {
				t.Errorf("want %s (pid %d) gone after Close, got it running", what, p)
			}
		}
		if _, err := fn.Invoke(ctx, []byte(`{}`)); !errors.Is(err, ErrClosed) {
			t.Errorf("want ErrClosed after Close, got %v", err)
		}
	})
}

// TestRIESideBySide: two functions under their own aws-lambda-rie run at
// once (each has its own runtime API port), and an init failure is the
// function's error, Runtime.ExitError.
func TestRIESideBySide(t *testing.T) {
	rie := rieTB(t)
	boot := bootstrap(t, "./testdata/echo")
	reg := NewRegistry(RegistryOptions{})
	defer reg.Close()
	const (
		a = "arn:aws:lambda:eu-west-1:111122223333:function:a"
		b = "arn:aws:lambda:eu-west-1:111122223333:function:b"
		c = "arn:aws:lambda:eu-west-1:111122223333:function:broken"
	)
	var output syncBuffer
	for _, arn := range []string{a, b} {
		if _, err := reg.StartFunction(t.Context(), arn, RIEOptions{Path: rie, Bootstrap: boot, Timeout: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.StartFunction(t.Context(), c, RIEOptions{Path: rie, Bootstrap: boot,
		Env: map[string]string{"ECHO_INIT_EXIT": "4"}, Stdout: &output, Stderr: &output}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, arn := range []string{a, b} {
		wg.Go(func() {
			resp := invokeEcho(t, t.Context(), reg, arn, `{"sleep":"200ms","print":"AWS_LAMBDA_FUNCTION_NAME"}`)
			if want := arn[strings.LastIndex(arn, ":")+1:]; resp.Value != want {
				t.Errorf("want function %s, got %q", want, resp.Value)
			}
		})
	}
	wg.Wait()

	_, err := reg.Invoke(t.Context(), c, []byte(`{}`))
	wantFunctionError(t, err, "Runtime.ExitError", "init")
	if !eventually(2*time.Second, func() bool { return strings.Contains(output.String(), "exit status 4") }) {
		t.Errorf("want the exit status in the output, got:\n%s", output.String())
	}
}

func TestStartRIERefuses(t *testing.T) {
	boot := bootstrap(t, "./testdata/echo")
	cases := []struct {
		name string
		opts RIEOptions
		want string
	}{
		{"no bootstrap", RIEOptions{}, "Bootstrap is required"},
		{"bootstrap missing", RIEOptions{Bootstrap: boot + ".missing"}, "not an executable file"},
		{"a variable Lambda reserves", RIEOptions{Bootstrap: boot, Env: map[string]string{"AWS_REGION": "x"}}, "AWS_REGION is reserved"},
		{"RIE's mode switch", RIEOptions{Bootstrap: boot, Env: map[string]string{"AWS_LAMBDA_MAX_CONCURRENCY": "4"}}, "AWS_LAMBDA_MAX_CONCURRENCY is reserved"},
		{"a timeout over 900 s", RIEOptions{Bootstrap: boot, Timeout: 901 * time.Second}, "outside Lambda's"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := StartRIE(t.Context(), c.opts)
			if err == nil {
				r.Close()
				t.Fatalf("want an error with %q, got a running RIE", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("want an error with %q, got %v", c.want, err)
			}
		})
	}
}

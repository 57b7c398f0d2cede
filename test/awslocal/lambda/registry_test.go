package lambda

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
)

const (
	account = "111122223333"
	region  = "eu-west-1"
	echoARN = "arn:aws:lambda:eu-west-1:111122223333:function:echo"
)

func callerCtx(ctx context.Context, account, region string) context.Context {
	return awsjson.WithCaller(ctx, awsjson.Caller{AccountID: account, Region: region})
}

func TestLookup(t *testing.T) {
	reg := NewRegistry(RegistryOptions{})
	defer reg.Close()
	echo := Handler(func(ev any) (any, error) { return ev, nil })
	reg.Register(echoARN, echo)
	reg.Register("arn:aws:lambda:us-east-1:444455556666:function:echo", Handler(func() error { return nil }))
	ctx := callerCtx(t.Context(), account, region)

	cases := []struct {
		name, lookup string
		found        bool
		wantErrCode  string // of a lookup error
	}{
		{"bare name in the caller's account and region", "echo", true, ""},
		{"name qualified with $LATEST", "echo:$LATEST", true, ""},
		{"partial ARN", "111122223333:function:echo", true, ""},
		{"full ARN", echoARN, true, ""},
		{"full ARN with $LATEST", echoARN + ":$LATEST", true, ""},
		{"region-qualified partial name", "eu-west-1:111122223333:function:echo", true, ""},
		{"another account's function by ARN", "arn:aws:lambda:us-east-1:444455556666:function:echo", true, ""},
		{"a version: not emulated", "echo:1", false, "ResourceNotFoundException"},
		{"an alias: not emulated", "echo:live", false, "ResourceNotFoundException"},
		{"unknown name", "nope", false, "ResourceNotFoundException"},
		{"another account's name by partial ARN", "444455556666:function:echo", false, "ResourceNotFoundException"},
		{"an ARN without function:", "arn:aws:lambda:eu-west-1:111122223333:echo", false, "ValidationException"},
		{"characters Lambda refuses", "echo function", false, "ValidationException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := reg.Lookup(ctx, c.lookup)
			if c.found {
				if err != nil {
					t.Fatalf("want a function, got %v", err)
				}
				if c.lookup == echoARN && f != echo {
					t.Errorf("want the registered function, got another")
				}
				return
			}
			var nf *NotFoundError
			var ae *awsjson.Error
			switch {
			case errors.As(err, &nf):
				if c.wantErrCode != "ResourceNotFoundException" {
					t.Errorf("want %s, got not found (%v)", c.wantErrCode, err)
				}
			case errors.As(err, &ae):
				if ae.Code != c.wantErrCode {
					t.Errorf("want %s, got %s", c.wantErrCode, ae.Code)
				}
			default:
				t.Errorf("want %s, got %v", c.wantErrCode, err)
			}
		})
	}
}

func TestRegisterRefusesBadARN(t *testing.T) {
	reg := NewRegistry(RegistryOptions{})
	defer reg.Close()
	for _, arn := range []string{"echo", "111122223333:function:echo", echoARN + ":$LATEST", "arn:aws:lambda:eu-west-1:1:function:x"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("want a panic for Register(%q), got none", arn)
				}
			}()
			reg.Register(arn, Handler(func() error { return nil }))
		}()
	}
}

// TestInvokeAsyncRetries: an Event invocation that keeps failing is tried
// three times in all, a minute and then two minutes apart (on a clock that
// runs fast), with one request id, and then handed to OnAsyncFailure.
func TestInvokeAsyncRetries(t *testing.T) {
	type attempt struct {
		at        time.Time
		requestID string
	}
	var (
		mu       sync.Mutex
		attempts []attempt
		failed   []string
	)
	fn := Handler(func(ctx context.Context, ev struct{ OKAt int }) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, attempt{time.Now(), invocationFrom(ctx).RequestID})
		if ev.OKAt != 0 && len(attempts) >= ev.OKAt {
			return nil
		}
		return &RotationRefused{Reason: "not yet"}
	})
	reg := NewRegistry(RegistryOptions{
		AsyncRetryDelay: 50 * time.Millisecond,
		OnAsyncFailure: func(arn string, payload []byte, err error) {
			mu.Lock()
			defer mu.Unlock()
			var fe *FunctionError
			if !errors.As(err, &fe) || fe.Type != "RotationRefused" {
				t.Errorf("want the last function error, got %v", err)
			}
			failed = append(failed, arn+" "+string(payload))
		},
	})
	defer reg.Close()
	reg.Register(echoARN, fn)
	ctx := callerCtx(t.Context(), account, region)

	start := time.Now()
	if err := reg.InvokeAsync(ctx, "echo", []byte(`{}`)); err != nil {
		t.Fatalf("want the invocation queued, got %v", err)
	}
	if err := reg.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(attempts) != 3 {
		t.Fatalf("want 3 attempts, got %d", len(attempts))
	}
	if gap1, gap2 := attempts[1].at.Sub(attempts[0].at), attempts[2].at.Sub(attempts[1].at); gap1 < 50*time.Millisecond || gap2 < 100*time.Millisecond {
		t.Errorf("want waits of 1 and 2 delays (50 ms, 100 ms), got %s and %s", gap1, gap2)
	}
	if attempts[0].requestID == "" || attempts[1].requestID != attempts[0].requestID || attempts[2].requestID != attempts[0].requestID {
		t.Errorf("want one request id for every attempt, got %q %q %q", attempts[0].requestID, attempts[1].requestID, attempts[2].requestID)
	}
	if want := echoARN + " {}"; len(failed) != 1 || failed[0] != want {
		t.Errorf("want OnAsyncFailure(%s) once, got %q", want, failed)
	}
	attempts, failed = nil, nil
	mu.Unlock()
	t.Logf("3 attempts in %s", time.Since(start))

	// Succeeds at the second attempt: no third, no failure.
	if err := reg.InvokeAsync(ctx, echoARN, []byte(`{"OKAt":2}`)); err != nil {
		t.Fatal(err)
	}
	if err := reg.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 2 || len(failed) != 0 {
		t.Errorf("want 2 attempts and no failure, got %d and %q", len(attempts), failed)
	}
}

func TestInvokeAsyncUnknownFunction(t *testing.T) {
	reg := NewRegistry(RegistryOptions{})
	defer reg.Close()
	err := reg.InvokeAsync(callerCtx(t.Context(), account, region), "nope", []byte(`{}`))
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.ARN != "arn:aws:lambda:eu-west-1:111122223333:function:nope" {
		t.Errorf("want not found for the resolved ARN, got %v", err)
	}
}

// TestCloseCancelsRetryWaits: Close does not sit out Lambda's minutes
// between retries; the invocation goes to OnAsyncFailure, and the attempt
// in flight is waited for.
func TestCloseCancelsRetryWaits(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	failed := make(chan error, 1)
	reg := NewRegistry(RegistryOptions{
		OnAsyncFailure: func(_ string, _ []byte, err error) { failed <- err },
	})
	reg.Register(echoARN, Handler(func() error {
		calls.Add(1)
		<-release
		return errors.New("failed")
	}))
	if err := reg.InvokeAsync(t.Context(), echoARN, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if !eventually(5*time.Second, func() bool { return calls.Load() == 1 }) {
		t.Fatal("want the first attempt to start")
	}
	closed := make(chan error)
	go func() { closed <- reg.Close() }()
	select {
	case <-closed:
		t.Fatal("want Close to wait for the attempt in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("want Close to succeed, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("want Close to return without waiting a minute for the retry")
	}
	if err := <-failed; !errors.Is(err, ErrRegistryClosed) {
		t.Errorf("want the dropped invocation reported with ErrRegistryClosed, got %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("want 1 attempt, got %d", n)
	}
	if err := reg.InvokeAsync(t.Context(), echoARN, []byte(`{}`)); !errors.Is(err, ErrRegistryClosed) {
		t.Errorf("want ErrRegistryClosed after Close, got %v", err)
	}
	if _, err := reg.Invoke(t.Context(), echoARN, []byte(`{}`)); !errors.Is(err, ErrRegistryClosed) {
		t.Errorf("want ErrRegistryClosed after Close, got %v", err)
	}
}

package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/smithy-go"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/motoserver"
)

// The local endpoint answers as moto does by default, so that ARNs of the
// two compare equal: this account and region, for the access key "testing".
const (
	account = motoserver.AccountID
	region  = motoserver.Region
)

// moto is one moto_server for the package's tests, started by the first
// test that needs it and stopped by TestMain.
var moto struct {
	once sync.Once
	srv  *motoserver.Server
	err  error
}

func motoServer(t *testing.T) *motoserver.Server {
	t.Helper()
	moto.once.Do(func() { moto.srv, moto.err = motoserver.Start() })
	if moto.err != nil {
		t.Fatalf("start moto_server: %v", moto.err)
	}
	return moto.srv
}

func TestMain(m *testing.M) {
	code := m.Run()
	if moto.srv != nil {
		_ = moto.srv.Stop()
	}
	os.Exit(code)
}

// local is a Service behind an awsjson router on an httptest server.
type local struct {
	svc *Service
	url string
}

func newLocal(t *testing.T, opts Options) *local {
	t.Helper()
	svc := New(opts)
	router := awsjson.NewRouter(awsjson.Identity{DefaultAccount: account, DefaultRegion: region}, nil)
	router.Register(svc.JSONService())
	srv := httptest.NewServer(router)
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
	})
	return &local{svc: svc, url: srv.URL}
}

// client is an SDK client of an endpoint. An access key of twelve digits
// is that account on the local endpoint; "testing" is the default account.
func client(url, accessKey string) *eventbridge.Client {
	return eventbridge.NewFromConfig(aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, "secret", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	})
}

func (l *local) client() *eventbridge.Client { return client(l.url, "testing") }

// as is a client of the local endpoint in another account.
func (l *local) as(acct string) *eventbridge.Client { return client(l.url, acct) }

func (l *local) drain(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := l.svc.Drain(ctx); err != nil {
		t.Fatalf("Drain: want deliveries settled, got %v", err)
	}
}

// errorCode is the modelled exception in err, "" for nil.
func errorCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "error: " + err.Error()
}

// message is one message a fake sender or invoker received.
type message struct {
	ARN  string
	Body string
}

// recorder records what it receives; fail, when set, decides per call
// whether the call fails (n counts the calls to that ARN, from 1).
type recorder struct {
	mu    sync.Mutex
	got   []message
	calls map[string]int
	fail  func(arn string, n int) error
}

func (r *recorder) record(arn, body string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[arn]++
	if r.fail != nil {
		if err := r.fail(arn, r.calls[arn]); err != nil {
			return err
		}
	}
	r.got = append(r.got, message{arn, body})
	return nil
}

// to returns the bodies received for arn, in order.
func (r *recorder) to(arn string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.got {
		if m.ARN == arn {
			out = append(out, m.Body)
		}
	}
	return out
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *recorder) callsTo(arn string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[arn]
}

// queues and functions are function-field fakes of the interfaces.
type queues struct {
	send func(ctx context.Context, queueARN, body string) error
}

func (q queues) SendFromService(ctx context.Context, queueARN, body string) error {
	return q.send(ctx, queueARN, body)
}

type functions struct {
	invoke func(ctx context.Context, functionARN string, payload []byte) error
}

func (f functions) InvokeAsync(ctx context.Context, functionARN string, payload []byte) error {
	return f.invoke(ctx, functionARN, payload)
}

func (r *recorder) queues() queues {
	return queues{send: func(_ context.Context, arn, body string) error { return r.record(arn, body) }}
}

func (r *recorder) functions() functions {
	return functions{invoke: func(_ context.Context, arn string, payload []byte) error { return r.record(arn, string(payload)) }}
}

// fakeClock is a clock whose Sleep returns at once and remembers what it
// was asked to wait: retries run without waiting, and their backoff is
// checked without timing anything.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// decodeEvent parses a delivered event.
func decodeEvent(t *testing.T, body string) eventJSON {
	t.Helper()
	var ev eventJSON
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("delivered body is not an event: %v: %s", err, body)
	}
	return ev
}

func queueARN(acct, name string) string { return "arn:aws:sqs:" + region + ":" + acct + ":" + name }

func functionARN(acct, name string) string {
	return "arn:aws:lambda:" + region + ":" + acct + ":function:" + name
}

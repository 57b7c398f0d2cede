package publish_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
)

const putEventsTarget = "AWSEvents.PutEvents"

var (
	endpoint *awslocal.Server
	ebc      *eventbridge.Client
	sqsc     *sqs.Client
	calls    = &awstest.Calls{}
	seq      atomic.Int64
)

func TestMain(m *testing.M) {
	var err error
	endpoint, err = awslocal.Start(awslocal.Options{OnCall: calls.Observe})
	if err != nil {
		fmt.Fprintln(os.Stderr, "publish tests:", err)
		os.Exit(1)
	}
	cfg := sdkConfig(endpoint.URL, awslocal.DefaultAccount)
	ebc, sqsc = eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	code := m.Run()
	if err := endpoint.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "publish tests: close:", err)
	}
	os.Exit(code)
}

// sdkConfig is a client configuration for the endpoint as the account
// accessKey names. The SDK's own retries are off, so that every attempt is
// the publisher's and can be counted.
func sdkConfig(url, accessKey string) aws.Config {
	cfg := awstest.Config(url)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(accessKey, "local", "")
	cfg.RetryMaxAttempts = 1
	return cfg
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// secretValue is the value the test events fingerprint: it must never
// show up in a log line.
const secretValue = `{"username":"app","password":"Publish-Test-Secret-1"}`

var fingerprinter = func() *events.Fingerprinter {
	fp, err := events.NewFingerprinter(bytes.Repeat([]byte("k"), events.MinFingerprintKeyLen))
	if err != nil {
		panic(err)
	}
	return fp
}()

// event is a valid Rotation Started event; i makes its version id unique.
func event(i int) events.Event {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return events.Event{
		DetailType: events.RotationStarted,
		Detail: events.Detail{
			SchemaVersion: events.SchemaVersion,
			SecretArn:     "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbC123",
			SecretName:    "app/db", Account: "123456789012", Region: "us-east-1",
			CredentialType: "postgres", Strategy: "alternating-users",
			Phase: events.PhasePrepare, Step: "createSecret",
			VersionID: fmt.Sprintf("version-%d", i), PreviousVersionID: "version-0",
			DurationMs: 12.5, Outcome: events.OutcomeSucceeded,
			Fingerprint: fingerprinter.Fingerprint([]byte(secretValue)),
			Time:        now,
		},
	}
}

func eventsN(n int) []events.Event {
	evs := make([]events.Event, n)
	for i := range evs {
		evs[i] = event(i + 1)
	}
	return evs
}

// route is a bus whose rule (source rotor) sends every event to a queue.
type route struct {
	bus, queueURL string
}

func newRoute(t testing.TB) route {
	t.Helper()
	n := seq.Add(1)
	r := route{bus: fmt.Sprintf("publish-test-%d", n)}
	if _, err := ebc.CreateEventBus(context.Background(), &eventbridge.CreateEventBusInput{Name: aws.String(r.bus)}); err != nil {
		t.Fatal(err)
	}
	var queueARN string
	r.queueURL, queueARN = awstest.Queue(t, sqsc, fmt.Sprintf("publish-test-%d", n))
	awstest.Route(t, ebc, r.bus, "rotor", `{"source":["rotor"]}`, queueARN)
	return r
}

// received drains the queue once deliveries in flight are done and
// returns the message bodies.
func (r route) received(t testing.TB) []string {
	t.Helper()
	var bodies []string
	for _, b := range awstest.Drain(t, endpoint, sqsc, r.queueURL) {
		bodies = append(bodies, string(b))
	}
	return bodies
}

// parsed parses every body with events.Parse, keyed by version id.
func parsed(t testing.TB, bodies []string) map[string]events.Event {
	t.Helper()
	got := map[string]events.Event{}
	for _, b := range bodies {
		ev, err := events.Parse([]byte(b))
		if err != nil {
			t.Fatalf("want a body events.Parse accepts, got %v:\n%s", err, b)
		}
		got[ev.Detail.VersionID] = ev
	}
	return got
}

// entryVersion is the version id in a PutEvents entry's detail.
func entryVersion(e ebtypes.PutEventsRequestEntry) string {
	var d struct {
		VersionID string `json:"versionId"`
	}
	_ = json.Unmarshal([]byte(aws.ToString(e.Detail)), &d)
	return d.VersionID
}

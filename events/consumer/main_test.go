package consumer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/events/consumer"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
)

var (
	endpoint *awslocal.Server
	smc      *sm.Client
	ebc      *eventbridge.Client
	sqsc     *sqs.Client
	// calls counts the endpoint's API calls by X-Amz-Target.
	calls = &awstest.Calls{}
	seq   atomic.Int64
)

func TestMain(m *testing.M) {
	var err error
	endpoint, err = awslocal.Start(awslocal.Options{OnCall: calls.Observe})
	if err != nil {
		fmt.Fprintln(os.Stderr, "consumer tests:", err)
		os.Exit(1)
	}
	cfg := awstest.Config(endpoint.URL)
	cfg.RetryMaxAttempts = 1
	smc, ebc, sqsc = sm.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	code := m.Run()
	if err := endpoint.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "consumer tests: close:", err)
	}
	os.Exit(code)
}

// ebEvent is an EventBridge event as a Lambda function or a queue gets it.
type ebEvent = lambdaevents.EventBridgeEvent

const (
	describeTarget = "secretsmanager.DescribeSecret"
	getValueTarget = "secretsmanager.GetSecretValue"
)

// secret is a test secret and the values of its versions.
type secret struct {
	arn, name string
	values    map[string]string // by version id
}

// newSecret creates a secret with a JSON value, returning it and the id of
// its first (AWSCURRENT) version.
func newSecret(t testing.TB) (*secret, string) {
	t.Helper()
	s := &secret{name: fmt.Sprintf("consumer-test/%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), seq.Add(1)), values: map[string]string{}}
	id, value := uuid.NewString(), newValue()
	out, err := smc.CreateSecret(context.Background(), &sm.CreateSecretInput{
		Name: aws.String(s.name), SecretString: aws.String(value), ClientRequestToken: aws.String(id),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.arn, s.values[id] = aws.ToString(out.ARN), value
	return s, id
}

// newValue is a database secret with a password that is easy to scan for.
func newValue() string {
	raw, _ := json.Marshal(map[string]any{"engine": "postgres", "username": "app", "password": "PW-" + uuid.NewString(), "host": "db", "port": 5432})
	return string(raw)
}

// pending puts a new version labelled AWSPENDING, as createSecret does.
func (s *secret) pending(t testing.TB) string {
	t.Helper()
	id, value := uuid.NewString(), newValue()
	_, err := smc.PutSecretValue(context.Background(), &sm.PutSecretValueInput{
		SecretId: aws.String(s.arn), ClientRequestToken: aws.String(id), SecretString: aws.String(value),
		VersionStages: []string{"AWSPENDING"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.values[id] = value
	return id
}

// promote moves AWSCURRENT from "from" to "to" and removes AWSPENDING, as
// finishSecret does.
func (s *secret) promote(t testing.TB, from, to string) {
	t.Helper()
	ctx := context.Background()
	if _, err := smc.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
		SecretId: aws.String(s.arn), VersionStage: aws.String("AWSCURRENT"),
		MoveToVersionId: aws.String(to), RemoveFromVersionId: aws.String(from),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := smc.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
		SecretId: aws.String(s.arn), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(to),
	}); err != nil {
		t.Fatal(err)
	}
}

// rotate is a whole rotation: a pending version, then AWSCURRENT moved.
func (s *secret) rotate(t testing.TB, from string) string {
	t.Helper()
	id := s.pending(t)
	s.promote(t, from, id)
	return id
}

// rotorEvent is a rotor event about s, as EventBridge delivers it.
func (s *secret) rotorEvent(t testing.TB, dt events.DetailType, version, previous string) ebEvent {
	t.Helper()
	d := s.detail(t, dt, version, previous)
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return ebEvent{Version: "0", ID: uuid.NewString(), DetailType: string(dt), Source: events.Source,
		AccountID: awslocal.DefaultAccount, Region: awslocal.DefaultRegion, Time: time.Now().UTC(),
		Resources: []string{s.arn}, Detail: raw}
}

func (s *secret) detail(t testing.TB, dt events.DetailType, version, previous string) events.Detail {
	t.Helper()
	phase, ok := events.PhaseOf(dt)
	if !ok {
		phase = events.PhasePrepare
	}
	d := events.Detail{
		SchemaVersion: events.SchemaVersion, SecretArn: s.arn, SecretName: s.name,
		Account: awslocal.DefaultAccount, Region: awslocal.DefaultRegion, Phase: phase,
		VersionID: version, PreviousVersionID: previous, Outcome: events.OutcomeSucceeded, Time: time.Now().UTC(),
	}
	if dt == events.ConsumerAcknowledged {
		d.Consumer, d.Instance = "someone", "someone-1"
	}
	if err := d.Validate(dt); err != nil {
		t.Fatal(err)
	}
	return d
}

// putRotorEvent publishes a rotor event on bus, as rotor's functions do.
func (s *secret) putRotorEvent(t testing.TB, bus string, dt events.DetailType, version, previous string) {
	t.Helper()
	raw, _ := json.Marshal(s.detail(t, dt, version, previous))
	putEvent(t, bus, ebtypes.PutEventsRequestEntry{
		EventBusName: aws.String(bus), Source: aws.String(events.Source), DetailType: aws.String(string(dt)),
		Detail: aws.String(string(raw)), Resources: []string{s.arn},
	})
}

func putEvent(t testing.TB, bus string, e ebtypes.PutEventsRequestEntry) {
	t.Helper()
	out, err := ebc.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{e}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents on %s: want no failed entry, got %s", bus, aws.ToString(out.Entries[0].ErrorMessage))
	}
}

// busPublisher publishes acknowledgements with PutEvents, as
// events/publish does.
type busPublisher struct{ bus string }

func (p busPublisher) Publish(ctx context.Context, evs ...events.Event) error {
	entries := make([]ebtypes.PutEventsRequestEntry, 0, len(evs))
	for _, ev := range evs {
		raw, err := json.Marshal(ev.Detail)
		if err != nil {
			return err
		}
		entries = append(entries, ebtypes.PutEventsRequestEntry{
			EventBusName: aws.String(p.bus), Source: aws.String(ev.EventSource()), DetailType: aws.String(string(ev.DetailType)),
			Detail: aws.String(string(raw)), Resources: []string{ev.Detail.SecretArn}, Time: aws.Time(ev.Time),
		})
	}
	out, err := ebc.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil {
		return err
	}
	if out.FailedEntryCount > 0 {
		return fmt.Errorf("%d entries failed", out.FailedEntryCount)
	}
	return nil
}

// recorder is a Publisher that keeps what it is given, or fails with err.
type recorder struct {
	mu  sync.Mutex
	evs []events.Event
	err error
}

func (r *recorder) Publish(_ context.Context, evs ...events.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.evs = append(r.evs, evs...)
	return nil
}

func (r *recorder) events() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Event(nil), r.evs...)
}

// newBus creates an event bus of the test's own.
func newBus(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("consumer-test-%d", seq.Add(1))
	if _, err := ebc.CreateEventBus(context.Background(), &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	return name
}

// newQueue creates a queue, returning its URL and ARN.
func newQueue(t testing.TB) (url, arn string) {
	t.Helper()
	return awstest.Queue(t, sqsc, fmt.Sprintf("consumer-test-%d", seq.Add(1)))
}

// route sends the events of bus that match pattern to target.
func route(t testing.TB, bus, pattern, target string) {
	t.Helper()
	awstest.Route(t, ebc, bus, fmt.Sprintf("rule-%d", seq.Add(1)), pattern, target)
}

// drain waits until EventBridge has delivered everything in flight.
func drain(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := endpoint.EventBridge.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

// queueDepth is the number of messages in a queue, visible or not.
func queueDepth(t testing.TB, url string) int {
	t.Helper()
	out, err := sqsc.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	var n, m int
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessages"], &n)
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessagesNotVisible"], &m)
	return n + m
}

// eventually polls cond until it holds, failing after a generous deadline
// (a hang, not a speed requirement).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("want %s, still not after 30s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logBuffer captures a logger's output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// assertNoValues fails if text holds any value (or password) of s.
func (s *secret) assertNoValues(t testing.TB, where, text string) {
	t.Helper()
	for id, v := range s.values {
		var doc struct{ Password string }
		_ = json.Unmarshal([]byte(v), &doc)
		if strings.Contains(text, v) || strings.Contains(text, doc.Password) {
			t.Errorf("want no secret value in %s, got the value of version %s", where, id)
		}
	}
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newCache builds a cache of s, failing the test on error. Its tests count
// the acknowledgements of swaps, so it leaves out the one on start
// (TestAcknowledgeOnStart checks that).
func newCache(t testing.TB, s *secret, opts consumer.Options) *consumer.Cache {
	t.Helper()
	opts.SecretID = s.arn
	opts.SkipAcknowledgeOnStart = true
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := consumer.New(context.Background(), smc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// goBackground runs f until the test ends, then cancels and waits for it.
func goBackground(t testing.TB, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && err != context.Canceled {
			t.Errorf("background loop: want context.Canceled at the end, got %v", err)
		}
	})
}

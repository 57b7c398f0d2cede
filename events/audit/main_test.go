package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rotorhq/rotor/events/audit"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
)

var (
	endpoint *awslocal.Server
	cfg      aws.Config
	ebc      *eventbridge.Client
	sqsc     *sqs.Client
	smc      *sm.Client
)

func TestMain(m *testing.M) {
	var err error
	endpoint, err = awslocal.Start(awslocal.Options{RotationBackoff: 10 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, "audit:", err)
		os.Exit(1)
	}
	cfg = awstest.Config(endpoint.URL)
	cfg.RetryMaxAttempts = 1
	ebc, sqsc, smc = eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg), sm.NewFromConfig(cfg)
	code := m.Run()
	if err := endpoint.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "audit: close the endpoint:", err)
	}
	os.Exit(code)
}

var seq atomic.Int64

// unique makes bus, queue and secret names unique, so that -count=N runs.
func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

// waitCtx bounds a wait for something asynchronous: a failure to happen
// within it is a failure, never a measurement.
func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// sink is a Writer and a Consumer running in the background.
type sink struct {
	t        *testing.T
	path     string
	queueURL string
	w        *audit.Writer
	cancel   context.CancelFunc
	done     chan error

	mu      sync.Mutex
	results []audit.Result
	changed chan struct{}
}

// startSink opens the file and consumes the queue through api.
func startSink(t *testing.T, api audit.SQSAPI, path, queueURL string) *sink {
	t.Helper()
	w, err := audit.Open(path, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sink{t: t, path: path, queueURL: queueURL, w: w, cancel: cancel, done: make(chan error, 1), changed: make(chan struct{})}
	c := &audit.Consumer{API: api, QueueURL: queueURL, Writer: w, OnBatch: s.observe}
	if f, ok := api.(*flakySQS); ok {
		f.cancel = cancel
	}
	go func() { s.done <- c.Run(ctx) }()
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *sink) observe(results []audit.Result, _ int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, results...)
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor waits until cond holds of every result so far.
func (s *sink) waitFor(what string, cond func([]audit.Result) bool) {
	s.t.Helper()
	ctx := waitCtx(s.t)
	for {
		s.mu.Lock()
		ok, changed := cond(s.results), s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case err := <-s.done:
			s.done <- err
			s.t.Fatalf("waiting for %s: the consumer stopped: %v", what, err)
		case <-ctx.Done():
			s.t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}

// waitWritten waits until the keys have been written.
func (s *sink) waitWritten(keys ...string) {
	s.t.Helper()
	s.waitFor(fmt.Sprintf("%d events written", len(keys)), func(rs []audit.Result) bool {
		written := map[string]bool{}
		for _, r := range rs {
			if !r.Duplicate {
				written[r.Key] = true
			}
		}
		for _, k := range keys {
			if !written[k] {
				return false
			}
		}
		return true
	})
}

// stop stops the consumer, wants it to stop cleanly, and closes the file.
func (s *sink) stop() error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	s.cancel = nil
	err := <-s.done
	if err != nil {
		s.t.Errorf("want the consumer to stop cleanly, got %v", err)
	}
	return s.w.Close()
}

// subscribe makes a new bus (and queue) for a test.
func subscribe(t *testing.T, buses ...string) (queueURL string) {
	t.Helper()
	url, err := audit.Subscribe(t.Context(), ebc, sqsc, audit.Subscription{Buses: buses, QueueName: unique("audit"), CreateBuses: true})
	if err != nil {
		t.Fatal(err)
	}
	return url
}

func setVisibility(t *testing.T, queueURL string, seconds int) {
	t.Helper()
	if _, err := sqsc.SetQueueAttributes(t.Context(), &sqs.SetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), Attributes: map[string]string{"VisibilityTimeout": fmt.Sprint(seconds)},
	}); err != nil {
		t.Fatal(err)
	}
}

// putEvents puts envelopes' source, detail-type and detail on the bus and
// returns the ids EventBridge gave them.
func putEvents(t *testing.T, bus string, bodies ...[]byte) []string {
	t.Helper()
	var entries []ebtypes.PutEventsRequestEntry
	for _, b := range bodies {
		var env struct {
			Source     string          `json:"source"`
			DetailType string          `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, ebtypes.PutEventsRequestEntry{
			EventBusName: aws.String(bus), Source: aws.String(env.Source),
			DetailType: aws.String(env.DetailType), Detail: aws.String(string(env.Detail)),
		})
	}
	out, err := ebc.PutEvents(t.Context(), &eventbridge.PutEventsInput{Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount > 0 {
		t.Fatalf("PutEvents: want every entry accepted, got %d failed: %+v", out.FailedEntryCount, out.Entries)
	}
	var ids []string
	for _, e := range out.Entries {
		ids = append(ids, aws.ToString(e.EventId))
	}
	return ids
}

// queueEmpty wants no message left on the queue, visible or in flight.
func queueEmpty(t *testing.T, queueURL string) {
	t.Helper()
	out, err := sqsc.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range out.Attributes {
		if v != "0" {
			t.Fatalf("want every message deleted, got %s %s", k, v)
		}
	}
}

// linesByID returns the file's lines by id, failing on a repeated id.
func linesByID(t *testing.T, path string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, l := range readLines(t, path) {
		id, _ := l["id"].(string)
		if _, dup := out[id]; dup {
			t.Fatalf("want one line per event id, got %s twice", id)
		}
		out[id] = l
	}
	return out
}

func fixtures(t *testing.T) [][]byte {
	var out [][]byte
	for _, name := range []string{"rotation-started", "rotation-pending-set", "rotation-tested", "rotation-completed",
		"consumer-acknowledged", "credential-deactivated", "rotation-failed", "rotation-rolled-back"} {
		out = append(out, fixture(t, name))
	}
	return out
}

func keysOf(lines map[string]map[string]any) string {
	var ks []string
	for k := range lines {
		ks = append(ks, k)
	}
	return strings.Join(ks, ",")
}

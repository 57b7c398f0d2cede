package publish_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/events/publish"
	"github.com/rotorhq/rotor/shared/metrics"
	"github.com/rotorhq/rotor/test/awslocal"
)

// injector passes PutEvents calls on to the endpoint and records the
// version ids of each call's entries. The entries drop names it keeps from
// the endpoint and answers with InternalFailure, which PutEvents' reference
// lists as a per-entry error to retry: the endpoint never fails an entry
// that way, and AWS may.
type injector struct {
	next publish.PutEventsAPI
	drop func(call int, version string) bool

	mu    sync.Mutex
	calls [][]string
}

func (f *injector) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	versions := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		versions[i] = entryVersion(e)
	}
	f.mu.Lock()
	f.calls = append(f.calls, versions)
	call := len(f.calls)
	f.mu.Unlock()

	fwd := &eventbridge.PutEventsInput{EndpointId: in.EndpointId}
	var sent []int
	results := make([]ebtypes.PutEventsResultEntry, len(in.Entries))
	out := &eventbridge.PutEventsOutput{}
	for i, e := range in.Entries {
		if f.drop != nil && f.drop(call, versions[i]) {
			results[i] = ebtypes.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("injected")}
			out.FailedEntryCount++
			continue
		}
		fwd.Entries = append(fwd.Entries, e)
		sent = append(sent, i)
	}
	if len(fwd.Entries) > 0 {
		real, err := f.next.PutEvents(ctx, fwd, optFns...)
		if err != nil {
			return nil, err
		}
		for j, r := range real.Entries {
			results[sent[j]] = r
		}
		out.FailedEntryCount += real.FailedEntryCount
	}
	out.Entries = results
	return out, nil
}

func (f *injector) recorded() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// logLines decodes the JSON log lines with the message msg.
func logLines(t *testing.T, logs string, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("want JSON log lines, got %q", sc.Text())
		}
		if msg == "" || line["msg"] == msg {
			out = append(out, line)
		}
	}
	return out
}

// checkNoValue fails when the text holds the secret value, or anything of
// an event's detail that is only in the detail (its fingerprint): the
// publisher logs names, ids and codes, never a detail.
func checkNoValue(t *testing.T, what, text string) {
	t.Helper()
	for _, bad := range []string{secretValue, "Publish-Test-Secret-1", fingerprinter.Fingerprint([]byte(secretValue))} {
		if strings.Contains(text, bad) {
			t.Errorf("want no secret value or detail in the %s, found %q in:\n%s", what, bad, text)
		}
	}
}

func TestPublishDeliversTheEvent(t *testing.T) {
	r := newRoute(t)
	logs := &syncBuffer{}
	p, err := publish.New(ebc, publish.Options{BusName: r.bus, Logger: newLogger(logs)})
	if err != nil {
		t.Fatal(err)
	}
	ev := event(1)
	before := calls.Get(putEventsTarget)
	if err := p.Publish(t.Context(), ev); err != nil {
		t.Fatalf("want the event published, got %v", err)
	}
	if got := calls.Get(putEventsTarget) - before; got != 1 {
		t.Errorf("want 1 PutEvents call, got %d", got)
	}
	bodies := r.received(t)
	if len(bodies) != 1 {
		t.Fatalf("want 1 message on the queue, got %d", len(bodies))
	}
	got, err := events.Parse([]byte(bodies[0]))
	if err != nil {
		t.Fatalf("want a body events.Parse accepts, got %v", err)
	}
	if got.DetailType != ev.DetailType {
		t.Errorf("want detail type %q, got %q", ev.DetailType, got.DetailType)
	}
	if !got.Detail.Time.Equal(ev.Detail.Time) {
		t.Errorf("want detail time %s, got %s", ev.Detail.Time, got.Detail.Time)
	}
	got.Detail.Time = ev.Detail.Time
	if !reflect.DeepEqual(got.Detail, ev.Detail) {
		t.Errorf("want the detail back as sent\nwant %+v\ngot  %+v", ev.Detail, got.Detail)
	}
	var env struct {
		Source    string    `json:"source"`
		Resources []string  `json:"resources"`
		Time      time.Time `json:"time"`
		Account   string    `json:"account"`
	}
	if err := json.Unmarshal([]byte(bodies[0]), &env); err != nil {
		t.Fatal(err)
	}
	if env.Source != events.Source || !slices.Equal(env.Resources, []string{ev.Detail.SecretArn}) {
		t.Errorf("want source %q and resources [%s], got %q and %v", events.Source, ev.Detail.SecretArn, env.Source, env.Resources)
	}
	if want := ev.Detail.Time.Truncate(time.Second); !env.Time.Equal(want) {
		t.Errorf("want the envelope's time %s (the event's, to the second), got %s", want, env.Time)
	}
	if want := (publish.Stats{Published: 1, Calls: 1}); p.Stats() != want {
		t.Errorf("want stats %+v, got %+v", want, p.Stats())
	}
	checkNoValue(t, "log", logs.String())
	checkNoValue(t, "published event", strings.Replace(bodies[0], ev.Detail.Fingerprint, "", 1))
}

// bigEvent is an event of about 62 KB: four fit in a call, five do not.
func bigEvent(i int) events.Event {
	ev := event(i)
	ev.DetailType, ev.Detail.Phase = events.CredentialDeactivated, events.PhaseDeactivate
	ev.Detail.Outcome = events.OutcomeGraceExpired
	for j := range 600 {
		ev.Detail.Unacknowledged = append(ev.Detail.Unacknowledged, fmt.Sprintf("consumer-%04d-%s", j, strings.Repeat("x", 85)))
	}
	return ev
}

func TestPublishBatches(t *testing.T) {
	cases := []struct {
		name      string
		events    func() []events.Event
		wantSizes []int // entries per PutEvents call
	}{
		{"one event", func() []events.Event { return eventsN(1) }, []int{1}},
		{"ten events in one call", func() []events.Event { return eventsN(10) }, []int{10}},
		{"twenty-five events in calls of ten", func() []events.Event { return eventsN(25) }, []int{10, 10, 5}},
		{"large events within 256 KB a call", func() []events.Event {
			evs := make([]events.Event, 9)
			for i := range evs {
				evs[i] = bigEvent(i + 1)
			}
			return evs
		}, []int{4, 4, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRoute(t)
			inj := &injector{next: ebc}
			p, err := publish.New(inj, publish.Options{BusName: r.bus})
			if err != nil {
				t.Fatal(err)
			}
			evs := c.events()
			before := calls.Get(putEventsTarget)
			if err := p.Publish(t.Context(), evs...); err != nil {
				t.Fatalf("want every event published, got %v", err)
			}
			var sizes []int
			for _, call := range inj.recorded() {
				sizes = append(sizes, len(call))
			}
			if !slices.Equal(sizes, c.wantSizes) {
				t.Errorf("want calls of %v entries, got %v", c.wantSizes, sizes)
			}
			if got := calls.Get(putEventsTarget) - before; got != len(c.wantSizes) {
				t.Errorf("want %d PutEvents calls at the endpoint, got %d", len(c.wantSizes), got)
			}
			got := parsed(t, r.received(t))
			for _, ev := range evs {
				if _, ok := got[ev.Detail.VersionID]; !ok {
					t.Errorf("want %s on the queue, missing", ev.Detail.VersionID)
				}
			}
			if len(got) != len(evs) {
				t.Errorf("want %d events on the queue, got %d", len(evs), len(got))
			}
			want := publish.Stats{Published: int64(len(evs)), Calls: int64(len(c.wantSizes))}
			if p.Stats() != want {
				t.Errorf("want stats %+v, got %+v", want, p.Stats())
			}
		})
	}
}

// TestFailedEntries: only failed entries are sent again, and only while
// sending again can help; what is still failed after the last attempt is
// logged, counted and returned as ErrNotPublished, and the rest is
// published all the same.
func TestFailedEntries(t *testing.T) {
	const otherAccount = "222222222222"
	otherBus := fmt.Sprintf("arn:aws:events:%s:%s:event-bus/central", awslocal.DefaultRegion, otherAccount)
	if _, err := eventbridge.NewFromConfig(sdkConfig(endpoint.URL, otherAccount)).CreateEventBus(t.Context(),
		&eventbridge.CreateEventBusInput{Name: aws.String("central")}); err != nil {
		t.Fatal(err)
	}
	invalid := event(2)
	invalid.Detail.SecretName = ""

	type want struct {
		calls     [][]string
		missed    []string // version ids
		code      string
		published []string // version ids on the queue
		stats     publish.Stats
	}
	cases := []struct {
		name   string
		bus    string // default: the route's
		events []events.Event
		drop   func(call int, version string) bool
		want   want
	}{
		{
			name:   "an entry failed once is sent again alone",
			events: eventsN(3),
			drop:   func(call int, v string) bool { return call == 1 && v == "version-2" },
			want: want{
				calls:     [][]string{{"version-1", "version-2", "version-3"}, {"version-2"}},
				published: []string{"version-1", "version-2", "version-3"},
				stats:     publish.Stats{Published: 3, Retried: 1, Calls: 2},
			},
		},
		{
			name:   "an entry that fails every time is missed after the last attempt",
			events: eventsN(3),
			drop:   func(_ int, v string) bool { return v == "version-2" },
			want: want{
				calls:     [][]string{{"version-1", "version-2", "version-3"}, {"version-2"}, {"version-2"}},
				missed:    []string{"version-2"},
				code:      "InternalFailure",
				published: []string{"version-1", "version-3"},
				stats:     publish.Stats{Published: 2, Missed: 1, Retried: 2, Calls: 3},
			},
		},
		{
			name:   "entries refused for good are not sent again",
			bus:    otherBus, // another account's bus, without permission
			events: eventsN(2),
			want: want{
				calls:  [][]string{{"version-1", "version-2"}},
				missed: []string{"version-1", "version-2"},
				code:   "AccessDeniedException",
				stats:  publish.Stats{Missed: 2, Calls: 1},
			},
		},
		{
			name:   "a bus that does not exist fails the call for good",
			bus:    "no-such-bus",
			events: eventsN(2),
			want: want{
				calls:  [][]string{{"version-1", "version-2"}},
				missed: []string{"version-1", "version-2"},
				code:   "ResourceNotFoundException",
				stats:  publish.Stats{Missed: 2, Calls: 1},
			},
		},
		{
			name:   "an invalid event is not sent",
			events: []events.Event{event(1), invalid},
			want: want{
				calls:     [][]string{{"version-1"}},
				missed:    []string{"version-2"},
				code:      publish.CodeInvalidEvent,
				published: []string{"version-1"},
				stats:     publish.Stats{Published: 1, Missed: 1, Calls: 1},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRoute(t)
			bus := c.bus
			if bus == "" {
				bus = r.bus
			}
			logs, metricsOut := &syncBuffer{}, &syncBuffer{}
			inj := &injector{next: ebc, drop: c.drop}
			p, err := publish.New(inj, publish.Options{
				BusName: bus, Backoff: time.Millisecond, Logger: newLogger(logs),
				Metrics: metrics.New(metricsOut, metrics.Namespace),
			})
			if err != nil {
				t.Fatal(err)
			}
			err = p.Publish(t.Context(), c.events...)

			if got := inj.recorded(); !reflect.DeepEqual(got, c.want.calls) {
				t.Errorf("want calls %v, got %v", c.want.calls, got)
			}
			if p.Stats() != c.want.stats {
				t.Errorf("want stats %+v, got %+v", c.want.stats, p.Stats())
			}
			var published []string
			for v := range parsed(t, r.received(t)) {
				published = append(published, v)
			}
			slices.Sort(published)
			if !slices.Equal(published, c.want.published) {
				t.Errorf("want %v on the queue, got %v", c.want.published, published)
			}

			if len(c.want.missed) == 0 {
				if err != nil {
					t.Fatalf("want nil, got %v", err)
				}
				return
			}
			if !errors.Is(err, publish.ErrNotPublished) {
				t.Fatalf("want ErrNotPublished, got %v", err)
			}
			var npe *publish.NotPublishedError
			if !errors.As(err, &npe) {
				t.Fatalf("want a *NotPublishedError, got %T", err)
			}
			var missed []string
			for _, m := range npe.Misses {
				missed = append(missed, m.VersionID)
				if m.Code != c.want.code {
					t.Errorf("want code %s for %s, got %s", c.want.code, m.VersionID, m.Code)
				}
			}
			if !slices.Equal(missed, c.want.missed) {
				t.Errorf("want misses %v, got %v", c.want.missed, missed)
			}
			if c.want.code == publish.CodeInvalidEvent {
				var ve *events.ValidationError
				if !errors.As(err, &ve) || ve.Field != "secretName" {
					t.Errorf("want the validation error naming secretName, got %v", err)
				}
			}

			lines := logLines(t, logs.String(), "rotor event not published")
			if len(lines) != len(c.want.missed) {
				t.Fatalf("want %d log lines for the misses, got %d:\n%s", len(c.want.missed), len(lines), logs.String())
			}
			for i, line := range lines {
				wantLine := map[string]any{
					"detail_type": string(c.events[0].DetailType), "version_id": c.want.missed[i],
					"error_code": c.want.code, "event_bus": bus,
				}
				if c.want.code != publish.CodeInvalidEvent {
					wantLine["secret_name"] = "app/db"
				}
				for k, v := range wantLine {
					if line[k] != v {
						t.Errorf("want %s=%v in the log line, got %v", k, v, line[k])
					}
				}
			}
			emitted := logLines(t, metricsOut.String(), "")
			n := 0
			for _, m := range emitted {
				if m[publish.MetricNotPublished] == 1.0 && m[publish.DimensionSecretName] != nil {
					n++
				}
			}
			if n != len(c.want.missed) {
				t.Errorf("want %d %s metric lines, got %d:\n%s", len(c.want.missed), publish.MetricNotPublished, n, metricsOut.String())
			}
			checkNoValue(t, "log", logs.String())
			checkNoValue(t, "error", err.Error())
		})
	}
}

// TestTransportErrors: with the endpoint gone, every attempt fails to
// connect; the publisher tries MaxAttempts times and reports the miss.
func TestTransportErrors(t *testing.T) {
	gone, err := awslocal.Start(awslocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	url := gone.URL
	if err := gone.Close(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	p, err := publish.New(eventbridge.NewFromConfig(sdkConfig(url, awslocal.DefaultAccount)), publish.Options{
		BusName: "default", MaxAttempts: 3, Backoff: time.Millisecond, Logger: newLogger(logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Publish(t.Context(), event(1))
	if !errors.Is(err, publish.ErrNotPublished) {
		t.Fatalf("want ErrNotPublished, got %v", err)
	}
	var npe *publish.NotPublishedError
	if !errors.As(err, &npe) || len(npe.Misses) != 1 || npe.Misses[0].Code != publish.CodeTransport {
		t.Fatalf("want one miss with code %s, got %v", publish.CodeTransport, err)
	}
	if want := (publish.Stats{Missed: 1, Retried: 2, Calls: 3}); p.Stats() != want {
		t.Errorf("want stats %+v, got %+v", want, p.Stats())
	}
	if lines := logLines(t, logs.String(), "rotor event not published"); len(lines) != 1 || lines[0]["error_code"] != publish.CodeTransport {
		t.Errorf("want one log line for the miss with error_code %s, got %v", publish.CodeTransport, lines)
	}
	checkNoValue(t, "log", logs.String())
}

// TestCancelledContextEndsRetries: a publish whose context ends sends
// nothing again (the backoff here is an hour) and reports the miss with the
// entry's last error code.
func TestCancelledContextEndsRetries(t *testing.T) {
	r := newRoute(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	inj := &injector{next: ebc, drop: func(int, string) bool { cancel(); return true }}
	p, err := publish.New(inj, publish.Options{BusName: r.bus, Backoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Publish(ctx, event(1))
	var npe *publish.NotPublishedError
	if !errors.As(err, &npe) || len(npe.Misses) != 1 || npe.Misses[0].Code != "InternalFailure" {
		t.Fatalf("want one miss with code InternalFailure, got %v", err)
	}
	if got := len(inj.recorded()); got != 1 {
		t.Errorf("want 1 call, got %d", got)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	valid := publish.Options{BusName: "rotor-events"}
	cases := []struct {
		name  string
		api   publish.PutEventsAPI
		tweak func(*publish.Options)
		field string
	}{
		{name: "valid", tweak: func(*publish.Options) {}},
		{name: "bus ARN", tweak: func(o *publish.Options) {
			o.BusName = "arn:aws:events:eu-west-1:111122223333:event-bus/central"
		}},
		{name: "no bus", field: "BusName", tweak: func(o *publish.Options) { o.BusName = "" }},
		{name: "bus name with a space", field: "BusName", tweak: func(o *publish.Options) { o.BusName = "rotor events" }},
		{name: "bus ARN of another service", field: "BusName", tweak: func(o *publish.Options) {
			o.BusName = "arn:aws:sqs:eu-west-1:111122223333:queue"
		}},
		{name: "negative attempts", field: "MaxAttempts", tweak: func(o *publish.Options) { o.MaxAttempts = -1 }},
		{name: "negative backoff", field: "Backoff", tweak: func(o *publish.Options) { o.Backoff = -time.Second }},
		{name: "no client", field: "api", api: publish.PutEventsAPI(nil), tweak: func(*publish.Options) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := valid
			c.tweak(&opts)
			api := c.api
			if api == nil && c.field != "api" {
				api = ebc
			}
			p, err := publish.New(api, opts)
			if c.field == "" {
				if err != nil || p == nil {
					t.Fatalf("want a publisher, got %v", err)
				}
				return
			}
			var oe *publish.OptionError
			if !errors.As(err, &oe) || oe.Field != c.field {
				t.Fatalf("want an *OptionError naming %s, got %v", c.field, err)
			}
		})
	}
}

// TestNilPublisher: a nil publisher is events off.
func TestNilPublisher(t *testing.T) {
	var p *publish.Publisher
	if err := p.Publish(context.Background(), event(1)); err != nil {
		t.Errorf("want nil from a nil publisher, got %v", err)
	}
	if p.Stats() != (publish.Stats{}) {
		t.Errorf("want zero stats, got %+v", p.Stats())
	}
}

// BenchmarkPublish publishes one event a call through the endpoint, and
// reports the PutEvents calls it took.
func BenchmarkPublish(b *testing.B) {
	r := newRoute(b)
	p, err := publish.New(ebc, publish.Options{BusName: r.bus})
	if err != nil {
		b.Fatal(err)
	}
	ev := event(1)
	ctx := context.Background()
	before := calls.Get(putEventsTarget)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Publish(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(calls.Get(putEventsTarget)-before)/float64(b.N), "PutEvents/op")
	b.StopTimer()
	_ = r.received(b)
}

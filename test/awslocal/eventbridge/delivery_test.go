package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// putRule creates a rule with targets on the client's account.
func putRule(t *testing.T, c *eventbridge.Client, busName, name, pattern string, targets ...types.Target) {
	t.Helper()
	ctx := t.Context()
	in := &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(pattern)}
	if busName != "" {
		in.EventBusName = aws.String(busName)
	}
	if _, err := c.PutRule(ctx, in); err != nil {
		t.Fatalf("PutRule %s: want success, got %v", name, err)
	}
	if len(targets) == 0 {
		return
	}
	out, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: in.EventBusName, Targets: targets})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets %s: want success, got %v (%+v)", name, err, out)
	}
}

// putEvent puts one event and returns its id.
func putEvent(t *testing.T, c *eventbridge.Client, busName, source, detailType, detail string) string {
	t.Helper()
	e := types.PutEventsRequestEntry{Source: aws.String(source), DetailType: aws.String(detailType), Detail: aws.String(detail)}
	if busName != "" {
		e.EventBusName = aws.String(busName)
	}
	out, err := c.PutEvents(t.Context(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{e}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: want success, got %v (%+v)", err, out)
	}
	return aws.ToString(out.Entries[0].EventId)
}

func tgt(id, arn string) types.Target { return types.Target{Id: aws.String(id), Arn: aws.String(arn)} }

func TestDeliveryToQueueAndFunction(t *testing.T) {
	rec := &recorder{}
	l := newLocal(t, Options{Queues: rec.queues(), Lambda: rec.functions()})
	c := l.client()
	q, fn := queueARN(account, "orders"), functionARN(account, "consumer")
	putRule(t, c, "", "orders", `{"source": ["app.orders"], "detail": {"state": ["paid"]}}`,
		tgt("queue", q), tgt("function", fn))
	putRule(t, c, "", "unrelated", `{"source": ["app.other"]}`, tgt("other", queueARN(account, "other")))

	id := putEvent(t, c, "", "app.orders", "Order Paid", `{"state": "paid", "amount": 12.5, "note": "<b>&"}`)
	putEvent(t, c, "", "app.orders", "Order Paid", `{"state": "open"}`)
	l.drain(t)

	for _, arn := range []string{q, fn} {
		got := rec.to(arn)
		if len(got) != 1 {
			t.Fatalf("%s: want 1 event, got %d: %q", arn, len(got), got)
		}
		ev := decodeEvent(t, got[0])
		want := eventJSON{
			Version: "0", ID: id, DetailType: "Order Paid", Source: "app.orders", Account: account,
			Time: ev.Time, Region: region, Resources: []string{},
			Detail: json.RawMessage(`{"state":"paid","amount":12.5,"note":"<b>&"}`),
		}
		if !reflect.DeepEqual(ev, want) {
			t.Errorf("%s: want event %+v, got %+v", arn, want, ev)
		}
		if _, err := time.Parse("2006-01-02T15:04:05Z", ev.Time); err != nil {
			t.Errorf("time: want AWS's format, got %q", ev.Time)
		}
	}
	if got := rec.to(queueARN(account, "other")); len(got) != 0 {
		t.Errorf("a rule that does not match: want nothing delivered, got %q", got)
	}
}

func TestDeliveryInputShapes(t *testing.T) {
	rec := &recorder{}
	l := newLocal(t, Options{Queues: rec.queues(), Lambda: rec.functions()})
	c := l.client()
	tmpl := `{"order": <id>, "text": "order <id> is <state>", "missing": <nope>, "rule": "<aws.events.rule-name>"}`
	putRule(t, c, "", "shapes", `{"source": ["app.orders"]}`,
		types.Target{Id: aws.String("input"), Arn: aws.String(queueARN(account, "input")), Input: aws.String(`{"fixed": true}`)},
		types.Target{Id: aws.String("path"), Arn: aws.String(queueARN(account, "path")), InputPath: aws.String("$.detail.items[1]")},
		types.Target{Id: aws.String("transformer"), Arn: aws.String(functionARN(account, "t")), InputTransformer: &types.InputTransformer{
			InputPathsMap: map[string]string{"id": "$.detail.id", "state": "$.detail.state", "nope": "$.detail.nope"},
			InputTemplate: aws.String(tmpl),
		}},
	)
	putEvent(t, c, "", "app.orders", "Order", `{"id": 42, "state": "paid", "items": ["a", {"sku": "b"}]}`)
	l.drain(t)
	cases := []struct{ arn, want string }{
		{queueARN(account, "input"), `{"fixed": true}`},
		{queueARN(account, "path"), `{"sku":"b"}`},
		{functionARN(account, "t"), `{"order": 42, "text": "order 42 is paid", "missing": null, "rule": "shapes"}`},
	}
	for _, tc := range cases {
		got := rec.to(tc.arn)
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: want [%s], got %q", tc.arn, tc.want, got)
		}
	}
}

func TestRetryThenDeadLetter(t *testing.T) {
	broken, dlq := queueARN(account, "broken"), queueARN(account, "dlq")
	rec := &recorder{fail: func(arn string, _ int) error {
		if arn == broken {
			return errors.New("queue unavailable")
		}
		return nil
	}}
	clk := newFakeClock()
	l := newLocal(t, Options{Clock: clk, Queues: rec.queues(), RetryAttempts: 2, RetryBackoff: 10 * time.Second})
	c := l.client()
	putRule(t, c, "", "r", `{"source": ["app"]}`, types.Target{
		Id: aws.String("t"), Arn: aws.String(broken), Input: aws.String(`"transformed"`),
		DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlq)},
	})
	id := putEvent(t, c, "", "app", "X", `{}`)
	l.drain(t)

	if got := rec.callsTo(broken); got != 3 {
		t.Errorf("attempts: want 3 (1 + 2 retries), got %d", got)
	}
	if got, want := clk.slept(), []time.Duration{10 * time.Second, 20 * time.Second}; !reflect.DeepEqual(got, want) {
		t.Errorf("backoff: want %v, got %v", want, got)
	}
	got := rec.to(dlq)
	if len(got) != 1 {
		t.Fatalf("dead-letter queue: want 1 message, got %q", got)
	}
	// The dead-letter queue gets the event as received, not the target's
	// input.
	if ev := decodeEvent(t, got[0]); ev.ID != id || ev.Source != "app" {
		t.Errorf("dead-letter message: want event %s from app, got %+v", id, ev)
	}
}

func TestRetrySucceeds(t *testing.T) {
	flaky := functionARN(account, "flaky")
	rec := &recorder{fail: func(_ string, n int) error {
		if n <= 2 {
			return errors.New("throttled")
		}
		return nil
	}}
	clk := newFakeClock()
	l := newLocal(t, Options{Clock: clk, Lambda: rec.functions(), Queues: rec.queues()})
	c := l.client()
	putRule(t, c, "", "r", `{"source": ["app"]}`, types.Target{
		Id: aws.String("t"), Arn: aws.String(flaky), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(queueARN(account, "dlq"))},
	})
	putEvent(t, c, "", "app", "X", `{}`)
	l.drain(t)
	if got := rec.callsTo(flaky); got != 3 {
		t.Errorf("attempts: want 3, got %d", got)
	}
	if got := len(rec.to(flaky)); got != 1 {
		t.Errorf("deliveries: want 1, got %d", got)
	}
	if got := rec.to(queueARN(account, "dlq")); len(got) != 0 {
		t.Errorf("dead-letter queue: want nothing, got %q", got)
	}
	if got, want := clk.slept(), []time.Duration{DefaultRetryBackoff, 2 * DefaultRetryBackoff}; !reflect.DeepEqual(got, want) {
		t.Errorf("default backoff: want %v, got %v", want, got)
	}
}

func TestRetryPolicyOfTarget(t *testing.T) {
	cases := []struct {
		name   string
		policy *types.RetryPolicy
		want   int
	}{
		{"no retries", &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)}, 1},
		{"one retry", &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(1)}, 2},
		// 60 s of event age at most; the backoff is 50 s: one retry fits.
		{"event age", &types.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(60)}, 2},
		{"the service default", nil, 1 + DefaultRetryAttempts},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			arn := queueARN(account, "broken")
			rec := &recorder{fail: func(string, int) error { return errors.New("down") }}
			l := newLocal(t, Options{Clock: newFakeClock(), Queues: rec.queues(), RetryBackoff: 50 * time.Second})
			putRule(t, l.client(), "", "r", `{"source": ["app"]}`, types.Target{Id: aws.String("t"), Arn: aws.String(arn), RetryPolicy: tc.policy})
			putEvent(t, l.client(), "", "app", "X", `{}`)
			l.drain(t)
			if got := rec.callsTo(arn); got != tc.want {
				t.Errorf("attempts: want %d, got %d", tc.want, got)
			}
		})
	}
}

func TestMissingInvokersFailAtOnce(t *testing.T) {
	rec := &recorder{}
	// Queues only: a Lambda target fails without retry, to its dead-letter queue.
	l := newLocal(t, Options{Clock: newFakeClock(), Queues: rec.queues()})
	dlq := queueARN(account, "dlq")
	putRule(t, l.client(), "", "r", `{"source": ["app"]}`,
		types.Target{Id: aws.String("fn"), Arn: aws.String(functionARN(account, "f")), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlq)}},
		types.Target{Id: aws.String("sns"), Arn: aws.String("arn:aws:sns:us-east-1:123456789012:topic"), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlq)}},
	)
	putEvent(t, l.client(), "", "app", "X", `{}`)
	l.drain(t)
	if got := rec.to(dlq); len(got) != 2 {
		t.Errorf("dead-letter queue: want 2 events (Lambda not configured, SNS not emulated), got %d", len(got))
	}
}

func TestCrossAccountBusForwarding(t *testing.T) {
	const accountA, accountB = "111111111111", "222222222222"
	rec := &recorder{}
	l := newLocal(t, Options{Clock: newFakeClock(), Queues: rec.queues(), RetryAttempts: -1})
	a, b := l.as(accountA), l.as(accountB)
	central := "arn:aws:events:" + region + ":" + accountB + ":event-bus/central"
	inbox, dlqA := queueARN(accountB, "inbox"), queueARN(accountA, "dlq")

	if _, err := b.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String("central")}); err != nil {
		t.Fatalf("CreateEventBus: %v", err)
	}
	putRule(t, b, "central", "from-a", `{"account": ["`+accountA+`"], "source": ["app.rotation"]}`, tgt("inbox", inbox))
	putRule(t, a, "", "to-central", `{"source": ["app.rotation"]}`, types.Target{
		Id: aws.String("central"), Arn: aws.String(central), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqA)},
	})

	// Without a policy on B's bus, A's event is refused there.
	putEvent(t, a, "", "app.rotation", "Rotated", `{"n": 1}`)
	l.drain(t)
	if got := rec.to(inbox); len(got) != 0 {
		t.Fatalf("before PutPermission: want nothing in B's queue, got %q", got)
	}
	if got := rec.to(dlqA); len(got) != 1 {
		t.Fatalf("before PutPermission: want the event in A's dead-letter queue, got %q", got)
	}

	if _, err := b.PutPermission(t.Context(), &eventbridge.PutPermissionInput{
		EventBusName: aws.String("central"), Action: aws.String("events:PutEvents"),
		Principal: aws.String(accountA), StatementId: aws.String("from-a"),
	}); err != nil {
		t.Fatalf("PutPermission: %v", err)
	}
	id := putEvent(t, a, "", "app.rotation", "Rotated", `{"n": 2}`)
	l.drain(t)
	got := rec.to(inbox)
	if len(got) != 1 {
		t.Fatalf("after PutPermission: want 1 event in B's queue, got %q", got)
	}
	ev := decodeEvent(t, got[0])
	if ev.ID != id || ev.Account != accountA || string(ev.Detail) != `{"n":2}` {
		t.Errorf("forwarded event: want id %s, account %s, detail {\"n\":2}, got %+v", id, accountA, ev)
	}

	// A can also put on B's bus directly, by its ARN, now that B allows it;
	// a third account cannot.
	out, err := l.as("333333333333").PutEvents(t.Context(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("app.rotation"), DetailType: aws.String("x"), Detail: aws.String("{}"), EventBusName: aws.String(central),
	}}})
	if err != nil || out.FailedEntryCount != 1 || aws.ToString(out.Entries[0].ErrorCode) != "AccessDeniedException" {
		t.Errorf("PutEvents on another account's bus without permission: want AccessDeniedException, got %v %+v", err, out)
	}
}

func TestForwardingLoopStops(t *testing.T) {
	rec := &recorder{}
	l := newLocal(t, Options{Clock: newFakeClock(), Queues: rec.queues(), RetryAttempts: -1})
	c := l.client()
	for _, name := range []string{"ping", "pong"} {
		if _, err := c.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	arn := func(name string) string { return "arn:aws:events:" + region + ":" + account + ":event-bus/" + name }
	dlq := queueARN(account, "dlq")
	putRule(t, c, "ping", "to-pong", `{"source": ["app"]}`, types.Target{Id: aws.String("p"), Arn: aws.String(arn("pong")), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlq)}})
	putRule(t, c, "pong", "to-ping", `{"source": ["app"]}`, types.Target{Id: aws.String("p"), Arn: aws.String(arn("ping")), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlq)}})
	putRule(t, c, "pong", "seen", `{"source": ["app"]}`, tgt("seen", queueARN(account, "seen")))
	putEvent(t, c, "ping", "app", "X", `{}`)
	l.drain(t)
	// ping → pong (hop 1) → ping (2) → pong (3) → ping (4) → pong (5), then
	// the sixth hop is refused.
	if got := len(rec.to(queueARN(account, "seen"))); got != 3 {
		t.Errorf("arrivals on pong: want 3, got %d", got)
	}
	if got := len(rec.to(dlq)); got != 1 {
		t.Errorf("dead-lettered when the loop was cut: want 1, got %d", got)
	}
}

func TestDisabledRuleDoesNotDeliver(t *testing.T) {
	rec := &recorder{}
	l := newLocal(t, Options{Queues: rec.queues()})
	c := l.client()
	q := queueARN(account, "q")
	putRule(t, c, "", "r", `{"source": ["app"]}`, tgt("q", q))
	if _, err := c.DisableRule(t.Context(), &eventbridge.DisableRuleInput{Name: aws.String("r")}); err != nil {
		t.Fatal(err)
	}
	putEvent(t, c, "", "app", "X", `{}`)
	l.drain(t)
	if got := rec.to(q); len(got) != 0 {
		t.Errorf("disabled rule: want nothing delivered, got %q", got)
	}
	if _, err := c.EnableRule(t.Context(), &eventbridge.EnableRuleInput{Name: aws.String("r")}); err != nil {
		t.Fatal(err)
	}
	putEvent(t, c, "", "app", "X", `{}`)
	l.drain(t)
	if got := rec.to(q); len(got) != 1 {
		t.Errorf("enabled again: want 1 event, got %d", len(got))
	}
}

func TestEmit(t *testing.T) {
	rec := &recorder{}
	l := newLocal(t, Options{Queues: rec.queues()})
	c := l.client()
	q := queueARN(account, "rotations")
	putRule(t, c, "", "rotations", `{"source": ["aws.secretsmanager"], "detail": {"eventName": ["RotationSucceeded"]}}`, tgt("q", q))
	when := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	err := l.svc.Emit(t.Context(), account, region, Event{
		Source: "aws.secretsmanager", DetailType: "AWS Service Event via CloudTrail",
		Detail:    json.RawMessage(`{"eventName": "RotationSucceeded", "additionalEventData": {"SecretId": "arn:x"}}`),
		Resources: []string{"arn:x"}, Time: when,
	})
	if err != nil {
		t.Fatalf("Emit: want success, got %v", err)
	}
	// Another account's default bus does not see it.
	if err := l.svc.Emit(t.Context(), "999999999999", region, Event{Source: "aws.secretsmanager", DetailType: "x", Detail: json.RawMessage(`{"eventName": "RotationSucceeded"}`)}); err != nil {
		t.Fatalf("Emit to another account: %v", err)
	}
	l.drain(t)
	got := rec.to(q)
	if len(got) != 1 {
		t.Fatalf("want 1 event, got %q", got)
	}
	ev := decodeEvent(t, got[0])
	if ev.Time != "2026-02-03T04:05:06Z" || ev.Account != account || ev.Region != region || ev.Version != "0" || ev.ID == "" || !reflect.DeepEqual(ev.Resources, []string{"arn:x"}) {
		t.Errorf("emitted event: want id, version 0, %s/%s, the given time and resources, got %+v", account, region, ev)
	}
	for _, bad := range []Event{
		{DetailType: "x", Detail: json.RawMessage(`{}`)},
		{Source: "x", DetailType: "x", Detail: json.RawMessage(`[1]`)},
		{Source: "x", DetailType: "x", Detail: json.RawMessage(`{`)},
	} {
		if err := l.svc.Emit(t.Context(), account, region, bad); err == nil {
			t.Errorf("Emit(%+v): want an error, got nil", bad)
		}
	}
	// Callers cannot put "aws." sources themselves.
	out, err := c.PutEvents(t.Context(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("aws.secretsmanager"), DetailType: aws.String("x"), Detail: aws.String(`{}`),
	}}})
	if err != nil || aws.ToString(out.Entries[0].ErrorCode) != "NotAuthorizedForSourceException" {
		t.Errorf("PutEvents with an aws. source: want NotAuthorizedForSourceException, got %v %+v", err, out)
	}
}

func TestCloseStopsRetries(t *testing.T) {
	rec := &recorder{fail: func(string, int) error { return errors.New("down") }}
	// A real clock and an hour of backoff: only Close can end the wait.
	l := newLocal(t, Options{Queues: rec.queues(), RetryBackoff: time.Hour})
	putRule(t, l.client(), "", "r", `{"source": ["app"]}`, tgt("q", queueARN(account, "q")))
	putEvent(t, l.client(), "", "app", "X", `{}`)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.svc.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Drain with a retry pending and a cancelled context: want context.Canceled, got %v", err)
	}
	l.svc.Close()
	l.drain(t)
	// Events after Close are accepted and not delivered.
	putEvent(t, l.client(), "", "app", "X", `{}`)
	l.drain(t)
	if got := rec.callsTo(queueARN(account, "q")); got != 1 {
		t.Errorf("attempts: want 1 before Close and none after, got %d", got)
	}
}

func TestTestEventPatternOverHTTP(t *testing.T) {
	l := newLocal(t, Options{})
	c := l.client()
	event := `{"id": "1", "account": "123456789012", "source": "app", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [], "detail-type": "X", "detail": {"n": 5}}`
	cases := []struct {
		name, pattern, event string
		want                 bool
		code                 string
	}{
		{"match", `{"detail": {"n": [{"numeric": [">", 1]}]}}`, event, true, ""},
		{"no match", `{"source": ["other"]}`, event, false, ""},
		{"bad pattern", `{"source": "app"}`, event, false, CodeInvalidEventPattern},
		{"event not JSON", `{"source": ["app"]}`, `{`, false, CodeValidation},
		{"event without id", `{"source": ["app"]}`, strings.Replace(event, `"id": "1", `, "", 1), false, CodeValidation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.TestEventPattern(t.Context(), &eventbridge.TestEventPatternInput{EventPattern: aws.String(tc.pattern), Event: aws.String(tc.event)})
			if code := errorCode(err); code != tc.code {
				t.Fatalf("want code %q, got %q", tc.code, code)
			}
			if err == nil && out.Result != tc.want {
				t.Errorf("Result: want %v, got %v", tc.want, out.Result)
			}
		})
	}
}

func TestPutEventsTimeAndResources(t *testing.T) {
	rec := &recorder{}
	l := newLocal(t, Options{Queues: rec.queues()})
	c := l.client()
	q := queueARN(account, "q")
	putRule(t, c, "", "r", `{"resources": [{"prefix": "arn:aws:secretsmanager:"}]}`, tgt("q", q))
	when := time.Date(2025, 12, 31, 23, 59, 58, 0, time.UTC)
	out, err := c.PutEvents(t.Context(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("app"), DetailType: aws.String("X"), Detail: aws.String(`{}`), Time: aws.Time(when),
		Resources: []string{"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf"},
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
	l.drain(t)
	got := rec.to(q)
	if len(got) != 1 {
		t.Fatalf("want 1 event, got %q", got)
	}
	if ev := decodeEvent(t, got[0]); ev.Time != "2025-12-31T23:59:58Z" || len(ev.Resources) != 1 {
		t.Errorf("event: want the entry's time and resources, got %+v", ev)
	}
}

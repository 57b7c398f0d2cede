package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/events/audit"
	"github.com/rotorhq/rotor/rotators/rotatortest"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore/awssm"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
	"github.com/rotorhq/rotor/test/awslocal/lambda"
)

// receivedAtSuffix is what the writer adds at the end of an envelope.
var receivedAtSuffix = regexp.MustCompile(`,"receivedAt":"[^"]+"}$`)

// TestEventsOfARealRotationAreAudited: rotor's events (the fixtures, on
// rotor's own bus) and Secrets Manager's (a rotation through RotateSecret
// with the lifecycle engine as its function, on the default bus) each
// arrive as one line, byte for byte what an independent subscriber to both
// buses received, and no value of the secret is anywhere in the file.
func TestEventsOfARealRotationAreAudited(t *testing.T) {
	ctx := t.Context()
	bus := unique("rotor-events")
	queueURL := subscribe(t, audit.DefaultBus, bus)

	// The reference: every event of both buses, whatever its source.
	refName := unique("reference")
	refURL, refARN := awstest.Queue(t, sqsc, refName)
	for _, b := range []string{audit.DefaultBus, bus} {
		awstest.Route(t, ebc, b, refName, `{"account":["`+awslocal.DefaultAccount+`"]}`, refARN)
	}

	fn := unique("audit-rotor")
	engine, err := lifecycle.New(awssm.New(smc), &rotatortest.Fake{}, lifecycle.DefaultConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	endpoint.Lambda.Register(endpoint.FunctionARN(fn), lambda.Handler(engine.HandleRotationEvent))

	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s := startSink(t, sqsc, path, queueURL)

	rotorIDs := putEvents(t, bus, fixtures(t)...)
	initial := "Initial-" + uuid.NewString()
	secret, err := smc.CreateSecret(ctx, &sm.CreateSecretInput{
		Name:         aws.String(unique("audit/app")),
		SecretString: aws.String(`{"engine":"postgres","host":"db","port":5432,"username":"app","password":"` + initial + `","dbname":"app"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := smc.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: secret.ARN, RotationLambdaARN: aws.String(endpoint.FunctionARN(fn))}); err != nil {
		t.Fatal(err)
	}
	if err := endpoint.SecretsManager.WaitRotations(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // body by id
	for _, body := range awstest.Drain(t, endpoint, sqsc, refURL) {
		var env struct{ ID string }
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatal(err)
		}
		want[env.ID] = string(body)
	}
	for _, id := range rotorIDs {
		if _, ok := want[id]; !ok {
			t.Fatalf("the reference queue lacks rotor event %s: the test is broken", id)
		}
	}
	s.waitWritten(slices.Collect(maps.Keys(want))...)
	s.stop()
	queueEmpty(t, queueURL)

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := linesByID(t, path)
	if len(lines) != len(want) {
		t.Fatalf("want one line per event (%d), got %d: %s", len(want), len(lines), keysOf(lines))
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var env struct{ ID string }
		json.Unmarshal(sc.Bytes(), &env)
		body, ok := want[env.ID]
		if !ok {
			t.Fatalf("want only events the buses carried, got %s", sc.Text())
		}
		if got := receivedAtSuffix.ReplaceAllString(sc.Text(), "}"); got != body {
			t.Fatalf("want the envelope as received\n%s\ngot\n%s", body, got)
		}
	}
	details := map[string]int{}
	for id, l := range lines {
		for _, f := range []string{"id", "detail-type", "source", "account", "region", "time", "detail", "receivedAt"} {
			if _, ok := l[f]; !ok {
				t.Fatalf("want %s on every line, got none on %s", f, id)
			}
		}
		if inv, ok := l["invalid"]; ok {
			t.Fatalf("want every event valid, got %s flagged %v", id, inv)
		}
		name := l["detail-type"].(string)
		if d, ok := l["detail"].(map[string]any); ok && d["eventName"] != nil {
			name += "/" + d["eventName"].(string)
		}
		details[l["source"].(string)+" "+name]++
	}
	for _, k := range []string{
		"rotor Rotation Started", "rotor Rotation Completed", "rotor Rotation Rolled Back",
		"aws.secretsmanager AWS Service Event via CloudTrail/RotationStarted",
		"aws.secretsmanager AWS Service Event via CloudTrail/RotationSucceeded",
		"aws.secretsmanager Secret Label Updated",
	} {
		if details[k] == 0 {
			t.Fatalf("want a %s line, got %v", k, details)
		}
	}

	// Defence in depth: no value of any version of the secret.
	values := []string{initial}
	for _, stage := range []string{"AWSCURRENT", "AWSPREVIOUS"} {
		v, err := smc.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: secret.ARN, VersionStage: aws.String(stage)})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Password string }
		if err := json.Unmarshal([]byte(aws.ToString(v.SecretString)), &doc); err != nil {
			t.Fatal(err)
		}
		values = append(values, aws.ToString(v.SecretString), doc.Password)
	}
	if values[2] == initial { // AWSCURRENT's password

		t.Fatal("the rotation did not change the password: the scan proves nothing")
	}
	for _, v := range values {
		quoted, _ := json.Marshal(v)
		for _, form := range []string{v, strings.Trim(string(quoted), `"`)} {
			if bytes.Contains(data, []byte(form)) {
				t.Fatalf("want no secret value in the audit log, found one (%d characters)", len(v))
			}
		}
	}
}

// flakySQS fails DeleteMessageBatch as told, and remembers the event ids
// whose delete failed.
type flakySQS struct {
	audit.SQSAPI
	failCalls int  // the first calls that fail
	entries   bool // fail every entry, not the call
	crash     bool // the consumer's process dies with the first failure

	cancel  context.CancelFunc // set by startSink
	crashed chan struct{}

	mu     sync.Mutex
	calls  int
	keyOf  map[string]string // receipt handle → event id
	failed []string
}

func (f *flakySQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	out, err := f.SQSAPI.ReceiveMessage(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keyOf == nil {
		f.keyOf = map[string]string{}
	}
	for _, m := range out.Messages {
		var env struct{ ID string }
		json.Unmarshal([]byte(aws.ToString(m.Body)), &env)
		f.keyOf[aws.ToString(m.ReceiptHandle)] = env.ID
	}
	return out, nil
}

func (f *flakySQS) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.failCalls
	if fail {
		for _, e := range in.Entries {
			f.failed = append(f.failed, f.keyOf[aws.ToString(e.ReceiptHandle)])
		}
	}
	f.mu.Unlock()
	switch {
	case !fail:
		return f.SQSAPI.DeleteMessageBatch(ctx, in, opts...)
	case f.crash:
		f.cancel()
		close(f.crashed)
		return nil, errors.New("injected: the process died")
	case f.entries:
		out := &sqs.DeleteMessageBatchOutput{}
		for _, e := range in.Entries {
			out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), SenderFault: false})
		}
		return out, nil
	default:
		return nil, errors.New("injected: connection reset")
	}
}

func (f *flakySQS) failedKeys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.failed)
}

// handled holds when every key has been through n batches: whether a
// redelivery was dropped, the lines tell.
func handled(keys []string, n int) func([]audit.Result) bool {
	return func(rs []audit.Result) bool {
		seen := map[string]int{}
		for _, r := range rs {
			seen[r.Key]++
		}
		for _, k := range keys {
			if seen[k] < n {
				return false
			}
		}
		return true
	}
}

// TestRedeliveryIsDeduped: when a delete fails, the messages come back
// after their visibility timeout and are dropped: one line per event id,
// and the queue ends empty.
func TestRedeliveryIsDeduped(t *testing.T) {
	tests := []struct {
		name            string
		failCalls       int
		entries         bool
		wantRedelivered bool
	}{
		{"the delete call fails", 1, false, true},
		{"every entry fails, and again on the retry", 2, true, true},
		{"every entry fails once, the retry deletes them", 1, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := unique("rotor-events")
			queueURL := subscribe(t, bus)
			setVisibility(t, queueURL, 1)
			flaky := &flakySQS{SQSAPI: sqsc, failCalls: tt.failCalls, entries: tt.entries}
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			s := startSink(t, flaky, path, queueURL)
			ids := putEvents(t, bus, fixtures(t)[:3]...)
			s.waitWritten(ids...)
			failed := flaky.failedKeys()
			if len(failed) == 0 {
				t.Fatal("no delete failed: the test is broken")
			}
			if tt.wantRedelivered {
				s.waitFor("the events redelivered", handled(failed, 2))
			}
			s.stop()
			lines := linesByID(t, path)
			if len(lines) != len(ids) {
				t.Fatalf("want %d lines, got %d: %s", len(ids), len(lines), keysOf(lines))
			}
			for _, id := range ids {
				if _, ok := lines[id]; !ok {
					t.Fatalf("want a line for %s, got %s", id, keysOf(lines))
				}
			}
			if !tt.wantRedelivered && slices.ContainsFunc(s.results, func(r audit.Result) bool { return r.Duplicate }) {
				t.Fatalf("want nothing redelivered once the retry deleted the batch, got %+v", s.results)
			}
			queueEmpty(t, queueURL)
		})
	}
}

// TestRestartAfterACrashBetweenWriteAndDelete: the process dies after the
// batch is fsynced and before it is deleted; the next process, on the same
// file, drops the redelivered events and writes new ones.
func TestRestartAfterACrashBetweenWriteAndDelete(t *testing.T) {
	bus := unique("rotor-events")
	queueURL := subscribe(t, bus)
	setVisibility(t, queueURL, 1)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	flaky := &flakySQS{SQSAPI: sqsc, failCalls: 1, crash: true, crashed: make(chan struct{})}
	first := startSink(t, flaky, path, queueURL)
	ids := putEvents(t, bus, fixtures(t)[:3]...)
	select {
	case <-flaky.crashed:
	case <-waitCtx(t).Done():
		t.Fatal("the consumer never deleted a batch")
	}
	first.stop()
	crashed := flaky.failedKeys()
	before := linesByID(t, path)
	for _, k := range crashed {
		if _, ok := before[k]; !ok {
			t.Fatalf("want %s on file before its delete, got %s", k, keysOf(before))
		}
	}

	second := startSink(t, sqsc, path, queueURL)
	second.waitFor("the events written before the crash redelivered", handled(crashed, 1))
	var rest []string
	for _, id := range ids {
		if _, ok := before[id]; !ok {
			rest = append(rest, id)
		}
	}
	later := putEvents(t, bus, fixture(t, "rotation-completed"))
	second.waitWritten(append(rest, later...)...)
	second.stop()

	lines := linesByID(t, path)
	if len(lines) != len(ids)+1 {
		t.Fatalf("want %d lines, got %d: %s", len(ids)+1, len(lines), keysOf(lines))
	}
	queueEmpty(t, queueURL)
}

// TestInvalidRotorEventIsRecorded: a rotor event that fails validation
// reaches the file, flagged with its field.
func TestInvalidRotorEventIsRecorded(t *testing.T) {
	bus := unique("rotor-events")
	queueURL := subscribe(t, bus)
	var env map[string]any
	json.Unmarshal(fixture(t, "rotation-completed"), &env)
	delete(env["detail"].(map[string]any), "secretName")
	noName, _ := json.Marshal(env)
	env["detail-type"] = "Rotation Exploded"
	unknown, _ := json.Marshal(env)

	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s := startSink(t, sqsc, path, queueURL)
	ids := putEvents(t, bus, noName, unknown)
	s.waitWritten(ids...)
	s.stop()
	lines := linesByID(t, path)
	for id, want := range map[string]string{ids[0]: "secretName: missing", ids[1]: `detail-type: unknown detail type "Rotation Exploded"`} {
		if got := lines[id]["invalid"]; got != want {
			t.Fatalf("want %s flagged %q, got %v", id, want, got)
		}
	}
}

// TestSubscribeIsIdempotent: a second call finds what the first made; the
// rule matches the audit pattern, targets the queue, and the queue lets
// EventBridge send from the rule.
func TestSubscribeIsIdempotent(t *testing.T) {
	ctx := t.Context()
	bus := unique("rotor-events")
	sub := audit.Subscription{Buses: []string{bus}, QueueName: unique("audit"), CreateBuses: true}
	first, err := audit.Subscribe(ctx, ebc, sqsc, sub)
	if err != nil {
		t.Fatal(err)
	}
	second, err := audit.Subscribe(ctx, ebc, sqsc, sub)
	if err != nil {
		t.Fatalf("want a second Subscribe to succeed, got %v", err)
	}
	if first != second {
		t.Fatalf("want the same queue, got %s then %s", first, second)
	}
	rule, err := ebc.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(audit.DefaultRuleName), EventBusName: aws.String(bus)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(rule.EventPattern); got != audit.EventPattern {
		t.Fatalf("want the pattern %s, got %s", audit.EventPattern, got)
	}
	targets, err := ebc.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(audit.DefaultRuleName), EventBusName: aws.String(bus)})
	if err != nil {
		t.Fatal(err)
	}
	wantARN := "arn:aws:sqs:" + awslocal.DefaultRegion + ":" + awslocal.DefaultAccount + ":" + sub.QueueName
	if len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].Arn) != wantARN {
		t.Fatalf("want one target, %s, got %+v", wantARN, targets.Targets)
	}
	attrs, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(first), AttributeNames: []sqstypes.QueueAttributeName{"Policy"}})
	if err != nil {
		t.Fatal(err)
	}
	policy := attrs.Attributes["Policy"]
	if !strings.Contains(policy, aws.ToString(rule.Arn)) || !strings.Contains(policy, "events.amazonaws.com") {
		t.Fatalf("want a policy letting EventBridge send from %s, got %s", aws.ToString(rule.Arn), policy)
	}
}

func TestSubscribeBadInput(t *testing.T) {
	ctx := t.Context()
	t.Run("empty bus name", func(t *testing.T) {
		name := unique("audit")
		_, err := audit.Subscribe(ctx, ebc, sqsc, audit.Subscription{Buses: []string{"x", ""}, QueueName: name})
		var ie *audit.InputError
		if !errors.As(err, &ie) || ie.Field != "Buses[1]" {
			t.Fatalf("want an InputError naming Buses[1], got %v", err)
		}
		_, err = sqsc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if _, ok := errors.AsType[*sqstypes.QueueDoesNotExist](err); !ok {
			t.Fatalf("want no queue made, got %v", err)
		}
	})
	t.Run("bus that does not exist", func(t *testing.T) {
		bus := unique("missing-bus")
		_, err := audit.Subscribe(ctx, ebc, sqsc, audit.Subscription{Buses: []string{bus}, QueueName: unique("audit")})
		if _, ok := errors.AsType[*ebtypes.ResourceNotFoundException](err); !ok || !strings.Contains(err.Error(), bus) {
			t.Fatalf("want ResourceNotFoundException naming %s, got %v", bus, err)
		}
	})
}

func TestConsumeNamesTheQueue(t *testing.T) {
	url := endpoint.URL + "/" + awslocal.DefaultAccount + "/" + unique("no-such-queue")
	w := audit.New(&bytes.Buffer{}, audit.Options{})
	err := audit.Consume(t.Context(), sqsc, url, w)
	if _, ok := errors.AsType[*sqstypes.QueueDoesNotExist](err); !ok || !strings.Contains(err.Error(), url) {
		t.Fatalf("want QueueDoesNotExist naming %s, got %v", url, err)
	}
}

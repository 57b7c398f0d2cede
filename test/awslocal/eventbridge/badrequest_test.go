package eventbridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// call posts a raw AWSEvents request, as a client that skips the SDK's own
// checks would, and returns the status and the error code (__type).
func call(t *testing.T, url, op, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AWSEvents."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/"+region+"/events/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var e struct {
		Type string `json:"__type"`
	}
	_ = json.Unmarshal(data, &e)
	return resp.StatusCode, e.Type
}

// TestBadRequestsChangeNothing sends requests EventBridge refuses and
// checks, by the service's snapshot, that none of them changed anything,
// and that no event was delivered.
func TestBadRequestsChangeNothing(t *testing.T) {
	rec := &recorder{}
	l := newLocal(t, Options{Queues: rec.queues()})
	c := l.client()
	if _, err := c.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	putRule(t, c, "orders", "full", `{"source": ["app"]}`,
		tgt("t1", queueARN(account, "q1")), tgt("t2", queueARN(account, "q2")), tgt("t3", queueARN(account, "q3")),
		tgt("t4", queueARN(account, "q4")), tgt("t5", queueARN(account, "q5")))
	putRule(t, c, "orders", "empty", `{"source": ["app"]}`)
	before, err := l.svc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	oneMore := `{"Rule": "full", "EventBusName": "orders", "Targets": [{"Id": "x", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]}`
	elevenEntries := `{"Entries": [` + strings.TrimSuffix(strings.Repeat(`{"Source": "app", "DetailType": "x", "Detail": "{}", "EventBusName": "orders"},`, 11), ",") + `]}`
	bigDetail := `{"Entries": [{"Source": "app", "DetailType": "x", "EventBusName": "orders", "Detail": "{\"a\": \"` + strings.Repeat("x", 256*1024) + `\"}"}]}`
	cases := []struct {
		name, op, body string
		status         int
		code           string
	}{
		{"unknown operation", "PutEverything", `{}`, 400, "UnknownOperationException"},
		{"malformed JSON", "PutRule", `{"Name": "x", `, 400, "SerializationException"},
		{"wrong type", "PutRule", `{"Name": 5}`, 400, "SerializationException"},
		{"PutRule without a name", "PutRule", `{"EventPattern": "{\"source\": [\"a\"]}", "EventBusName": "orders"}`, 400, CodeValidation},
		{"PutRule with a bad name", "PutRule", `{"Name": "a b", "EventPattern": "{\"source\": [\"a\"]}", "EventBusName": "orders"}`, 400, CodeValidation},
		{"PutRule with a bad pattern", "PutRule", `{"Name": "full", "EventPattern": "{\"source\": \"a\"}", "EventBusName": "orders"}`, 400, CodeInvalidEventPattern},
		{"PutRule with a bad state", "PutRule", `{"Name": "full", "EventPattern": "{\"source\": [\"a\"]}", "EventBusName": "orders", "State": "ON"}`, 400, CodeValidation},
		{"PutRule with a pattern over 4096", "PutRule", `{"Name": "n", "EventBusName": "orders", "EventPattern": "{\"source\": [\"` + strings.Repeat("a", 4100) + `\"]}"}`, 400, CodeValidation},
		{"PutRule on an unknown bus", "PutRule", `{"Name": "n", "EventPattern": "{\"source\": [\"a\"]}", "EventBusName": "nope"}`, 400, CodeResourceNotFound},
		{"PutTargets over the five a rule may have", "PutTargets", oneMore, 400, CodeLimitExceeded},
		{"PutTargets with one bad ARN among good", "PutTargets", `{"Rule": "empty", "EventBusName": "orders", "Targets": [{"Id": "ok", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}, {"Id": "bad", "Arn": "nope"}]}`, 400, CodeValidation},
		{"PutTargets with Input and InputPath", "PutTargets", `{"Rule": "empty", "EventBusName": "orders", "Targets": [{"Id": "x", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "Input": "{}", "InputPath": "$.detail"}]}`, 400, CodeValidation},
		{"PutTargets with Input not JSON", "PutTargets", `{"Rule": "empty", "EventBusName": "orders", "Targets": [{"Id": "x", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "Input": "{"}]}`, 400, CodeValidation},
		{"PutTargets with a bad InputPath", "PutTargets", `{"Rule": "empty", "EventBusName": "orders", "Targets": [{"Id": "x", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "InputPath": "detail"}]}`, 400, CodeValidation},
		{"PutTargets with a bad retry policy", "PutTargets", `{"Rule": "empty", "EventBusName": "orders", "Targets": [{"Id": "x", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RetryPolicy": {"MaximumRetryAttempts": 186}}]}`, 400, CodeValidation},
		{"PutTargets with a target id too long", "PutTargets", `{"Rule": "empty", "EventBusName": "orders", "Targets": [{"Id": "` + strings.Repeat("i", 65) + `", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]}`, 400, CodeValidation},
		{"PutTargets without targets", "PutTargets", `{"Rule": "empty", "EventBusName": "orders", "Targets": []}`, 400, CodeValidation},
		{"RemoveTargets on an unknown rule", "RemoveTargets", `{"Rule": "nope", "EventBusName": "orders", "Ids": ["t1"]}`, 400, CodeResourceNotFound},
		{"DeleteRule with targets", "DeleteRule", `{"Name": "full", "EventBusName": "orders"}`, 400, CodeValidation},
		{"CreateEventBus default", "CreateEventBus", `{"Name": "default"}`, 400, CodeResourceAlreadyExists},
		{"CreateEventBus without a name", "CreateEventBus", `{}`, 400, CodeValidation},
		{"DeleteEventBus default", "DeleteEventBus", `{"Name": "default"}`, 400, CodeValidation},
		{"PutPermission for no account", "PutPermission", `{"EventBusName": "orders", "Action": "events:PutEvents", "Principal": "12", "StatementId": "s"}`, 400, CodeValidation},
		{"PutPermission of another action", "PutPermission", `{"EventBusName": "orders", "Action": "events:PutRule", "Principal": "111122223333", "StatementId": "s"}`, 400, CodeValidation},
		{"PutPermission with a policy not JSON", "PutPermission", `{"EventBusName": "orders", "Policy": "{"}`, 400, CodeValidation},
		{"PutEvents with eleven entries", "PutEvents", elevenEntries, 400, CodeValidation},
		{"PutEvents over 256 KB", "PutEvents", bigDetail, 400, CodeValidation},
		{"PutEvents with no entries", "PutEvents", `{"Entries": []}`, 400, CodeValidation},
		{"PutEvents on an unknown bus", "PutEvents", `{"Entries": [{"Source": "app", "DetailType": "x", "Detail": "{}", "EventBusName": "orders"}, {"Source": "app", "DetailType": "x", "Detail": "{}", "EventBusName": "nope"}]}`, 400, CodeResourceNotFound},
		{"TestEventPattern without an event", "TestEventPattern", `{"EventPattern": "{\"source\": [\"a\"]}"}`, 400, CodeValidation},
		{"ListRules with a bad token", "ListRules", `{"NextToken": "garbage"}`, 400, CodeValidation},
		{"ListRules with a limit of 0", "ListRules", `{"Limit": 0}`, 400, CodeValidation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, code := call(t, l.url, tc.op, tc.body)
			if status != tc.status || code != tc.code {
				t.Errorf("want %d %s, got %d %q", tc.status, tc.code, status, code)
			}
			l.drain(t)
			after, err := l.svc.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("state changed:\nbefore %s\nafter  %s", before, after)
			}
			if n := rec.count(); n != 0 {
				t.Errorf("want nothing delivered, got %d messages", n)
			}
		})
	}
}

// TestPutTargetsPartialFailure: a target refused alone is reported in
// FailedEntries and the others are added.
func TestPutTargetsPartialFailure(t *testing.T) {
	l := newLocal(t, Options{})
	c := l.client()
	putRule(t, c, "", "r", `{"source": ["app"]}`)
	out, err := c.PutTargets(t.Context(), &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{
		tgt("good", queueARN(account, "q")),
		{Id: aws.String("bad-dlq"), Arn: aws.String(queueARN(account, "q2")), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(functionARN(account, "f"))}},
		tgt("self", "arn:aws:events:"+region+":"+account+":event-bus/default"),
	}})
	if err != nil {
		t.Fatalf("PutTargets: want a partial success, got %v", err)
	}
	var failed []string
	for _, f := range out.FailedEntries {
		failed = append(failed, aws.ToString(f.TargetId)+":"+aws.ToString(f.ErrorCode))
	}
	if want := "[bad-dlq:ValidationException self:ValidationException]"; out.FailedEntryCount != 2 || fmt.Sprint(failed) != want {
		t.Errorf("FailedEntries: want %s, got %d %v", want, out.FailedEntryCount, failed)
	}
	list, err := c.ListTargetsByRule(t.Context(), &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")})
	if err != nil || len(list.Targets) != 1 || aws.ToString(list.Targets[0].Id) != "good" {
		t.Errorf("ListTargetsByRule: want only the good target, got %v %+v", err, list)
	}
}

package eventbridge

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
)

// patternDetail is the detail of the events the pattern table puts: the
// fields of AWS's EC2 example and a few of every JSON type.
const patternDetail = `{"state": "running", "c-count": 5, "d-count": 3, "x-limit": 301.8,
	"source-ip": "10.0.0.33", "ipv6": "2001:db8::1", "instance-id": "i-000000aaaaaa00000",
	"file": "/usr/lib/libc.so", "tags": ["a", "b"], "nothing": null, "empty": "", "flag": true,
	"items": [{"name": "x", "n": 1}, {"name": "y", "n": 2}], "obj": {"inner": 1}, "none": []}`

type patternCase struct {
	name    string
	pattern string
	// source and detail of the event; empty means "app.orders" and
	// patternDetail.
	source, detail string
	resources      []string
	want           bool
	motoDiffers    string
}

func patternCases() []patternCase {
	return []patternCase{
		{name: "source", pattern: `{"source": ["app.orders"]}`, want: true},
		{name: "source, no match", pattern: `{"source": ["app.refunds"]}`, want: false},
		{name: "detail-type", pattern: `{"detail-type": ["Order Placed"]}`, want: true},
		{name: "account and region", pattern: `{"account": ["` + account + `"], "region": ["` + region + `"]}`, want: true},
		{name: "version", pattern: `{"version": ["0"]}`, want: true},
		{name: "nested value", pattern: `{"detail": {"state": ["stopped", "running"]}}`, want: true},
		{name: "nested value, no match", pattern: `{"detail": {"state": ["stopped"]}}`, want: false},
		{name: "nested object", pattern: `{"detail": {"obj": {"inner": [1]}}}`, want: true},
		{name: "number", pattern: `{"detail": {"c-count": [5]}}`, want: true},
		{name: "number by value", pattern: `{"detail": {"c-count": [5.0]}}`, want: true},
		{name: "number is not its string", pattern: `{"detail": {"c-count": ["5"]}}`, want: false},
		{name: "true", pattern: `{"detail": {"flag": [true]}}`, want: true},
		{name: "true is not 1", pattern: `{"detail": {"flag": [1]}}`, want: false,
			motoDiffers: "moto compares with Python's ==, where True == 1"},
		{name: "null", pattern: `{"detail": {"nothing": [null]}}`, want: true},
		{name: "null is not absence", pattern: `{"detail": {"absent": [null]}}`, want: false},
		{name: "empty string", pattern: `{"detail": {"empty": [""]}}`, want: true},
		{name: "array value", pattern: `{"detail": {"tags": ["b", "c"]}}`, want: true},
		{name: "resources", pattern: `{"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1"]}`,
			resources: []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-0", "arn:aws:ec2:us-east-1:123456789012:instance/i-1"}, want: true},
		{name: "prefix", pattern: `{"detail": {"instance-id": [{"prefix": "i-0"}]}}`, want: true},
		{name: "prefix, no match", pattern: `{"source": [{"prefix": "aws."}]}`, want: false},
		{name: "prefix ignoring case", pattern: `{"source": [{"prefix": {"equals-ignore-case": "APP."}}]}`, want: true},
		{name: "suffix", pattern: `{"detail": {"file": [{"suffix": ".so"}]}}`, want: true},
		{name: "suffix ignoring case", pattern: `{"detail": {"file": [{"suffix": {"equals-ignore-case": ".SO"}}]}}`, want: true},
		{name: "equals-ignore-case", pattern: `{"detail": {"state": [{"equals-ignore-case": "RUNNING"}]}}`, want: true},
		{name: "wildcard", pattern: `{"detail": {"file": [{"wildcard": "/usr/*/lib*.so"}]}}`, want: true},
		{name: "wildcard, no match", pattern: `{"detail": {"file": [{"wildcard": "*/bin/*"}]}}`, want: false},
		{name: "anything-but", pattern: `{"detail": {"state": [{"anything-but": "initializing"}]}}`, want: true},
		{name: "anything-but, excluded", pattern: `{"detail": {"state": [{"anything-but": ["stopped", "running"]}]}}`, want: false},
		{name: "anything-but number", pattern: `{"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}`, want: true},
		{name: "anything-but prefix", pattern: `{"detail": {"state": [{"anything-but": {"prefix": "run"}}]}}`, want: false},
		{name: "anything-but suffix", pattern: `{"detail": {"file": [{"anything-but": {"suffix": ".png"}}]}}`, want: true},
		{name: "anything-but equals-ignore-case", pattern: `{"detail": {"state": [{"anything-but": {"equals-ignore-case": "RUNNING"}}]}}`, want: false},
		{name: "anything-but wildcard", pattern: `{"detail": {"file": [{"anything-but": {"wildcard": "*/lib/*"}}]}}`, want: false},
		{name: "anything-but of an absent field", pattern: `{"detail": {"absent": [{"anything-but": "x"}]}}`, want: false},
		{name: "numeric range", pattern: `{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}`, want: true},
		{name: "numeric range, open top", pattern: `{"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}`, want: false},
		{name: "numeric equals", pattern: `{"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}`, want: true},
		{name: "numeric on a string", pattern: `{"detail": {"state": [{"numeric": [">", 0]}]}}`, want: false},
		{name: "exists", pattern: `{"detail": {"c-count": [{"exists": true}]}}`, want: true},
		{name: "exists, absent", pattern: `{"detail": {"absent": [{"exists": true}]}}`, want: false},
		{name: "exists false", pattern: `{"detail": {"absent": [{"exists": false}]}}`, want: true},
		{name: "exists false, present", pattern: `{"detail": {"state": [{"exists": false}]}}`, want: false},
		{name: "exists, null is present", pattern: `{"detail": {"nothing": [{"exists": true}]}}`, want: true},
		{name: "exists false of an object: not a leaf", pattern: `{"detail": {"obj": [{"exists": false}]}}`, want: true},
		{name: "exists false of an empty array", pattern: `{"detail": {"none": [{"exists": false}]}}`, want: true,
			motoDiffers: "moto takes an empty array as a present field; AWS has no leaf there"},
		{name: "cidr", pattern: `{"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}`, want: true},
		{name: "cidr IPv6", pattern: `{"detail": {"ipv6": [{"cidr": "2001:db8::/32"}]}}`, want: true},
		{name: "cidr, outside", pattern: `{"detail": {"source-ip": [{"cidr": "10.1.0.0/16"}]}}`, want: false},
		{name: "$or", pattern: `{"$or": [{"source": ["x"]}, {"detail": {"c-count": [{"numeric": [">", 4]}]}}]}`, want: true},
		{name: "$or, none", pattern: `{"$or": [{"source": ["x"]}, {"detail-type": ["y"]}]}`, want: false},
		{name: "$or inside detail", pattern: `{"source": ["app.orders"], "detail": {"$or": [{"state": ["x"]}, {"flag": [true]}]}}`, want: true},
		{name: "object in an array", pattern: `{"detail": {"items": {"name": ["y"]}}}`, want: true,
			motoDiffers: "moto does not look into arrays of objects"},
		{name: "two fields of one array element", pattern: `{"detail": {"items": {"name": ["y"], "n": [1]}}}`, want: false},
		{name: "other source", pattern: `{"source": ["app.refunds"]}`, source: "app.refunds", detail: `{"a": 1}`, want: true},
	}
}

// TestPatternConformance puts each case's event through a rule with the
// case's pattern, on the local service and on moto_server, and compares
// whether the rule's queue target got it. moto does not implement
// TestEventPattern (its handler answers an empty body), so delivery to an
// SQS queue is what is compared; locally TestEventPattern must agree with
// delivery.
func TestPatternConformance(t *testing.T) {
	srv := motoServer(t)
	mEB, mSQS := client(srv.URL, "testing"), sqs.NewFromConfig(srv.AWSConfig())
	rec := &recorder{}
	l := newLocal(t, Options{Queues: rec.queues()})
	lEB := l.client()
	run := uuid.NewString()[:8]
	for i, tc := range patternCases() {
		t.Run(tc.name, func(t *testing.T) {
			// Each case has its own bus, rule and queue on both sides.
			t.Parallel()
			ctx := t.Context()
			if tc.source == "" {
				tc.source = "app.orders"
			}
			if tc.detail == "" {
				tc.detail = patternDetail
			}
			name := fmt.Sprintf("pc-%s-%d", run, i)
			qARN := queueARN(account, name)
			ev := types.PutEventsRequestEntry{
				Source: aws.String(tc.source), DetailType: aws.String("Order Placed"), Detail: aws.String(tc.detail),
				Resources: tc.resources, EventBusName: aws.String(name),
			}

			// Local: TestEventPattern, and delivery through a rule.
			localTest := testPattern(t, lEB, tc.pattern, ev)
			setUpRule(t, lEB, name, tc.pattern, qARN)
			putEntry(t, lEB, ev)
			l.drain(t)
			localDelivered := len(rec.to(qARN)) > 0
			if localTest != localDelivered {
				t.Fatalf("local: TestEventPattern says %v, delivery says %v", localTest, localDelivered)
			}
			if localTest != tc.want {
				t.Errorf("local: want match %v, got %v\npattern %s", tc.want, localTest, tc.pattern)
			}

			// moto: delivery to a real queue of moto's.
			q, err := mSQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
			if err != nil {
				t.Fatalf("moto CreateQueue: %v", err)
			}
			setUpRule(t, mEB, name, tc.pattern, qARN)
			putEntry(t, mEB, ev)
			// moto delivers within PutEvents: the queue has the message now
			// or never.
			msgs, err := mSQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
			if err != nil {
				t.Fatalf("moto ReceiveMessage: %v", err)
			}
			motoDelivered := len(msgs.Messages) > 0
			switch {
			case tc.motoDiffers != "":
				t.Logf("moto differs from AWS, not compared: %s (moto matched: %v)", tc.motoDiffers, motoDelivered)
			case motoDelivered != localTest:
				t.Errorf("moto matched %v, local matched %v: want the same\npattern %s", motoDelivered, localTest, tc.pattern)
			}
		})
	}
}

// setUpRule makes a bus named name with a rule of the pattern whose
// target is the queue.
func setUpRule(t *testing.T, c *eventbridge.Client, name, pattern, queue string) {
	t.Helper()
	ctx := t.Context()
	if _, err := c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("CreateEventBus: %v", err)
	}
	if _, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(name), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	if _, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(name), Targets: []types.Target{tgt("q", queue)}}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
}

func putEntry(t *testing.T, c *eventbridge.Client, e types.PutEventsRequestEntry) {
	t.Helper()
	out, err := c.PutEvents(t.Context(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{e}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: want success, got %v %+v", err, out)
	}
}

// testPattern asks TestEventPattern about the event PutEvents would make
// of the entry.
func testPattern(t *testing.T, c *eventbridge.Client, pattern string, e types.PutEventsRequestEntry) bool {
	t.Helper()
	resources := e.Resources
	if resources == nil {
		resources = []string{}
	}
	event, err := json.Marshal(eventJSON{
		Version: "0", ID: uuid.NewString(), DetailType: aws.ToString(e.DetailType), Source: aws.ToString(e.Source),
		Account: account, Time: "2026-03-01T12:00:00Z", Region: region, Resources: resources,
		Detail: json.RawMessage(aws.ToString(e.Detail)),
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.TestEventPattern(t.Context(), &eventbridge.TestEventPatternInput{EventPattern: aws.String(pattern), Event: aws.String(string(event))})
	if err != nil {
		t.Fatalf("TestEventPattern: %v", err)
	}
	return out.Result
}

package awstest_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
)

// TestRouteToQueue: an event put on a bus reaches the queue a route
// subscribes, Drain returns it once and deletes it, and Calls counts the
// calls by target.
func TestRouteToQueue(t *testing.T) {
	var calls awstest.Calls
	s, err := awslocal.Start(awslocal.Options{OnCall: calls.Observe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	cfg := awstest.Config(s.URL)
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	ctx := context.Background()

	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("awstest")}); err != nil {
		t.Fatal(err)
	}
	url, arn := awstest.Queue(t, q, "awstest-queue")
	if want := "arn:aws:sqs:" + awslocal.DefaultRegion + ":" + awslocal.DefaultAccount + ":awstest-queue"; arn != want {
		t.Errorf("want queue ARN %s, got %s", want, arn)
	}
	awstest.Route(t, eb, "awstest", "to-queue", `{"source":["awstest"]}`, arn)
	for _, source := range []string{"awstest", "other"} {
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String("awstest"), Source: aws.String(source), DetailType: aws.String("Test"), Detail: aws.String(`{"n":1}`),
		}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: want no failure, got %v (%+v)", err, out)
		}
	}
	if got := awstest.Drain(t, s, q, url); len(got) != 1 {
		t.Fatalf("want the one matching event on the queue, got %d: %q", len(got), got)
	}
	if got := awstest.Receive(t, q, url); len(got) != 0 {
		t.Errorf("want the queue emptied by Drain, got %d more", len(got))
	}

	if got := calls.Get("AWSEvents.PutEvents"); got != 2 {
		t.Errorf("want 2 PutEvents calls counted, got %d", got)
	}
	snap := calls.Snapshot()
	calls.Observe(awsjson.Caller{}, "AWSEvents.PutEvents", 200)
	if snap["AWSEvents.PutEvents"] != 2 || snap["AmazonSQS.CreateQueue"] != 1 {
		t.Errorf("want a snapshot apart from later calls, with 2 PutEvents and 1 CreateQueue, got %v", snap)
	}
	calls.Reset()
	if got := calls.Snapshot(); len(got) != 0 {
		t.Errorf("want no calls after Reset, got %v", got)
	}
}

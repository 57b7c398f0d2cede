package consumer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/events/consumer"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
	"github.com/rotorhq/rotor/test/awslocal/lambda"
)

// TestSwapThroughSQS: rotor's events reach the service through an
// EventBridge rule and an SQS queue; after "Rotation Completed" (sent
// twice) the cache holds the new version, and exactly one "Consumer
// Acknowledged" reaches the queue that watches acknowledgements. The
// cache's own acknowledgement comes back to its queue and is ignored; a
// message that is not an event is dropped without logging its body.
func TestSwapThroughSQS(t *testing.T) {
	s, v1 := newSecret(t)
	bus := newBus(t)
	eventsURL, eventsARN := newQueue(t)
	acksURL, acksARN := newQueue(t)
	route(t, bus, `{"source":["rotor",{"prefix":"rotor.consumer."}]}`, eventsARN)
	route(t, bus, `{"source":[{"prefix":"rotor.consumer."}],"detail-type":["Consumer Acknowledged"]}`, acksARN)

	var logs logBuffer
	c := newCache(t, s, consumer.Options{Consumer: "orders-api", Publisher: busPublisher{bus}, Logger: logs.logger()})
	goBackground(t, func(ctx context.Context) error { return consumer.ListenSQS(ctx, sqsc, eventsURL, c) })

	const junk = "not-an-event-JUNK-BODY-7f3a"
	if _, err := sqsc.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(eventsURL), MessageBody: aws.String(junk)}); err != nil {
		t.Fatal(err)
	}
	v2 := s.rotate(t, v1)
	s.putRotorEvent(t, bus, events.Completed, v2, v1)
	s.putRotorEvent(t, bus, events.Completed, v2, v1) // a duplicate
	eventually(t, "the cache to hold "+v2, func() bool { return c.Current().ID == v2 })
	eventually(t, "the acknowledgement published", func() bool { return c.Stats().Acknowledgements == 1 })
	drain(t)
	eventually(t, "the events queue emptied (events, junk and the acknowledgement)", func() bool { return queueDepth(t, eventsURL) == 0 })

	msgs := awstest.Receive(t, sqsc, acksURL)
	if len(msgs) != 1 {
		t.Fatalf("want exactly 1 acknowledgement in the queue, got %d", len(msgs))
	}
	ack, err := events.Parse(msgs[0])
	if err != nil {
		t.Fatalf("want a valid rotor event, got %v", err)
	}
	if ack.DetailType != events.ConsumerAcknowledged || ack.Source != events.ConsumerSource("orders-api") || ack.Detail.Instance == "" || ack.Detail.VersionID != v2 || ack.Detail.PreviousVersionID != v1 ||
		ack.Detail.Consumer != "orders-api" || ack.Detail.SecretArn != s.arn {
		t.Errorf("want an acknowledgement of %s by orders-api, got %+v", v2, ack.Detail)
	}
	st := c.Stats()
	if st.Swaps != 1 || st.Acknowledgements != 1 || st.GetSecretValueCalls != 2 {
		t.Errorf("want 1 swap, 1 acknowledgement, 2 GetSecretValue (load and swap), got %+v", st)
	}
	s.assertNoValues(t, "the acknowledgement", string(msgs[0]))
	text := logs.String()
	if strings.Contains(text, junk) || !strings.Contains(text, "not an EventBridge event") {
		t.Errorf("want the junk message logged without its body, got:\n%s", text)
	}
	s.assertNoValues(t, "the log", text)
}

// TestSecretsManagerEventsThroughSQS: Secrets Manager's own events on the
// default bus ("Secret Label Updated" when AWSCURRENT moves) refresh the
// cache too.
func TestSecretsManagerEventsThroughSQS(t *testing.T) {
	s, v1 := newSecret(t)
	url, arn := newQueue(t)
	route(t, "default", fmt.Sprintf(`{"source":["aws.secretsmanager"],"resources":[%q]}`, s.arn), arn)
	c := newCache(t, s, consumer.Options{})
	goBackground(t, func(ctx context.Context) error { return consumer.ListenSQS(ctx, sqsc, url, c) })
	v2 := s.rotate(t, v1)
	eventually(t, "the cache to hold "+v2, func() bool { return c.Current().ID == v2 })
	drain(t)
	eventually(t, "the queue emptied", func() bool { return queueDepth(t, url) == 0 })
	if st := c.Stats(); st.EventsRefreshed < 1 || st.Swaps != 1 {
		t.Errorf("want a swap caused by an event, got %+v", st)
	}
}

// TestRefreshErrorLeavesMessage: a message whose refresh fails stays in
// the queue, for SQS to deliver again.
func TestRefreshErrorLeavesMessage(t *testing.T) {
	s, v1 := newSecret(t)
	bus := newBus(t)
	url, arn := newQueue(t)
	route(t, bus, `{"source":["rotor"]}`, arn)
	c := newCache(t, s, consumer.Options{})
	if _, err := smc.DeleteSecret(t.Context(), &sm.DeleteSecretInput{SecretId: aws.String(s.arn), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	goBackground(t, func(ctx context.Context) error { return consumer.ListenSQS(ctx, sqsc, url, c) })
	s.putRotorEvent(t, bus, events.Completed, "v-next", v1)
	eventually(t, "the refresh to fail", func() bool { return c.Stats().RefreshErrors >= 1 })
	if n := queueDepth(t, url); n != 1 {
		t.Errorf("want the message left in the queue, got %d messages", n)
	}
}

// TestListenSQSBadArguments: each bad argument is named.
func TestListenSQSBadArguments(t *testing.T) {
	s, _ := newSecret(t)
	c := newCache(t, s, consumer.Options{})
	for _, tt := range []struct {
		name   string
		api    consumer.SQSAPI
		url    string
		caches []*consumer.Cache
		field  string
	}{
		{"no client", nil, "u", []*consumer.Cache{c}, "api"},
		{"no queue", sqsc, "", []*consumer.Cache{c}, "queueURL"},
		{"no cache", sqsc, "u", nil, "caches"},
		{"nil cache", sqsc, "u", []*consumer.Cache{c, nil}, "caches"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := consumer.ListenSQS(t.Context(), tt.api, tt.url, tt.caches...)
			var oe *consumer.OptionError
			if !errors.As(err, &oe) || oe.Field != tt.field {
				t.Errorf("want an OptionError naming %s, got %v", tt.field, err)
			}
		})
	}
}

// TestLambdaConsumer: an EventBridge rule targets a Lambda function whose
// handler is LambdaHandler; the cache swaps.
func TestLambdaConsumer(t *testing.T) {
	s, v1 := newSecret(t)
	bus := newBus(t)
	rec := &recorder{}
	c := newCache(t, s, consumer.Options{Consumer: "orders-lambda", Publisher: rec})
	fn := endpoint.FunctionARN(fmt.Sprintf("consumer-test-%d", seq.Add(1)))
	endpoint.Lambda.Register(fn, lambda.Handler(consumer.LambdaHandler(c)))
	route(t, bus, `{"source":["rotor"],"detail-type":["Rotation Completed"]}`, fn)

	v2 := s.rotate(t, v1)
	s.putRotorEvent(t, bus, events.Completed, v2, v1)
	eventually(t, "the cache to hold "+v2, func() bool { return c.Current().ID == v2 })
	drain(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := endpoint.Lambda.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Swaps != 1 || st.EventsRefreshed != 1 {
		t.Errorf("want one swap caused by one event, got %+v", st)
	}
	if acks := rec.events(); len(acks) != 1 || acks[0].Detail.VersionID != v2 {
		t.Errorf("want one acknowledgement of %s, got %+v", v2, acks)
	}
}

// TestSQSLambdaHandler: batch item failures name exactly the messages
// whose refresh failed; junk is dropped, not retried.
func TestSQSLambdaHandler(t *testing.T) {
	s, v1 := newSecret(t)
	gone, _ := newSecret(t)
	c := newCache(t, s, consumer.Options{})
	cGone := newCache(t, gone, consumer.Options{})
	if _, err := smc.DeleteSecret(t.Context(), &sm.DeleteSecretInput{SecretId: aws.String(gone.arn), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	v2 := s.rotate(t, v1)
	body := func(ev ebEvent) string {
		raw, _ := json.Marshal(ev)
		return string(raw)
	}
	h := consumer.SQSLambdaHandler(c, cGone)
	resp, err := h(t.Context(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{
		{MessageId: "ok", Body: body(s.rotorEvent(t, events.Completed, v2, v1))},
		{MessageId: "junk", Body: "{not json"},
		{MessageId: "fails", Body: body(gone.rotorEvent(t, events.Completed, "v-next", "v-prev"))},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "fails" {
		t.Errorf("want exactly message \"fails\" reported, got %+v", resp.BatchItemFailures)
	}
	if c.Current().ID != v2 {
		t.Errorf("want %s, got %s", v2, c.Current().ID)
	}
	if _, err := consumer.SQSLambdaHandler()(t.Context(), lambdaevents.SQSEvent{}); err == nil {
		t.Error("want an error from a handler without caches, got none")
	}
}

// TestRunConvergesWithoutEvents: with no event at all, the poll picks up
// the rotation within about a TTL.
func TestRunConvergesWithoutEvents(t *testing.T) {
	s, v1 := newSecret(t)
	rec := &recorder{}
	c := newCache(t, s, consumer.Options{TTL: 50 * time.Millisecond, Consumer: "poller", Publisher: rec})
	goBackground(t, c.Run)
	v2 := s.rotate(t, v1)
	eventually(t, "the poll to find "+v2, func() bool { return c.Current().ID == v2 })
	eventually(t, "the acknowledgement", func() bool { return len(rec.events()) == 1 })
	// The event goes to a queue nobody drains: the poll alone keeps the
	// cache right.
	bus := newBus(t)
	url, arn := newQueue(t)
	route(t, bus, `{"source":["rotor"]}`, arn)
	v3 := s.rotate(t, v2)
	s.putRotorEvent(t, bus, events.Completed, v3, v2)
	eventually(t, "the poll to find "+v3, func() bool { return c.Current().ID == v3 })
	if st := c.Stats(); st.Swaps != 2 || st.EventsHandled != 0 {
		t.Errorf("want 2 swaps by polling alone, got %+v", st)
	}
	drain(t)
	if n := queueDepth(t, url); n != 1 {
		t.Errorf("want the event still in its queue, got %d messages", n)
	}
}

package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SQSAPI is the part of the SQS client [ListenSQS] uses; *sqs.Client
// satisfies it.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, params *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, params *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// SQS long polling: the longest wait and the largest batch SQS allows
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html).
const (
	sqsWaitSeconds = 20
	sqsMaxMessages = 10
	// Backoff after a failed ReceiveMessage.
	sqsBackoffMin = time.Second
	sqsBackoffMax = 30 * time.Second
)

// ListenSQS receives the events an EventBridge rule sends to an SQS queue
// and hands each to the caches it concerns, until ctx ends (it then returns
// ctx's error). A message is deleted once every cache has handled it; a
// message that is not an EventBridge event, or concerns none of the caches,
// is logged (never its body) and deleted too. A message whose refresh
// failed is left in the queue: SQS delivers it again after its visibility
// timeout. A failed ReceiveMessage is logged and retried with backoff.
func ListenSQS(ctx context.Context, api SQSAPI, queueURL string, caches ...*Cache) error {
	switch {
	case api == nil:
		return &OptionError{Field: "api", Reason: "nil SQS client"}
	case queueURL == "":
		return &OptionError{Field: "queueURL", Reason: "missing"}
	case len(caches) == 0 || slicesContainsNil(caches):
		return &OptionError{Field: "caches", Reason: "want at least one cache, and no nil one"}
	}
	log := caches[0].opts.Logger.With("component", "rotor-consumer", "queue", queueURL)
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: sqsMaxMessages, WaitTimeSeconds: sqsWaitSeconds,
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			backoff = min(max(2*backoff, sqsBackoffMin), sqsBackoffMax)
			log.Warn("ReceiveMessage failed; retrying", "error", err.Error(), "wait", backoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		// Any refresh that starts from now on sees what these events report.
		received := time.Now()
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if err := dispatch(ctx, log, []byte(aws.ToString(m.Body)), id, received, caches); err != nil {
				if ctx.Err() == nil {
					log.Warn("event not handled; left for redelivery", "messageId", id, "error", err.Error())
				}
				continue
			}
			if _, err := api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil && ctx.Err() == nil {
				log.Warn("DeleteMessage failed; the event will come again", "messageId", id, "error", err.Error())
			}
		}
	}
	return ctx.Err()
}

// dispatch decodes body as an EventBridge event and hands it to every
// cache; an undecodable body is logged and reported as handled.
func dispatch(ctx context.Context, log *slog.Logger, body []byte, id string, received time.Time, caches []*Cache) error {
	var ev awsevents.EventBridgeEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.Source == "" || ev.DetailType == "" {
		// The body is not logged: whatever it is, it was not ours to read.
		log.Warn("message is not an EventBridge event; dropped", "messageId", id, "bytes", len(body))
		return nil
	}
	var errs []error
	relevant := false
	for _, c := range caches {
		a := c.classify(ev)
		relevant = relevant || a != ignore
		errs = append(errs, c.scrub(c.handle(ctx, ev, received)))
	}
	if !relevant {
		log.Debug("event concerns no cache; dropped", "messageId", id, "source", ev.Source, "detailType", ev.DetailType)
	}
	return errors.Join(errs...)
}

func slicesContainsNil(caches []*Cache) bool {
	for _, c := range caches {
		if c == nil {
			return true
		}
	}
	return false
}

// LambdaHandler returns the handler of a Lambda function that an
// EventBridge rule targets: it hands each event to the caches it concerns.
// An error makes Lambda retry the asynchronous invocation.
func LambdaHandler(caches ...*Cache) func(ctx context.Context, ev awsevents.EventBridgeEvent) error {
	return func(ctx context.Context, ev awsevents.EventBridgeEvent) error {
		received := time.Now()
		var errs []error
		for _, c := range caches {
			if c != nil {
				errs = append(errs, c.scrub(c.handle(ctx, ev, received)))
			}
		}
		return errors.Join(errs...)
	}
}

// SQSLambdaHandler returns the handler of a Lambda function fed by an SQS
// queue (event source mapping with ReportBatchItemFailures): messages whose
// refresh failed are reported as batch item failures, to be delivered
// again; messages that are not EventBridge events are logged and dropped.
func SQSLambdaHandler(caches ...*Cache) func(ctx context.Context, ev awsevents.SQSEvent) (awsevents.SQSEventResponse, error) {
	return func(ctx context.Context, ev awsevents.SQSEvent) (awsevents.SQSEventResponse, error) {
		resp := awsevents.SQSEventResponse{BatchItemFailures: []awsevents.SQSBatchItemFailure{}}
		if len(caches) == 0 || slicesContainsNil(caches) {
			return resp, &OptionError{Field: "caches", Reason: "want at least one cache, and no nil one"}
		}
		log := caches[0].opts.Logger.With("component", "rotor-consumer")
		received := time.Now()
		for _, m := range ev.Records {
			if err := dispatch(ctx, log, []byte(m.Body), m.MessageId, received, caches); err != nil {
				log.Warn("event not handled; reported as a batch item failure", "messageId", m.MessageId, "error", err.Error())
				resp.BatchItemFailures = append(resp.BatchItemFailures, awsevents.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return resp, nil
	}
}

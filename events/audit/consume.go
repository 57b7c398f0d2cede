package audit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSAPI is the part of the SQS client that [Consume] uses; *sqs.Client
// satisfies it.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, params *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, params *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// Long polling as SQS allows at most: a receive waits up to 20 seconds and
// takes up to 10 messages.
const (
	WaitTimeSeconds = 20
	BatchSize       = 10
)

// deleteTimeout bounds the delete of a batch already written, which runs
// even when the context ends, so that a clean stop redelivers nothing.
const deleteTimeout = 10 * time.Second

// Consumer moves events from a queue to a [Writer]. [Consume] runs one
// with the defaults.
type Consumer struct {
	API      SQSAPI
	QueueURL string
	Writer   *Writer
	// Logger reports messages left on the queue by a failed delete
	// (default: discard). It never logs a body.
	Logger *slog.Logger
	// OnBatch, when set, is called after each batch is written, synced and
	// deleted, with what was done to each message and how many deletes
	// failed.
	OnBatch func(results []Result, undeleted int)
}

// Consume long-polls the queue and appends every message to w: each batch
// is written, fsynced, then deleted. It returns nil once ctx ends, and an
// error when a receive, a write or an fsync fails (messages not yet
// synced stay on the queue). A delete that fails only means the messages
// come back, and the writer drops them then.
func Consume(ctx context.Context, api SQSAPI, queueURL string, w *Writer) error {
	return (&Consumer{API: api, QueueURL: queueURL, Writer: w}).Run(ctx)
}

// Run consumes until ctx ends; see [Consume].
func (c *Consumer) Run(ctx context.Context) error {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for {
		out, err := c.API.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(c.QueueURL),
			MaxNumberOfMessages: BatchSize,
			WaitTimeSeconds:     WaitTimeSeconds,
		})
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("audit: receive from %s: %w", c.QueueURL, err)
		}
		if len(out.Messages) == 0 {
			continue
		}
		results := make([]Result, 0, len(out.Messages))
		for _, m := range out.Messages {
			res, err := c.Writer.Append(Message{ID: aws.ToString(m.MessageId), Body: []byte(aws.ToString(m.Body))})
			if err != nil {
				return err
			}
			results = append(results, res)
		}
		if err := c.Writer.Sync(); err != nil {
			return err
		}
		undeleted := c.delete(ctx, log, out.Messages)
		if c.OnBatch != nil {
			c.OnBatch(results, undeleted)
		}
	}
}

// delete deletes a written batch, trying the entries that failed once
// more, and returns how many are left on the queue.
func (c *Consumer) delete(ctx context.Context, log *slog.Logger, msgs []types.Message) int {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
	defer cancel()
	entries := make([]types.DeleteMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
	}
	for attempt := 1; ; attempt++ {
		out, err := c.API.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(c.QueueURL), Entries: entries})
		if err != nil {
			log.Warn("audit: delete failed; the messages come back and are dropped as duplicates",
				"queue", c.QueueURL, "messages", len(entries), "error", err)
			return len(entries)
		}
		if len(out.Failed) == 0 {
			return 0
		}
		failed := map[string]bool{}
		for _, f := range out.Failed {
			failed[aws.ToString(f.Id)] = true
			if attempt == 2 {
				log.Warn("audit: delete failed; the message comes back and is dropped as a duplicate",
					"queue", c.QueueURL, "code", aws.ToString(f.Code), "sender_fault", f.SenderFault)
			}
		}
		if attempt == 2 {
			return len(out.Failed)
		}
		retry := entries[:0:0]
		for _, e := range entries {
			if failed[aws.ToString(e.Id)] {
				retry = append(retry, e)
			}
		}
		if len(retry) == 0 { // ids the request did not have
			return len(out.Failed)
		}
		entries = retry
	}
}

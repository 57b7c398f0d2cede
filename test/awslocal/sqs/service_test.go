package sqs_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/sqs"
)

func mustCreate(t *testing.T, c *awssqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateQueue(t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return *out.QueueUrl
}

func mustSend(t *testing.T, c *awssqs.Client, qurl, body string) string {
	t.Helper()
	out, err := c.SendMessage(t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return *out.MessageId
}

func receiveAll(t *testing.T, c *awssqs.Client, qurl string, names ...types.MessageSystemAttributeName) []types.Message {
	t.Helper()
	out, err := c.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), MaxNumberOfMessages: 10, MessageSystemAttributeNames: names})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func bodies(msgs []types.Message) string {
	var b []string
	for _, m := range msgs {
		b = append(b, aws.ToString(m.Body))
	}
	return strings.Join(b, ",")
}

func queueAttr(t *testing.T, c *awssqs.Client, qurl, name string) string {
	t.Helper()
	out, err := c.GetQueueAttributes(t.Context(), &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(qurl), AttributeNames: []types.QueueAttributeName{types.QueueAttributeName(name)}})
	if err != nil {
		t.Fatalf("GetQueueAttributes %s: %v", name, err)
	}
	return out.Attributes[name]
}

// TestLongPollReturnsWhenAMessageArrives sends while a receive waits: the
// receive returns that message, before its 20 seconds are up (the test
// would otherwise take 20 s, but nothing asserts a duration).
func TestLongPollReturnsWhenAMessageArrives(t *testing.T) {
	l := startLocal(t, sqs.Options{})
	c := l.client("testing")
	qurl := mustCreate(t, c, "poll", nil)

	type result struct {
		out *awssqs.ReceiveMessageOutput
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := c.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), WaitTimeSeconds: 20})
		done <- result{out, err}
	}()
	// Send only once the receive is waiting, so it cannot see the message
	// on its first look.
	waitFor(t, func() bool { return l.svc.Waiting() > 0 })
	mustSend(t, c, qurl, "arrived")
	r := <-done
	if r.err != nil {
		t.Fatalf("long poll: %v", r.err)
	}
	if got := bodies(r.out.Messages); got != "arrived" {
		t.Fatalf("long poll: want the message sent during the wait, got %q", got)
	}
}

// TestLongPollWakesForDelayedMessage checks that a queue's
// ReceiveMessageWaitTimeSeconds makes a receive without WaitTimeSeconds a
// long poll, and that a delayed message wakes it when its delay ends (on the
// service's clock).
func TestLongPollWakesForDelayedMessage(t *testing.T) {
	clk := newFakeClock()
	l := startLocal(t, sqs.Options{Clock: clk})
	c := l.client("testing")
	qurl := mustCreate(t, c, "delayed", map[string]string{"ReceiveMessageWaitTimeSeconds": "20"})
	if _, err := c.SendMessage(t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("later"), DelaySeconds: 60}); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		out, err := c.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(qurl)})
		if err != nil {
			done <- "error: " + err.Error()
			return
		}
		done <- bodies(out.Messages)
	}()
	waitFor(t, func() bool { return l.svc.Waiting() > 0 })
	clk.Advance(61 * time.Second)
	if got := <-done; got != "later" {
		t.Fatalf("want the delayed message once its delay passed, got %q", got)
	}
}

// TestLongPollEnds checks that a long poll ends with its request's context
// and with Close, not after its wait.
func TestLongPollEnds(t *testing.T) {
	l := startLocal(t, sqs.Options{})
	c := l.client("testing")
	qurl := mustCreate(t, c, "ends", nil)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), WaitTimeSeconds: 20})
		errc <- err
	}()
	waitFor(t, func() bool { return l.svc.Waiting() > 0 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled long poll: want context.Canceled, got %v", err)
	}
	waitFor(t, func() bool { return l.svc.Waiting() == 0 })

	outc := make(chan *awssqs.ReceiveMessageOutput, 1)
	go func() {
		out, err := c.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), WaitTimeSeconds: 20})
		if err != nil {
			t.Errorf("long poll during Close: %v", err)
		}
		outc <- out
	}()
	waitFor(t, func() bool { return l.svc.Waiting() > 0 })
	l.svc.Close()
	if out := <-outc; out != nil && len(out.Messages) != 0 {
		t.Fatalf("long poll ended by Close: want no messages, got %v", out.Messages)
	}
}

// waitFor polls cond until it holds; the test's deadline bounds it.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-t.Context().Done():
			t.Fatal("condition never held")
		case <-time.After(time.Millisecond):
		}
	}
}

// TestClockDrivesTime runs delays, visibility timeouts and retention on a
// clock the test moves.
func TestClockDrivesTime(t *testing.T) {
	clk := newFakeClock()
	l := startLocal(t, sqs.Options{Clock: clk})
	c := l.client("testing")
	qurl := mustCreate(t, c, "timed", map[string]string{"DelaySeconds": "10", "VisibilityTimeout": "30", "MessageRetentionPeriod": "120"})
	sentAt := clk.Now()
	mustSend(t, c, qurl, "m")

	if got := bodies(receiveAll(t, c, qurl)); got != "" {
		t.Fatalf("during the queue's delay: want nothing, got %q", got)
	}
	if got := queueAttr(t, c, qurl, "ApproximateNumberOfMessagesDelayed"); got != "1" {
		t.Fatalf("during the delay: want 1 delayed, got %s", got)
	}
	clk.Advance(10 * time.Second)
	msgs := receiveAll(t, c, qurl, "All")
	if got := bodies(msgs); got != "m" {
		t.Fatalf("after the delay: want m, got %q", got)
	}
	if got, want := msgs[0].Attributes["SentTimestamp"], strconv.FormatInt(sentAt.UnixMilli(), 10); got != want {
		t.Errorf("SentTimestamp: want %s (the clock's, in ms), got %s", want, got)
	}
	if got, want := msgs[0].Attributes["ApproximateFirstReceiveTimestamp"], strconv.FormatInt(clk.Now().UnixMilli(), 10); got != want {
		t.Errorf("ApproximateFirstReceiveTimestamp: want %s, got %s", want, got)
	}
	clk.Advance(29 * time.Second)
	if got := bodies(receiveAll(t, c, qurl)); got != "" {
		t.Fatalf("within the visibility timeout: want nothing, got %q", got)
	}
	clk.Advance(time.Second)
	if got := bodies(receiveAll(t, c, qurl)); got != "m" {
		t.Fatalf("after the visibility timeout: want m, got %q", got)
	}
	clk.Advance(90 * time.Second) // 130 s after sending
	if got := queueAttr(t, c, qurl, "ApproximateNumberOfMessagesNotVisible"); got != "0" {
		t.Fatalf("after the retention period: want the message gone, got %s in flight", got)
	}
	created, err := strconv.ParseInt(queueAttr(t, c, qurl, "CreatedTimestamp"), 10, 64)
	if err != nil || created != sentAt.Unix() {
		t.Errorf("CreatedTimestamp: want %d, whole seconds, got %v (%v)", sentAt.Unix(), created, err)
	}
}

// TestCooldowns checks SQS's 60-second rules, on when asked for.
func TestCooldowns(t *testing.T) {
	clk := newFakeClock()
	l := startLocal(t, sqs.Options{Clock: clk, Cooldowns: true})
	c := l.client("testing")
	ctx := t.Context()
	qurl := mustCreate(t, c, "cool", nil)
	if _, err := c.PurgeQueue(ctx, &awssqs.PurgeQueueInput{QueueUrl: aws.String(qurl)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.PurgeQueue(ctx, &awssqs.PurgeQueueInput{QueueUrl: aws.String(qurl)})
	var pip *types.PurgeQueueInProgress
	if !errors.As(err, &pip) {
		t.Fatalf("second purge within 60 s: want PurgeQueueInProgress, got %v", err)
	}
	clk.Advance(60 * time.Second)
	if _, err := c.PurgeQueue(ctx, &awssqs.PurgeQueueInput{QueueUrl: aws.String(qurl)}); err != nil {
		t.Fatalf("purge after 60 s: want success, got %v", err)
	}
	if _, err := c.DeleteQueue(ctx, &awssqs.DeleteQueueInput{QueueUrl: aws.String(qurl)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("cool")})
	var qdr *types.QueueDeletedRecently
	if !errors.As(err, &qdr) {
		t.Fatalf("re-create within 60 s: want QueueDeletedRecently, got %v", err)
	}
	clk.Advance(60 * time.Second)
	mustCreate(t, c, "cool", nil)
}

// TestAccounts checks that queues are per account (a twelve-digit access
// key is that account), that URLs and ARNs carry it, and that a QueueUrl
// names its queue whatever its host.
func TestAccounts(t *testing.T) {
	l := startLocal(t, sqs.Options{})
	a, b := l.client("testing"), l.client("111122223333")
	urlA := mustCreate(t, a, "shared-name", nil)
	urlB := mustCreate(t, b, "shared-name", map[string]string{"DelaySeconds": "5"})
	if want := l.url + "/" + account + "/shared-name"; urlA != want {
		t.Errorf("queue URL: want %s, got %s", want, urlA)
	}
	if !strings.HasSuffix(urlB, "/111122223333/shared-name") {
		t.Errorf("queue URL of the second account: want it to end /111122223333/shared-name, got %s", urlB)
	}
	if got := queueAttr(t, b, urlB, "QueueArn"); got != "arn:aws:sqs:"+region+":111122223333:shared-name" {
		t.Errorf("QueueArn: want the second account's, got %s", got)
	}
	if got := queueAttr(t, a, urlA, "DelaySeconds"); got != "0" {
		t.Errorf("the first account's queue: want its own DelaySeconds 0, got %s", got)
	}
	other := "https://sqs." + region + ".amazonaws.com/" + account + "/shared-name"
	mustSend(t, a, other, "by an AWS-style URL")
	if got := bodies(receiveAll(t, a, urlA)); got != "by an AWS-style URL" {
		t.Errorf("send to an AWS-style URL: want it in the queue, got %q", got)
	}
	out, err := b.ListQueues(t.Context(), &awssqs.ListQueuesInput{})
	if err != nil || len(out.QueueUrls) != 1 || out.QueueUrls[0] != urlB {
		t.Errorf("ListQueues of the second account: want only %s, got %v (%v)", urlB, out.QueueUrls, err)
	}
}

// TestSendFromService is EventBridge's delivery to a queue target.
func TestSendFromService(t *testing.T) {
	l := startLocal(t, sqs.Options{})
	c := l.client("111122223333")
	qurl := mustCreate(t, c, "events", nil)
	arn := "arn:aws:sqs:" + region + ":111122223333:events"
	ctx := t.Context()
	if err := l.svc.SendFromService(ctx, arn, `{"detail-type":"Secret Label Updated"}`); err != nil {
		t.Fatalf("SendFromService: %v", err)
	}
	msgs := receiveAll(t, c, qurl, "SenderId")
	if got := bodies(msgs); got != `{"detail-type":"Secret Label Updated"}` {
		t.Fatalf("want the event in the queue, got %q", got)
	}
	for _, missing := range []string{
		"arn:aws:sqs:" + region + ":111122223333:nope",
		"arn:aws:sqs:" + region + ":" + account + ":events", // another account
		"not an arn",
	} {
		if err := l.svc.SendFromService(ctx, missing, "x"); !errors.Is(err, sqs.ErrQueueNotFound) {
			t.Errorf("SendFromService to %s: want ErrQueueNotFound, got %v", missing, err)
		}
	}
	err := l.svc.SendFromService(ctx, arn, "")
	var ae *awsjson.Error
	if !errors.As(err, &ae) || ae.QueryCode != "MissingParameter" {
		t.Errorf("SendFromService with an empty body: want SQS's MissingParameter, got %v", err)
	}
}

// TestSnapshotRestore saves a service with queues, a message in flight and
// one waiting, and checks that a new service restored from it carries on.
func TestSnapshotRestore(t *testing.T) {
	clk := newFakeClock()
	l := startLocal(t, sqs.Options{Clock: clk})
	c := l.client("testing")
	mustCreate(t, c, "dlq", nil)
	qurl := mustCreate(t, c, "q", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:` + region + `:` + account + `:dlq","maxReceiveCount":1}`})
	if _, err := c.TagQueue(t.Context(), &awssqs.TagQueueInput{QueueUrl: aws.String(qurl), Tags: map[string]string{"team": "platform"}}); err != nil {
		t.Fatal(err)
	}
	mustSend(t, c, qurl, "in-flight")
	inFlight := receiveAll(t, c, qurl)
	mustSend(t, c, qurl, "waiting")
	data, err := l.svc.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}

	l2 := startLocal(t, sqs.Options{Clock: clk})
	if err := l2.svc.Restore(data); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	again, err := l2.svc.Snapshot()
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("Snapshot after Restore: want the same bytes, got a difference (%v)", err)
	}
	c2 := l2.client("testing")
	url2 := l2.url + "/" + account + "/q"
	if got := bodies(receiveAll(t, c2, url2)); got != "waiting" {
		t.Fatalf("after Restore: want the waiting message, got %q", got)
	}
	if _, err := c2.DeleteMessage(t.Context(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(url2), ReceiptHandle: inFlight[0].ReceiptHandle}); err != nil {
		t.Fatalf("delete with a handle given before the restart: %v", err)
	}
	clk.Advance(time.Minute)
	// "waiting" was received once: the next receive moves it to the DLQ.
	if got := bodies(receiveAll(t, c2, url2)); got != "" {
		t.Fatalf("want nothing left in q, got %q", got)
	}
	if got := bodies(receiveAll(t, c2, l2.url+"/"+account+"/dlq")); got != "waiting" {
		t.Fatalf("want the redriven message in the DLQ, got %q", got)
	}
	tags, err := c2.ListQueueTags(t.Context(), &awssqs.ListQueueTagsInput{QueueUrl: aws.String(url2)})
	if err != nil || tags.Tags["team"] != "platform" {
		t.Fatalf("tags after Restore: want team=platform, got %v (%v)", tags, err)
	}

	for _, bad := range []string{`{`, `{"version":99,"queues":[]}`, `{"version":1,"queues":[{"key":{"account":"1","region":"r","name":"bad name"}}]}`} {
		if err := l2.svc.Restore([]byte(bad)); err == nil {
			t.Errorf("Restore(%s): want an error, got nil", bad)
		}
	}
	if got := bodies(receiveAll(t, c2, l2.url+"/"+account+"/dlq")); got != "" {
		// the message is in flight: a failed Restore must not have reset it
		t.Fatalf("after failed Restores: want the state unchanged, got %q receivable", got)
	}
}

// TestBadRequestsChangeNothing sends requests SQS refuses and checks that
// the whole state, to the byte, is as it was.
func TestBadRequestsChangeNothing(t *testing.T) {
	clk := newFakeClock()
	l := startLocal(t, sqs.Options{Clock: clk})
	c := l.client("testing")
	ctx := t.Context()
	qurl := mustCreate(t, c, "stable", map[string]string{"VisibilityTimeout": "40"})
	mustSend(t, c, qurl, "one")
	msgs := receiveAll(t, c, qurl)
	mustSend(t, c, qurl, "two")
	handle := msgs[0].ReceiptHandle
	q := aws.String(qurl)
	tenEntries := make([]types.SendMessageBatchRequestEntry, 11)
	for i := range tenEntries {
		tenEntries[i] = types.SendMessageBatchRequestEntry{Id: aws.String("e" + strconv.Itoa(i)), MessageBody: aws.String("x")}
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"CreateQueue with other attributes", func() error {
			_, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("stable"), Attributes: map[string]string{"VisibilityTimeout": "41"}})
			return err
		}},
		{"CreateQueue with a bad and a good attribute", func() error {
			_, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("new"), Attributes: map[string]string{"DelaySeconds": "5", "VisibilityTimeout": "-1"}})
			return err
		}},
		{"CreateQueue with a FIFO queue", func() error {
			_, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("f.fifo"), Attributes: map[string]string{"FifoQueue": "true"}})
			return err
		}},
		{"CreateQueue with too many tags", func() error {
			tags := map[string]string{}
			for i := range 51 {
				tags["k"+strconv.Itoa(i)] = "v"
			}
			_, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("tagged"), Tags: tags})
			return err
		}},
		{"SetQueueAttributes with a bad and a good attribute", func() error {
			_, err := c.SetQueueAttributes(ctx, &awssqs.SetQueueAttributesInput{QueueUrl: q, Attributes: map[string]string{"DelaySeconds": "5", "MessageRetentionPeriod": "10"}})
			return err
		}},
		{"SetQueueAttributes with a redrive to nowhere", func() error {
			_, err := c.SetQueueAttributes(ctx, &awssqs.SetQueueAttributesInput{QueueUrl: q, Attributes: map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:nowhere","maxReceiveCount":3}`}})
			return err
		}},
		{"SendMessage over 1 MiB", func() error {
			_, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String(bigBody)})
			return err
		}},
		{"SendMessage with an invalid character", func() error {
			_, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("\uffff")})
			return err
		}},
		{"SendMessage with eleven attributes", func() error {
			attrs := map[string]types.MessageAttributeValue{}
			for i := range 11 {
				attrs["a"+strconv.Itoa(i)] = types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String("1")}
			}
			_, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("x"), MessageAttributes: attrs})
			return err
		}},
		{"SendMessage with a Number attribute that is not a number", func() error {
			_, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("x"),
				MessageAttributes: map[string]types.MessageAttributeValue{"n": {DataType: aws.String("Number"), StringValue: aws.String("one")}}})
			return err
		}},
		{"SendMessage with a deduplication id", func() error {
			_, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("d")})
			return err
		}},
		{"SendMessageBatch with eleven entries", func() error {
			_, err := c.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: q, Entries: tenEntries})
			return err
		}},
		{"ReceiveMessage with a visibility over 12 hours", func() error {
			_, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: q, VisibilityTimeout: 43201})
			return err
		}},
		{"ChangeMessageVisibility past 12 hours in total", func() error {
			clk.Advance(time.Second)
			_, err := c.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: q, ReceiptHandle: handle, VisibilityTimeout: 43200})
			return err
		}},
		{"ChangeMessageVisibility on a queue that does not exist", func() error {
			_, err := c.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(l.url + "/" + account + "/missing"), ReceiptHandle: handle, VisibilityTimeout: 0})
			return err
		}},
		{"DeleteMessage with a made-up handle", func() error {
			_, err := c.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: q, ReceiptHandle: aws.String("AQEBmadeup")})
			return err
		}},
		{"TagQueue with a long key", func() error {
			_, err := c.TagQueue(ctx, &awssqs.TagQueueInput{QueueUrl: q, Tags: map[string]string{strings.Repeat("k", 129): "v"}})
			return err
		}},
		{"ListQueues with MaxResults 1001", func() error {
			_, err := c.ListQueues(ctx, &awssqs.ListQueuesInput{MaxResults: aws.Int32(1001)})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := l.svc.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.call(); err == nil {
				t.Fatal("want an error, got success")
			}
			after, err := l.svc.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Fatalf("want the state unchanged, got\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestMessageAttributesMD5 checks the digest against values recorded from
// the real service, and the filtering of MessageAttributeNames.
func TestMessageAttributesMD5(t *testing.T) {
	l := startLocal(t, sqs.Options{})
	c := l.client("testing")
	qurl := mustCreate(t, c, "md5", nil)
	str := func(s string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(s)}
	}
	tests := []struct {
		name  string
		attrs map[string]types.MessageAttributeValue
		want  string
	}{
		{"Foo=Bar", map[string]types.MessageAttributeValue{"Foo": str("Bar")}, "ae7155c6026991b6d54b11589678bf9c"},
		{"MyAttribute=foobar", map[string]types.MessageAttributeValue{"MyAttribute": str("foobar")}, "adb59cd4678ea5a855436b949cd07ab6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.SendMessage(t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("b"), MessageAttributes: tt.attrs})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(out.MD5OfMessageAttributes); got != tt.want {
				t.Errorf("want MD5OfMessageAttributes %s, got %s", tt.want, got)
			}
		})
	}
	if _, err := c.PurgeQueue(t.Context(), &awssqs.PurgeQueueInput{QueueUrl: aws.String(qurl)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.SendMessage(t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("b"), MessageAttributes: map[string]types.MessageAttributeValue{
		"rotor.secret": str("s"), "rotor.phase": str("p"), "other": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), MessageAttributeNames: []string{"rotor.*"}})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v %v", out, err)
	}
	m := out.Messages[0]
	if len(m.MessageAttributes) != 2 || m.MessageAttributes["other"].DataType != nil {
		t.Fatalf("MessageAttributeNames rotor.*: want the two rotor attributes, got %v", m.MessageAttributes)
	}
}

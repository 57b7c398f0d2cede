package awstest

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awsjson"
)

// TB is what the helpers that fail a test need of it: testing.TB has it.
// It is declared here so that the demo, which uses this package's
// error-returning helpers, links no testing package.
type TB interface {
	Helper()
	Fatal(args ...any)
}

// Config is a client configuration for the endpoint at url, as the default
// account in the default region. The SDK's retries are left as they are:
// callers that count calls set RetryMaxAttempts.
func Config(url string) aws.Config {
	return aws.Config{
		Region:       awslocal.DefaultRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(awslocal.DefaultAccount, "local", ""),
		BaseEndpoint: aws.String(url),
	}
}

// Calls counts the endpoint's API calls by target (X-Amz-Target, or "" for
// Lambda's REST API). Its zero value is ready; [Calls.Observe] is an
// [awslocal.Options.OnCall].
type Calls struct {
	mu sync.Mutex
	n  map[string]int
}

// Observe counts one call of target.
func (c *Calls) Observe(_ awsjson.Caller, target string, _ int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[target]++
}

// Get is the number of calls of target so far.
func (c *Calls) Get(target string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[target]
}

// Snapshot is the number of calls of every target so far.
func (c *Calls) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// Reset forgets every call so far.
func (c *Calls) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = map[string]int{}
}

// CreateQueue creates a queue and returns its URL and ARN.
func CreateQueue(ctx context.Context, q *sqs.Client, name string) (url, arn string, err error) {
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return "", "", err
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", err
	}
	return aws.ToString(out.QueueUrl), attrs.Attributes["QueueArn"], nil
}

// Queue is [CreateQueue] in a test.
func Queue(tb TB, q *sqs.Client, name string) (url, arn string) {
	tb.Helper()
	url, arn, err := CreateQueue(context.Background(), q, name)
	if err != nil {
		tb.Fatal(err)
	}
	return url, arn
}

// PutRoute puts a rule named rule on bus ("default" for the account's
// default bus) that sends the events matching pattern to one target, a
// queue, function or bus ARN.
func PutRoute(ctx context.Context, eb *eventbridge.Client, bus, rule, pattern, target string) error {
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String(rule), EventBusName: aws.String(bus), EventPattern: aws.String(pattern),
	}); err != nil {
		return err
	}
	_, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String(rule), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("target"), Arn: aws.String(target)}},
	})
	return err
}

// Route is [PutRoute] in a test.
func Route(tb TB, eb *eventbridge.Client, bus, rule, pattern, target string) {
	tb.Helper()
	if err := PutRoute(context.Background(), eb, bus, rule, pattern, target); err != nil {
		tb.Fatal(err)
	}
}

// Receive receives and deletes every message now visible in the queue at
// url, and returns their bodies.
func Receive(tb TB, q *sqs.Client, url string) [][]byte {
	tb.Helper()
	ctx := context.Background()
	var bodies [][]byte
	for {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			tb.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, []byte(aws.ToString(m.Body)))
			if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// Drain waits (a minute at most) until s's EventBridge has delivered every
// event in flight, then [Receive]s the queue at url.
func Drain(tb TB, s *awslocal.Server, q *sqs.Client, url string) [][]byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.EventBridge.Drain(ctx); err != nil {
		tb.Fatal(err)
	}
	return Receive(tb, q, url)
}

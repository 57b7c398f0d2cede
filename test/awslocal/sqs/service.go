package sqs

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/clock"
)

// Options configures a [Service].
type Options struct {
	// Clock is the service's time: delays, visibility timeouts, retention and
	// cooldowns follow it. Nil is the wall clock.
	Clock clock.Clock
	// Logger receives debug lines about queues (never message bodies). Nil
	// discards them.
	Logger *slog.Logger
	// Cooldowns turns on SQS's 60-second rules: a second PurgeQueue within
	// 60 s is PurgeQueueInProgress, and a queue name cannot be reused for 60 s
	// after DeleteQueue (QueueDeletedRecently). Off by default because tests
	// that recreate queues would wait a minute, as they would on AWS.
	Cooldowns bool
}

// Service is SQS's standard queues, for every account and region, in memory.
// It is safe for concurrent use.
type Service struct {
	clock     clock.Clock
	log       *slog.Logger
	cooldowns bool

	mu      sync.Mutex
	queues  map[queueKey]*queue
	deleted map[queueKey]time.Time // for QueueDeletedRecently

	done      chan struct{}
	closeOnce sync.Once
	waiting   atomic.Int64
}

// New returns an empty service.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		clock:     opts.Clock,
		log:       opts.Logger,
		cooldowns: opts.Cooldowns,
		queues:    map[queueKey]*queue{},
		deleted:   map[queueKey]time.Time{},
		done:      make(chan struct{}),
	}
}

// Close ends every long poll in progress (they answer with no messages), so
// the endpoint can stop without waiting up to 20 seconds. The service keeps
// answering other calls.
func (s *Service) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// Waiting returns how many long polls are waiting for a message now: tests
// use it to send only once a receive waits.
func (s *Service) Waiting() int { return int(s.waiting.Load()) }

// JSONService returns the service for an [awsjson.Router]: target prefix
// AmazonSQS, awsJson1_0.
func (s *Service) JSONService() awsjson.Service {
	return awsjson.Service{
		TargetPrefix: "AmazonSQS",
		ContentType:  "application/x-amz-json-1.0",
		Operations: map[string]awsjson.Operation{
			"CreateQueue":                  awsjson.Op(s.CreateQueue),
			"GetQueueUrl":                  awsjson.Op(s.GetQueueURL),
			"ListQueues":                   awsjson.Op(s.ListQueues),
			"DeleteQueue":                  awsjson.Op(s.DeleteQueue),
			"GetQueueAttributes":           awsjson.Op(s.GetQueueAttributes),
			"SetQueueAttributes":           awsjson.Op(s.SetQueueAttributes),
			"PurgeQueue":                   awsjson.Op(s.PurgeQueue),
			"ListDeadLetterSourceQueues":   awsjson.Op(s.ListDeadLetterSourceQueues),
			"TagQueue":                     awsjson.Op(s.TagQueue),
			"UntagQueue":                   awsjson.Op(s.UntagQueue),
			"ListQueueTags":                awsjson.Op(s.ListQueueTags),
			"SendMessage":                  awsjson.Op(s.SendMessage),
			"SendMessageBatch":             awsjson.Op(s.SendMessageBatch),
			"ReceiveMessage":               awsjson.Op(s.ReceiveMessage),
			"DeleteMessage":                awsjson.Op(s.DeleteMessage),
			"DeleteMessageBatch":           awsjson.Op(s.DeleteMessageBatch),
			"ChangeMessageVisibility":      awsjson.Op(s.ChangeMessageVisibility),
			"ChangeMessageVisibilityBatch": awsjson.Op(s.ChangeMessageVisibilityBatch),
		},
	}
}

// caller returns the request's account and region.
func caller(ctx context.Context) awsjson.Caller {
	return awsjson.CallerFrom(ctx)
}

// queueURL is the queue's URL for a request to host: SQS's is
// https://sqs.<region>.amazonaws.com/<account>/<name>; the endpoint answers
// on one host for every region, so the URL carries the host the client used.
func queueURL(host string, k queueKey) string {
	if host == "" {
		host = "localhost"
	}
	return "http://" + host + "/" + k.Account + "/" + k.Name
}

// keyFromURL finds the queue a QueueUrl names: the account and name are the
// last two segments of its path, whatever its host, and the region is the
// caller's (queue URLs of AWS name it in the host, which a client of a local
// endpoint does not keep).
func keyFromURL(ctx context.Context, raw string) (queueKey, *awsjson.Error) {
	if raw == "" {
		return queueKey{}, errMissing("QueueUrl")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return queueKey{}, errInvalidAddress(raw)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 || parts[len(parts)-2] == "" || !validQueueName(parts[len(parts)-1]) {
		return queueKey{}, errInvalidAddress(raw)
	}
	return queueKey{Account: parts[len(parts)-2], Region: caller(ctx).Region, Name: parts[len(parts)-1]}, nil
}

// lookup returns the queue named by a QueueUrl. s.mu must be held.
func (s *Service) lookup(ctx context.Context, rawURL string) (*queue, *awsjson.Error) {
	k, err := keyFromURL(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	q, ok := s.queues[k]
	if !ok {
		return nil, errQueueDoesNotExist()
	}
	q.expire(s.clock.Now())
	return q, nil
}

func (s *Service) exists(k queueKey) bool {
	_, ok := s.queues[k]
	return ok
}

// SendFromService delivers body to the queue with ARN queueARN, as an AWS
// service (an EventBridge target) does: no caller, no message attributes.
// A queue that does not exist is an error wrapping [ErrQueueNotFound]; a
// body SQS would refuse is its *awsjson.Error.
func (s *Service) SendFromService(ctx context.Context, queueARN, body string) error {
	k, ok := parseQueueARN(queueARN)
	if !ok {
		return fmt.Errorf("%w: %q is not a queue ARN", ErrQueueNotFound, queueARN)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[k]
	if !ok {
		return fmt.Errorf("%w: %s", ErrQueueNotFound, queueARN)
	}
	now := s.clock.Now()
	q.expire(now)
	m, err := s.newMessage(q, sendParams{Body: &body}, k.Account, false, now)
	if err != nil {
		return err
	}
	s.enqueue(q, m)
	return nil
}

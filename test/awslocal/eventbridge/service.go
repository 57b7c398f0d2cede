package eventbridge

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/clock"
	"github.com/rotorhq/rotor/test/awslocal/eventpattern"
	"github.com/rotorhq/rotor/test/awslocal/inflight"
)

// LambdaInvoker runs a Lambda function asynchronously (InvocationType
// Event), as EventBridge invokes Lambda targets. A nil error means the
// invocation was accepted.
type LambdaInvoker interface {
	InvokeAsync(ctx context.Context, functionARN string, payload []byte) error
}

// QueueSender puts a message on an SQS queue on behalf of a service, with
// no caller credentials: EventBridge delivers to queue targets and to
// dead-letter queues through it.
type QueueSender interface {
	SendFromService(ctx context.Context, queueARN, body string) error
}

// Delivery defaults. AWS retries a failed delivery with exponential backoff
// and jitter for up to 24 hours and 185 attempts (a target's RetryPolicy
// lowers both). Locally a failure should reach the dead-letter queue and
// the log within seconds, not a day, so the defaults are 3 retries, 1 s
// apart and doubling (1 s, 2 s, 4 s). A target's RetryPolicy still wins.
const (
	DefaultRetryAttempts = 3
	DefaultRetryBackoff  = time.Second
	// maxBackoff caps the doubling.
	maxBackoff = time.Minute
	// maxHops stops an event that bus targets send round in a loop. AWS
	// documents no number; it only has to be above any sane chain.
	maxHops = 5
)

// Options configures a [Service].
type Options struct {
	// Clock times events and waits between retries; nil is the wall clock.
	Clock  clock.Clock
	Logger *slog.Logger
	// Lambda and Queues deliver to Lambda and SQS targets. Either may be
	// nil: deliveries to such targets then fail at once (no retry), go to
	// the target's dead-letter queue if it has one, and are logged.
	Lambda LambdaInvoker
	Queues QueueSender
	// RetryAttempts is how many times a failed delivery is tried again
	// before it is dead-lettered: 0 means DefaultRetryAttempts, negative
	// means never. A target's RetryPolicy.MaximumRetryAttempts overrides it.
	RetryAttempts int
	// RetryBackoff is the wait on Clock before the first retry, doubled
	// before each next one up to a minute; 0 means DefaultRetryBackoff.
	RetryBackoff time.Duration
}

// Service is EventBridge for every account and region of the endpoint.
type Service struct {
	clock   clock.Clock
	log     *slog.Logger
	lambda  LambdaInvoker
	queues  QueueSender
	retries int
	backoff time.Duration

	mu     sync.Mutex
	scopes map[scope]*scopeState

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closed    bool
	closeOnce sync.Once
	// scheduling is set once the scheduler runs (the first schedule rule).
	scheduling bool
	inflight   inflight.Tracker
}

// scope is an account in a region: EventBridge's resources live in one.
type scope struct{ account, region string }

type scopeState struct {
	buses map[string]*bus
}

// bus is an event bus. Exported fields are its saved state ([Service.Snapshot]).
type bus struct {
	Name             string            `json:"name"`
	Description      string            `json:"description,omitempty"`
	KmsKeyIdentifier string            `json:"kmsKeyIdentifier,omitempty"`
	DeadLetterConfig *DeadLetterConfig `json:"deadLetterConfig,omitempty"`
	Policy           *policy           `json:"policy,omitempty"`
	Created          time.Time         `json:"created"`
	Modified         time.Time         `json:"modified"`
	Rules            map[string]*rule  `json:"rules"`
}

// rule is a rule on a bus, with its targets in the order they were added.
type rule struct {
	Name               string    `json:"name"`
	EventPattern       string    `json:"eventPattern,omitempty"`
	ScheduleExpression string    `json:"scheduleExpression,omitempty"`
	State              string    `json:"state"`
	Description        string    `json:"description,omitempty"`
	RoleArn            string    `json:"roleArn,omitempty"`
	Targets            []*target `json:"targets"`

	pattern *eventpattern.Pattern
	// sched is the parsed ScheduleExpression and nextRun its next run on
	// the service's clock; zero for a rule without one. Not saved: a
	// restored schedule starts afresh.
	sched   schedule
	nextRun time.Time
}

// target is a rule's target: its request JSON as PutTargets received it
// (ListTargetsByRule gives it back, fields this emulator ignores included)
// and the fields delivery reads.
type target struct {
	Raw json.RawMessage `json:"raw"`

	spec Target
}

// Target is the part of EventBridge's Target structure that delivery uses.
type Target struct {
	Id               string            `json:"Id"`
	Arn              string            `json:"Arn"`
	RoleArn          string            `json:"RoleArn,omitempty"`
	Input            *string           `json:"Input,omitempty"`
	InputPath        *string           `json:"InputPath,omitempty"`
	InputTransformer *InputTransformer `json:"InputTransformer,omitempty"`
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	RetryPolicy      *RetryPolicy      `json:"RetryPolicy,omitempty"`
	SqsParameters    *struct {
		MessageGroupId string `json:"MessageGroupId,omitempty"`
	} `json:"SqsParameters,omitempty"`
}

// InputTransformer is EventBridge's InputTransformer.
type InputTransformer struct {
	InputPathsMap map[string]string `json:"InputPathsMap,omitempty"`
	InputTemplate *string           `json:"InputTemplate"`
}

// DeadLetterConfig names an SQS queue for events that could not be
// delivered.
type DeadLetterConfig struct {
	Arn string `json:"Arn,omitempty"`
}

// RetryPolicy is a target's retry policy.
type RetryPolicy struct {
	MaximumRetryAttempts     *int `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int `json:"MaximumEventAgeInSeconds,omitempty"`
}

// New returns a service with no state beyond the implicit default buses.
func New(opts Options) *Service {
	s := &Service{
		clock:   opts.Clock,
		log:     opts.Logger,
		lambda:  opts.Lambda,
		queues:  opts.Queues,
		retries: opts.RetryAttempts,
		backoff: opts.RetryBackoff,
		scopes:  map[scope]*scopeState{},
	}
	if s.clock == nil {
		s.clock = clock.Real()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case s.retries == 0:
		s.retries = DefaultRetryAttempts
	case s.retries < 0:
		s.retries = 0
	}
	if s.backoff <= 0 {
		s.backoff = DefaultRetryBackoff
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Close stops delivery and schedules: retries waiting on the clock give
// up, and Close waits for every delivery goroutine and the scheduler to
// return. Events put after Close are
// accepted and not delivered.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
	})
}

// Drain waits until no delivery is in flight (retries and events forwarded
// to other buses included), or ctx ends. Tests wait on it rather than
// sleeping.
func (s *Service) Drain(ctx context.Context) error {
	return s.inflight.Wait(ctx)
}

// JSONService is the service for an [awsjson.Router]: X-Amz-Target
// AWSEvents.<Operation>, awsJson1_1.
func (s *Service) JSONService() awsjson.Service {
	return awsjson.Service{
		TargetPrefix: "AWSEvents",
		ContentType:  "application/x-amz-json-1.1",
		Operations: map[string]awsjson.Operation{
			"CreateEventBus":        awsjson.Op(s.createEventBus),
			"DeleteEventBus":        awsjson.Op(s.deleteEventBus),
			"DescribeEventBus":      awsjson.Op(s.describeEventBus),
			"ListEventBuses":        awsjson.Op(s.listEventBuses),
			"PutPermission":         awsjson.Op(s.putPermission),
			"RemovePermission":      awsjson.Op(s.removePermission),
			"PutRule":               awsjson.Op(s.putRule),
			"DescribeRule":          awsjson.Op(s.describeRule),
			"ListRules":             awsjson.Op(s.listRules),
			"DeleteRule":            awsjson.Op(s.deleteRule),
			"EnableRule":            awsjson.Op(s.enableRule),
			"DisableRule":           awsjson.Op(s.disableRule),
			"PutTargets":            awsjson.Op(s.putTargets),
			"RemoveTargets":         awsjson.Op(s.removeTargets),
			"ListTargetsByRule":     awsjson.Op(s.listTargetsByRule),
			"ListRuleNamesByTarget": awsjson.Op(s.listRuleNamesByTarget),
			"TestEventPattern":      awsjson.Op(s.testEventPattern),
			"PutEvents":             awsjson.Op(s.putEvents),
		},
	}
}

// callerScope is the scope of the request being served.
func callerScope(ctx context.Context) scope {
	c := awsjson.CallerFrom(ctx)
	return scope{account: c.AccountID, region: c.Region}
}

// regionLocked returns a scope's state, creating it with its default bus:
// every account has one in every region without asking. s.mu is held.
func (s *Service) regionLocked(sc scope) *scopeState {
	r, ok := s.scopes[sc]
	if !ok {
		now := s.clock.Now().UTC()
		r = &scopeState{buses: map[string]*bus{
			defaultBus: {Name: defaultBus, Created: now, Modified: now, Rules: map[string]*rule{}},
		}}
		s.scopes[sc] = r
	}
	return r
}

const defaultBus = "default"

// partition is the ARN partition of a region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func busARN(sc scope, name string) string {
	return "arn:" + partition(sc.region) + ":events:" + sc.region + ":" + sc.account + ":event-bus/" + name
}

func ruleARN(sc scope, busName, name string) string {
	p := "arn:" + partition(sc.region) + ":events:" + sc.region + ":" + sc.account + ":rule/"
	if busName != defaultBus {
		p += busName + "/"
	}
	return p + name
}

// arn is a parsed ARN.
type arn struct {
	partition, service, region, account, resource string
}

func parseARN(s string) (arn, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return arn{}, false
	}
	return arn{partition: parts[1], service: parts[2], region: parts[3], account: parts[4], resource: parts[5]}, true
}

// busRef resolves an EventBusName parameter, a name or an ARN, to a scope
// and a name; empty is the caller's default bus.
func busRef(caller scope, nameOrARN string) (scope, string) {
	if nameOrARN == "" {
		return caller, defaultBus
	}
	if a, ok := parseARN(nameOrARN); ok && a.service == "events" && strings.HasPrefix(a.resource, "event-bus/") {
		return scope{account: a.account, region: a.region}, strings.TrimPrefix(a.resource, "event-bus/")
	}
	return caller, nameOrARN
}

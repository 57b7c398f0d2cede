package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/shared/metrics"
)

// PutEventsAPI is the part of *eventbridge.Client the publisher uses, with
// the SDK's signature.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, params *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ PutEventsAPI = (*eventbridge.Client)(nil)

// PutEvents' limits.
const (
	// MaxEntries is the most entries one PutEvents call takes.
	MaxEntries = 10
	// MaxBatchSize is the most bytes the entries of one call may add up to.
	MaxBatchSize = 256 * 1024
	// timeSize is what an entry's Time counts for.
	timeSize = 14
)

// Defaults of [Options].
const (
	DefaultMaxAttempts = 3
	DefaultBackoff     = 100 * time.Millisecond
	// maxBackoff caps one wait, whatever the attempt.
	maxBackoff = 5 * time.Second
)

// Metric names and dimensions.
const (
	// MetricNotPublished counts events not published after the last attempt.
	MetricNotPublished  = "EventsNotPublished"
	DimensionSecretName = "SecretName"
	DimensionDetailType = "DetailType"
)

// Error codes the publisher gives misses that carry no code of the
// service's own.
const (
	// CodeInvalidEvent: the event did not validate and was not sent.
	CodeInvalidEvent = "InvalidEvent"
	// CodeEntryTooLarge: the entry alone exceeds [MaxBatchSize].
	CodeEntryTooLarge = "EntryTooLarge"
	// CodeNoResult: the answer had no result for the entry.
	CodeNoResult = "NoResult"
	// CodeTransport: the call failed without an answer from the service.
	CodeTransport = "TransportError"
)

// ErrNotPublished is matched by the error of a Publish that left events
// unpublished.
var ErrNotPublished = errors.New("rotor events not published")

// nonRetryable lists the per-entry error codes PutEvents documents as not
// retryable: sending the entry again cannot succeed.
var nonRetryable = []string{
	"AccessDeniedException", "InvalidAccountIdException", "InvalidArgument", "MalformedDetail",
	"RedactionFailure", "NotAuthorizedForSourceException", "NotAuthorizedForDetailTypeException",
	CodeInvalidEvent, CodeEntryTooLarge,
}

// busNamePattern is PutEventsRequestEntry.EventBusName's: a name or an ARN.
// Compiled on first use: a function without events does not pay for it.
var busNamePattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(arn:aws[\w-]*:events:[a-z]{2}-[a-z]+-[\w-]+:[0-9]{12}:event-bus/)?[/.\-_A-Za-z0-9]+$`)
})

// Options configures a [Publisher].
type Options struct {
	// BusName is the event bus, by name or ARN. Required.
	BusName string
	// MaxAttempts is how many times an entry is sent at most; default
	// [DefaultMaxAttempts].
	MaxAttempts int
	// Backoff is the wait before the second attempt; it doubles with each
	// further attempt, and each wait is jittered between half of it and
	// all of it. Default [DefaultBackoff].
	Backoff time.Duration
	// Logger logs the events not published; nil discards.
	Logger *slog.Logger
	// Metrics counts the events not published; nil emits nothing.
	Metrics *metrics.Emitter
}

// OptionError names the option that is wrong.
type OptionError struct {
	Field  string
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("publish: option %s: %s", e.Field, e.Reason)
}

// Stats counts what a publisher did since it was built.
type Stats struct {
	// Published counts events the service accepted.
	Published int64
	// Missed counts events not published after the last attempt (or not
	// sent at all, being invalid).
	Missed int64
	// Retried counts entries sent again after a failed attempt.
	Retried int64
	// Calls counts PutEvents calls.
	Calls int64
}

// Publisher puts rotor events on one bus. It is safe for concurrent use.
type Publisher struct {
	api  PutEventsAPI
	opts Options
	log  *slog.Logger

	published, missed, retried, calls atomic.Int64
}

// New returns a publisher over api; an error names the option at fault.
func New(api PutEventsAPI, opts Options) (*Publisher, error) {
	switch {
	case api == nil:
		return nil, &OptionError{Field: "api", Reason: "missing"}
	case opts.BusName == "":
		return nil, &OptionError{Field: "BusName", Reason: "missing"}
	case len(opts.BusName) > 1600 || !busNamePattern().MatchString(opts.BusName):
		return nil, &OptionError{Field: "BusName", Reason: fmt.Sprintf("%q is not an event bus name or ARN", opts.BusName)}
	case opts.MaxAttempts < 0:
		return nil, &OptionError{Field: "MaxAttempts", Reason: fmt.Sprintf("%d is negative", opts.MaxAttempts)}
	case opts.Backoff < 0:
		return nil, &OptionError{Field: "Backoff", Reason: fmt.Sprintf("%s is negative", opts.Backoff)}
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Backoff == 0 {
		opts.Backoff = DefaultBackoff
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{api: api, opts: opts, log: log.With("event_bus", opts.BusName)}, nil
}

// Stats returns the counts so far; zero for a nil publisher.
func (p *Publisher) Stats() Stats {
	if p == nil {
		return Stats{}
	}
	return Stats{Published: p.published.Load(), Missed: p.missed.Load(), Retried: p.retried.Load(), Calls: p.calls.Load()}
}

// Miss is one event that was not published.
type Miss struct {
	DetailType events.DetailType
	SecretName string
	VersionID  string
	// Code is the service's ErrorCode for the entry, the code of the error
	// that failed the call, or one of the Code* constants.
	Code string
	// Err is the event's validation error, or the error that failed the
	// call; nil for an entry the service refused.
	Err error
}

// NotPublishedError lists the events a Publish left unpublished. It
// matches [ErrNotPublished] and unwraps to the errors of its misses.
type NotPublishedError struct {
	Total  int
	Misses []Miss
}

func (e *NotPublishedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d of %d:", ErrNotPublished, len(e.Misses), e.Total)
	for i, m := range e.Misses {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %s %s %s: %s", m.DetailType, m.SecretName, m.VersionID, m.Code)
	}
	return b.String()
}

func (e *NotPublishedError) Is(target error) bool { return target == ErrNotPublished }

func (e *NotPublishedError) Unwrap() []error {
	var errs []error
	for _, m := range e.Misses {
		if m.Err != nil {
			errs = append(errs, m.Err)
		}
	}
	return errs
}

// entry is one event on its way.
type entry struct {
	ev   *events.Event
	req  types.PutEventsRequestEntry
	size int
}

// Publish puts the events on the bus, in as few PutEvents calls as the
// limits allow, and sends failed entries again. It returns an error
// matching [ErrNotPublished] (a [*NotPublishedError]) when any event is not
// published after the last attempt; the others are published all the same.
// A nil publisher publishes nothing and returns nil.
func (p *Publisher) Publish(ctx context.Context, evs ...events.Event) error {
	if p == nil || len(evs) == 0 {
		return nil
	}
	var misses []Miss
	todo := make([]*entry, 0, len(evs))
	for i := range evs {
		e, miss := p.entry(&evs[i])
		if miss != nil {
			misses = append(misses, *miss)
			continue
		}
		todo = append(todo, e)
	}
	for len(todo) > 0 {
		n, size := 0, 0
		for n < len(todo) && n < MaxEntries && size+todo[n].size <= MaxBatchSize {
			size += todo[n].size
			n++
		}
		misses = append(misses, p.send(ctx, todo[:n])...)
		todo = todo[n:]
	}
	if len(misses) == 0 {
		return nil
	}
	for _, m := range misses {
		p.missed.Add(1)
		p.log.WarnContext(ctx, "rotor event not published",
			"detail_type", string(m.DetailType), "secret_name", m.SecretName, "version_id", m.VersionID,
			"error_code", m.Code, "attempts_max", p.opts.MaxAttempts)
		if err := p.opts.Metrics.Emit(MetricNotPublished, 1, metrics.Count, map[string]string{
			DimensionSecretName: m.SecretName, DimensionDetailType: string(m.DetailType),
		}); err != nil {
			p.log.WarnContext(ctx, "could not emit the metric", "metric", MetricNotPublished, "error", err)
		}
	}
	return &NotPublishedError{Total: len(evs), Misses: misses}
}

// entry validates an event and builds its PutEvents entry.
func (p *Publisher) entry(ev *events.Event) (*entry, *Miss) {
	miss := func(code string, err error) *Miss {
		return &Miss{DetailType: ev.DetailType, SecretName: ev.Detail.SecretName, VersionID: ev.Detail.VersionID, Code: code, Err: err}
	}
	if err := ev.Detail.Validate(ev.DetailType); err != nil {
		return nil, miss(CodeInvalidEvent, err)
	}
	detail, err := json.Marshal(&ev.Detail)
	if err != nil {
		return nil, miss(CodeInvalidEvent, err)
	}
	t := ev.Time
	if t.IsZero() {
		t = ev.Detail.Time
	}
	e := &entry{ev: ev, req: types.PutEventsRequestEntry{
		Source:       aws.String(ev.EventSource()),
		DetailType:   aws.String(string(ev.DetailType)),
		Detail:       aws.String(string(detail)),
		Resources:    []string{ev.Detail.SecretArn},
		Time:         aws.Time(t),
		EventBusName: aws.String(p.opts.BusName),
	}}
	e.size = timeSize + len(ev.EventSource()) + len(ev.DetailType) + len(detail) + len(ev.Detail.SecretArn)
	if e.size > MaxBatchSize {
		return nil, miss(CodeEntryTooLarge, fmt.Errorf("entry of %d bytes exceeds PutEvents' %d", e.size, MaxBatchSize))
	}
	return e, nil
}

// send sends one batch, then its failed entries again, and returns the
// entries still failed after the last attempt. Entries refused for good
// are not sent again.
func (p *Publisher) send(ctx context.Context, batch []*entry) []Miss {
	var misses []Miss
	for attempt := 1; len(batch) > 0; attempt++ {
		failed, codes, callErr := p.call(ctx, batch)
		again := attempt < p.opts.MaxAttempts && ctx.Err() == nil && (callErr == nil || retryableCall(callErr))
		batch = nil
		for i, e := range failed {
			if again && !slices.Contains(nonRetryable, codes[i]) {
				batch = append(batch, e)
				continue
			}
			misses = append(misses, e.miss(codes[i], callErr))
		}
		if len(batch) == 0 {
			break
		}
		if !p.sleep(ctx, attempt) {
			for _, e := range batch {
				misses = append(misses, e.miss(errorCode(ctx.Err()), ctx.Err()))
			}
			break
		}
		p.retried.Add(int64(len(batch)))
	}
	return misses
}

func (e *entry) miss(code string, err error) Miss {
	return Miss{DetailType: e.ev.DetailType, SecretName: e.ev.Detail.SecretName, VersionID: e.ev.Detail.VersionID, Code: code, Err: err}
}

// call makes one PutEvents call and returns the entries that failed with
// their codes, and the error of a failed call.
func (p *Publisher) call(ctx context.Context, batch []*entry) (failed []*entry, codes []string, err error) {
	in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(batch))}
	for i, e := range batch {
		in.Entries[i] = e.req
	}
	p.calls.Add(1)
	out, err := p.api.PutEvents(ctx, in)
	if err != nil {
		codes = make([]string, len(batch))
		code := errorCode(err)
		for i := range codes {
			codes[i] = code
		}
		p.log.DebugContext(ctx, "PutEvents failed", "entries", len(batch), "error_code", code, "error", err)
		return batch, codes, err
	}
	for i, e := range batch {
		code := CodeNoResult
		if i < len(out.Entries) {
			r := out.Entries[i]
			switch {
			case r.ErrorCode != nil:
				code = aws.ToString(r.ErrorCode)
			case r.EventId != nil:
				p.published.Add(1)
				continue
			}
		}
		failed, codes = append(failed, e), append(codes, code)
	}
	if len(failed) > 0 {
		p.log.DebugContext(ctx, "PutEvents failed in part", "entries", len(batch),
			"failed_entry_count", out.FailedEntryCount, "error_codes", codes)
	}
	return failed, codes, nil
}

// retryableCall reports whether a failed call may succeed when made again:
// what the SDK's own retryer deems retryable (connection errors, timeouts,
// throttling, 5xx), and not a cancelled context.
func retryableCall(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// errorCode names an error without quoting it: the service's error code,
// or what kind of failure it was.
func errorCode(err error) string {
	var api smithy.APIError
	switch {
	case errors.As(err, &api):
		return api.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	}
	return CodeTransport
}

// sleep waits before attempt+1: Backoff·2^(attempt-1), jittered into its
// upper half. It returns false when ctx ends first.
func (p *Publisher) sleep(ctx context.Context, attempt int) bool {
	d := p.opts.Backoff << (attempt - 1)
	if d <= 0 || d > maxBackoff {
		d = maxBackoff
	}
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

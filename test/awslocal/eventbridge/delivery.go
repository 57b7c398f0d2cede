package eventbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rotorhq/rotor/test/awslocal/eventpattern"
)

// delivery is one event on its way to one target of one rule.
type delivery struct {
	sc       scope // the rule's
	ruleName string
	ruleARN  string
	target   Target
	event    []byte
	eventID  string
	hops     int
	received time.Time
}

// dispatchLocked matches an event against the enabled rules of a bus and
// starts a delivery for every target of every rule that matches. It
// returns at once: deliveries run in their own goroutines, counted for
// Drain before it returns. s.mu is held.
func (s *Service) dispatchLocked(sc scope, busName string, data []byte, hops int) {
	b, ok := s.regionLocked(sc).buses[busName]
	if !ok {
		return
	}
	ev, err := eventpattern.ParseEvent(data)
	if err != nil {
		s.log.Error("event is not a JSON object; not matched", slog.String("bus", busARN(sc, busName)))
		return
	}
	var id struct {
		ID string `json:"id"`
	}
	_ = jsonUnmarshal(data, &id)
	if s.closed {
		s.log.Warn("event accepted after Close; not delivered", slog.String("eventId", id.ID))
		return
	}
	now := s.clock.Now()
	for _, name := range slices.Sorted(maps.Keys(b.Rules)) {
		r := b.Rules[name]
		if r.State == "DISABLED" || r.pattern == nil || !r.pattern.MatchEvent(ev) {
			continue
		}
		s.deliverToRuleLocked(sc, busName, r, data, id.ID, hops, now)
	}
}

// deliverToRuleLocked starts a delivery of an event to every target of a
// rule: of a rule whose pattern matched it, or of a schedule rule that is
// due. s.mu is held.
func (s *Service) deliverToRuleLocked(sc scope, busName string, r *rule, data []byte, eventID string, hops int, now time.Time) {
	for _, t := range r.Targets {
		d := delivery{
			sc: sc, ruleName: r.Name, ruleARN: ruleARN(sc, busName, r.Name), target: t.spec,
			event: data, eventID: eventID, hops: hops, received: now,
		}
		s.inflight.Add()
		s.wg.Add(1)
		go s.deliver(d)
	}
}

// deliver sends one event to one target, retrying failures with doubling
// backoff on the service's clock, then gives it to the target's
// dead-letter queue, or to the log.
func (s *Service) deliver(d delivery) {
	defer s.wg.Done()
	defer s.inflight.Done()
	ctx := s.ctx
	retries := s.retries
	maxAge := 24 * time.Hour
	if rp := d.target.RetryPolicy; rp != nil {
		if rp.MaximumRetryAttempts != nil {
			retries = *rp.MaximumRetryAttempts
		}
		if rp.MaximumEventAgeInSeconds != nil {
			maxAge = time.Duration(*rp.MaximumEventAgeInSeconds) * time.Second
		}
	}
	payload, err := d.input()
	attempts := 0
	if err == nil {
		wait := s.backoff
		for {
			attempts++
			err = s.send(ctx, d, payload)
			if err == nil {
				s.log.Debug("event delivered", d.attrs(attempts)...)
				return
			}
			var perm *permanentError
			// An event that would be older than the target's maximum age at
			// the next attempt is given up now, as AWS drops it then.
			if errors.As(err, &perm) || attempts > retries || s.clock.Now().Add(wait).Sub(d.received) > maxAge {
				break
			}
			s.log.Debug("event delivery failed; retrying", append(d.attrs(attempts), slog.String("error", err.Error()), slog.Duration("wait", wait))...)
			if s.clock.Sleep(ctx, wait) != nil {
				s.log.Warn("event delivery abandoned: the service is closing", d.attrs(attempts)...)
				return
			}
			wait = min(2*wait, maxBackoff)
		}
	}
	s.deadLetter(ctx, d, err, attempts)
}

func (d delivery) attrs(attempts int) []any {
	return []any{
		slog.String("eventId", d.eventID), slog.String("rule", d.ruleARN),
		slog.String("targetId", d.target.Id), slog.String("target", d.target.Arn),
		slog.Int("attempts", attempts),
	}
}

// send makes one attempt.
func (s *Service) send(ctx context.Context, d delivery, payload []byte) error {
	a, _ := parseARN(d.target.Arn)
	switch {
	case a.service == "lambda":
		if s.lambda == nil {
			return permanent("no Lambda invoker is configured")
		}
		return s.lambda.InvokeAsync(ctx, d.target.Arn, payload)
	case a.service == "sqs":
		if s.queues == nil {
			return permanent("no SQS sender is configured")
		}
		return s.queues.SendFromService(ctx, d.target.Arn, string(payload))
	case a.service == "events" && strings.HasPrefix(a.resource, "event-bus/"):
		return s.forward(d, a)
	}
	return permanent("targets of service %q are not emulated", a.service)
}

// forward puts the event, as it is, on another bus, whose own rules then
// apply. A bus of another account must allow the rule's account in its
// policy (PutPermission); one of the same account in another region need
// not.
func (s *Service) forward(d delivery, a arn) error {
	if d.hops+1 > maxHops {
		return permanent("the event has passed through %d event buses; stopped as a loop", maxHops)
	}
	to := scope{account: a.account, region: a.region}
	name := strings.TrimPrefix(a.resource, "event-bus/")
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.regionLocked(to).buses[name]
	if !ok {
		return fmt.Errorf("event bus %s does not exist", d.target.Arn)
	}
	if to.account != d.sc.account && !b.Policy.allows(d.sc.account, factsOf(d.event)) {
		return fmt.Errorf("account %s is not authorized to put events on %s", d.sc.account, d.target.Arn)
	}
	s.dispatchLocked(to, name, d.event, d.hops+1)
	return nil
}

// deadLetter gives an event that could not be delivered to the target's
// dead-letter queue (the event as it was received, as AWS sends it), and
// logs it either way. Its detail is never logged.
func (s *Service) deadLetter(ctx context.Context, d delivery, cause error, attempts int) {
	attrs := append(d.attrs(attempts), slog.String("error", cause.Error()))
	dlq := d.target.DeadLetterConfig
	switch {
	case dlq == nil || dlq.Arn == "":
		s.log.Warn("event not delivered", attrs...)
	case s.queues == nil:
		s.log.Error("event not delivered, and no SQS sender is configured for its dead-letter queue", append(attrs, slog.String("deadLetterQueue", dlq.Arn))...)
	default:
		if err := s.queues.SendFromService(ctx, dlq.Arn, string(d.event)); err != nil {
			s.log.Error("event not delivered, nor sent to its dead-letter queue", append(attrs, slog.String("deadLetterQueue", dlq.Arn), slog.String("deadLetterError", err.Error()))...)
			return
		}
		s.log.Warn("event not delivered; sent to the dead-letter queue", append(attrs, slog.String("deadLetterQueue", dlq.Arn))...)
	}
}

package lifecycle

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/secretstore"
)

// Notifier publishes rotor events. events/publish's *Publisher has this
// method.
type Notifier interface {
	Publish(ctx context.Context, evs ...events.Event) error
}

// PublishTimeout bounds the publish of one step's event, so that an
// unreachable bus cannot hold a step to its Lambda timeout.
const PublishTimeout = 5 * time.Second

// WithEvents returns a copy of the engine that publishes one event at the
// end of every step through n, with the pending value's fingerprint by fp
// where the step has that value in hand (fp may be nil: no fingerprints).
// A nil n turns events off.
func (e *Engine) WithEvents(n Notifier, fp *events.Fingerprinter) *Engine {
	c := *e
	c.notifier, c.fp = n, fp
	return &c
}

// successTypes is the detail type each step reports when it succeeds or
// finds its work done.
var successTypes = map[Step]events.DetailType{
	CreateSecret: events.RotationStarted,
	SetSecret:    events.PendingSet,
	TestSecret:   events.Tested,
	FinishSecret: events.Completed,
}

// stepPhases is the phase of each step, which a Rotation Failed event
// reports.
var stepPhases = map[Step]events.Phase{
	CreateSecret: events.PhasePrepare,
	SetSecret:    events.PhasePrepare,
	TestSecret:   events.PhaseVerify,
	FinishSecret: events.PhasePropagate,
}

// fingerprintOf keeps the fingerprint of the pending value for the event.
func (inv *invocation) fingerprintOf(pending []byte) {
	if inv.notifier != nil && inv.fp != nil {
		inv.fingerprint = inv.fp.Fingerprint(pending)
	}
}

// notify publishes the step's event. It never fails the step: a publish
// that fails is logged, through the step's scrubbing logger, and the step
// goes on. Only the error's class reaches the event, never its text.
func (inv *invocation) notify(ctx context.Context, outcome string, stepErr error, durationMs float64, end time.Time) {
	if inv.notifier == nil {
		return
	}
	if inv.noEvent {
		return
	}
	ev, ok := inv.event(outcome, stepErr, durationMs, end)
	if !ok {
		return
	}
	if err := ev.Detail.Validate(ev.DetailType); err != nil {
		// A request that names no secret we could describe: there is
		// nothing to say the event is about.
		inv.log.Warn("no rotation event: the step's event would not be valid", "detail_type", string(ev.DetailType), "error", err)
		return
	}
	pctx, cancel := publishContext(ctx)
	defer cancel()
	if err := inv.notifier.Publish(pctx, ev); err != nil {
		inv.log.Warn("rotation event not published; the step goes on", "detail_type", string(ev.DetailType), "error", err)
		return
	}
	inv.log.Debug("rotation event published", "detail_type", string(ev.DetailType), "event_outcome", string(ev.Detail.Outcome))
}

// publishContext bounds a publish by [PublishTimeout] within the step's
// context. When the step's context has ended (a step that ran out of time),
// the Rotation Failed event still gets its own short try.
func publishContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() != nil {
		return context.WithTimeout(context.WithoutCancel(ctx), PublishTimeout)
	}
	return context.WithTimeout(ctx, PublishTimeout)
}

// event builds the step's event; false when there is none to build (an
// unknown step, which is no rotation phase).
func (inv *invocation) event(outcome string, stepErr error, durationMs float64, end time.Time) (events.Event, bool) {
	phase, ok := stepPhases[inv.req.Step]
	if !ok {
		inv.log.Warn("no rotation event for an unknown step")
		return events.Event{}, false
	}
	arn, name := inv.desc.ARN, inv.desc.Name
	if arn == "" && strings.HasPrefix(inv.req.SecretID, "arn:") {
		// The step failed before or at Describe: the request's ARN is
		// all there is.
		arn, name = inv.req.SecretID, nameFromARN(inv.req.SecretID)
	}
	account, region := arnParts(arn)
	d := events.Detail{
		SchemaVersion:  events.SchemaVersion,
		SecretArn:      arn,
		SecretName:     name,
		Account:        account,
		Region:         region,
		CredentialType: inv.info.Type,
		Strategy:       inv.info.Strategy,
		Phase:          phase,
		Step:           string(inv.req.Step),
		VersionID:      inv.req.Token,
		DurationMs:     durationMs,
		Time:           end.UTC(),
	}
	if inv.previous != inv.req.Token {
		d.PreviousVersionID = inv.previous
	}
	t := successTypes[inv.req.Step]
	switch outcome {
	case outcomeFailed:
		t, d.Outcome, d.ErrorClass = events.RotationFailed, events.OutcomeFailed, inv.classify(stepErr)
	case outcomeSkipped:
		d.Outcome, d.Fingerprint = events.OutcomeSkipped, inv.fingerprint
	default:
		d.Outcome, d.Fingerprint = events.OutcomeSucceeded, inv.fingerprint
	}
	return events.Event{DetailType: t, Account: account, Region: region, Time: d.Time, Detail: d}, true
}

// stateErrors are the refusals of a secret whose versions or labels are not
// as the step needs them.
var stateErrors = []error{
	ErrRotationDisabled, ErrUnknownVersion, ErrNotPending, ErrNoCurrent, ErrNoPendingValue,
	secretstore.ErrVersionExists, secretstore.ErrInvalidRequest,
}

// classify names the class of a step's error (events.ErrorClasses), from
// its type and from where in the step it happened.
func (inv *invocation) classify(err error) events.ErrorClass {
	var (
		inputErr   *InputError
		secretErr  *rotators.InputError
		stepErr    *StepError
		validation *events.ValidationError
	)
	switch {
	case errors.As(err, &inputErr), errors.As(err, &secretErr), errors.As(err, &validation):
		return events.ErrorInvalidInput
	case errors.Is(err, context.DeadlineExceeded):
		return events.ErrorTimeout
	}
	for _, s := range stateErrors {
		if errors.Is(err, s) {
			return events.ErrorState
		}
	}
	if !errors.As(err, &stepErr) {
		return events.ErrorInternal
	}
	switch stepErr.Phase {
	case "event":
		return events.ErrorInvalidInput
	case "check":
		return events.ErrorState
	case "describe", "read current", "read pending", "store pending", "move AWSCURRENT":
		return events.ErrorStore
	case "rotator create", "rotator set", "rotator test", "rotator configuration test":
		return events.ErrorTarget
	case "generate password":
		if inv.cfg.PasswordSource == PasswordFromStore && !errors.Is(err, errPasswordChars) {
			return events.ErrorStore
		}
	}
	return events.ErrorInternal
}

// arnParts returns the account and region of an ARN
// (arn:partition:service:region:account:resource).
func arnParts(arn string) (account, region string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "", ""
	}
	return parts[4], parts[3]
}

// nameFromARN returns the secret name of a Secrets Manager ARN: its
// resource less "secret:" and the six random characters Secrets Manager
// appends ("-AbC123").
func nameFromARN(arn string) string {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 7 || parts[5] != "secret" {
		return ""
	}
	name := parts[6]
	if i := len(name) - 7; i > 0 && name[i] == '-' {
		name = name[:i]
	}
	return name
}

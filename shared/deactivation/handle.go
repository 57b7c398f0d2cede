package deactivation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/shared/metrics"
	"github.com/rotorhq/rotor/shared/secretstore"
)

// Scheduled events: what an EventBridge schedule (a rule with a
// ScheduleExpression) delivers.
const (
	ScheduledSource     = "aws.events"
	ScheduledDetailType = "Scheduled Event"
)

// Handle is the gate's EventBridge entry point:
//
//   - rotor "Consumer Acknowledged" (source "rotor.consumer.<name>"):
//     check who sent it, record the acknowledgement, then evaluate the
//     secret ([Gate.Acknowledge]);
//   - rotor "Rotation Completed": evaluate the secret (which reports every
//     consumer unacknowledged);
//   - "Scheduled Event" from aws.events: evaluate every secret of
//     [Config.Secrets], or every secret with a registration;
//   - other rotor events: ignored (a rule may send them all);
//   - anything else: [ErrUnsupportedEvent].
func (g *Gate) Handle(ctx context.Context, ev awsevents.EventBridgeEvent) error {
	if ev.Source == ScheduledSource && ev.DetailType == ScheduledDetailType {
		return g.Sweep(ctx)
	}
	if _, fromConsumer := events.ConsumerOfSource(ev.Source); ev.Source != events.Source && !fromConsumer {
		return fmt.Errorf("%w: source %q, detail-type %q", ErrUnsupportedEvent, ev.Source, ev.DetailType)
	}
	re, err := events.FromEventBridge(ev)
	if err != nil {
		return err
	}
	switch re.DetailType {
	case events.ConsumerAcknowledged:
		_, err := g.Acknowledge(ctx, AckRequest{
			SecretID: re.Detail.SecretArn, Consumer: re.Detail.Consumer, Instance: re.Detail.Instance,
			Version: re.Detail.VersionID, Source: re.Source, Account: re.Account,
		})
		return err
	case events.Completed:
		_, err := g.Evaluate(ctx, re.Detail.SecretArn)
		return err
	default:
		g.log.DebugContext(ctx, "event ignored", "detail_type", string(re.DetailType), "secret", re.Detail.SecretName)
		return nil
	}
}

// AckResult says what [Gate.Acknowledge] did with an acknowledgement.
type AckResult string

// Results of an acknowledgement. Every result but recorded and duplicate
// is a refusal: nothing is recorded, the refusal is logged and counted in
// the metric RefusedAcknowledgements (dimensions SecretName and Reason,
// the result), and [Gate.Acknowledge] returns no error, since sending the
// same event again would not change the answer.
const (
	// AckRecorded: the instance's acknowledgement tag now holds the version.
	AckRecorded AckResult = "recorded"
	// AckDuplicate: the tag held the version already.
	AckDuplicate AckResult = "duplicate"
	// AckForged: the event's source is not the consumer's own
	// ("rotor.consumer.<name>"): another consumer, or rotor's own source,
	// tried to acknowledge in its name.
	AckForged AckResult = "forged"
	// AckForeign: the event comes from another account than the one the
	// consumer's registration names (or the secret's, when it names none).
	AckForeign AckResult = "foreign"
	// AckStale: the version is not AWSCURRENT (an old or out-of-order
	// acknowledgement).
	AckStale AckResult = "stale"
	// AckUnregistered: the consumer is not registered on the secret.
	AckUnregistered AckResult = "unregistered"
	// AckBadRegistration: the consumer's registration tag does not parse
	// ([ParseRegistration]); the consumer waits for the grace period.
	AckBadRegistration AckResult = "bad-registration"
	// AckNoRoom: the secret has [MaxTags] tags, even without the
	// acknowledgements of older versions.
	AckNoRoom AckResult = "no-room"
)

// MetricRefusedAcks counts refused acknowledgements, with the dimensions
// [DimensionSecretName] and [DimensionReason].
const (
	MetricRefusedAcks = "RefusedAcknowledgements"
	DimensionReason   = "Reason"
)

// AckRequest is one acknowledgement: which instance of which consumer uses
// which version, and who sent it.
type AckRequest struct {
	SecretID string
	Consumer string
	Instance string
	Version  string
	// Source and Account are the EventBridge event's source and account,
	// which EventBridge sets from the sender's identity, not from what it
	// says: Source must be [events.ConsumerSource] of Consumer (IAM lets
	// each consumer's role put only its own), Account the registration's
	// account, or the secret's.
	Source  string
	Account string
}

// Acknowledge records that an instance of a consumer uses a version of the
// secret, as the tag [InstanceAckTag], and then evaluates the secret. A bad
// consumer name, instance id or version id is a [*FieldError] naming
// "consumer", "instance" or "versionId", and changes nothing. A forged,
// foreign, stale or unregistered acknowledgement is refused and recorded
// (see [AckResult]).
//
// The evaluation reads the secret again after the tag is written: two
// acknowledgements that arrive together each read the tags before the
// other wrote, and each would see the other missing if it evaluated what
// it read; reading after writing, the later of the two sees both.
func (g *Gate) Acknowledge(ctx context.Context, req AckRequest) (AckResult, error) {
	if err := ValidateConsumerName("consumer", req.Consumer); err != nil {
		return "", err
	}
	if err := validateInstance("instance", req.Instance); err != nil {
		return "", err
	}
	if err := validateVersionID("versionId", req.Version); err != nil {
		return "", err
	}
	d, err := g.cfg.Store.Details(ctx, req.SecretID)
	if err != nil {
		return "", &EvaluateError{SecretID: req.SecretID, Phase: "describe", Err: err}
	}
	log := g.log.With("secret", d.Name, "consumer", req.Consumer, "instance", req.Instance, "version", req.Version)
	refuse := func(result AckResult, why string, attrs ...any) (AckResult, error) {
		level := slog.LevelWarn
		if result == AckStale {
			level = slog.LevelInfo // late events are ordinary
		}
		log.Log(ctx, level, "acknowledgement refused: "+why, append([]any{"reason", string(result)}, attrs...)...)
		if err := g.cfg.Metrics.Emit(MetricRefusedAcks, 1, metrics.Count,
			map[string]string{DimensionSecretName: d.Name, DimensionReason: string(result)}); err != nil {
			log.WarnContext(ctx, "could not emit the metric", "metric", MetricRefusedAcks, "error", err)
		}
		return result, nil
	}
	if req.Source != events.ConsumerSource(req.Consumer) {
		return refuse(AckForged, "the event's source is not the consumer's own", "source", req.Source, "want_source", events.ConsumerSource(req.Consumer))
	}
	value, ok := d.Tags[ConsumerTagPrefix+req.Consumer]
	if !ok {
		return refuse(AckUnregistered, "the consumer is not registered; register it with the tag "+ConsumerTagPrefix+"<name>")
	}
	reg := ParseRegistration(req.Consumer, value)
	if reg.Err != nil {
		return refuse(AckBadRegistration, "the registration tag does not parse; the consumer waits for the grace period", "error", reg.Err.Error())
	}
	wantAccount := reg.Account
	if wantAccount == "" {
		wantAccount, _ = arnParts(d.ARN)
	}
	if req.Account != wantAccount {
		return refuse(AckForeign, "the event comes from another account than the registration's", "account", req.Account, "want_account", wantAccount)
	}
	if !d.HasStage(req.Version, secretstore.Current) {
		return refuse(AckStale, "the version is not AWSCURRENT")
	}
	key, ackValue := InstanceAckTag(req.Consumer, req.Instance, req.Version)
	result := AckDuplicate
	if d.Tags[key] != ackValue {
		if _, exists := d.Tags[key]; !exists && len(d.Tags) >= MaxTags {
			n, err := g.prune(ctx, req.SecretID, d, req.Version)
			if err != nil {
				return "", &EvaluateError{SecretID: req.SecretID, Phase: "tag", Err: err}
			}
			if len(d.Tags)-n >= MaxTags {
				return refuse(AckNoRoom, fmt.Sprintf("the secret has %d tags, the most it may carry", MaxTags))
			}
		}
		if err := g.cfg.Store.Tag(ctx, req.SecretID, map[string]string{key: ackValue}); err != nil {
			return "", &EvaluateError{SecretID: req.SecretID, Phase: "tag", Err: err}
		}
		result = AckRecorded
	}
	log.InfoContext(ctx, "acknowledgement "+string(result))
	// A duplicate wrote nothing: what was read is what to evaluate. A
	// recorded acknowledgement reads again (see above).
	if result == AckDuplicate {
		_, err = g.evaluate(ctx, req.SecretID, d)
	} else {
		_, err = g.Evaluate(ctx, req.SecretID)
	}
	return result, err
}

// untagger is the optional part of a [Store] that removes tags
// (UntagResource); the AWS adapter (awssm) has it.
type untagger interface {
	Untag(ctx context.Context, secretID string, keys []string) error
}

// prune makes room for an acknowledgement: it removes the acknowledgement
// tags of versions other than current (instances that left, versions gone
// by) and returns how many. An instance that acknowledges current while a
// prune based on an older read removes its tag loses that
// acknowledgement: the gate then waits longer, never revokes earlier.
func (g *Gate) prune(ctx context.Context, secretID string, d secretstore.Details, current string) (int, error) {
	u, ok := g.cfg.Store.(untagger)
	if !ok {
		return 0, nil
	}
	var keys []string
	for _, a := range instanceAcks(d.Tags) {
		if a.version != current {
			keys = append(keys, a.key)
		}
	}
	if len(keys) == 0 {
		return 0, nil
	}
	if err := u.Untag(ctx, secretID, keys); err != nil {
		return 0, err
	}
	g.log.InfoContext(ctx, "acknowledgements of older versions removed to make room", "secret", d.Name, "tags", len(keys))
	return len(keys), nil
}

// Sweep evaluates every secret of [Config.Secrets], or, when that is
// empty, every secret with a registration. It goes on after a failure and
// returns every error joined.
func (g *Gate) Sweep(ctx context.Context) error {
	ids := g.cfg.Secrets
	if len(ids) == 0 {
		found, err := g.cfg.Store.ListTagged(ctx, ConsumerTagPrefix)
		if err != nil {
			return &EvaluateError{SecretID: "*", Phase: "list", Err: err}
		}
		for _, s := range found {
			if g.cfg.FunctionName == "" || functionName(s.Rotation) == g.cfg.FunctionName {
				ids = append(ids, s.ARN)
			}
		}
	}
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if _, err := g.Evaluate(ctx, id); err != nil {
			g.log.ErrorContext(ctx, "evaluation failed", "secret", id, "error", err)
			errs = append(errs, err)
		}
	}
	g.log.InfoContext(ctx, "sweep finished", "secrets", len(ids), "failed", len(errs))
	return errors.Join(errs...)
}

// functionName is the name in a Lambda function ARN
// (arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]), or
// the whole string when it is not one.
func functionName(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) >= 7 && parts[5] == "function" {
		return parts[6]
	}
	return arn
}

package deactivation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/rotorhq/rotor/events"
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
//   - rotor "Consumer Acknowledged": record the acknowledgement, then
//     evaluate the secret;
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
	if ev.Source != events.Source {
		return fmt.Errorf("%w: source %q, detail-type %q", ErrUnsupportedEvent, ev.Source, ev.DetailType)
	}
	re, err := events.FromEventBridge(ev)
	if err != nil {
		return err
	}
	switch re.DetailType {
	case events.ConsumerAcknowledged:
		_, err := g.Acknowledge(ctx, re.Detail.SecretArn, re.Detail.Consumer, re.Detail.VersionID)
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

// Results of an acknowledgement.
const (
	// AckRecorded: the acknowledgement tag now holds the version.
	AckRecorded AckResult = "recorded"
	// AckDuplicate: the tag held the version already.
	AckDuplicate AckResult = "duplicate"
	// AckStale: the version is not AWSCURRENT (an old or out-of-order
	// acknowledgement); nothing recorded.
	AckStale AckResult = "stale"
	// AckUnregistered: the consumer is not registered on the secret;
	// nothing recorded.
	AckUnregistered AckResult = "unregistered"
)

// Acknowledge records that consumer uses version of the secret, as tag
// rotor:ack:<consumer> = version, and evaluates the secret when it did (or
// had done) so. A bad consumer name or version id is a [*FieldError]
// naming "consumer" or "versionId", and changes nothing.
func (g *Gate) Acknowledge(ctx context.Context, secretID, consumer, version string) (AckResult, error) {
	if err := ValidateConsumerName("consumer", consumer); err != nil {
		return "", err
	}
	if err := validateVersionID("versionId", version); err != nil {
		return "", err
	}
	d, err := g.cfg.Store.Details(ctx, secretID)
	if err != nil {
		return "", &EvaluateError{SecretID: secretID, Phase: "describe", Err: err}
	}
	log := g.log.With("secret", d.Name, "consumer", consumer, "version", version)
	if _, ok := d.Tags[ConsumerTagPrefix+consumer]; !ok {
		log.WarnContext(ctx, "acknowledgement from an unregistered consumer ignored; register it with the tag "+ConsumerTagPrefix+"<name>")
		return AckUnregistered, nil
	}
	if !d.HasStage(version, secretstore.Current) {
		log.InfoContext(ctx, "stale acknowledgement ignored: the version is not AWSCURRENT")
		return AckStale, nil
	}
	if d.Tags == nil {
		d.Tags = map[string]string{}
	}
	result := AckDuplicate
	key := AckTagPrefix + consumer
	if d.Tags[key] != version {
		if err := g.cfg.Store.Tag(ctx, secretID, map[string]string{key: version}); err != nil {
			return "", &EvaluateError{SecretID: secretID, Phase: "tag", Err: err}
		}
		d.Tags[key] = version
		result = AckRecorded
	}
	log.InfoContext(ctx, "acknowledgement "+string(result))
	if _, err := g.evaluate(ctx, secretID, d); err != nil {
		return result, err
	}
	return result, nil
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

package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rotorhq/rotor/events"
)

// EventBridgeAPI is the part of the EventBridge client that [Subscribe]
// uses; *eventbridge.Client satisfies it.
type EventBridgeAPI interface {
	CreateEventBus(ctx context.Context, params *eventbridge.CreateEventBusInput, optFns ...func(*eventbridge.Options)) (*eventbridge.CreateEventBusOutput, error)
	PutRule(ctx context.Context, params *eventbridge.PutRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutRuleOutput, error)
	PutTargets(ctx context.Context, params *eventbridge.PutTargetsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutTargetsOutput, error)
}

// QueueAPI is the part of the SQS client that [Subscribe] uses;
// *sqs.Client satisfies it.
type QueueAPI interface {
	GetQueueUrl(ctx context.Context, params *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	CreateQueue(ctx context.Context, params *sqs.CreateQueueInput, optFns ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueAttributes(ctx context.Context, params *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	SetQueueAttributes(ctx context.Context, params *sqs.SetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.SetQueueAttributesOutput, error)
}

var (
	_ EventBridgeAPI = (*eventbridge.Client)(nil)
	_ QueueAPI       = (*sqs.Client)(nil)
)

// Defaults of a [Subscription].
const (
	DefaultQueueName = "rotor-audit"
	DefaultRuleName  = "rotor-audit"
	DefaultBus       = "default"
	// TargetID is the id of the queue among the rule's targets.
	TargetID = "rotor-audit-queue"
)

// EventPattern matches every event the audit log records: rotor's, the
// consumers' acknowledgements (source "rotor.consumer.<name>") and Secrets
// Manager's.
const EventPattern = `{"source":["` + events.Source + `",{"prefix":"` + events.ConsumerSourcePrefix + `"},"` + SecretsManagerSource + `"]}`

// Subscription says which buses feed which queue. The zero value
// subscribes queue "rotor-audit" to the default bus.
type Subscription struct {
	// Buses are the event buses whose events are recorded (default:
	// "default", where Secrets Manager puts its own). rotor's functions
	// publish to the bus named by ROTOR_EVENT_BUS.
	Buses []string
	// QueueName and RuleName default to "rotor-audit". A rule has one
	// audit target: two subscriptions on a bus need two rule names.
	QueueName string
	RuleName  string
	// CreateBuses creates the buses that do not exist yet (the local
	// stack's; in AWS the CDK app creates them).
	CreateBuses bool
}

// InputError names the field of a [Subscription] that is wrong.
type InputError struct {
	Field, Reason string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("audit: subscription: %s: %s", e.Field, e.Reason)
}

// Subscribe creates, or finds, the queue and, on each bus, a rule that
// sends rotor's and Secrets Manager's events to it, and allows EventBridge
// to send to the queue from those rules. Every call does the same, so it
// may run at every start. It returns the queue's URL for [Consume].
func Subscribe(ctx context.Context, eb EventBridgeAPI, q QueueAPI, s Subscription) (queueURL string, err error) {
	if s.QueueName == "" {
		s.QueueName = DefaultQueueName
	}
	if s.RuleName == "" {
		s.RuleName = DefaultRuleName
	}
	if len(s.Buses) == 0 {
		s.Buses = []string{DefaultBus}
	}
	for i, b := range s.Buses {
		if b == "" {
			return "", &InputError{Field: "Buses[" + strconv.Itoa(i) + "]", Reason: "empty bus name"}
		}
	}

	queueURL, err = ensureQueue(ctx, q, s.QueueName)
	if err != nil {
		return "", err
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("audit: queue %s: %w", s.QueueName, err)
	}
	queueARN := attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if queueARN == "" {
		return "", fmt.Errorf("audit: queue %s: GetQueueAttributes returned no QueueArn", s.QueueName)
	}

	var ruleARNs []string
	for _, bus := range s.Buses {
		arn, err := ensureRule(ctx, eb, s, bus, queueARN)
		if err != nil {
			return "", err
		}
		ruleARNs = append(ruleARNs, arn)
	}
	if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), Attributes: map[string]string{"Policy": queuePolicy(queueARN, ruleARNs)},
	}); err != nil {
		return "", fmt.Errorf("audit: queue %s: policy: %w", s.QueueName, err)
	}
	return queueURL, nil
}

func ensureQueue(ctx context.Context, q QueueAPI, name string) (string, error) {
	got, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err == nil {
		return aws.ToString(got.QueueUrl), nil
	}
	if _, missing := errors.AsType[*sqstypes.QueueDoesNotExist](err); !missing {
		return "", fmt.Errorf("audit: queue %s: %w", name, err)
	}
	// Created with no attributes, so that a second creator racing this one
	// gets the same queue rather than QueueNameExists.
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("audit: queue %s: %w", name, err)
	}
	return aws.ToString(created.QueueUrl), nil
}

func ensureRule(ctx context.Context, eb EventBridgeAPI, s Subscription, bus, queueARN string) (string, error) {
	if s.CreateBuses && bus != DefaultBus {
		_, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)})
		if _, exists := errors.AsType[*ebtypes.ResourceAlreadyExistsException](err); err != nil && !exists {
			return "", fmt.Errorf("audit: bus %s: %w", bus, err)
		}
	}
	rule, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String(s.RuleName), EventBusName: aws.String(bus),
		EventPattern: aws.String(EventPattern), State: ebtypes.RuleStateEnabled,
		Description: aws.String("rotor's audit log: every rotation event"),
	})
	if err != nil {
		return "", fmt.Errorf("audit: bus %s: rule %s: %w", bus, s.RuleName, err)
	}
	out, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String(s.RuleName), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String(TargetID), Arn: aws.String(queueARN)}},
	})
	if err != nil {
		return "", fmt.Errorf("audit: bus %s: rule %s: target: %w", bus, s.RuleName, err)
	}
	if out.FailedEntryCount > 0 {
		code, msg := "", ""
		if len(out.FailedEntries) > 0 {
			code, msg = aws.ToString(out.FailedEntries[0].ErrorCode), aws.ToString(out.FailedEntries[0].ErrorMessage)
		}
		return "", fmt.Errorf("audit: bus %s: rule %s: target refused: %s %s", bus, s.RuleName, code, msg)
	}
	return aws.ToString(rule.RuleArn), nil
}

// queuePolicy lets EventBridge send to the queue from the audit rules
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions).
func queuePolicy(queueARN string, ruleARNs []string) string {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":       "rotor-audit",
			"Effect":    "Allow",
			"Principal": map[string]string{"Service": "events.amazonaws.com"},
			"Action":    "sqs:SendMessage",
			"Resource":  queueARN,
			"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": ruleARNs}},
		}},
	}
	b, _ := json.Marshal(doc) // maps of strings always marshal
	return string(b)
}

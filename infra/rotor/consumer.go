package rotor

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// ConsumerSubscriptionProps configure one consumer's subscription. Without
// Function and TargetBus, the consumer gets an SQS queue.
type ConsumerSubscriptionProps struct {
	// Name of the consumer; it becomes the rule's description. Required.
	Name string
	// Bus is the environment's rotor bus. Required.
	Bus awsevents.IEventBus
	// Secrets whose rotation events the consumer receives. Required.
	Secrets []awssecretsmanager.ISecret
	// Function is a Lambda consumer in this account and region, invoked with
	// each event. Optional.
	Function awslambda.IFunction
	// TargetBus is another account's event bus that receives the events. Its
	// policy must admit this account. Optional.
	TargetBus awsevents.IEventBus
	// VisibilityTimeout of the consumer's queue; default 30 seconds.
	VisibilityTimeout awscdk.Duration
	// MaxReceiveCount is how often a message is received before it moves to
	// the dead-letter queue; default 5.
	MaxReceiveCount int
}

// ConsumerSubscription is a consumer's rule on its secrets' events, its target
// and its dead-letter queue.
type ConsumerSubscription struct {
	name  string
	queue awssqs.Queue
	dlq   awssqs.Queue
	rule  awsevents.Rule
}

// ConsumerEventPattern matches rotor's events about the given secrets. Only
// rotor's events go to consumers: "Rotation Completed" is what they act on;
// Secrets Manager's own events reach the bus for audit and alarms.
func ConsumerEventPattern(secrets []awssecretsmanager.ISecret) *awsevents.EventPattern {
	arns := make([]*string, len(secrets))
	for i, s := range secrets {
		arns[i] = s.SecretArn()
	}
	return &awsevents.EventPattern{
		Source: jsii.Strings(EventSource),
		Detail: &map[string]any{FieldSecretArn: arns},
	}
}

// NewConsumerSubscription creates the subscription.
func NewConsumerSubscription(scope constructs.Construct, id string, props *ConsumerSubscriptionProps) *ConsumerSubscription {
	if props == nil || props.Name == "" || props.Bus == nil || len(props.Secrets) == 0 {
		panic("rotor: NewConsumerSubscription: Name, Bus and Secrets are required")
	}
	if props.Function != nil && props.TargetBus != nil {
		panic("rotor: NewConsumerSubscription: give Function or TargetBus, not both")
	}
	s := constructs.NewConstruct(scope, jsii.String(id))
	c := &ConsumerSubscription{name: props.Name}
	c.dlq = newQueue(s, "DeadLetterQueue", &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	// EventBridge's own maximum: a day of retries, then the dead-letter queue.
	maxAge, retries := awscdk.Duration_Hours(jsii.Number(24)), jsii.Number(185)

	var target awsevents.IRuleTarget
	switch {
	case props.Function != nil:
		target = awseventstargets.NewLambdaFunction(props.Function, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: c.dlq, MaxEventAge: maxAge, RetryAttempts: retries,
		})
	case props.TargetBus != nil:
		// CDK creates the role EventBridge assumes to put events on the other
		// account's bus, allowed events:PutEvents on that bus's ARN only.
		// (Event bus targets take no retry policy.)
		target = awseventstargets.NewEventBus(props.TargetBus, &awseventstargets.EventBusProps{
			DeadLetterQueue: c.dlq,
		})
	default:
		receives := props.MaxReceiveCount
		if receives == 0 {
			receives = 5
		}
		c.queue = newQueue(s, "Queue", &awssqs.QueueProps{
			VisibilityTimeout: props.VisibilityTimeout,
			RetentionPeriod:   awscdk.Duration_Days(jsii.Number(4)),
			DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: c.dlq, MaxReceiveCount: jsii.Number(float64(receives))},
		})
		target = awseventstargets.NewSqsQueue(c.queue, &awseventstargets.SqsQueueProps{
			DeadLetterQueue: c.dlq, MaxEventAge: maxAge, RetryAttempts: retries,
		})
	}
	if c.queue == nil {
		suppress(c.dlq, "AwsSolutions-SQS3",
			"this queue is the dead-letter queue of an EventBridge target (events it could not deliver); nothing processes it, so it needs no dead-letter queue of its own")
	}
	c.rule = awsevents.NewRule(s, jsii.String("Rule"), &awsevents.RuleProps{
		Description:  jsii.String("rotor events for consumer " + props.Name),
		EventBus:     props.Bus,
		EventPattern: ConsumerEventPattern(props.Secrets),
		Targets:      &[]awsevents.IRuleTarget{target},
	})
	return c
}

// Name is the consumer's name.
func (c *ConsumerSubscription) Name() string { return c.name }

// Queue is the consumer's queue; nil for Lambda and other-account consumers.
func (c *ConsumerSubscription) Queue() awssqs.Queue { return c.queue }

// DeadLetterQueue holds what the consumer or EventBridge could not handle.
func (c *ConsumerSubscription) DeadLetterQueue() awssqs.Queue { return c.dlq }

// Rule is the consumer's rule on the rotor bus.
func (c *ConsumerSubscription) Rule() awsevents.Rule { return c.rule }

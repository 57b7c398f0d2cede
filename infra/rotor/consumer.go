package rotor

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// ConsumerSubscriptionProps configure one consumer's subscription. Without
// Function and TargetBus, the consumer gets an SQS queue.
type ConsumerSubscriptionProps struct {
	// Name of the consumer; it becomes the rule's description and the
	// registration tag "rotor:consumer:<Name>" on each secret, so it follows
	// [ValidateConsumerName]. Required.
	Name string
	// Bus is the environment's rotor bus. Required.
	Bus awsevents.IEventBus
	// Secrets whose rotation events the consumer receives. Required. Each
	// secret defined in this app gets the registration tag; an imported
	// secret must be tagged where it is defined.
	Secrets []awssecretsmanager.ISecret
	// Function is a Lambda consumer in this account and region, invoked with
	// each event. When the function is defined in this app (it has a role),
	// it is granted what [ConsumerSubscription.Grant] grants. Optional.
	Function awslambda.IFunction
	// TargetBus is another account's event bus that receives the events. Its
	// policy must admit this account. Optional.
	TargetBus awsevents.IEventBus
	// AcknowledgeFrom is the account of a consumer behind TargetBus: the
	// environment's bus (which must be defined in this app) admits its
	// "Consumer Acknowledged" events of source "rotor.consumer.<Name>", and
	// nothing else from it, so that the deactivation gate hears from
	// consumers in other accounts; the registration names the account, and
	// the gate refuses this consumer's acknowledgements from any other.
	// Optional.
	AcknowledgeFrom string
	// Instances is how many instances (replicas) of the consumer run at
	// most: the deactivation gate waits for that many distinct instances to
	// acknowledge a version before it revokes the previous credential
	// early (shared/deactivation, "Instances"). Default 1; at most
	// [MaxInstances].
	Instances int
	// VisibilityTimeout of the consumer's queue; default 30 seconds.
	VisibilityTimeout awscdk.Duration
	// MaxReceiveCount is how often a message is received before it moves to
	// the dead-letter queue; default 5.
	MaxReceiveCount int
}

// ConsumerSubscription is a consumer's rule on its secrets' events, its target
// and its dead-letter queue.
type ConsumerSubscription struct {
	name         string
	kind         string
	registration string
	bus          awsevents.IEventBus
	secrets      []awssecretsmanager.ISecret
	queue        awssqs.Queue
	dlq          awssqs.Queue
	rule         awsevents.Rule
}

// ConsumerEventPattern matches rotor's events about the given secrets. Only
// rotor's events go to consumers: "Rotation Completed" is what they act on;
// Secrets Manager's own events reach the bus for audit and alarms.
// Acknowledgements are left out: they are the consumers' own events, for the
// deactivation gate, and a consumer that answered any event with an
// acknowledgement would otherwise answer the others' acknowledgements, and
// its own, without end.
func ConsumerEventPattern(secrets []awssecretsmanager.ISecret) *awsevents.EventPattern {
	arns := make([]*string, len(secrets))
	for i, s := range secrets {
		arns[i] = s.SecretArn()
	}
	return &awsevents.EventPattern{
		Source:     jsii.Strings(EventSource),
		DetailType: awsevents.Match_AnythingBut(DetailConsumerAcknowledged),
		Detail:     &map[string]any{FieldSecretArn: arns},
	}
}

// MaxConsumerNameLength keeps the registration tag's key,
// "rotor:consumer:<name>", within Secrets Manager's 128 characters.
const MaxConsumerNameLength = 128 - len(ConsumerTagPrefix)

// consumerNameChars are the characters of a consumer name: the characters
// Secrets Manager allows in tag keys ("letters, spaces, and numbers
// representable in UTF-8, plus + - = . _ : / @", API reference: Tag),
// narrowed as the deactivation gate narrows them (shared/deactivation): to
// ASCII, which ListSecrets' tag-key filter requires, and without the space.
// A name the gate would not read would register nothing.
const consumerNameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-=._:/@"

// ValidateConsumerName checks that "rotor:consumer:"+name is a tag key
// Secrets Manager takes and the deactivation gate reads.
func ValidateConsumerName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("consumer name: empty")
	case len(name) > MaxConsumerNameLength:
		return fmt.Errorf("consumer name %q: %d characters, more than %d (the tag key %q%s must fit in 128)",
			name, len(name), MaxConsumerNameLength, ConsumerTagPrefix, "<name>")
	case strings.HasPrefix(strings.ToLower(name), "aws:"):
		return fmt.Errorf("consumer name %q: starts with \"aws:\", which AWS reserves", name)
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return !strings.ContainsRune(consumerNameChars, r) }); i >= 0 {
		return fmt.Errorf("consumer name %q: character %d is not an ASCII letter, a digit or one of + - = . _ : / @", name, i+1)
	}
	return nil
}

// NewConsumerSubscription creates the subscription.
func NewConsumerSubscription(scope constructs.Construct, id string, props *ConsumerSubscriptionProps) *ConsumerSubscription {
	if props == nil || props.Name == "" || props.Bus == nil || len(props.Secrets) == 0 {
		panic("rotor: NewConsumerSubscription: Name, Bus and Secrets are required")
	}
	if props.Function != nil && props.TargetBus != nil {
		panic("rotor: NewConsumerSubscription: give Function or TargetBus, not both")
	}
	if err := ValidateConsumerName(props.Name); err != nil {
		panic("rotor: NewConsumerSubscription: " + err.Error())
	}
	if props.Instances < 0 || props.Instances > MaxInstances {
		panic(fmt.Sprintf("rotor: NewConsumerSubscription: Instances %d: want 1 to %d (0 means 1)", props.Instances, MaxInstances))
	}
	if props.AcknowledgeFrom != "" && (len(props.AcknowledgeFrom) != 12 || strings.Trim(props.AcknowledgeFrom, "0123456789") != "") {
		panic(fmt.Sprintf("rotor: NewConsumerSubscription: AcknowledgeFrom %q is not an account id of 12 digits", props.AcknowledgeFrom))
	}
	s := constructs.NewConstruct(scope, jsii.String(id))
	c := &ConsumerSubscription{name: props.Name, bus: props.Bus, secrets: props.Secrets}
	c.dlq = newQueue(s, "DeadLetterQueue", &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	// EventBridge's own maximum: a day of retries, then the dead-letter queue.
	maxAge, retries := awscdk.Duration_Hours(jsii.Number(24)), jsii.Number(185)

	var target awsevents.IRuleTarget
	switch {
	case props.Function != nil:
		c.kind = ConsumerKindLambda
		target = awseventstargets.NewLambdaFunction(props.Function, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: c.dlq, MaxEventAge: maxAge, RetryAttempts: retries,
		})
	case props.TargetBus != nil:
		c.kind = ConsumerKindBus
		// CDK creates the role EventBridge assumes to put events on the other
		// account's bus, allowed events:PutEvents on that bus's ARN only.
		// (Event bus targets take no retry policy.)
		target = awseventstargets.NewEventBus(props.TargetBus, &awseventstargets.EventBusProps{
			DeadLetterQueue: c.dlq,
		})
	default:
		c.kind = ConsumerKindSQS
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
	if props.AcknowledgeFrom != "" {
		admitAcknowledgements(props.Bus, props.Name, props.AcknowledgeFrom)
	}
	// The registration the deactivation gate reads. Tags_Of reaches the
	// secrets defined in this app; on an imported secret it does nothing.
	c.registration = c.kind
	if props.AcknowledgeFrom != "" {
		c.registration += " " + RegistrationAccount + "=" + props.AcknowledgeFrom
	}
	if props.Instances > 1 {
		c.registration += fmt.Sprintf(" %s=%d", RegistrationInstances, props.Instances)
	}
	for _, secret := range props.Secrets {
		awscdk.Tags_Of(secret).Add(jsii.String(ConsumerTagPrefix+props.Name), jsii.String(c.registration), &awscdk.TagProps{
			IncludeResourceTypes: jsii.Strings("AWS::SecretsManager::Secret"),
		})
	}
	// A function imported by ARN has no role to grant to: its own stack
	// calls Grant.
	if props.Function != nil && props.Function.Role() != nil {
		c.Grant(props.Function)
	}
	return c
}

// admitAcknowledgements lets account put "Consumer Acknowledged" events of
// the consumer's own source only on bus (EventBridge's events:source and
// events:detail-type condition keys): the account can acknowledge for this
// consumer, and for no other.
func admitAcknowledgements(bus awsevents.IEventBus, consumer, account string) {
	eb, ok := bus.(awsevents.EventBus)
	if !ok {
		panic("rotor: NewConsumerSubscription: AcknowledgeFrom needs a Bus defined in this app, whose policy it can extend")
	}
	sid := "AcknowledgeFrom"
	for _, r := range consumer {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			sid += string(r)
		}
	}
	eb.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid + account),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAccountPrincipal(jsii.String(account))},
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  jsii.Strings(*eb.EventBusArn()),
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"events:source":      ConsumerSource(consumer),
			"events:detail-type": DetailConsumerAcknowledged,
		}},
	}))
}

// Grant gives grantee, the consumer's own role or function, what the
// consumer side needs, in its identity policy: events:PutEvents on the bus
// for "Consumer Acknowledged" of the consumer's own source only
// (conditions events:source = "rotor.consumer.<name>" and
// events:detail-type), so that it cannot acknowledge in another consumer's
// name nor publish rotor's own events; secretsmanager:GetSecretValue and
// DescribeSecret on each secret; and kms:Decrypt on each secret's customer
// managed key, through Secrets Manager only (Secrets Manager cannot return a
// value without it). Nothing goes into the key's or the secret's resource
// policy, so a service's stack that grants itself makes the rotor stack
// depend on nothing. A rotated secret's resource policy still denies
// GetSecretValue to every principal that is not among its readers: list the
// role there too.
func (c *ConsumerSubscription) Grant(grantee awsiam.IGrantable) {
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      grantee,
		Actions:      jsii.Strings("events:PutEvents"),
		ResourceArns: jsii.Strings(*c.bus.EventBusArn()),
		Conditions: &map[string]*map[string]any{
			"StringEquals": {"events:source": ConsumerSource(c.name), "events:detail-type": DetailConsumerAcknowledged},
		},
	})
	var arns []*string
	keys := map[string]awskms.IKey{}
	var order []string
	for _, s := range c.secrets {
		arn := s.SecretFullArn()
		if arn == nil {
			// Imported by name: the ARN ends in six unknown characters.
			arn = jsii.String(*s.SecretArn() + "-??????")
		}
		arns = append(arns, arn)
		if k := s.EncryptionKey(); k != nil {
			path := *k.Node().Path()
			if keys[path] == nil {
				order = append(order, path)
			}
			keys[path] = k
		}
	}
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      grantee,
		Actions:      jsii.Strings("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
		ResourceArns: &arns,
	})
	for _, path := range order {
		k := keys[path]
		awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
			Grantee:      grantee,
			Actions:      jsii.Strings("kms:Decrypt"),
			ResourceArns: jsii.Strings(*k.KeyArn()),
			Conditions: &map[string]*map[string]any{
				"StringEquals": {"kms:ViaService": fmt.Sprintf("secretsmanager.%s.amazonaws.com", *awscdk.Stack_Of(k).Region())},
			},
		})
	}
}

// Kind is the consumer's kind, the first word of its registration: "sqs",
// "lambda" or "bus".
func (c *ConsumerSubscription) Kind() string { return c.kind }

// Registration is the registration tag's value: the kind, then
// "account=<AcknowledgeFrom>" and "instances=<Instances>" when set.
func (c *ConsumerSubscription) Registration() string { return c.registration }

// Name is the consumer's name.
func (c *ConsumerSubscription) Name() string { return c.name }

// Queue is the consumer's queue; nil for Lambda and other-account consumers.
func (c *ConsumerSubscription) Queue() awssqs.Queue { return c.queue }

// DeadLetterQueue holds what the consumer or EventBridge could not handle.
func (c *ConsumerSubscription) DeadLetterQueue() awssqs.Queue { return c.dlq }

// Rule is the consumer's rule on the rotor bus.
func (c *ConsumerSubscription) Rule() awsevents.Rule { return c.rule }

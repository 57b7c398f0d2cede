package rotor

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// RotationEventsProps configure an environment's rotation events.
type RotationEventsProps struct {
	// BusName is the custom event bus the functions publish to. Required.
	BusName string
	// ArchiveRetention is how long the archive keeps events for replay;
	// nil keeps them forever.
	ArchiveRetention awscdk.Duration
	// AuditBusArn is the central audit bus (in the security account) that
	// receives every rotor and Secrets Manager event of the environment.
	// Optional; the audit account's bus policy must admit this account
	// (see [NewAuditBus]).
	AuditBusArn string
}

// RotationEvents is an environment's event bus, its archive, the rule that
// brings Secrets Manager's events from the default bus onto it, and the rule
// that forwards everything to the audit bus.
type RotationEvents struct {
	bus       awsevents.EventBus
	archive   awsevents.Archive
	fromAWS   awsevents.Rule
	toAudit   awsevents.Rule
	auditDLQ  awssqs.Queue
	auditPeer awsevents.IEventBus
}

// RotorEventPattern matches every event rotor publishes, the consumers'
// acknowledgements included.
func RotorEventPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{Source: rotorSources()}
}

// rotorSources matches the sources of rotor's events: "rotor", and the
// consumers' own "rotor.consumer.<name>" (their acknowledgements); with
// extra, other sources too.
func rotorSources(extra ...string) *[]*string {
	m := []any{jsii.String(EventSource), awsevents.Match_Prefix(jsii.String(ConsumerSourcePrefix))}
	for _, e := range extra {
		m = append(m, jsii.String(e))
	}
	return awsevents.Match_AnyOf(m...)
}

// NewRotationEvents creates the bus, its archive and its rules.
func NewRotationEvents(scope constructs.Construct, id string, props *RotationEventsProps) *RotationEvents {
	if props == nil || props.BusName == "" {
		panic("rotor: NewRotationEvents: BusName is required")
	}
	s := constructs.NewConstruct(scope, jsii.String(id))
	e := &RotationEvents{}
	e.bus = awsevents.NewEventBus(s, jsii.String("Bus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(props.BusName),
		Description:  jsii.String("rotor rotation events"),
	})
	// Everything on the bus is archived: rotor's events and Secrets Manager's.
	e.archive = e.bus.Archive(jsii.String("Archive"), &awsevents.BaseArchiveProps{
		Description:  jsii.String("rotor rotation events, for replay"),
		EventPattern: &awsevents.EventPattern{Source: rotorSources(SecretsManagerSource)},
		Retention:    props.ArchiveRetention,
	})

	// Secrets Manager publishes on the default bus only (its CloudTrail
	// records: RotationStarted, RotationSucceeded, RotationFailed, API calls).
	// Bringing them onto rotor's bus puts one environment's whole story on
	// one bus: for the archive, the audit forward and the alarms.
	e.fromAWS = awsevents.NewRule(s, jsii.String("FromSecretsManager"), &awsevents.RuleProps{
		Description:  jsii.String("Secrets Manager events from the default bus to rotor's bus"),
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings(SecretsManagerSource)},
		Targets:      &[]awsevents.IRuleTarget{awseventstargets.NewEventBus(e.bus, nil)},
	})

	if props.AuditBusArn != "" {
		e.auditPeer = awsevents.EventBus_FromEventBusArn(s, jsii.String("AuditBus"), jsii.String(props.AuditBusArn))
		// Events EventBridge could not deliver to the audit bus wait here.
		e.auditDLQ = newQueue(s, "AuditForwardDeadLetters", &awssqs.QueueProps{
			RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		})
		suppress(e.auditDLQ, "AwsSolutions-SQS3",
			"this queue is the dead-letter queue of the audit forward rule's target; nothing reads it to process, so it needs no dead-letter queue of its own")
		e.toAudit = awsevents.NewRule(s, jsii.String("ToAudit"), &awsevents.RuleProps{
			Description:  jsii.String("every rotor and Secrets Manager event to the central audit bus"),
			EventBus:     e.bus,
			EventPattern: &awsevents.EventPattern{Source: rotorSources(SecretsManagerSource)},
			// CDK creates the role EventBridge assumes, allowed events:PutEvents
			// on the audit bus's ARN only.
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewEventBus(e.auditPeer, &awseventstargets.EventBusProps{
				DeadLetterQueue: e.auditDLQ,
			})},
		})
	}
	return e
}

// Bus is the environment's rotor event bus.
func (e *RotationEvents) Bus() awsevents.EventBus { return e.bus }

// Archive is the bus's archive.
func (e *RotationEvents) Archive() awsevents.Archive { return e.archive }

// FromSecretsManagerRule forwards Secrets Manager's events from the default bus.
func (e *RotationEvents) FromSecretsManagerRule() awsevents.Rule { return e.fromAWS }

// AuditRule forwards to the audit bus; nil without AuditBusArn.
func (e *RotationEvents) AuditRule() awsevents.Rule { return e.toAudit }

// AuditDeadLetterQueue holds events the audit bus did not take; nil without AuditBusArn.
func (e *RotationEvents) AuditDeadLetterQueue() awssqs.Queue { return e.auditDLQ }

// AuditBusProps configure the central audit bus.
type AuditBusProps struct {
	// BusName is the audit bus's name. Required.
	BusName string
	// SourceAccounts may put events on the bus: the environments' accounts.
	// Required.
	SourceAccounts []string
	// LogRetention is how long the audit log group keeps events; default ten years.
	LogRetention awslogs.RetentionDays
}

// AuditBus is the security account's audit bus, its cross-account policy and
// its sink.
//
// The sink is a CloudWatch Logs log group rather than an S3 bucket with
// object lock. EventBridge delivers to a log group directly (an S3 bucket
// needs a Firehose stream in between); log events cannot be edited once
// written, only expired by retention or deleted with their group, which the
// stack retains and which the security account's own guardrails (SCPs
// denying logs:Delete*) protect; and Logs Insights queries the records
// where they are. Object lock in compliance mode gives a stronger
// write-once guarantee; a team that needs it adds a subscription filter
// from this log group to a Firehose stream writing to a locked bucket.
type AuditBus struct {
	bus      awsevents.EventBus
	policy   awsevents.EventBusPolicy
	logGroup awslogs.LogGroup
	rule     awsevents.Rule
}

// NewAuditBus creates the audit bus, a policy admitting the source accounts,
// and a rule that writes every event to the audit log group.
func NewAuditBus(scope constructs.Construct, id string, props *AuditBusProps) *AuditBus {
	if props == nil || props.BusName == "" || len(props.SourceAccounts) == 0 {
		panic("rotor: NewAuditBus: BusName and SourceAccounts are required")
	}
	s := constructs.NewConstruct(scope, jsii.String(id))
	a := &AuditBus{}
	a.bus = awsevents.NewEventBus(s, jsii.String("Bus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(props.BusName),
		Description:  jsii.String("rotor audit: rotation events of every environment"),
	})
	principals := make([]awsiam.IPrincipal, len(props.SourceAccounts))
	for i, acct := range props.SourceAccounts {
		principals[i] = awsiam.NewAccountPrincipal(jsii.String(acct))
	}
	// One statement, one AWS::Events::EventBusPolicy: the accounts as
	// principals, PutEvents only, on this bus only.
	res := a.bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("RotorEnvironmentsPutEvents"),
		Principals: &principals,
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  jsii.Strings(*a.bus.EventBusArn()),
	}))
	a.policy = res.PolicyDependable.(awsevents.EventBusPolicy)

	retention := props.LogRetention
	if retention == "" {
		retention = awslogs.RetentionDays_TEN_YEARS
	}
	a.logGroup = awslogs.NewLogGroup(s, jsii.String("Log"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/rotor/audit/" + props.BusName),
		Retention:     retention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	a.rule = awsevents.NewRule(s, jsii.String("ToLog"), &awsevents.RuleProps{
		Description:  jsii.String("every rotation event to the audit log"),
		EventBus:     a.bus,
		EventPattern: &awsevents.EventPattern{Source: rotorSources(SecretsManagerSource)},
	})
	newLogDelivery(s, "LogDelivery").route(a.rule, a.logGroup)
	return a
}

// Bus is the audit bus.
func (a *AuditBus) Bus() awsevents.EventBus { return a.bus }

// Policy is the bus policy admitting the environments' accounts.
func (a *AuditBus) Policy() awsevents.EventBusPolicy { return a.policy }

// LogGroup is the audit sink.
func (a *AuditBus) LogGroup() awslogs.LogGroup { return a.logGroup }

// Rule writes the bus's events to the sink.
func (a *AuditBus) Rule() awsevents.Rule { return a.rule }

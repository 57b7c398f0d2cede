package rotor

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawsevents"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppress records a cdk-nag suppression, with its reason, on c's own
// CloudFormation resource (its default child), not on its children, so that
// a suppression never hides a finding it was not written for. appliesTo
// narrows a granular rule (IAM4, IAM5) to its findings.
func suppress(c constructs.IConstruct, rule, reason string, appliesTo ...string) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		var at []any
		for _, a := range appliesTo {
			at = append(at, a)
		}
		s.AppliesTo = &at
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(false))
}

// ApplyNagChecks runs cdk-nag's AwsSolutions pack on every construct under
// scope. Aspects do not cross Stage boundaries, so an app calls it on the app
// and on every stage.
func ApplyNagChecks(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// newQueue makes an SQS queue as every queue of rotor's is: encrypted with SQS
// managed keys (EventBridge can send to it without a key policy) and refusing
// requests without TLS.
func newQueue(scope constructs.Construct, id string, props *awssqs.QueueProps) awssqs.Queue {
	if props == nil {
		props = &awssqs.QueueProps{}
	}
	props.Encryption = awssqs.QueueEncryption_SQS_MANAGED
	props.EnforceSSL = jsii.Bool(true)
	return awssqs.NewQueue(scope, jsii.String(id), props)
}

// logGroupTarget sends a rule's events to a CloudWatch Logs log group.
//
// CDK's own target (awseventstargets.CloudWatchLogGroup) writes the log
// group's resource policy with a custom resource: a Node.js Lambda function
// whose role may call logs:PutResourcePolicy on any resource. This target
// leaves the policy to [logDelivery], which writes it as an
// AWS::Logs::ResourcePolicy, scoped to the log groups and rules it serves.
type logGroupTarget struct {
	group awslogs.LogGroup
}

func (t *logGroupTarget) Bind(_ interfacesawsevents.IRuleRef, _ *string) *awsevents.RuleTargetConfig {
	stack := awscdk.Stack_Of(t.group)
	return &awsevents.RuleTargetConfig{
		// The target ARN has no ":*" at the end, unlike the log group's Arn.
		Arn: stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("logs"),
			Resource:     jsii.String("log-group"),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
			ResourceName: t.group.LogGroupName(),
		}),
		TargetResource: t.group,
	}
}

// logDelivery is one CloudWatch Logs resource policy that lets EventBridge
// write to some log groups, from some rules only. It holds one statement
// whose resources and aws:SourceArn condition grow with each route: a
// resource policy may hold 5,120 characters, and an account and region only
// ten policies, so a construct keeps to one small policy.
type logDelivery struct {
	statement awsiam.PolicyStatement
	rules     []*string
	groups    map[string]bool
}

func newLogDelivery(scope constructs.Construct, id string) *logDelivery {
	d := &logDelivery{groups: map[string]bool{}}
	d.statement = awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("EventBridgeToRotorLogs"),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil), awsiam.NewServicePrincipal(jsii.String("delivery.logs.amazonaws.com"), nil)},
		Actions:    jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
	})
	awslogs.NewResourcePolicy(scope, jsii.String(id), &awslogs.ResourcePolicyProps{
		PolicyStatements: &[]awsiam.PolicyStatement{d.statement},
	})
	return d
}

// route adds group as a target of rule and lets the rule write to it. No
// dependency ties the rule to the policy: the policy names the rule's ARN,
// so the rule comes first; an event that arrives before the policy exists is
// retried by EventBridge.
func (d *logDelivery) route(rule awsevents.Rule, group awslogs.LogGroup) {
	rule.AddTarget(&logGroupTarget{group: group})
	if path := *group.Node().Path(); !d.groups[path] {
		d.groups[path] = true
		d.statement.AddResources(group.LogGroupArn())
	}
	d.rules = append(d.rules, rule.RuleArn())
	// AddCondition replaces the key's value: the whole list each time.
	d.statement.AddCondition(jsii.String("ArnEquals"), map[string]any{"aws:SourceArn": d.rules})
}

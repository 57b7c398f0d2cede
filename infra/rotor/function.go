package rotor

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// RotatorFunctionProps configure a rotation function.
type RotatorFunctionProps struct {
	// Code is the function's code: awslambda.Code_FromAsset on the folder
	// `make build` writes (dist/<function>, holding bootstrap). Required.
	Code awslambda.Code
	// EventBus is where the function publishes rotation events; its name is
	// ROTOR_EVENT_BUS and the role may put events on it and on nothing else.
	// The deactivation gate receives its secrets' "Consumer Acknowledged"
	// and "Rotation Completed" events from it. Required.
	EventBus awsevents.IEventBus
	// FingerprintKey is the environment's key of event fingerprints
	// (ROTOR_FINGERPRINT_KEY_SECRET); the role may read it. Required.
	FingerprintKey *FingerprintKey
	// GracePeriod is ROTOR_GRACE_PERIOD, a Go duration: how long after a
	// rotation the gate waits for acknowledgements before it deactivates
	// the previous credential anyway; default "24h".
	GracePeriod string
	// LockIdleUser is ROTOR_LOCK_IDLE_USER: the gate locks the idle user of
	// alternating users once every consumer has acknowledged, or the grace
	// period has passed.
	LockIdleUser bool
	// SweepByTag makes the gate's hourly sweep find its secrets by their
	// registration tags (ListSecrets, granted on "*"), for secrets that
	// [NewRotatedSecret] did not create. By default the sweep evaluates the
	// secrets of this function, named in ROTOR_GATE_SECRETS: a function may
	// describe its own secrets only, and ListSecrets would also return the
	// secrets of every other rotor function of the account.
	SweepByTag bool
	// Strategy is ROTATION_STRATEGY: "alternating-users" (default) or "single-user".
	Strategy string
	// PasswordLength is PASSWORD_LENGTH; 0 leaves the function's default (32).
	PasswordLength int
	// ExcludeCharacters is EXCLUDE_CHARACTERS; nil leaves the function's default.
	ExcludeCharacters *string
	// PasswordSource is PASSWORD_SOURCE: "local" (default) or "secretsmanager",
	// which also grants secretsmanager:GetRandomPassword.
	PasswordSource string
	// LogLevel is LOG_LEVEL; default "info".
	LogLevel string
	// LogRetention is the log group's retention; default three months.
	LogRetention awslogs.RetentionDays
	// ReservedConcurrency caps concurrent rotations; default 5.
	ReservedConcurrency int
	// Timeout of one rotation step; default 30 seconds.
	Timeout awscdk.Duration
	// Tracing turns on X-Ray active tracing.
	Tracing bool
	// Vpc places the function in a VPC (the database's). Optional.
	Vpc awsec2.IVpc
	// VpcSubnets are the function's subnets; default the VPC's private ones.
	VpcSubnets *awsec2.SubnetSelection
	// DatabaseSecurityGroup gets an ingress rule from the function's security
	// group on DatabasePort. With Vpc, give it or DatabasePeer.
	DatabaseSecurityGroup awsec2.ISecurityGroup
	// DatabasePeer (a CIDR block) is where the function may connect on
	// DatabasePort when the database's security group is managed elsewhere.
	DatabasePeer awsec2.IPeer
	// DatabasePort is the database's port. Required with Vpc.
	DatabasePort int
	// NoNat says the subnets have no route to AWS's public endpoints: the
	// function then reaches Secrets Manager and EventBridge through interface
	// endpoints, Endpoints or, when nil, endpoints of its own.
	NoNat bool
	// Endpoints are interface endpoints shared by the functions of one VPC
	// (see [NewServiceEndpoints]); only with NoNat.
	Endpoints *ServiceEndpoints
}

// RotatorFunction is a rotation function, its role and its log group.
type RotatorFunction struct {
	scope         constructs.Construct
	function      awslambda.Function
	role          awsiam.Role
	logGroup      awslogs.LogGroup
	securityGroup awsec2.SecurityGroup
	endpoints     *ServiceEndpoints
	permission    awslambda.CfnPermission
	timeout       awscdk.Duration
	keys          map[string]awsiam.PolicyStatement
	bus           awsevents.IEventBus
	sweepByTag    bool
	tagging       awsiam.PolicyStatement
	untagging     awsiam.PolicyStatement
	gateSecrets   []string
	gateRule      awsevents.Rule
	schedule      awsevents.Rule
}

// GateScheduleExpression is how often EventBridge wakes the deactivation gate, so
// that grace periods expire without new events.
const GateScheduleExpression = "rate(1 hour)"

// MaxGateSecretsLength bounds ROTOR_GATE_SECRETS: Lambda allows 4 KB for
// all of a function's environment variables, and the others take a few
// hundred bytes.
const MaxGateSecretsLength = 2048

// NewRotatorFunction creates a rotation function under a scope of its own.
func NewRotatorFunction(scope constructs.Construct, id string, props *RotatorFunctionProps) *RotatorFunction {
	if props == nil || props.Code == nil || props.EventBus == nil || props.FingerprintKey == nil {
		panic("rotor: NewRotatorFunction: Code, EventBus and FingerprintKey are required")
	}
	s := constructs.NewConstruct(scope, jsii.String(id))
	r := &RotatorFunction{scope: s, keys: map[string]awsiam.PolicyStatement{}, bus: props.EventBus, sweepByTag: props.SweepByTag}

	retention := props.LogRetention
	if retention == "" {
		retention = awslogs.RetentionDays_THREE_MONTHS
	}
	r.logGroup = awslogs.NewLogGroup(s, jsii.String("LogGroup"), &awslogs.LogGroupProps{
		Retention:     retention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	// The role is written out rather than built from AWS managed policies
	// (AWSLambdaBasicExecutionRole, AWSLambdaVPCAccessExecutionRole), whose
	// log permissions cover every log group of the account. Its inline policy
	// is part of the role resource, so it exists before the function is
	// created (Lambda checks the ENI permissions then).
	execution := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{})
	execution.AddStatements(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteOwnLogs"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*r.logGroup.LogGroupArn()),
	}))
	if props.Vpc != nil {
		execution.AddStatements(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ManageVpcNetworkInterfaces"),
			Actions: jsii.Strings("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
				"ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
				"ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
			Resources: jsii.Strings("*"),
		}))
	}
	r.role = awsiam.NewRole(s, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:      awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description:    jsii.String("rotor rotation function: its own logs, its own secrets and key, its event bus"),
		InlinePolicies: &map[string]awsiam.PolicyDocument{"Execution": execution},
	})
	if props.Vpc != nil {
		suppress(r.role, "AwsSolutions-IAM5",
			"Lambda creates and deletes the function's network interfaces with these EC2 actions; "+
				"Describe* actions support no resource-level permissions and the interfaces' IDs are not known "+
				"before Lambda creates them (the same statement as AWS's AWSLambdaVPCAccessExecutionRole, without its log permissions)",
			"Resource::*")
	}

	env := map[string]*string{
		EnvRotationStrategy: jsii.String(orDefault(props.Strategy, "alternating-users")),
		EnvPasswordSource:   jsii.String(orDefault(props.PasswordSource, "local")),
		EnvLogLevel:         jsii.String(orDefault(props.LogLevel, "info")),
		EnvEventBus:         props.EventBus.EventBusName(),
		// The ARN: the name would be resolved by Secrets Manager too, but
		// the ARN names this secret and no other of the same name.
		EnvFingerprintKeySecret: props.FingerprintKey.Secret().SecretArn(),
		EnvGracePeriod:          jsii.String(orDefault(props.GracePeriod, DefaultGracePeriod)),
		EnvLockIdleUser:         jsii.String(strconv.FormatBool(props.LockIdleUser)),
	}
	if props.PasswordLength != 0 {
		env[EnvPasswordLength] = jsii.String(strconv.Itoa(props.PasswordLength))
	}
	if props.ExcludeCharacters != nil {
		env[EnvExcludeCharacters] = props.ExcludeCharacters
	}

	concurrency := props.ReservedConcurrency
	if concurrency == 0 {
		concurrency = 5
	}
	timeout := props.Timeout
	if timeout == nil {
		timeout = awscdk.Duration_Seconds(jsii.Number(30))
	}
	r.timeout = timeout
	fp := &awslambda.FunctionProps{
		Description:                  jsii.String("rotor rotation function (" + orDefault(props.Strategy, "alternating-users") + ")"),
		Runtime:                      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:                 awslambda.Architecture_ARM_64(),
		Handler:                      jsii.String("bootstrap"),
		Code:                         props.Code,
		Role:                         r.role,
		Environment:                  &env,
		LogGroup:                     r.logGroup,
		ReservedConcurrentExecutions: jsii.Number(float64(concurrency)),
		Timeout:                      timeout,
		MemorySize:                   jsii.Number(256),
	}
	if props.Tracing {
		fp.Tracing = awslambda.Tracing_ACTIVE
	}
	if props.Vpc != nil {
		r.securityGroup = r.placeInVpc(s, props)
		fp.Vpc = props.Vpc
		fp.VpcSubnets = props.VpcSubnets
		fp.SecurityGroups = &[]awsec2.ISecurityGroup{r.securityGroup}
	}
	r.function = awslambda.NewFunction(s, jsii.String("Function"), fp)
	if props.Tracing {
		// CDK adds the X-Ray statement to the role's default policy.
		suppress(r.role.Node().FindChild(jsii.String("DefaultPolicy")), "AwsSolutions-IAM5",
			"xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions "+
				"(X-Ray's service authorization reference lists no resource types for them)",
			"Resource::*")
	}

	props.EventBus.GrantPutEventsTo(r.role, nil)
	props.FingerprintKey.AllowRead(r.role)
	r.allowKey(props.FingerprintKey.EncryptionKey(), "kms:Decrypt")

	if props.SweepByTag {
		p := awsiam.NewPolicy(s, jsii.String("ListSecrets"), &awsiam.PolicyProps{
			Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("secretsmanager:ListSecrets"),
				Resources: jsii.Strings("*"),
			})},
			Roles: &[]awsiam.IRole{r.role},
		})
		suppress(p, "AwsSolutions-IAM5",
			"secretsmanager:ListSecrets supports no resource-level permissions: the Secrets Manager service authorization reference "+
				"(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html) lists no resource type for it, "+
				"so IAM accepts only *; it returns secrets' metadata, never their values, and the gate's sweep uses it to find secrets by their registration tags",
			"Resource::*")
	}

	if props.PasswordSource == "secretsmanager" {
		// The one secretsmanager action on "*": GetRandomPassword reads no
		// secret and has no resource type, so IAM accepts no narrower resource.
		p := awsiam.NewPolicy(s, jsii.String("GetRandomPassword"), &awsiam.PolicyProps{
			Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("secretsmanager:GetRandomPassword"),
				Resources: jsii.Strings("*"),
			})},
			Roles: &[]awsiam.IRole{r.role},
		})
		suppress(p, "AwsSolutions-IAM5",
			"secretsmanager:GetRandomPassword has no resource type and must be granted on *; it reads and changes no secret",
			"Resource::*")
	}

	// One invoke permission per function, naming the source account: a
	// permission per secret (with its ARN) would grow the function's policy
	// past Lambda's 20 KB limit in a fleet of a few dozen secrets.
	r.permission = awslambda.NewCfnPermission(s, jsii.String("SecretsManagerInvoke"), &awslambda.CfnPermissionProps{
		Action:        jsii.String("lambda:InvokeFunction"),
		FunctionName:  r.function.FunctionArn(),
		Principal:     jsii.String("secretsmanager.amazonaws.com"),
		SourceAccount: awscdk.Stack_Of(s).Account(),
	})
	return r
}

func (r *RotatorFunction) placeInVpc(s constructs.Construct, props *RotatorFunctionProps) awsec2.SecurityGroup {
	if props.DatabasePort < 1 || props.DatabasePort > 65535 {
		panic(fmt.Sprintf("rotor: NewRotatorFunction: DatabasePort %d is not a port", props.DatabasePort))
	}
	if (props.DatabaseSecurityGroup == nil) == (props.DatabasePeer == nil) {
		panic("rotor: NewRotatorFunction: with Vpc, give DatabaseSecurityGroup or DatabasePeer")
	}
	sg := awsec2.NewSecurityGroup(s, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              props.Vpc,
		Description:      jsii.String("rotor rotation function - to its database and to AWS APIs only"),
		AllowAllOutbound: jsii.Bool(false),
	})
	port := awsec2.Port_Tcp(jsii.Number(float64(props.DatabasePort)))
	if props.DatabaseSecurityGroup != nil {
		// Adds the egress rule here and the ingress rule on the database's group.
		sg.Connections().AllowTo(props.DatabaseSecurityGroup, port, jsii.String("rotor function to its database"))
	} else {
		sg.AddEgressRule(props.DatabasePeer, port, jsii.String("rotor function to its database"), nil)
	}
	https := awsec2.Port_Tcp(jsii.Number(443))
	if props.NoNat {
		r.endpoints = props.Endpoints
		if r.endpoints == nil {
			r.endpoints = NewServiceEndpoints(s, "Endpoints", &ServiceEndpointsProps{Vpc: props.Vpc, Subnets: props.VpcSubnets})
		}
		r.endpoints.AllowFrom(sg)
	} else {
		// Secrets Manager's and EventBridge's public endpoints, through the NAT.
		sg.AddEgressRule(awsec2.Peer_AnyIpv4(), https, jsii.String("AWS APIs (Secrets Manager, EventBridge) through the NAT"), nil)
	}
	return sg
}

// Function is the Lambda function.
func (r *RotatorFunction) Function() awslambda.Function { return r.function }

// Role is the function's execution role.
func (r *RotatorFunction) Role() awsiam.Role { return r.role }

// Timeout is the function's timeout.
func (r *RotatorFunction) Timeout() awscdk.Duration { return r.timeout }

// LogGroup is the function's log group.
func (r *RotatorFunction) LogGroup() awslogs.LogGroup { return r.logGroup }

// SecurityGroup is the function's security group; nil outside a VPC.
func (r *RotatorFunction) SecurityGroup() awsec2.SecurityGroup { return r.securityGroup }

// Endpoints are the interface endpoints the function uses; nil with a NAT.
func (r *RotatorFunction) Endpoints() *ServiceEndpoints { return r.endpoints }

// GateRule brings the gate its secrets' acknowledgements and completed
// rotations; nil until a secret is wired to the function.
func (r *RotatorFunction) GateRule() awsevents.Rule { return r.gateRule }

// GateSchedule wakes the gate every hour; nil until a secret is wired to the
// function.
func (r *RotatorFunction) GateSchedule() awsevents.Rule { return r.schedule }

// InvokePermission is the permission that lets Secrets Manager, in this
// stack's account only, invoke the function.
func (r *RotatorFunction) InvokePermission() awslambda.CfnPermission { return r.permission }

// AllowRotation lets the function read and stage secret, encrypted with key.
// [NewRotatedSecret] calls it; it is the only way the role gains access to a
// secret.
func (r *RotatorFunction) AllowRotation(secret awssecretsmanager.ISecret, key awskms.IKey) {
	// GrantRead: GetSecretValue and DescribeSecret on the secret's ARN, and
	// kms:Decrypt on its key through Secrets Manager only.
	secret.GrantRead(r.role, nil)
	r.role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		// RotateSecret: an operator's emergency rotation starts one
		// (shared/deactivation, Gate.Emergency).
		Actions:   jsii.Strings("secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:RotateSecret"),
		Resources: jsii.Strings(*secret.SecretArn()),
	}))
	r.allowKey(key, "kms:Decrypt", "kms:GenerateDataKey")
	r.allowTagging(secret)
}

// allowTagging lets the deactivation gate record acknowledgements and
// deactivations on secret: TagResource on its ARN, for rotor's gate tags
// only (aws:TagKeys); and UntagResource for the acknowledgements only
// (rotor:ack:*), which the gate removes from a full secret when they are
// of older versions. One statement each, whose resources grow per secret.
func (r *RotatorFunction) allowTagging(secret awssecretsmanager.ISecret) {
	if r.tagging == nil {
		r.tagging = awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("secretsmanager:TagResource"),
			Conditions: &map[string]any{
				"ForAllValues:StringLike": map[string]any{
					"aws:TagKeys": jsii.Strings(AckTagPrefix+"*", DeactivatedTag, NotRevokedTag, EmergencyTag, EmergencyReasonTag),
				},
			},
		})
		r.untagging = awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("secretsmanager:UntagResource"),
			Conditions: &map[string]any{
				"ForAllValues:StringLike": map[string]any{"aws:TagKeys": jsii.Strings(AckTagPrefix + "*")},
			},
		})
		r.tagging.AddResources(secret.SecretArn())
		r.untagging.AddResources(secret.SecretArn())
		r.role.AddToPrincipalPolicy(r.tagging)
		r.role.AddToPrincipalPolicy(r.untagging)
		return
	}
	r.tagging.AddResources(secret.SecretArn())
	r.untagging.AddResources(secret.SecretArn())
}

// gate makes the function the deactivation gate of secret (named name):
// its hourly sweep evaluates it (ROTOR_GATE_SECRETS, unless SweepByTag), and
// a rule on the bus brings it the secret's "Consumer Acknowledged" and
// "Rotation Completed" events. [NewRotatedSecret] calls it. The rule and the
// schedule come with the first secret: a function without secrets has
// nothing to sweep.
func (r *RotatorFunction) gate(name string, secret awssecretsmanager.ISecret) {
	if r.schedule == nil {
		r.schedule = awsevents.NewRule(r.scope, jsii.String("GateSchedule"), &awsevents.RuleProps{
			Description: jsii.String("rotor deactivation gate: hourly sweep, so that grace periods expire without new events"),
			Schedule:    awsevents.Schedule_Expression(jsii.String(GateScheduleExpression)),
			// A missed sweep is made up by the next one.
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(r.function, &awseventstargets.LambdaFunctionProps{
				MaxEventAge: awscdk.Duration_Hours(jsii.Number(1)), RetryAttempts: jsii.Number(2),
			})},
		})
		r.gateRule = awsevents.NewRule(r.scope, jsii.String("GateEvents"), &awsevents.RuleProps{
			Description: jsii.String("rotor deactivation gate: acknowledgements and completed rotations of this function's secrets"),
			EventBus:    r.bus,
			// Acknowledgements come from each consumer's own source; those of
			// source rotor (an old consumer SDK, a forgery) reach the gate too,
			// which refuses and counts them.
			EventPattern: &awsevents.EventPattern{
				Source:     rotorSources(),
				DetailType: jsii.Strings(DetailConsumerAcknowledged, DetailRotationCompleted),
				Detail:     &map[string]any{FieldSecretArn: []*string{secret.SecretArn()}},
			},
			// EventBridge's default: a day of retries; an acknowledgement
			// that never arrives is covered by the grace period.
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(r.function, nil)},
		})
	} else {
		r.gateRule.AddEventPattern(&awsevents.EventPattern{
			Detail: &map[string]any{FieldSecretArn: []*string{secret.SecretArn()}},
		})
	}
	if r.sweepByTag {
		return
	}
	r.gateSecrets = append(r.gateSecrets, name)
	v := strings.Join(r.gateSecrets, ",")
	if len(v) > MaxGateSecretsLength {
		panic(fmt.Sprintf("rotor: the names of the secrets of %s take %d characters in %s, more than %d: give some of them another rotator",
			*r.function.Node().Path(), len(v), EnvGateSecrets, MaxGateSecretsLength))
	}
	r.function.AddEnvironment(jsii.String(EnvGateSecrets), jsii.String(v), nil)
}

// AllowMasterSecret lets the function read the master secret of alternating
// users; key is the master secret's customer managed key, or nil.
func (r *RotatorFunction) AllowMasterSecret(master awssecretsmanager.ISecret, key awskms.IKey) {
	master.GrantRead(r.role, nil)
	if key != nil {
		r.allowKey(key, "kms:Decrypt")
	}
}

// allowKey grants actions on key, only when Secrets Manager of this region
// makes the call on the function's behalf: one statement per key, whose
// actions grow.
func (r *RotatorFunction) allowKey(key awskms.IKey, actions ...string) {
	stack := awscdk.Stack_Of(r.scope)
	name := *key.Node().Path()
	if st, ok := r.keys[name]; ok {
		st.AddActions(*jsii.Strings(actions...)...)
		return
	}
	st := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: jsii.Strings(*key.KeyArn()),
		Conditions: &map[string]any{
			"StringEquals": map[string]any{
				"kms:ViaService": fmt.Sprintf("secretsmanager.%s.amazonaws.com", *stack.Region()),
			},
		},
	})
	r.keys[name] = st
	r.role.AddToPrincipalPolicy(st)
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// ServiceEndpointsProps configure [NewServiceEndpoints].
type ServiceEndpointsProps struct {
	Vpc awsec2.IVpc
	// Subnets of the endpoints; default the VPC's private subnets.
	Subnets *awsec2.SubnetSelection
}

// ServiceEndpoints are interface endpoints for Secrets Manager and EventBridge
// with private DNS, for functions in subnets without a NAT. A VPC may have one
// endpoint with private DNS per service, so the functions of one VPC share them.
type ServiceEndpoints struct {
	securityGroup  awsec2.SecurityGroup
	secretsManager awsec2.InterfaceVpcEndpoint
	eventBridge    awsec2.InterfaceVpcEndpoint
}

// NewServiceEndpoints creates the endpoints and their security group, which
// admits HTTPS only from the groups given to AllowFrom.
func NewServiceEndpoints(scope constructs.Construct, id string, props *ServiceEndpointsProps) *ServiceEndpoints {
	s := constructs.NewConstruct(scope, jsii.String(id))
	e := &ServiceEndpoints{}
	e.securityGroup = awsec2.NewSecurityGroup(s, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              props.Vpc,
		Description:      jsii.String("rotor interface endpoints - HTTPS from rotor functions only"),
		AllowAllOutbound: jsii.Bool(false),
	})
	endpoint := func(id string, svc awsec2.IInterfaceVpcEndpointService) awsec2.InterfaceVpcEndpoint {
		return awsec2.NewInterfaceVpcEndpoint(s, jsii.String(id), &awsec2.InterfaceVpcEndpointProps{
			Vpc:               props.Vpc,
			Service:           svc,
			Subnets:           props.Subnets,
			PrivateDnsEnabled: jsii.Bool(true),
			Open:              jsii.Bool(false),
			SecurityGroups:    &[]awsec2.ISecurityGroup{e.securityGroup},
		})
	}
	e.secretsManager = endpoint("SecretsManager", awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER())
	e.eventBridge = endpoint("EventBridge", awsec2.InterfaceVpcEndpointAwsService_EVENTBRIDGE())
	return e
}

// AllowFrom lets a security group reach the endpoints on HTTPS.
func (e *ServiceEndpoints) AllowFrom(sg awsec2.ISecurityGroup) {
	sg.Connections().AllowTo(e.securityGroup, awsec2.Port_Tcp(jsii.Number(443)), jsii.String("rotor function to AWS API endpoints"))
}

// SecurityGroup is the endpoints' security group.
func (e *ServiceEndpoints) SecurityGroup() awsec2.SecurityGroup { return e.securityGroup }

// SecretsManager is the Secrets Manager endpoint.
func (e *ServiceEndpoints) SecretsManager() awsec2.InterfaceVpcEndpoint { return e.secretsManager }

// EventBridge is the EventBridge endpoint.
func (e *ServiceEndpoints) EventBridge() awsec2.InterfaceVpcEndpoint { return e.eventBridge }

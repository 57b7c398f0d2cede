package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rotorhq/rotor/infra/config"
	"github.com/rotorhq/rotor/infra/rotor"
)

// CodeSource returns the code of a rotor function ("postgres").
type CodeSource func(function string) awslambda.Code

// DistCode returns a CodeSource reading dist/<function> (the folder `make
// build` writes, holding bootstrap) under dist. It fails, naming the folder
// and the fix, when a function has not been built.
func DistCode(dist string) CodeSource {
	return func(function string) awslambda.Code {
		dir := filepath.Join(dist, function)
		if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil {
			panic(&MissingCodeError{Function: function, Dir: dir})
		}
		return awslambda.Code_FromAsset(jsii.String(dir), nil)
	}
}

// MissingCodeError says a function's build output is missing.
type MissingCodeError struct{ Function, Dir string }

func (e *MissingCodeError) Error() string {
	return fmt.Sprintf("function %s: %s has no bootstrap: run `make build` at the repository root first (or set ROTOR_DIST to the folder holding %s/bootstrap)",
		e.Function, e.Dir, e.Function)
}

// EnvironmentStackProps configure an environment's stack.
type EnvironmentStackProps struct {
	awscdk.StackProps
	// Environment is the validated configuration of the environment. Required.
	Environment *config.Environment
	// AuditBusArn is the central audit bus; empty for none.
	AuditBusArn string
	// Code gives each rotator's function code. Required.
	Code CodeSource
}

// EnvironmentStack is everything rotor deploys in one environment's account
// and region.
type EnvironmentStack struct {
	awscdk.Stack
	Key awskms.Key
	// FingerprintKey is the HMAC key of the environment's event fingerprints.
	FingerprintKey *rotor.FingerprintKey
	Events         *rotor.RotationEvents
	Rotators       map[string]*rotor.RotatorFunction
	Secrets        map[string]*rotor.RotatedSecret
	Consumers      []*rotor.ConsumerSubscription
	Monitoring     *rotor.Monitoring
}

// NewEnvironmentStack creates the stack of one environment.
func NewEnvironmentStack(scope constructs.Construct, id string, props *EnvironmentStackProps) *EnvironmentStack {
	e := props.Environment
	sp := props.StackProps
	sp.Env = &awscdk.Environment{Account: jsii.String(e.Account), Region: jsii.String(e.Region)}
	if sp.StackName == nil {
		sp.StackName = jsii.String("rotor-" + e.Name)
	}
	if sp.Description == nil {
		sp.Description = jsii.String("rotor: rotation functions, secrets, events, consumers and alarms of environment " + e.Name)
	}
	st := &EnvironmentStack{
		Stack:    awscdk.NewStack(scope, jsii.String(id), &sp),
		Rotators: map[string]*rotor.RotatorFunction{},
		Secrets:  map[string]*rotor.RotatedSecret{},
	}
	stack := st.Stack
	awscdk.Tags_Of(stack).Add(jsii.String("rotor:environment"), jsii.String(e.Name), nil)

	st.Key = awskms.NewKey(stack, jsii.String("Key"), &awskms.KeyProps{
		Alias:             jsii.String("alias/rotor/" + e.Name),
		Description:       jsii.String("rotor: encrypts the secrets of environment " + e.Name),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})

	var archive awscdk.Duration
	if *e.EventArchiveDays > 0 {
		archive = awscdk.Duration_Days(jsii.Number(float64(*e.EventArchiveDays)))
	}
	st.Events = rotor.NewRotationEvents(stack, "Events", &rotor.RotationEventsProps{
		BusName:          "rotor-" + e.Name,
		ArchiveRetention: archive,
		AuditBusArn:      props.AuditBusArn,
	})

	st.FingerprintKey = rotor.NewFingerprintKey(stack, "FingerprintKey", &rotor.FingerprintKeyProps{
		SecretName:    config.FingerprintKeyName(e.Name),
		EncryptionKey: st.Key,
	})

	// One set of interface endpoints per VPC without a NAT: a VPC takes one
	// private-DNS endpoint per service.
	endpoints := map[string]*rotor.ServiceEndpoints{}
	var functions []*rotor.RotatorFunction
	for i := range e.Rotators {
		r := &e.Rotators[i]
		fp := &rotor.RotatorFunctionProps{
			Code:                props.Code(r.Function),
			EventBus:            st.Events.Bus(),
			FingerprintKey:      st.FingerprintKey,
			GracePeriod:         r.GracePeriod,
			LockIdleUser:        r.LockIdleUser,
			Strategy:            r.Strategy,
			PasswordLength:      *r.PasswordLength,
			ExcludeCharacters:   r.ExcludeCharacters,
			PasswordSource:      r.PasswordSource,
			LogLevel:            r.LogLevel,
			LogRetention:        Retention(*r.LogRetentionDays),
			ReservedConcurrency: *r.ReservedConcurrency,
			Timeout:             awscdk.Duration_Seconds(jsii.Number(float64(*r.TimeoutSeconds))),
			Tracing:             r.Tracing,
		}
		if v := r.VPC; v != nil {
			fp.Vpc = awsec2.Vpc_FromVpcAttributes(stack, jsii.String("Vpc"+r.Name), &awsec2.VpcAttributes{
				VpcId:             jsii.String(v.VpcID),
				AvailabilityZones: jsii.Strings(v.AvailabilityZones...),
				PrivateSubnetIds:  jsii.Strings(v.SubnetIDs...),
			})
			fp.VpcSubnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
			fp.DatabasePort = v.DatabasePort
			if v.DatabaseSecurityGroupID != "" {
				fp.DatabaseSecurityGroup = awsec2.SecurityGroup_FromSecurityGroupId(stack, jsii.String("DatabaseSecurityGroup"+r.Name),
					jsii.String(v.DatabaseSecurityGroupID), &awsec2.SecurityGroupImportOptions{Mutable: jsii.Bool(true)})
			} else {
				fp.DatabasePeer = awsec2.Peer_Ipv4(jsii.String(v.DatabaseCidr))
			}
			if !v.HasNat {
				fp.NoNat = true
				if endpoints[v.VpcID] == nil {
					endpoints[v.VpcID] = rotor.NewServiceEndpoints(stack, "Endpoints"+v.VpcID, &rotor.ServiceEndpointsProps{
						Vpc: fp.Vpc, Subnets: fp.VpcSubnets,
					})
				}
				fp.Endpoints = endpoints[v.VpcID]
			}
		}
		fn := rotor.NewRotatorFunction(stack, "Rotator"+r.Name, fp)
		st.Rotators[r.Name] = fn
		functions = append(functions, fn)
	}

	for i := range e.Secrets {
		s := &e.Secrets[i]
		r := e.Rotator(s.Rotator)
		// The construct ID comes from the name, not the position in the file,
		// so that reordering the file does not replace secrets.
		id := "Secret" + strings.ReplaceAll(s.Name, "/", "|")
		sp := &rotor.RotatedSecretProps{
			SecretName:    s.Name,
			EncryptionKey: st.Key,
			Rotator:       st.Rotators[s.Rotator],
			Connection: rotor.DatabaseConnection{
				Engine: s.Database.Engine, Host: s.Database.Host, Port: s.Database.Port,
				Username: s.Database.Username, DBName: s.Database.DBName, SSL: *s.Database.SSL,
			},
			ExcludeCharacters: r.ExcludeCharacters,
			Rotation: rotor.Rotation{
				Days: s.Rotation.Days, Months: s.Rotation.Months,
				ScheduleExpression: s.Rotation.ScheduleExpression, WindowHours: s.Rotation.WindowHours,
			},
			// Alternating users make the secret valid on their first rotation;
			// a single user's password must be put in the secret first.
			RotateImmediately: r.Strategy == "alternating-users",
			ReaderArns:        s.Readers,
		}
		if s.MasterSecretArn != "" {
			sp.MasterSecret = awssecretsmanager.Secret_FromSecretCompleteArn(stack, jsii.String("Master"+id), jsii.String(s.MasterSecretArn))
			if s.MasterSecretKmsKeyArn != "" {
				sp.MasterSecretKey = awskms.Key_FromKeyArn(stack, jsii.String("MasterKey"+id), jsii.String(s.MasterSecretKmsKeyArn))
			}
		}
		st.Secrets[s.Name] = rotor.NewRotatedSecret(stack, id, sp)
	}

	var acknowledged []string
	seen := map[string]bool{}
	for i := range e.Consumers {
		k := &e.Consumers[i]
		var secrets []awssecretsmanager.ISecret
		for _, name := range k.Secrets {
			secrets = append(secrets, st.Secrets[name].Secret())
			if !seen[name] {
				seen[name] = true
				acknowledged = append(acknowledged, name)
			}
		}
		cp := &rotor.ConsumerSubscriptionProps{Name: k.Name, Bus: st.Events.Bus(), Secrets: secrets}
		if k.Instances != nil {
			cp.Instances = *k.Instances
		}
		switch k.Type {
		case config.ConsumerLambda:
			cp.Function = awslambda.Function_FromFunctionArn(stack, jsii.String("ConsumerFunction"+k.Name), jsii.String(k.FunctionArn))
		case config.ConsumerAccount:
			cp.TargetBus = awsevents.EventBus_FromEventBusArn(stack, jsii.String("ConsumerBus"+k.Name), stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("events"), Account: jsii.String(k.Account), Region: jsii.String(k.Region),
				Resource: jsii.String("event-bus"), ResourceName: jsii.String(k.BusName),
			}))
			cp.AcknowledgeFrom = k.Account
		}
		c := rotor.NewConsumerSubscription(stack, "Consumer"+k.Name, cp)
		st.Consumers = append(st.Consumers, c)
		if q := c.Queue(); q != nil {
			awscdk.NewCfnOutput(stack, jsii.String("QueueUrl"+k.Name), &awscdk.CfnOutputProps{
				Description: jsii.String("queue of consumer " + k.Name),
				Value:       q.QueueUrl(),
			})
		}
	}

	mp := &rotor.MonitoringProps{
		EnvironmentName:     e.Name,
		Bus:                 st.Events.Bus(),
		Functions:           functions,
		AcknowledgedSecrets: acknowledged,
		Consumers:           st.Consumers,
		RotationWindowCheck: e.RotationWindowCheck,
	}
	if e.AlarmTopicArn != "" {
		mp.AlarmTopic = awssns.Topic_FromTopicArn(stack, jsii.String("AlarmTopic"), jsii.String(e.AlarmTopicArn))
	}
	st.Monitoring = rotor.NewMonitoring(stack, "Monitoring", mp)

	awscdk.NewCfnOutput(stack, jsii.String("EventBusName"), &awscdk.CfnOutputProps{Value: st.Events.Bus().EventBusName()})
	awscdk.NewCfnOutput(stack, jsii.String("KeyArn"), &awscdk.CfnOutputProps{Value: st.Key.KeyArn()})
	awscdk.NewCfnOutput(stack, jsii.String("FingerprintKeySecretArn"), &awscdk.CfnOutputProps{Value: st.FingerprintKey.Secret().SecretArn()})
	return st
}

// AuditStackProps configure the security account's stack.
type AuditStackProps struct {
	awscdk.StackProps
	Audit *config.Audit
	// SourceAccounts are the environments' accounts.
	SourceAccounts []string
}

// AuditStack is the security account's audit bus and sink.
type AuditStack struct {
	awscdk.Stack
	Audit *rotor.AuditBus
}

// NewAuditStack creates the audit stack.
func NewAuditStack(scope constructs.Construct, id string, props *AuditStackProps) *AuditStack {
	a := props.Audit
	sp := props.StackProps
	sp.Env = &awscdk.Environment{Account: jsii.String(a.Account), Region: jsii.String(a.Region)}
	if sp.StackName == nil {
		sp.StackName = jsii.String("rotor-audit")
	}
	if sp.Description == nil {
		sp.Description = jsii.String("rotor: central audit bus and log of rotation events")
	}
	st := &AuditStack{Stack: awscdk.NewStack(scope, jsii.String(id), &sp)}
	st.Audit = rotor.NewAuditBus(st.Stack, "Audit", &rotor.AuditBusProps{
		BusName:        a.BusName,
		SourceAccounts: props.SourceAccounts,
		LogRetention:   Retention(*a.LogRetentionDays),
	})
	awscdk.NewCfnOutput(st.Stack, jsii.String("AuditBusArn"), &awscdk.CfnOutputProps{Value: st.Audit.Bus().EventBusArn()})
	return st
}

// AuditBusArn is the ARN of the audit bus described by a.
func AuditBusArn(a *config.Audit) string {
	return fmt.Sprintf("arn:%s:events:%s:%s:event-bus/%s", Partition(a.Region), a.Region, a.Account, a.BusName)
}

// Partition is the AWS partition of a region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

var retentions = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// Retention maps a validated number of days to CDK's RetentionDays.
func Retention(days int) awslogs.RetentionDays {
	r, ok := retentions[days]
	if !ok {
		panic(fmt.Sprintf("stacks: %d days is not a CloudWatch Logs retention", days))
	}
	return r
}

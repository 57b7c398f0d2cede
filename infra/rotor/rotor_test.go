package rotor_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/rotorhq/rotor/infra/internal/cdktest"
	"github.com/rotorhq/rotor/infra/rotor"
)

const (
	account      = "123456789012"
	auditAccount = "999999999999"
	region       = "eu-west-1"
	auditBusArn  = "arn:aws:events:eu-west-1:999999999999:event-bus/rotor-audit"
	masterArn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds-master-AbCdEf"
	readerArn    = "arn:aws:iam::123456789012:role/orders-api"
	topicArn     = "arn:aws:sns:eu-west-1:123456789012:rotor-alarms"
	// The service stack's imports.
	busArn     = "arn:aws:events:eu-west-1:123456789012:event-bus/rotor-test"
	billingArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/billing-AbCdEf"
	keyArn     = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"
)

// fixture is one app, synthesized once, that every test of this file reads:
// synthesis starts a node process and takes seconds.
type fixture struct {
	app                       awscdk.App
	stack, audit, service     awscdk.Stack
	tpl, auditTpl, serviceTpl assertions.Template
	key                       awskms.Key
	fingerprint               *rotor.FingerprintKey
	serviceRole               awsiam.Role
	serviceFn                 awslambda.Function
	serviceC                  *rotor.ConsumerSubscription
	events                    *rotor.RotationEvents
	vpcFn, plainFn            *rotor.RotatorFunction
	orders, billing, reports  *rotor.RotatedSecret
	queueC, lambdaC, accountC *rotor.ConsumerSubscription
	monitoring                *rotor.Monitoring
	auditBus                  *rotor.AuditBus
}

var (
	once sync.Once
	fx   *fixture
	dir  string
)

func TestMain(m *testing.M) {
	var err error
	dir, err = os.MkdirTemp("", "rotor-asset-")
	if err != nil {
		panic(err)
	}
	// A placeholder for the function `make build` writes: the tests need
	// neither dist/ nor a Go cross-compile.
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	jsii.Close()
	os.Exit(code)
}

func get(t *testing.T) *fixture {
	t.Helper()
	once.Do(build)
	if fx == nil {
		t.Fatal("the fixture app did not build")
	}
	return fx
}

func build() {
	f := &fixture{app: awscdk.NewApp(nil)}
	rotor.ApplyNagChecks(f.app)
	env := &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
	f.stack = awscdk.NewStack(f.app, jsii.String("Rotation"), &awscdk.StackProps{Env: env})
	s := f.stack

	f.key = awskms.NewKey(s, jsii.String("Key"), &awskms.KeyProps{EnableKeyRotation: jsii.Bool(true)})
	f.events = rotor.NewRotationEvents(s, "Events", &rotor.RotationEventsProps{
		BusName:          "rotor-test",
		ArchiveRetention: awscdk.Duration_Days(jsii.Number(7)),
		AuditBusArn:      auditBusArn,
	})
	vpc := awsec2.Vpc_FromVpcAttributes(s, jsii.String("Vpc"), &awsec2.VpcAttributes{
		VpcId:             jsii.String("vpc-0a1b2c3d4e5f60001"),
		AvailabilityZones: jsii.Strings("eu-west-1a", "eu-west-1b"),
		PrivateSubnetIds:  jsii.Strings("subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012"),
	})
	dbSG := awsec2.SecurityGroup_FromSecurityGroupId(s, jsii.String("DatabaseSG"), jsii.String("sg-0a1b2c3d4e5f60099"),
		&awsec2.SecurityGroupImportOptions{Mutable: jsii.Bool(true)})
	code := awslambda.Code_FromAsset(jsii.String(dir), nil)
	f.fingerprint = rotor.NewFingerprintKey(s, "FingerprintKey", &rotor.FingerprintKeyProps{
		SecretName: "rotor/test/fingerprint-key", EncryptionKey: f.key,
	})
	f.vpcFn = rotor.NewRotatorFunction(s, "VpcRotator", &rotor.RotatorFunctionProps{
		Code: code, EventBus: f.events.Bus(), FingerprintKey: f.fingerprint, GracePeriod: "12h", LockIdleUser: true,
		Strategy: "alternating-users", PasswordLength: 40, ExcludeCharacters: jsii.String("/@"),
		PasswordSource: "secretsmanager", LogLevel: "debug", LogRetention: awslogs.RetentionDays_TWO_WEEKS,
		ReservedConcurrency: 3, Timeout: awscdk.Duration_Seconds(jsii.Number(60)), Tracing: true,
		Vpc: vpc, VpcSubnets: &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
		DatabaseSecurityGroup: dbSG, DatabasePort: 5432, NoNat: true,
	})
	f.plainFn = rotor.NewRotatorFunction(s, "PlainRotator", &rotor.RotatorFunctionProps{
		Code: code, EventBus: f.events.Bus(), FingerprintKey: f.fingerprint, Strategy: "single-user", SweepByTag: true,
	})
	conn := rotor.DatabaseConnection{Engine: "postgres", Host: "db.example.internal", Port: 5432, Username: "app", DBName: "orders", SSL: true}
	master := awssecretsmanager.Secret_FromSecretCompleteArn(s, jsii.String("Master"), jsii.String(masterArn))
	f.orders = rotor.NewRotatedSecret(s, "Orders", &rotor.RotatedSecretProps{
		SecretName: "app/orders", EncryptionKey: f.key, Rotator: f.vpcFn, Connection: conn,
		MasterSecret: master, Rotation: rotor.Rotation{Months: 1, WindowHours: 3},
		RotateImmediately: true, ReaderArns: []string{readerArn},
	})
	f.billing = rotor.NewRotatedSecret(s, "Billing", &rotor.RotatedSecretProps{
		SecretName: "app/billing", EncryptionKey: f.key, Rotator: f.vpcFn, Connection: conn,
		MasterSecret: master, Rotation: rotor.Rotation{ScheduleExpression: "rate(10 days)"}, RotateImmediately: true,
	})
	f.reports = rotor.NewRotatedSecret(s, "Reports", &rotor.RotatedSecretProps{
		SecretName: "app/reports", EncryptionKey: f.key, Rotator: f.plainFn, Connection: conn,
		Rotation: rotor.Rotation{Days: 7},
	})
	f.queueC = rotor.NewConsumerSubscription(s, "QueueConsumer", &rotor.ConsumerSubscriptionProps{
		Name: "orders-api", Bus: f.events.Bus(), Secrets: []awssecretsmanager.ISecret{f.orders.Secret()}, Instances: 3,
	})
	f.lambdaC = rotor.NewConsumerSubscription(s, "LambdaConsumer", &rotor.ConsumerSubscriptionProps{
		Name: "billing-refresh", Bus: f.events.Bus(),
		Secrets:  []awssecretsmanager.ISecret{f.orders.Secret(), f.billing.Secret()},
		Function: awslambda.Function_FromFunctionArn(s, jsii.String("ConsumerFn"), jsii.String("arn:aws:lambda:eu-west-1:123456789012:function:billing-refresh")),
	})
	f.accountC = rotor.NewConsumerSubscription(s, "AccountConsumer", &rotor.ConsumerSubscriptionProps{
		Name: "analytics", Bus: f.events.Bus(), Secrets: []awssecretsmanager.ISecret{f.reports.Secret()},
		TargetBus:       awsevents.EventBus_FromEventBusArn(s, jsii.String("OtherBus"), jsii.String("arn:aws:events:eu-west-1:444444444444:event-bus/default")),
		AcknowledgeFrom: "444444444444",
	})
	// A service's role, given what the queue consumer's side needs.
	f.serviceRole = awsiam.NewRole(s, jsii.String("ServiceRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil),
	})
	f.queueC.Grant(f.serviceRole)
	f.monitoring = rotor.NewMonitoring(s, "Monitoring", &rotor.MonitoringProps{
		EnvironmentName:     "test",
		Bus:                 f.events.Bus(),
		Functions:           []*rotor.RotatorFunction{f.vpcFn, f.plainFn},
		AcknowledgedSecrets: []string{"app/orders"},
		Consumers:           []*rotor.ConsumerSubscription{f.queueC, f.lambdaC, f.accountC},
		AlarmTopic:          awssns.Topic_FromTopicArn(s, jsii.String("Topic"), jsii.String(topicArn)),
		RotationWindowCheck: true,
	})

	f.audit = awscdk.NewStack(f.app, jsii.String("Audit"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String(auditAccount), Region: jsii.String(region)},
	})
	f.auditBus = rotor.NewAuditBus(f.audit, "Audit", &rotor.AuditBusProps{
		BusName: "rotor-audit", SourceAccounts: []string{account, "222222222222"},
	})
	// A service's own stack: a Lambda consumer defined in the app, which
	// the subscription grants to by itself.
	f.service = awscdk.NewStack(f.app, jsii.String("Service"), &awscdk.StackProps{Env: env})
	f.serviceFn = awslambda.NewFunction(f.service, jsii.String("Refresh"), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_PROVIDED_AL2023(), Architecture: awslambda.Architecture_ARM_64(),
		Handler: jsii.String("bootstrap"), Code: awslambda.Code_FromAsset(jsii.String(dir), nil),
		Role: awsiam.NewRole(f.service, jsii.String("RefreshRole"), &awsiam.RoleProps{
			AssumedBy: awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		}),
	})
	// The service's app imports the bus, the secret and its key by ARN: a
	// reference to the rotor stack's resources would make the two stacks
	// depend on each other (the key's policy would name the service's role).
	f.serviceC = rotor.NewConsumerSubscription(f.service, "Subscription", &rotor.ConsumerSubscriptionProps{
		Name: "billing-cache",
		Bus:  awsevents.EventBus_FromEventBusArn(f.service, jsii.String("Bus"), jsii.String(busArn)),
		Secrets: []awssecretsmanager.ISecret{awssecretsmanager.Secret_FromSecretAttributes(f.service, jsii.String("Billing"), &awssecretsmanager.SecretAttributes{
			SecretCompleteArn: jsii.String(billingArn),
			EncryptionKey:     awskms.Key_FromKeyArn(f.service, jsii.String("Key"), jsii.String(keyArn)),
		})},
		Function: f.serviceFn,
	})
	f.tpl = assertions.Template_FromStack(f.stack, nil)
	f.serviceTpl = assertions.Template_FromStack(f.service, nil)
	f.auditTpl = assertions.Template_FromStack(f.audit, nil)
	fx = f
}

// ref is {"Ref": id} of a construct's CloudFormation resource.
func ref(f *fixture, secret *rotor.RotatedSecret) map[string]any {
	return map[string]any{"Ref": *f.stack.GetLogicalId(secret.Secret().Node().DefaultChild().(awscdk.CfnElement))}
}

func getAtt(f *fixture, res awscdk.CfnElement, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{*f.stack.GetLogicalId(res), attr}}
}

func TestRotatorFunction(t *testing.T) {
	f := get(t)
	cdktest.Count(t, f.tpl, "AWS::Lambda::Function", map[string]any{
		"Runtime":                      "provided.al2023",
		"Architectures":                []any{"arm64"},
		"Handler":                      "bootstrap",
		"ReservedConcurrentExecutions": 3,
		"Timeout":                      60,
		"TracingConfig":                map[string]any{"Mode": "Active"},
		"Environment": map[string]any{"Variables": map[string]any{
			"ROTATION_STRATEGY":  "alternating-users",
			"PASSWORD_LENGTH":    "40",
			"EXCLUDE_CHARACTERS": "/@",
			"PASSWORD_SOURCE":    "secretsmanager",
			"LOG_LEVEL":          "debug",
			"ROTOR_EVENT_BUS":    map[string]any{"Ref": *f.stack.GetLogicalId(f.events.Bus().Node().DefaultChild().(awscdk.CfnElement))},
		}},
		"VpcConfig": map[string]any{"SubnetIds": []any{"subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012"}},
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::Lambda::Function", map[string]any{
		"Runtime":                      "provided.al2023",
		"Architectures":                []any{"arm64"},
		"ReservedConcurrentExecutions": 5,
		"Timeout":                      30,
		"Environment":                  map[string]any{"Variables": map[string]any{"ROTATION_STRATEGY": "single-user", "LOG_LEVEL": "info"}},
		"VpcConfig":                    assertions.Match_Absent(),
		"TracingConfig":                assertions.Match_Absent(),
	}, 1)
	// Each function logs to a log group of its own, with a retention.
	cdktest.Count(t, f.tpl, "AWS::Logs::LogGroup", map[string]any{"RetentionInDays": 14}, 1)
	cdktest.Count(t, f.tpl, "AWS::Logs::LogGroup", map[string]any{"RetentionInDays": 90}, 1)
	cdktest.Count(t, f.tpl, "AWS::Lambda::Function", map[string]any{
		"LoggingConfig": map[string]any{"LogGroup": map[string]any{"Ref": *f.stack.GetLogicalId(f.vpcFn.LogGroup().Node().DefaultChild().(awscdk.CfnElement))}},
	}, 1)

	// No NAT: interface endpoints with private DNS, closed but to the function.
	cdktest.Count(t, f.tpl, "AWS::EC2::VPCEndpoint", map[string]any{
		"ServiceName": "com.amazonaws.eu-west-1.secretsmanager", "PrivateDnsEnabled": true, "VpcEndpointType": "Interface",
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::EC2::VPCEndpoint", map[string]any{"ServiceName": "com.amazonaws.eu-west-1.events"}, 1)
	if f.vpcFn.SecurityGroup() == nil || f.vpcFn.Endpoints() == nil {
		t.Fatal("want the VPC function to have a security group and endpoints, got nil")
	}
	fnSG := getAtt(f, f.vpcFn.SecurityGroup().Node().DefaultChild().(awscdk.CfnElement), "GroupId")
	cdktest.Count(t, f.tpl, "AWS::EC2::SecurityGroupIngress", map[string]any{
		"GroupId": "sg-0a1b2c3d4e5f60099", "FromPort": 5432, "ToPort": 5432, "IpProtocol": "tcp", "SourceSecurityGroupId": fnSG,
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::EC2::SecurityGroupIngress", map[string]any{
		"GroupId":  getAtt(f, f.vpcFn.Endpoints().SecurityGroup().Node().DefaultChild().(awscdk.CfnElement), "GroupId"),
		"FromPort": 443, "SourceSecurityGroupId": fnSG,
	}, 1)
	// The function's group reaches the database and the endpoints, nothing else.
	cdktest.Count(t, f.tpl, "AWS::EC2::SecurityGroupEgress", map[string]any{"GroupId": fnSG}, 2)
	cdktest.Count(t, f.tpl, "AWS::EC2::SecurityGroup", map[string]any{
		"SecurityGroupEgress": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"CidrIp": "0.0.0.0/0"})}),
	}, 0)

	// Secrets Manager may invoke, from this account only.
	cdktest.Count(t, f.tpl, "AWS::Lambda::Permission", map[string]any{
		"Action": "lambda:InvokeFunction", "Principal": "secretsmanager.amazonaws.com", "SourceAccount": account,
	}, 2)
	// No AWS managed policies.
	for id, r := range cdktest.Resources(t, f.tpl, "AWS::IAM::Role") {
		if mp, ok := r["Properties"].(map[string]any)["ManagedPolicyArns"]; ok {
			t.Errorf("role %s: want no managed policies, got %s", id, cdktest.JSON(mp))
		}
	}
}

func TestLeastPrivilege(t *testing.T) {
	f := get(t)
	cdktest.CheckSecretsManagerScoped(t, f.tpl)
	cdktest.CheckSecretsManagerScoped(t, f.auditTpl)

	roleOf := func(fn *rotor.RotatorFunction) map[string]any {
		return map[string]any{"Ref": *f.stack.GetLogicalId(fn.Role().Node().DefaultChild().(awscdk.CfnElement))}
	}
	keyArn := getAtt(f, f.key.Node().DefaultChild().(awscdk.CfnElement), "Arn")
	busArn := getAtt(f, f.events.Bus().Node().DefaultChild().(awscdk.CfnElement), "Arn")
	orders, billing, reports := ref(f, f.orders), ref(f, f.billing), ref(f, f.reports)
	fingerprint := map[string]any{"Ref": *f.stack.GetLogicalId(f.fingerprint.Secret().Node().DefaultChild().(awscdk.CfnElement))}

	type grant struct {
		actions  string
		resource any
	}
	// Every Allow statement of each rotator's policies, as "actions -> resource".
	want := map[string][]grant{
		"vpc": {
			{"xray:PutTraceSegments,xray:PutTelemetryRecords", "*"},
			{"events:PutEvents", busArn},
			{"secretsmanager:GetSecretValue,secretsmanager:DescribeSecret", orders},
			{"secretsmanager:PutSecretValue,secretsmanager:UpdateSecretVersionStage,secretsmanager:RotateSecret", orders},
			{"kms:Decrypt,kms:GenerateDataKey", keyArn},
			{"secretsmanager:GetSecretValue,secretsmanager:DescribeSecret", masterArn},
			{"secretsmanager:GetSecretValue,secretsmanager:DescribeSecret", billing},
			{"secretsmanager:PutSecretValue,secretsmanager:UpdateSecretVersionStage,secretsmanager:RotateSecret", billing},
			{"secretsmanager:GetRandomPassword", "*"},
			{"secretsmanager:GetSecretValue", fingerprint},
			{"secretsmanager:TagResource", []any{orders, billing}},
			{"secretsmanager:UntagResource", []any{orders, billing}},
		},
		"plain": {
			{"events:PutEvents", busArn},
			{"secretsmanager:GetSecretValue,secretsmanager:DescribeSecret", reports},
			{"secretsmanager:PutSecretValue,secretsmanager:UpdateSecretVersionStage,secretsmanager:RotateSecret", reports},
			{"kms:Decrypt,kms:GenerateDataKey", keyArn},
			{"secretsmanager:GetSecretValue", fingerprint},
			{"secretsmanager:TagResource", reports},
			{"secretsmanager:UntagResource", reports},
			{"secretsmanager:ListSecrets", "*"},
		},
	}
	for name, fn := range map[string]*rotor.RotatorFunction{"vpc": f.vpcFn, "plain": f.plainFn} {
		var got []grant
		for id, p := range cdktest.Resources(t, f.tpl, "AWS::IAM::Policy") {
			props := p["Properties"].(map[string]any)
			if cdktest.JSON(props["Roles"]) != cdktest.JSON([]any{roleOf(fn)}) {
				continue
			}
			for _, s := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := s.(map[string]any)
				if st["Effect"] != "Allow" {
					t.Errorf("%s: %s: want Allow statements only, got %s", name, id, cdktest.JSON(st))
				}
				if strings.HasPrefix(cdktest.JSON(st["Action"]), `["kms:`) {
					cond := cdktest.JSON(st["Condition"])
					if cond != `{"StringEquals":{"kms:ViaService":"secretsmanager.eu-west-1.amazonaws.com"}}` {
						t.Errorf("%s: KMS statement: want a kms:ViaService condition on Secrets Manager, got %s", name, cond)
					}
				}
				got = append(got, grant{strings.Join(actions(st["Action"]), ","), st["Resource"]})
			}
		}
		if cdktest.JSON(sortGrants(got)) != cdktest.JSON(sortGrants(want[name])) {
			t.Errorf("%s rotator: want grants\n%s\ngot\n%s", name, cdktest.JSON(sortGrants(want[name])), cdktest.JSON(sortGrants(got)))
		}
	}
}

func actions(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		out := make([]string, len(a))
		for i, x := range a {
			out[i] = x.(string)
		}
		return out
	}
	return nil
}

func sortGrants[G any](g []G) []string {
	out := make([]string, len(g))
	for i, x := range g {
		out[i] = cdktest.JSON(x)
	}
	slices.Sort(out)
	return out
}

var reStaggered = regexp.MustCompile(`^cron\(0 ([0-9]|1[0-9]|2[01]) ([1-9]|1[0-9]|2[0-8]) \* \? \*\)$`)

func TestRotationSchedule(t *testing.T) {
	f := get(t)
	fnArn := func(fn *rotor.RotatorFunction) map[string]any {
		return getAtt(f, fn.Function().Node().DefaultChild().(awscdk.CfnElement), "Arn")
	}
	if !reStaggered.MatchString(f.orders.ScheduleExpression()) {
		t.Errorf("orders: want a staggered monthly cron whose 3h window ends by midnight, got %q", f.orders.ScheduleExpression())
	}
	cdktest.Count(t, f.tpl, "AWS::SecretsManager::RotationSchedule", nil, 3)
	cdktest.Count(t, f.tpl, "AWS::SecretsManager::RotationSchedule", map[string]any{
		"SecretId":                  ref(f, f.orders),
		"RotationLambdaARN":         fnArn(f.vpcFn),
		"RotationRules":             map[string]any{"ScheduleExpression": f.orders.ScheduleExpression(), "Duration": "3h", "AutomaticallyAfterDays": assertions.Match_Absent()},
		"RotateImmediatelyOnUpdate": true,
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::SecretsManager::RotationSchedule", map[string]any{
		"SecretId":          ref(f, f.billing),
		"RotationLambdaARN": fnArn(f.vpcFn),
		"RotationRules":     map[string]any{"ScheduleExpression": "rate(10 days)", "Duration": "2h"},
	}, 1)
	reportsExpr, _ := rotor.Rotation{Days: 7}.Expression("app/reports")
	cdktest.Count(t, f.tpl, "AWS::SecretsManager::RotationSchedule", map[string]any{
		"SecretId":                  ref(f, f.reports),
		"RotationLambdaARN":         fnArn(f.plainFn),
		"RotationRules":             map[string]any{"ScheduleExpression": reportsExpr, "Duration": "2h"},
		"RotateImmediatelyOnUpdate": false,
	}, 1)
	if !strings.Contains(reportsExpr, " 1/7 ") {
		t.Errorf("reports: want every 7 days (1/7), got %q", reportsExpr)
	}
	// The schedule waits for the invoke permission.
	perm := *f.stack.GetLogicalId(f.vpcFn.InvokePermission())
	sched := cdktest.Resources(t, f.tpl, "AWS::SecretsManager::RotationSchedule")[*f.stack.GetLogicalId(f.orders.Schedule())]
	if !strings.Contains(cdktest.JSON(sched["DependsOn"]), perm) {
		t.Errorf("orders schedule: want DependsOn %s, got %s", perm, cdktest.JSON(sched["DependsOn"]))
	}

	// The secret: the environment's key, a generated password, masterarn.
	cdktest.Count(t, f.tpl, "AWS::SecretsManager::Secret", map[string]any{
		"Name":     "app/orders",
		"KmsKeyId": getAtt(f, f.key.Node().DefaultChild().(awscdk.CfnElement), "Arn"),
		"GenerateSecretString": map[string]any{
			"GenerateStringKey":    "password",
			"SecretStringTemplate": assertions.Match_StringLikeRegexp(jsii.String(`"masterarn":"` + regexp.QuoteMeta(masterArn) + `"`)),
		},
	}, 1)
	// Reading is denied to all but the rotator and the readers.
	cdktest.Count(t, f.tpl, "AWS::SecretsManager::ResourcePolicy", map[string]any{
		"SecretId": ref(f, f.orders),
		"ResourcePolicy": map[string]any{"Statement": []any{map[string]any{
			"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Principal": map[string]any{"AWS": "*"},
			"Condition": map[string]any{"StringNotEquals": map[string]any{"aws:PrincipalArn": []any{
				getAtt(f, f.vpcFn.Role().Node().DefaultChild().(awscdk.CfnElement), "Arn"), readerArn,
			}}},
		}}},
	}, 1)
}

func TestRotationEvents(t *testing.T) {
	f := get(t)
	bus := map[string]any{"Ref": *f.stack.GetLogicalId(f.events.Bus().Node().DefaultChild().(awscdk.CfnElement))}
	cdktest.Count(t, f.tpl, "AWS::Events::EventBus", map[string]any{"Name": "rotor-test"}, 1)
	cdktest.Count(t, f.tpl, "AWS::Events::Archive", map[string]any{
		"RetentionDays": 7, "EventPattern": map[string]any{"source": []any{"rotor", map[string]any{"prefix": "rotor.consumer."}, "aws.secretsmanager"}},
	}, 1)
	// Secrets Manager's events come from the default bus (no EventBusName).
	cdktest.Count(t, f.tpl, "AWS::Events::Rule", map[string]any{
		"EventBusName": assertions.Match_Absent(),
		"EventPattern": map[string]any{"source": []any{"aws.secretsmanager"}},
		"Targets":      []any{map[string]any{"Arn": getAtt(f, f.events.Bus().Node().DefaultChild().(awscdk.CfnElement), "Arn")}},
	}, 1)
	// Everything goes on to the audit bus, with a role and a dead-letter queue.
	// Everything means every detail type, "Consumer Acknowledged" and
	// "Credential Deactivated" too: no detail-type in the pattern.
	cdktest.Count(t, f.tpl, "AWS::Events::Rule", map[string]any{
		"EventBusName": bus,
		"EventPattern": map[string]any{"source": []any{"rotor", map[string]any{"prefix": "rotor.consumer."}, "aws.secretsmanager"}, "detail-type": assertions.Match_Absent(), "detail": assertions.Match_Absent()},
		"Targets": []any{map[string]any{
			"Arn": auditBusArn, "RoleArn": assertions.Match_AnyValue(),
			"DeadLetterConfig": map[string]any{"Arn": getAtt(f, f.events.AuditDeadLetterQueue().Node().DefaultChild().(awscdk.CfnElement), "Arn")},
		}},
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::IAM::Policy", map[string]any{"PolicyDocument": map[string]any{"Statement": []any{
		map[string]any{"Action": "events:PutEvents", "Effect": "Allow", "Resource": auditBusArn},
	}}}, 1)
}

func TestAuditBus(t *testing.T) {
	f := get(t)
	root := func(acct string) map[string]any {
		return map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::" + acct + ":root"}}}
	}
	cdktest.Count(t, f.auditTpl, "AWS::Events::EventBus", map[string]any{"Name": "rotor-audit"}, 1)
	cdktest.Count(t, f.auditTpl, "AWS::Events::EventBusPolicy", nil, 1)
	cdktest.Count(t, f.auditTpl, "AWS::Events::EventBusPolicy", map[string]any{
		"EventBusName": map[string]any{"Ref": *f.audit.GetLogicalId(f.auditBus.Bus().Node().DefaultChild().(awscdk.CfnElement))},
		"Statement": map[string]any{
			"Effect": "Allow", "Action": "events:PutEvents",
			"Principal": map[string]any{"AWS": []any{root(account), root("222222222222")}},
			"Resource":  map[string]any{"Fn::GetAtt": []any{*f.audit.GetLogicalId(f.auditBus.Bus().Node().DefaultChild().(awscdk.CfnElement)), "Arn"}},
		},
	}, 1)
	cdktest.Count(t, f.auditTpl, "AWS::Logs::LogGroup", map[string]any{"LogGroupName": "/rotor/audit/rotor-audit", "RetentionInDays": 3653}, 1)
	cdktest.Count(t, f.auditTpl, "AWS::Events::Rule", map[string]any{
		"EventPattern": map[string]any{"source": []any{"rotor", map[string]any{"prefix": "rotor.consumer."}, "aws.secretsmanager"}},
		"Targets": []any{map[string]any{"Arn": map[string]any{"Fn::Join": []any{"", []any{
			"arn:", map[string]any{"Ref": "AWS::Partition"}, ":logs:eu-west-1:999999999999:log-group:",
			map[string]any{"Ref": *f.audit.GetLogicalId(f.auditBus.LogGroup().Node().DefaultChild().(awscdk.CfnElement))},
		}}}}},
	}, 1)
	// EventBridge may write to the log, from the audit rule only.
	cdktest.Count(t, f.auditTpl, "AWS::Logs::ResourcePolicy", nil, 1)
	pol := cdktest.JSON(cdktest.Resources(t, f.auditTpl, "AWS::Logs::ResourcePolicy"))
	for _, want := range []string{`events.amazonaws.com`, `aws:SourceArn`, *f.audit.GetLogicalId(f.auditBus.Rule().Node().DefaultChild().(awscdk.CfnElement))} {
		if !strings.Contains(pol, want) {
			t.Errorf("audit log policy: want %s in it, got %s", want, pol)
		}
	}
}

func TestConsumerSubscriptions(t *testing.T) {
	f := get(t)
	pattern := func(secrets ...*rotor.RotatedSecret) map[string]any {
		arns := make([]any, len(secrets))
		for i, s := range secrets {
			arns[i] = ref(f, s)
		}
		return map[string]any{
			"source":      []any{"rotor"},
			"detail-type": []any{map[string]any{"anything-but": []any{"Consumer Acknowledged"}}},
			"detail":      map[string]any{"secretArn": arns},
		}
	}
	dlq := func(c *rotor.ConsumerSubscription) map[string]any {
		return getAtt(f, c.DeadLetterQueue().Node().DefaultChild().(awscdk.CfnElement), "Arn")
	}
	// Queue consumer: the rule targets its queue; the queue redrives to the DLQ.
	cdktest.Count(t, f.tpl, "AWS::Events::Rule", map[string]any{
		"EventPattern": pattern(f.orders),
		"Targets": []any{map[string]any{
			"Arn": getAtt(f, f.queueC.Queue().Node().DefaultChild().(awscdk.CfnElement), "Arn"), "DeadLetterConfig": map[string]any{"Arn": dlq(f.queueC)},
		}},
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::SQS::Queue", map[string]any{
		"SqsManagedSseEnabled": true,
		"RedrivePolicy":        map[string]any{"deadLetterTargetArn": dlq(f.queueC), "maxReceiveCount": 5},
	}, 1)
	// Every queue is encrypted and refuses requests without TLS.
	queues := cdktest.Resources(t, f.tpl, "AWS::SQS::Queue")
	cdktest.Count(t, f.tpl, "AWS::SQS::Queue", map[string]any{"SqsManagedSseEnabled": true}, len(queues))
	if len(queues) != 5 {
		t.Errorf("want 5 queues (one consumer queue, three consumer DLQs, the audit DLQ), got %d", len(queues))
	}
	cdktest.Count(t, f.tpl, "AWS::SQS::QueuePolicy", map[string]any{"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
		assertions.Match_ObjectLike(&map[string]any{"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}),
	})}}, len(queues))

	// Lambda consumer: invoked by the rule, with permission.
	cdktest.Count(t, f.tpl, "AWS::Events::Rule", map[string]any{
		"EventPattern": pattern(f.orders, f.billing),
		"Targets":      []any{map[string]any{"Arn": "arn:aws:lambda:eu-west-1:123456789012:function:billing-refresh", "DeadLetterConfig": map[string]any{"Arn": dlq(f.lambdaC)}}},
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::Lambda::Permission", map[string]any{
		"FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:billing-refresh", "Principal": "events.amazonaws.com",
		"SourceArn": getAtt(f, f.lambdaC.Rule().Node().DefaultChild().(awscdk.CfnElement), "Arn"),
	}, 1)

	// Other account: the rule puts events on its bus, through a role that may
	// do that and nothing else.
	other := "arn:aws:events:eu-west-1:444444444444:event-bus/default"
	cdktest.Count(t, f.tpl, "AWS::Events::Rule", map[string]any{
		"EventPattern": pattern(f.reports),
		"Targets":      []any{map[string]any{"Arn": other, "RoleArn": assertions.Match_AnyValue(), "DeadLetterConfig": map[string]any{"Arn": dlq(f.accountC)}}},
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::IAM::Policy", map[string]any{"PolicyDocument": map[string]any{"Statement": []any{
		map[string]any{"Action": "events:PutEvents", "Effect": "Allow", "Resource": other},
	}}}, 1)
	// ... and the environment's bus admits that account's acknowledgements,
	// and nothing else from it.
	bus := f.events.Bus().Node().DefaultChild().(awscdk.CfnElement)
	cdktest.Count(t, f.tpl, "AWS::Events::EventBusPolicy", map[string]any{
		"EventBusName": map[string]any{"Ref": *f.stack.GetLogicalId(bus)},
		"Statement": map[string]any{
			"Sid": "cdk-AcknowledgeFromanalytics444444444444", "Effect": "Allow", "Action": "events:PutEvents",
			"Principal": map[string]any{"AWS": map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::444444444444:root"}}}},
			"Resource":  getAtt(f, bus, "Arn"),
			"Condition": map[string]any{"StringEquals": map[string]any{"events:source": "rotor.consumer.analytics", "events:detail-type": "Consumer Acknowledged"}},
		},
	}, 1)
}

func TestMonitoring(t *testing.T) {
	f := get(t)
	// Failures, 2 per function, 1 unacknowledged, 3 dead-letter queues, past window.
	if got, want := len(f.monitoring.Alarms()), 1+2*2+1+3+1; got != want {
		t.Errorf("want %d alarms, got %d", want, got)
	}
	cdktest.Count(t, f.tpl, "AWS::CloudWatch::Alarm", map[string]any{"AlarmActions": []any{topicArn}}, 10)
	cdktest.Count(t, f.tpl, "AWS::CloudWatch::Alarm", map[string]any{
		"Namespace": "Rotor/test", "MetricName": "RotationFailures", "Threshold": 1,
		"ComparisonOperator": "GreaterThanOrEqualToThreshold",
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::CloudWatch::Alarm", map[string]any{
		"Namespace": "Rotor", "MetricName": "UnacknowledgedConsumers",
		"Dimensions": []any{map[string]any{"Name": "SecretName", "Value": "app/orders"}},
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::CloudWatch::Alarm", map[string]any{"Namespace": "AWS/Lambda", "MetricName": "Errors"}, 2)
	// Duration alarms at 80% of the timeout: 48 s of 60, 24 s of 30.
	cdktest.Count(t, f.tpl, "AWS::CloudWatch::Alarm", map[string]any{"MetricName": "Duration", "Threshold": 48000}, 1)
	cdktest.Count(t, f.tpl, "AWS::CloudWatch::Alarm", map[string]any{"MetricName": "Duration", "Threshold": 24000}, 1)
	cdktest.Count(t, f.tpl, "AWS::CloudWatch::Alarm", map[string]any{"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible"}, 3)
	cdktest.Count(t, f.tpl, "AWS::CloudWatch::Alarm", map[string]any{"Namespace": "Rotor/test", "MetricName": "SecretsPastRotationWindow"}, 1)

	bus := map[string]any{"Ref": *f.stack.GetLogicalId(f.events.Bus().Node().DefaultChild().(awscdk.CfnElement))}
	cdktest.Count(t, f.tpl, "AWS::Events::Rule", map[string]any{
		"EventBusName": bus,
		"EventPattern": map[string]any{"source": []any{"rotor"}, "detail-type": []any{"Rotation Failed"}},
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::Events::Rule", map[string]any{
		"EventBusName": bus,
		"EventPattern": map[string]any{
			"source": []any{"aws.secretsmanager"}, "detail-type": []any{"AWS Service Event via CloudTrail"},
			"detail": map[string]any{"eventName": []any{"RotationFailed"}},
		},
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::Logs::MetricFilter", map[string]any{
		"MetricTransformations": []any{map[string]any{"MetricNamespace": "Rotor/test", "MetricName": "RotationFailures", "MetricValue": "1"}},
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::Config::ConfigRule", map[string]any{
		"Source": map[string]any{"Owner": "AWS", "SourceIdentifier": "SECRETSMANAGER_SCHEDULED_ROTATION_SUCCESS_CHECK"},
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::Events::Rule", map[string]any{
		"EventPattern": map[string]any{"source": []any{"aws.config"}, "detail": map[string]any{"newEvaluationResult": map[string]any{"complianceType": []any{"NON_COMPLIANT"}}}},
	}, 1)
	cdktest.Count(t, f.tpl, "AWS::CloudWatch::Dashboard", map[string]any{"DashboardName": "rotor-test"}, 1)
	// One log resource policy for the stack's three log routes.
	cdktest.Count(t, f.tpl, "AWS::Logs::ResourcePolicy", nil, 1)
}

func TestNagClean(t *testing.T) {
	f := get(t)
	for _, s := range []awscdk.Stack{f.stack, f.audit, f.service} {
		if errs := cdktest.NagErrors(s); len(errs) > 0 {
			t.Errorf("stack %s: want no unsuppressed cdk-nag errors, got:\n%s", *s.StackName(), strings.Join(errs, "\n"))
		}
	}
}

package stacks_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/rotorhq/rotor/infra/config"
	"github.com/rotorhq/rotor/infra/internal/cdktest"
	"github.com/rotorhq/rotor/infra/stacks"
)

// The file config's tests validate: three environments and an audit account.
const configFile = "../config/testdata/valid.json"

var (
	dist string
	once sync.Once
	cfg  *config.File
	app  *stacks.App
	tpls map[string]assertions.Template
)

func TestMain(m *testing.M) {
	var err error
	dist, err = os.MkdirTemp("", "rotor-dist-")
	if err != nil {
		panic(err)
	}
	// dist/postgres/bootstrap as `make build` leaves it, minus the binary.
	if err := os.MkdirAll(filepath.Join(dist, "postgres"), 0o755); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "postgres", "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dist)
	jsii.Close()
	os.Exit(code)
}

func load(t *testing.T) *config.File {
	t.Helper()
	f, err := config.Load(configFile)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// built is the app of configFile, synthesized once for every test here.
func built(t *testing.T) (*config.File, *stacks.App, map[string]assertions.Template) {
	t.Helper()
	once.Do(func() {
		f, err := config.Load(configFile)
		if err != nil {
			return
		}
		a, err := stacks.Build(awscdk.NewApp(nil), f, stacks.DistCode(dist))
		if err != nil {
			return
		}
		tpls = map[string]assertions.Template{stacks.AuditStageID: assertions.Template_FromStack(a.Audit.Stack, nil)}
		for name, st := range a.Environments {
			tpls[name] = assertions.Template_FromStack(st.Stack, nil)
		}
		cfg, app = f, a
	})
	if app == nil {
		t.Fatal("the app did not build (see TestBuildErrors)")
	}
	return cfg, app, tpls
}

func allStacks(a *stacks.App) map[string]awscdk.Stack {
	out := map[string]awscdk.Stack{stacks.AuditStageID: a.Audit.Stack}
	for name, st := range a.Environments {
		out[name] = st.Stack
	}
	return out
}

func TestStagesAndEnvironments(t *testing.T) {
	f, a, _ := built(t)
	var names []string
	for name := range a.Stages {
		names = append(names, name)
	}
	slices.Sort(names)
	if got, want := strings.Join(names, ","), "audit,dev,prod,staging"; got != want {
		t.Errorf("stages: want %s, got %s", want, got)
	}
	for _, e := range f.Environments {
		st := a.Environments[e.Name]
		if st == nil {
			t.Fatalf("environment %s: no stack", e.Name)
		}
		if *st.Account() != e.Account || *st.Region() != e.Region {
			t.Errorf("%s: want %s/%s, got %s/%s", e.Name, e.Account, e.Region, *st.Account(), *st.Region())
		}
		if *st.StackName() != "rotor-"+e.Name {
			t.Errorf("%s: want stack name rotor-%s, got %s", e.Name, e.Name, *st.StackName())
		}
		if got := *a.Stages[e.Name].Account(); got != e.Account {
			t.Errorf("stage %s: want account %s, got %s", e.Name, e.Account, got)
		}
	}
	if *a.Audit.Account() != f.Audit.Account || *a.Audit.StackName() != "rotor-audit" {
		t.Errorf("audit: want account %s and name rotor-audit, got %s %s", f.Audit.Account, *a.Audit.Account(), *a.Audit.StackName())
	}
}

func TestEveryStackNagClean(t *testing.T) {
	_, a, _ := built(t)
	for name, st := range allStacks(a) {
		if errs := cdktest.NagErrors(st); len(errs) > 0 {
			t.Errorf("stack %s: want no unsuppressed cdk-nag errors, got:\n%s", name, strings.Join(errs, "\n"))
		}
	}
}

func TestEveryStackScopesSecretsManager(t *testing.T) {
	_, _, tpls := built(t)
	for name, tpl := range tpls {
		t.Run(name, func(t *testing.T) { cdktest.CheckSecretsManagerScoped(t, tpl) })
	}
	// GetRandomPassword, the exception, only where a rotator asks for it:
	// prod's postgres-single (passwordSource secretsmanager).
	for name, tpl := range tpls {
		n := 0
		for _, s := range cdktest.IdentityStatements(t, tpl) {
			if slices.Contains(s.Actions, "secretsmanager:GetRandomPassword") {
				n++
			}
		}
		if want := map[string]int{"prod": 1}[name]; n != want {
			t.Errorf("%s: want %d GetRandomPassword statements, got %d", name, want, n)
		}
	}
}

func TestCrossAccountAudit(t *testing.T) {
	f, _, tpls := built(t)
	var principals []any
	for _, acct := range f.Accounts() {
		principals = append(principals, map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::" + acct + ":root"}}})
	}
	cdktest.Count(t, tpls[stacks.AuditStageID], "AWS::Events::EventBusPolicy", map[string]any{
		"Statement": map[string]any{"Action": "events:PutEvents", "Effect": "Allow", "Principal": map[string]any{"AWS": principals}},
	}, 1)
	arn := stacks.AuditBusArn(f.Audit)
	if arn != "arn:aws:events:eu-west-1:999999999999:event-bus/rotor-audit" {
		t.Errorf("audit bus ARN: got %s", arn)
	}
	for _, e := range f.Environments {
		cdktest.Count(t, tpls[e.Name], "AWS::Events::Rule", map[string]any{
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{"Arn": arn, "RoleArn": assertions.Match_AnyValue()})},
		}, 1)
	}
}

func TestEnvironmentWiring(t *testing.T) {
	f, _, tpls := built(t)
	for _, e := range f.Environments {
		tpl := tpls[e.Name]
		cdktest.Count(t, tpl, "AWS::KMS::Key", map[string]any{"EnableKeyRotation": true}, 1)
		cdktest.Count(t, tpl, "AWS::KMS::Alias", map[string]any{"AliasName": "alias/rotor/" + e.Name}, 1)
		cdktest.Count(t, tpl, "AWS::Events::EventBus", map[string]any{"Name": "rotor-" + e.Name}, 1)
		cdktest.Count(t, tpl, "AWS::Lambda::Function", nil, len(e.Rotators))
		// The environment's secrets and its fingerprint key.
		cdktest.Count(t, tpl, "AWS::SecretsManager::Secret", nil, len(e.Secrets)+1)
		cdktest.Count(t, tpl, "AWS::SecretsManager::RotationSchedule", nil, len(e.Secrets))
		cdktest.Count(t, tpl, "AWS::Events::Archive", map[string]any{"RetentionDays": *e.EventArchiveDays}, 1)
		for _, s := range e.Secrets {
			cdktest.Count(t, tpl, "AWS::SecretsManager::Secret", map[string]any{"Name": s.Name}, 1)
		}
		configRules := 0
		if e.RotationWindowCheck {
			configRules = 1
		}
		cdktest.Count(t, tpl, "AWS::Config::ConfigRule", nil, configRules)
	}
	// prod: one set of endpoints for its VPC without NAT; the other rotator of
	// the same VPC has a NAT and reaches AWS's public endpoints on 443.
	cdktest.Count(t, tpls["prod"], "AWS::EC2::VPCEndpoint", nil, 2)
	cdktest.Count(t, tpls["dev"], "AWS::EC2::VPCEndpoint", nil, 0)
	cdktest.Count(t, tpls["dev"], "AWS::EC2::SecurityGroup", map[string]any{
		"SecurityGroupEgress": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"CidrIp": "0.0.0.0/0", "FromPort": 443})}),
	}, 1)
	cdktest.Count(t, tpls["dev"], "AWS::EC2::SecurityGroup", map[string]any{
		"SecurityGroupEgress": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"CidrIp": "10.10.0.0/16", "FromPort": 5432})}),
	}, 1)
	// Alternating users rotate at once; a single user waits for its password.
	cdktest.Count(t, tpls["prod"], "AWS::SecretsManager::RotationSchedule", map[string]any{"RotateImmediatelyOnUpdate": true}, 2)
	cdktest.Count(t, tpls["prod"], "AWS::SecretsManager::RotationSchedule", map[string]any{"RotateImmediatelyOnUpdate": false}, 1)
	// prod's consumers: a queue, a Lambda function and another account.
	cdktest.Count(t, tpls["prod"], "AWS::CloudWatch::Alarm", map[string]any{"MetricName": "UnacknowledgedConsumers"}, 3)
	cdktest.Count(t, tpls["prod"], "AWS::Events::Rule", map[string]any{
		"Targets": []any{assertions.Match_ObjectLike(&map[string]any{"Arn": "arn:aws:lambda:eu-west-1:333333333333:function:billing-credential-refresh"})},
	}, 1)
	// Every alarm notifies the topic: failures, 2 per rotator, 3 secrets with
	// consumers, 3 dead-letter queues, the rotation window.
	cdktest.Count(t, tpls["prod"], "AWS::CloudWatch::Alarm", map[string]any{"AlarmActions": []any{"arn:aws:sns:eu-west-1:333333333333:rotor-alarms"}}, 1+2*2+3+3+1)
}

// A secret's resources are named after the secret, not its place in the file:
// reordering the file must not replace a secret.
func TestSecretIDsDoNotDependOnOrder(t *testing.T) {
	_, a, _ := built(t)
	ids := func(st *stacks.EnvironmentStack) map[string]string {
		out := map[string]string{}
		for name, s := range st.Secrets {
			out[name] = *st.GetLogicalId(s.Secret().Node().DefaultChild().(awscdk.CfnElement))
		}
		return out
	}
	want := ids(a.Environments["prod"])

	g := load(t)
	slices.Reverse(g.Environments[2].Secrets)
	g.Environments = g.Environments[2:]
	g.Audit = nil
	b, err := stacks.Build(awscdk.NewApp(nil), g, stacks.DistCode(dist))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(b.Environments["prod"]); cdktest.JSON(got) != cdktest.JSON(want) {
		t.Errorf("want the logical IDs %v whatever the order, got %v", want, got)
	}
}

func TestBuildErrors(t *testing.T) {
	f := load(t)
	_, err := stacks.Build(awscdk.NewApp(nil), f, stacks.DistCode(filepath.Join(dist, "missing")))
	var mc *stacks.MissingCodeError
	if !errors.As(err, &mc) {
		t.Fatalf("want a MissingCodeError, got %v", err)
	}
	for _, want := range []string{"postgres", "missing/postgres", "make build"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("want the error to name %q, got %q", want, err)
		}
	}

	g := load(t)
	g.Environments[0].Name = stacks.AuditStageID
	_, err = stacks.Build(awscdk.NewApp(nil), g, func(string) awslambda.Code { return awslambda.Code_FromInline(jsii.String("x")) })
	if err == nil || !strings.Contains(err.Error(), "environments[0].name") {
		t.Errorf("want an error naming environments[0].name, got %v", err)
	}
}

func TestEventsAndGate(t *testing.T) {
	f, a, tpls := built(t)
	for _, e := range f.Environments {
		st, tpl := a.Environments[e.Name], tpls[e.Name]
		fingerprint := map[string]any{"Ref": *st.GetLogicalId(st.FingerprintKey.Secret().Node().DefaultChild().(awscdk.CfnElement))}
		tpl.HasResource(jsii.String("AWS::SecretsManager::Secret"), map[string]any{
			"DeletionPolicy": "Retain",
			"Properties": map[string]any{
				"Name":                 config.FingerprintKeyName(e.Name),
				"KmsKeyId":             map[string]any{"Fn::GetAtt": []any{*st.GetLogicalId(st.Key.Node().DefaultChild().(awscdk.CfnElement)), "Arn"}},
				"GenerateSecretString": map[string]any{"PasswordLength": 64, "ExcludePunctuation": true},
			},
		})
		// Every rotator: the key, the gate's settings, its own secrets to
		// sweep, an hourly schedule and a rule for its secrets' events.
		for _, r := range e.Rotators {
			var names []string
			for _, s := range e.Secrets {
				if s.Rotator == r.Name {
					names = append(names, s.Name)
				}
			}
			fn := st.Rotators[r.Name].Function()
			cdktest.Count(t, tpl, "AWS::Lambda::Function", map[string]any{
				"Description": *fn.Node().DefaultChild().(awslambda.CfnFunction).Description(),
				"Environment": map[string]any{"Variables": map[string]any{
					"ROTOR_FINGERPRINT_KEY_SECRET": fingerprint,
					"ROTOR_GRACE_PERIOD":           r.GracePeriod,
					"ROTOR_LOCK_IDLE_USER":         strconv.FormatBool(r.LockIdleUser),
					"ROTOR_GATE_SECRETS":           strings.Join(names, ","),
				}},
			}, 1)
		}
		cdktest.Count(t, tpl, "AWS::Events::Rule", map[string]any{"ScheduleExpression": "rate(1 hour)"}, len(e.Rotators))
		cdktest.Count(t, tpl, "AWS::Events::Rule", map[string]any{
			"EventPattern": map[string]any{"source": []any{"rotor", map[string]any{"prefix": "rotor.consumer."}}, "detail-type": []any{"Consumer Acknowledged", "Rotation Completed"}},
		}, len(e.Rotators))
		cdktest.Count(t, tpl, "AWS::Lambda::Permission", map[string]any{"Principal": "events.amazonaws.com"},
			2*len(e.Rotators)+map[string]int{"prod": 1}[e.Name]) // prod's Lambda consumer
		// Each consumer's registration is on its secrets.
		for _, k := range e.Consumers {
			kind := map[string]string{config.ConsumerSQS: "sqs", config.ConsumerLambda: "lambda", config.ConsumerAccount: "bus account=" + k.Account}[k.Type]
			if k.Instances != nil {
				kind += fmt.Sprintf(" instances=%d", *k.Instances)
			}
			for _, name := range k.Secrets {
				cdktest.Count(t, tpl, "AWS::SecretsManager::Secret", map[string]any{
					"Name": name,
					"Tags": assertions.Match_ArrayWith(&[]any{map[string]any{"Key": "rotor:consumer:" + k.Name, "Value": kind}}),
				}, 1)
			}
		}
	}
	// prod's first rotator sets the gate's settings; the others default.
	if r := f.Environments[2].Rotators[0]; r.GracePeriod != "12h" || !r.LockIdleUser {
		t.Errorf("prod postgres: want gracePeriod 12h and lockIdleUser, got %q %v", r.GracePeriod, r.LockIdleUser)
	}
}

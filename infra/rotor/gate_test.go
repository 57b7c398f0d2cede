package rotor_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rotorhq/rotor/infra/internal/cdktest"
	"github.com/rotorhq/rotor/infra/rotor"
)

func logicalID(f *fixture, c constructs.IConstruct) string {
	return *f.stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}

func TestFingerprintKey(t *testing.T) {
	f := get(t)
	secret := map[string]any{"Ref": logicalID(f, f.fingerprint.Secret())}
	f.tpl.HasResource(jsii.String("AWS::SecretsManager::Secret"), map[string]any{
		"DeletionPolicy":      "Retain",
		"UpdateReplacePolicy": "Retain",
		"Properties": map[string]any{
			"Name":                 "rotor/test/fingerprint-key",
			"KmsKeyId":             getAtt(f, f.key.Node().DefaultChild().(awscdk.CfnElement), "Arn"),
			"GenerateSecretString": map[string]any{"PasswordLength": rotor.FingerprintKeyLength, "ExcludePunctuation": true},
		},
	})
	// Never rotated by rotor.
	cdktest.Count(t, f.tpl, "AWS::SecretsManager::RotationSchedule", map[string]any{"SecretId": secret}, 0)
	// Both functions know it.
	cdktest.Count(t, f.tpl, "AWS::Lambda::Function", map[string]any{
		"Environment": map[string]any{"Variables": map[string]any{"ROTOR_FINGERPRINT_KEY_SECRET": secret}},
	}, 2)
	// Reading it is denied to all but the two rotators.
	role := func(fn *rotor.RotatorFunction) map[string]any {
		return getAtt(f, fn.Role().Node().DefaultChild().(awscdk.CfnElement), "Arn")
	}
	cdktest.Count(t, f.tpl, "AWS::SecretsManager::ResourcePolicy", map[string]any{
		"SecretId": secret,
		"ResourcePolicy": map[string]any{"Statement": []any{map[string]any{
			"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Principal": map[string]any{"AWS": "*"},
			"Condition": map[string]any{"StringNotEquals": map[string]any{"aws:PrincipalArn": []any{role(f.vpcFn), role(f.plainFn)}}},
		}}},
	}, 1)
}

func TestGateEnvironment(t *testing.T) {
	f := get(t)
	cases := []struct {
		name string
		fn   *rotor.RotatorFunction
		want map[string]any
	}{
		{"vpc", f.vpcFn, map[string]any{
			"ROTOR_GRACE_PERIOD": "12h", "ROTOR_LOCK_IDLE_USER": "true", "ROTOR_GATE_SECRETS": "app/orders,app/billing",
		}},
		// SweepByTag: no list, the gate finds its secrets with ListSecrets.
		{"plain", f.plainFn, map[string]any{
			"ROTOR_GRACE_PERIOD": "24h", "ROTOR_LOCK_IDLE_USER": "false", "ROTOR_GATE_SECRETS": assertions.Match_Absent(),
		}},
	}
	fns := cdktest.Resources(t, f.tpl, "AWS::Lambda::Function")
	for _, c := range cases {
		fn := fns[logicalID(f, c.fn.Function())]
		vars := fn["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
		for k, v := range c.want {
			if _, absent := v.(assertions.Matcher); absent {
				if got, ok := vars[k]; ok {
					t.Errorf("%s: want no %s, got %v", c.name, k, got)
				}
				continue
			}
			if vars[k] != v {
				t.Errorf("%s: %s: want %v, got %v", c.name, k, v, vars[k])
			}
		}
	}
}

func TestGateRulesAndSchedule(t *testing.T) {
	f := get(t)
	bus := map[string]any{"Ref": logicalID(f, f.events.Bus())}
	cases := []struct {
		name    string
		fn      *rotor.RotatorFunction
		secrets []*rotor.RotatedSecret
	}{
		{"vpc", f.vpcFn, []*rotor.RotatedSecret{f.orders, f.billing}},
		{"plain", f.plainFn, []*rotor.RotatedSecret{f.reports}},
	}
	for _, c := range cases {
		fnArn := getAtt(f, c.fn.Function().Node().DefaultChild().(awscdk.CfnElement), "Arn")
		if c.fn.GateRule() == nil || c.fn.GateSchedule() == nil {
			t.Fatalf("%s: want a gate rule and a schedule, got %v and %v", c.name, c.fn.GateRule(), c.fn.GateSchedule())
		}
		arns := make([]any, len(c.secrets))
		for i, s := range c.secrets {
			arns[i] = ref(f, s)
		}
		cdktest.Count(t, f.tpl, "AWS::Events::Rule", map[string]any{
			"EventBusName": bus,
			"EventPattern": map[string]any{
				"source":      []any{"rotor", map[string]any{"prefix": "rotor.consumer."}},
				"detail-type": []any{"Consumer Acknowledged", "Rotation Completed"},
				"detail":      map[string]any{"secretArn": arns},
			},
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{"Arn": fnArn})},
		}, 1)
		// The schedule is on the default bus (schedules are nowhere else).
		cdktest.Count(t, f.tpl, "AWS::Events::Rule", map[string]any{
			"ScheduleExpression": "rate(1 hour)",
			"EventBusName":       assertions.Match_Absent(),
			"Targets":            []any{assertions.Match_ObjectLike(&map[string]any{"Arn": fnArn})},
		}, 1)
		for _, rule := range []awscdk.IResource{c.fn.GateRule(), c.fn.GateSchedule()} {
			cdktest.Count(t, f.tpl, "AWS::Lambda::Permission", map[string]any{
				"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com", "FunctionName": fnArn,
				"SourceArn": getAtt(f, rule.Node().DefaultChild().(awscdk.CfnElement), "Arn"),
			}, 1)
		}
	}
	cdktest.Count(t, f.tpl, "AWS::Events::Rule", map[string]any{"ScheduleExpression": "rate(1 hour)"}, 2)
}

// TagResource: the function's own secrets, rotor's gate tags only;
// UntagResource: the acknowledgements only.
func TestGateTagging(t *testing.T) {
	f := get(t)
	want := map[string]string{
		"secretsmanager:TagResource":   `{"ForAllValues:StringLike":{"aws:TagKeys":["rotor:ack:*","rotor:deactivated","rotor:not-revoked","rotor:emergency","rotor:emergency-reason"]}}`,
		"secretsmanager:UntagResource": `{"ForAllValues:StringLike":{"aws:TagKeys":["rotor:ack:*"]}}`,
	}
	n := map[string]int{}
	for _, s := range cdktest.IdentityStatements(t, f.tpl) {
		for _, a := range s.Actions {
			cond, ok := want[a]
			if !ok {
				continue
			}
			n[a]++
			if got := cdktest.JSON(s.Raw["Condition"]); got != cond {
				t.Errorf("%s: %s: want the condition %s, got %s", s.Where, a, cond, got)
			}
			if len(s.Actions) != 1 {
				t.Errorf("%s: want %s alone, got %v", s.Where, a, s.Actions)
			}
		}
	}
	for a := range want {
		if n[a] != 2 {
			t.Errorf("want one %s statement per rotator (2), got %d", a, n[a])
		}
	}
}

func TestListSecretsSuppressed(t *testing.T) {
	f := get(t)
	var found bool
	for id, p := range cdktest.Resources(t, f.tpl, "AWS::IAM::Policy") {
		doc := cdktest.JSON(p["Properties"].(map[string]any)["PolicyDocument"])
		if !strings.Contains(doc, "secretsmanager:ListSecrets") {
			continue
		}
		found = true
		if want := `{"Statement":[{"Action":"secretsmanager:ListSecrets","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}`; doc != want {
			t.Errorf("%s: want %s, got %s", id, want, doc)
		}
		meta := cdktest.JSON(p["Metadata"])
		for _, want := range []string{`"id":"AwsSolutions-IAM5"`, `Resource::*`, "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html"} {
			if !strings.Contains(meta, want) {
				t.Errorf("%s: want the suppression to hold %s, got %s", id, want, meta)
			}
		}
	}
	if !found {
		t.Error("want a ListSecrets policy for the SweepByTag rotator, got none")
	}
}

func TestConsumerTags(t *testing.T) {
	f := get(t)
	tag := func(k, v string) any { return map[string]any{"Key": k, "Value": v} }
	cases := []struct {
		secret string
		tags   []any
	}{
		// CDK sorts tags by key.
		{"app/orders", []any{tag("rotor:consumer:billing-refresh", "lambda"), tag("rotor:consumer:orders-api", "sqs instances=3")}},
		{"app/billing", []any{tag("rotor:consumer:billing-refresh", "lambda")}},
		{"app/reports", []any{tag("rotor:consumer:analytics", "bus account=444444444444")}},
	}
	for _, c := range cases {
		cdktest.Count(t, f.tpl, "AWS::SecretsManager::Secret", map[string]any{
			"Name": c.secret, "Tags": assertions.Match_ArrayWith(&c.tags),
		}, 1)
	}
	// billing-cache subscribes from a service's app, to the secret imported
	// by ARN: no tag from there (the secret's own stack tags it).
	if tpl := cdktest.JSON(f.tpl.ToJSON()); strings.Contains(tpl, "rotor:consumer:billing-cache") {
		t.Error("want no tag from a subscription to an imported secret, got one")
	}
	// Only rotated secrets carry registrations.
	cdktest.Count(t, f.tpl, "AWS::SecretsManager::Secret", map[string]any{
		"Name": "rotor/test/fingerprint-key", "Tags": assertions.Match_Absent(),
	}, 1)
	for c, want := range map[*rotor.ConsumerSubscription]string{f.queueC: "sqs", f.lambdaC: "lambda", f.accountC: "bus"} {
		if c.Kind() != want {
			t.Errorf("%s: want kind %s, got %s", c.Name(), want, c.Kind())
		}
	}
}

func TestConsumerGrant(t *testing.T) {
	f := get(t)
	key := getAtt(f, f.key.Node().DefaultChild().(awscdk.CfnElement), "Arn")
	bus := getAtt(f, f.events.Bus().Node().DefaultChild().(awscdk.CfnElement), "Arn")
	// The service role: PutEvents on the bus of its own acknowledgements
	// only, read on the orders secret and decrypt through Secrets Manager,
	// nothing else.
	cdktest.Count(t, f.tpl, "AWS::IAM::Policy", map[string]any{
		"Roles": []any{map[string]any{"Ref": logicalID(f, f.serviceRole)}},
		"PolicyDocument": map[string]any{"Statement": []any{
			map[string]any{"Action": "events:PutEvents", "Effect": "Allow", "Resource": bus,
				"Condition": map[string]any{"StringEquals": map[string]any{"events:source": "rotor.consumer.orders-api", "events:detail-type": "Consumer Acknowledged"}}},
			map[string]any{"Action": []any{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, "Effect": "Allow", "Resource": ref(f, f.orders)},
			map[string]any{"Action": "kms:Decrypt", "Effect": "Allow", "Resource": key,
				"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}},
		}},
	}, 1)

	// The Lambda consumer of the service's app is granted the same by the
	// subscription itself, on the imported bus, secret and key.
	cdktest.Count(t, f.serviceTpl, "AWS::IAM::Policy", map[string]any{
		"Roles": []any{map[string]any{"Ref": *f.service.GetLogicalId(f.serviceFn.Role().Node().DefaultChild().(awscdk.CfnElement))}},
		"PolicyDocument": map[string]any{"Statement": []any{
			map[string]any{"Action": "events:PutEvents", "Effect": "Allow", "Resource": busArn,
				"Condition": map[string]any{"StringEquals": map[string]any{"events:source": "rotor.consumer.billing-cache", "events:detail-type": "Consumer Acknowledged"}}},
			map[string]any{"Action": []any{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, "Effect": "Allow", "Resource": billingArn},
			map[string]any{"Action": "kms:Decrypt", "Effect": "Allow", "Resource": keyArn,
				"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}},
		}},
	}, 1)
	if f.serviceC.Kind() != "lambda" {
		t.Errorf("service consumer: want kind lambda, got %s", f.serviceC.Kind())
	}
}

// TestConsumerSubscriptionRefuses: an instance count beyond the secret's
// tags, or an AcknowledgeFrom that is not an account, fails the synth.
func TestConsumerSubscriptionRefuses(t *testing.T) {
	for _, tweak := range []func(p *rotor.ConsumerSubscriptionProps){
		func(p *rotor.ConsumerSubscriptionProps) { p.Instances = -1 },
		func(p *rotor.ConsumerSubscriptionProps) { p.Instances = rotor.MaxInstances + 1 },
		func(p *rotor.ConsumerSubscriptionProps) { p.AcknowledgeFrom = "4444" },
	} {
		app := awscdk.NewApp(nil)
		s := awscdk.NewStack(app, jsii.String("S"), nil)
		bus := awsevents.NewEventBus(s, jsii.String("Bus"), nil)
		p := &rotor.ConsumerSubscriptionProps{
			Name: "orders-api", Bus: bus,
			Secrets:   []awssecretsmanager.ISecret{awssecretsmanager.NewSecret(s, jsii.String("Secret"), nil)},
			TargetBus: awsevents.EventBus_FromEventBusArn(s, jsii.String("Other"), jsii.String("arn:aws:events:eu-west-1:444444444444:event-bus/default")),
		}
		tweak(p)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("instances %d, account %q: want a panic, got none", p.Instances, p.AcknowledgeFrom)
				}
			}()
			rotor.NewConsumerSubscription(s, "Consumer", p)
		}()
	}
}

func TestValidateConsumerName(t *testing.T) {
	cases := []struct {
		name  string
		valid bool
	}{
		{"orders-api", true},
		{"team/orders.api_v2:prod=1+x@eu", true},
		{strings.Repeat("a", rotor.MaxConsumerNameLength), true},
		{strings.Repeat("a", rotor.MaxConsumerNameLength+1), false},
		{"", false},
		{"orders api", false},
		{"orders,api", false},
		{"ordérs", false},
		{"aws:orders", false},
		{"AWS:orders", false},
	}
	for _, c := range cases {
		err := rotor.ValidateConsumerName(c.name)
		if c.valid && err != nil {
			t.Errorf("%q: want valid, got %v", c.name, err)
		}
		if !c.valid && err == nil {
			t.Errorf("%q: want an error, got none", c.name)
		}
	}
	if got := len(rotor.ConsumerTagPrefix) + rotor.MaxConsumerNameLength; got != 128 {
		t.Errorf("want the longest tag key 128 characters, got %d", got)
	}
}

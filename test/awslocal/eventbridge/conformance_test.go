package eventbridge

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/google/uuid"
)

// The conformance scenarios run the same calls through the SDK against the
// local service and against moto_server, check each step against what
// EventBridge's API reference says, and compare the two outcome by outcome.
// Where moto departs from AWS's documentation the step says how, and moto's
// outcome of that step is logged rather than checked.

// env is what a step acts on. Names are unique to the run (moto keeps its
// state across scenarios); results use the symbolic names "<bus>" and
// "<rule>" so that the targets' outcomes compare.
type env struct {
	ctx  context.Context
	eb   *eventbridge.Client
	bus  string
	rule string
}

func (e *env) sym(s string) string {
	return strings.NewReplacer(e.bus, "<bus>", e.rule, "<rule>").Replace(s)
}

type step struct {
	name     string
	do       func(e *env) (any, error)
	wantCode string
	// want, when not nil, is the result, compared with reflect.DeepEqual.
	want        any
	motoDiffers string
}

type scenario struct {
	name  string
	steps []step
}

type outcome struct {
	code      string
	result    any
	unchecked bool
}

func TestConformance(t *testing.T) {
	motoClient := client(motoServer(t).URL, "testing")
	localClient := newLocal(t, Options{}).client()
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			local := runScenario(t, "local", sc, localClient, false)
			moto := runScenario(t, "moto", sc, motoClient, true)
			for i := range min(len(local), len(moto)) {
				if local[i].unchecked || moto[i].unchecked {
					continue
				}
				if local[i].code != moto[i].code || !reflect.DeepEqual(local[i].result, moto[i].result) {
					t.Errorf("step %q: local gave (%q, %#v), moto gave (%q, %#v): want the same",
						sc.steps[i].name, local[i].code, local[i].result, moto[i].code, moto[i].result)
				}
			}
		})
	}
}

func runScenario(t *testing.T, name string, sc scenario, c *eventbridge.Client, isMoto bool) []outcome {
	var out []outcome
	t.Run(name, func(t *testing.T) {
		id := uuid.NewString()[:8]
		e := &env{ctx: t.Context(), eb: c, bus: "bus-" + id, rule: "rule-" + id}
		for _, st := range sc.steps {
			got, err := st.do(e)
			o := outcome{code: errorCode(err), result: got, unchecked: isMoto && st.motoDiffers != ""}
			out = append(out, o)
			if o.unchecked {
				t.Logf("step %q: moto differs from AWS, not checked: %s (moto: code %q, result %#v)", st.name, st.motoDiffers, o.code, got)
				continue
			}
			switch {
			case st.wantCode == "" && err != nil:
				t.Fatalf("step %q: want success, got %v", st.name, err)
			case st.wantCode != "" && o.code != st.wantCode:
				t.Fatalf("step %q: want %s, got %q (%v)", st.name, st.wantCode, o.code, err)
			case st.want != nil && !reflect.DeepEqual(got, st.want):
				t.Fatalf("step %q: want %#v, got %#v", st.name, st.want, got)
			}
		}
	})
	return out
}

const arnPrefix = "arn:aws:events:" + region + ":" + account + ":"

// Steps, as small functions of env.

func createBus() step {
	return step{name: "CreateEventBus", do: func(e *env) (any, error) {
		out, err := e.eb.CreateEventBus(e.ctx, &eventbridge.CreateEventBusInput{Name: aws.String(e.bus)})
		if err != nil {
			return nil, err
		}
		return e.sym(aws.ToString(out.EventBusArn)), nil
	}, want: arnPrefix + "event-bus/<bus>"}
}

type busView struct{ Name, Arn string }

func describeBus(name string, wantCode string, want any) step {
	return step{name: "DescribeEventBus " + name, do: func(e *env) (any, error) {
		in := &eventbridge.DescribeEventBusInput{}
		if name == "<bus>" {
			in.Name = aws.String(e.bus)
		} else if name != "" {
			in.Name = aws.String(name)
		}
		out, err := e.eb.DescribeEventBus(e.ctx, in)
		if err != nil {
			return nil, err
		}
		return busView{e.sym(aws.ToString(out.Name)), e.sym(aws.ToString(out.Arn))}, nil
	}, wantCode: wantCode, want: want}
}

func deleteBus(name string, wantCode string) step {
	return step{name: "DeleteEventBus " + name, do: func(e *env) (any, error) {
		n := name
		if n == "<bus>" {
			n = e.bus
		}
		_, err := e.eb.DeleteEventBus(e.ctx, &eventbridge.DeleteEventBusInput{Name: aws.String(n)})
		return nil, err
	}, wantCode: wantCode}
}

// putRule puts the scenario's rule on its bus (onBus) or the default bus.
func putRuleStep(name string, onBus bool, pattern, schedule string, wantCode string) step {
	return step{name: name, do: func(e *env) (any, error) {
		in := &eventbridge.PutRuleInput{Name: aws.String(e.rule)}
		if onBus {
			in.EventBusName = aws.String(e.bus)
		}
		if pattern != "" {
			in.EventPattern = aws.String(pattern)
		}
		if schedule != "" {
			in.ScheduleExpression = aws.String(schedule)
		}
		out, err := e.eb.PutRule(e.ctx, in)
		if err != nil {
			return nil, err
		}
		return e.sym(aws.ToString(out.RuleArn)), nil
	}, wantCode: wantCode}
}

type ruleView struct{ Name, Arn, EventPattern, ScheduleExpression, State, EventBusName string }

func describeRuleStep(onBus bool, wantCode string, want any) step {
	return step{name: "DescribeRule", do: func(e *env) (any, error) {
		in := &eventbridge.DescribeRuleInput{Name: aws.String(e.rule)}
		if onBus {
			in.EventBusName = aws.String(e.bus)
		}
		out, err := e.eb.DescribeRule(e.ctx, in)
		if err != nil {
			return nil, err
		}
		return ruleView{e.sym(aws.ToString(out.Name)), e.sym(aws.ToString(out.Arn)), aws.ToString(out.EventPattern),
			aws.ToString(out.ScheduleExpression), string(out.State), e.sym(aws.ToString(out.EventBusName))}, nil
	}, wantCode: wantCode, want: want}
}

func ruleOp(name string, wantCode string, fn func(e *env, rule, bus *string) error) step {
	return step{name: name, do: func(e *env) (any, error) {
		return nil, fn(e, aws.String(e.rule), aws.String(e.bus))
	}, wantCode: wantCode}
}

type targetView struct{ Id, Arn string }

func listTargetsStep(wantCode string, want any) step {
	return step{name: "ListTargetsByRule", do: func(e *env) (any, error) {
		out, err := e.eb.ListTargetsByRule(e.ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(e.rule), EventBusName: aws.String(e.bus)})
		if err != nil {
			return nil, err
		}
		views := []targetView{}
		for _, t := range out.Targets {
			views = append(views, targetView{aws.ToString(t.Id), aws.ToString(t.Arn)})
		}
		return views, nil
	}, wantCode: wantCode, want: want}
}

func putTargetsStep(name string, wantCode string, targets ...types.Target) step {
	return step{name: name, do: func(e *env) (any, error) {
		out, err := e.eb.PutTargets(e.ctx, &eventbridge.PutTargetsInput{Rule: aws.String(e.rule), EventBusName: aws.String(e.bus), Targets: targets})
		if err != nil {
			return nil, err
		}
		return out.FailedEntryCount, nil
	}, wantCode: wantCode}
}

// entryCodes puts entries and gives each one's error code ("" for an
// accepted entry).
func putEventsStep(name string, onBus bool, wantCode string, want any, motoDiffers string, entries ...types.PutEventsRequestEntry) step {
	return step{name: name, do: func(e *env) (any, error) {
		es := slices.Clone(entries)
		for i := range es {
			if onBus && es[i].EventBusName == nil {
				es[i].EventBusName = aws.String(e.bus)
			}
		}
		out, err := e.eb.PutEvents(e.ctx, &eventbridge.PutEventsInput{Entries: es})
		if err != nil {
			return nil, err
		}
		codes := []string{fmt.Sprint(out.FailedEntryCount)}
		for _, r := range out.Entries {
			if r.ErrorCode == nil && r.EventId == nil {
				codes = append(codes, "no EventId")
			}
			codes = append(codes, aws.ToString(r.ErrorCode))
		}
		return codes, nil
	}, wantCode: wantCode, want: want, motoDiffers: motoDiffers}
}

func entry(source, detailType, detail string) types.PutEventsRequestEntry {
	e := types.PutEventsRequestEntry{}
	if source != "" {
		e.Source = aws.String(source)
	}
	if detailType != "" {
		e.DetailType = aws.String(detailType)
	}
	if detail != "" {
		e.Detail = aws.String(detail)
	}
	return e
}

const (
	rnf        = CodeResourceNotFound
	exists     = CodeResourceAlreadyExists
	invalid    = CodeValidation
	badPattern = CodeInvalidEventPattern
)

func scenarios() []scenario {
	sqsTarget := types.Target{Id: aws.String("queue"), Arn: aws.String(queueARN(account, "conformance"))}
	return []scenario{
		{name: "the default bus exists without being created", steps: []step{
			describeBus("", "", busView{"default", arnPrefix + "event-bus/default"}),
			describeBus("default", "", busView{"default", arnPrefix + "event-bus/default"}),
		}},
		{name: "a custom bus: create, describe, list, delete", steps: []step{
			createBus(),
			{name: "CreateEventBus again", do: func(e *env) (any, error) {
				_, err := e.eb.CreateEventBus(e.ctx, &eventbridge.CreateEventBusInput{Name: aws.String(e.bus)})
				return nil, err
			}, wantCode: exists},
			describeBus("<bus>", "", busView{"<bus>", arnPrefix + "event-bus/<bus>"}),
			{name: "ListEventBuses by prefix", do: func(e *env) (any, error) {
				out, err := e.eb.ListEventBuses(e.ctx, &eventbridge.ListEventBusesInput{NamePrefix: aws.String(e.bus)})
				if err != nil {
					return nil, err
				}
				var names []string
				for _, b := range out.EventBuses {
					names = append(names, e.sym(aws.ToString(b.Name)))
				}
				return names, nil
			}, want: []string{"<bus>"}},
			deleteBus("<bus>", ""),
			describeBus("<bus>", rnf, nil),
			// DeleteEventBus of a bus that does not exist succeeds.
			deleteBus("<bus>", ""),
		}},
		{name: "bus names AWS refuses", steps: []step{
			{name: "CreateEventBus a/b", do: func(e *env) (any, error) {
				_, err := e.eb.CreateEventBus(e.ctx, &eventbridge.CreateEventBusInput{Name: aws.String(e.bus + "/x")})
				return nil, err
			}, wantCode: invalid},
			deleteBus("default", invalid),
			describeBus("no-such-bus", rnf, nil),
		}},
		{name: "a rule on a custom bus and its targets", steps: []step{
			createBus(),
			putRuleStep("PutRule", true, `{"source":["app.orders"]}`, "", ""),
			describeRuleStep(true, "", ruleView{"<rule>", arnPrefix + "rule/<bus>/<rule>", `{"source":["app.orders"]}`, "", "ENABLED", "<bus>"}),
			{name: "ListRules by prefix", do: func(e *env) (any, error) {
				out, err := e.eb.ListRules(e.ctx, &eventbridge.ListRulesInput{EventBusName: aws.String(e.bus), NamePrefix: aws.String(e.rule[:7])})
				if err != nil {
					return nil, err
				}
				var names []string
				for _, r := range out.Rules {
					names = append(names, e.sym(aws.ToString(r.Name)))
				}
				return names, nil
			}, want: []string{"<rule>"}},
			ruleOp("DisableRule", "", func(e *env, rule, bus *string) error {
				_, err := e.eb.DisableRule(e.ctx, &eventbridge.DisableRuleInput{Name: rule, EventBusName: bus})
				return err
			}),
			describeRuleStep(true, "", ruleView{"<rule>", arnPrefix + "rule/<bus>/<rule>", `{"source":["app.orders"]}`, "", "DISABLED", "<bus>"}),
			ruleOp("EnableRule", "", func(e *env, rule, bus *string) error {
				_, err := e.eb.EnableRule(e.ctx, &eventbridge.EnableRuleInput{Name: rule, EventBusName: bus})
				return err
			}),
			putTargetsStep("PutTargets", "", sqsTarget),
			listTargetsStep("", []targetView{{"queue", queueARN(account, "conformance")}}),
			{name: "ListRuleNamesByTarget", do: func(e *env) (any, error) {
				out, err := e.eb.ListRuleNamesByTarget(e.ctx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: sqsTarget.Arn, EventBusName: aws.String(e.bus)})
				if err != nil {
					return nil, err
				}
				var names []string
				for _, n := range out.RuleNames {
					names = append(names, e.sym(n))
				}
				return names, nil
			}, want: []string{"<rule>"}},
			// PutRule on an existing rule replaces it and keeps its targets.
			putRuleStep("PutRule again, another pattern", true, `{"source":["app.refunds"]}`, "", ""),
			describeRuleStep(true, "", ruleView{"<rule>", arnPrefix + "rule/<bus>/<rule>", `{"source":["app.refunds"]}`, "", "ENABLED", "<bus>"}),
			listTargetsStep("", []targetView{{"queue", queueARN(account, "conformance")}}),
			ruleOp("DeleteRule with a target", invalid, func(e *env, rule, bus *string) error {
				_, err := e.eb.DeleteRule(e.ctx, &eventbridge.DeleteRuleInput{Name: rule, EventBusName: bus})
				return err
			}),
			ruleOp("RemoveTargets", "", func(e *env, rule, bus *string) error {
				_, err := e.eb.RemoveTargets(e.ctx, &eventbridge.RemoveTargetsInput{Rule: rule, EventBusName: bus, Ids: []string{"queue"}})
				return err
			}),
			listTargetsStep("", []targetView{}),
			ruleOp("DeleteRule", "", func(e *env, rule, bus *string) error {
				_, err := e.eb.DeleteRule(e.ctx, &eventbridge.DeleteRuleInput{Name: rule, EventBusName: bus})
				return err
			}),
			describeRuleStep(true, rnf, nil),
			// Deleting a rule that does not exist succeeds.
			ruleOp("DeleteRule again", "", func(e *env, rule, bus *string) error {
				_, err := e.eb.DeleteRule(e.ctx, &eventbridge.DeleteRuleInput{Name: rule, EventBusName: bus})
				return err
			}),
		}},
		{name: "a scheduled rule on the default bus", steps: []step{
			{name: "PutRule rate(5 minutes)", do: func(e *env) (any, error) {
				out, err := e.eb.PutRule(e.ctx, &eventbridge.PutRuleInput{Name: aws.String(e.rule), ScheduleExpression: aws.String("rate(5 minutes)")})
				if err != nil {
					return nil, err
				}
				return e.sym(aws.ToString(out.RuleArn)), nil
			}, want: arnPrefix + "rule/<rule>"},
			describeRuleStep(false, "", ruleView{"<rule>", arnPrefix + "rule/<rule>", "", "rate(5 minutes)", "ENABLED", "default"}),
			{name: "DeleteRule", do: func(e *env) (any, error) {
				_, err := e.eb.DeleteRule(e.ctx, &eventbridge.DeleteRuleInput{Name: aws.String(e.rule)})
				return nil, err
			}},
		}},
		{name: "rules and targets AWS refuses", steps: []step{
			createBus(),
			putRuleStep("PutRule with neither pattern nor schedule", true, "", "", invalid),
			putRuleStep("PutRule with a bare string value", true, `{"source":"app"}`, "", badPattern),
			putRuleStep("PutRule with an empty array", true, `{"source":[]}`, "", badPattern),
			putRuleStep("PutRule with a schedule on a custom bus", true, "", "rate(5 minutes)", invalid),
			putRuleStep("PutRule with rate(5 weeks)", false, "", "rate(5 weeks)", invalid),
			{name: "PutRule on a bus that does not exist", do: func(e *env) (any, error) {
				_, err := e.eb.PutRule(e.ctx, &eventbridge.PutRuleInput{Name: aws.String(e.rule), EventPattern: aws.String(`{"source":["a"]}`), EventBusName: aws.String(e.bus + "-missing")})
				return nil, err
			}, wantCode: rnf},
			describeRuleStep(true, rnf, nil),
			ruleOp("EnableRule of no rule", rnf, func(e *env, rule, bus *string) error {
				_, err := e.eb.EnableRule(e.ctx, &eventbridge.EnableRuleInput{Name: rule, EventBusName: bus})
				return err
			}),
			putTargetsStep("PutTargets on no rule", rnf, sqsTarget),
			listTargetsStep(rnf, nil),
			putRuleStep("PutRule", true, `{"source":["app"]}`, "", ""),
			putTargetsStep("PutTargets with an ARN that is not one", invalid, types.Target{Id: aws.String("bad"), Arn: aws.String("not-an-arn")}),
			putTargetsStep("PutTargets to a FIFO queue without SqsParameters", invalid, types.Target{Id: aws.String("fifo"), Arn: aws.String(queueARN(account, "q.fifo"))}),
			listTargetsStep("", []targetView{}),
			// Last: moto accepts these, and its rule would change the steps above.
			func() step {
				s := putRuleStep("PutRule with an unknown match type", true, `{"source":[{"contains":"app"}]}`, "", badPattern)
				s.motoDiffers = "moto checks only that values are arrays or objects, and accepts any match type"
				return s
			}(),
			func() step {
				s := putRuleStep("PutRule with rate(1 minutes)", false, "", "rate(1 minutes)", invalid)
				s.motoDiffers = "AWS requires a singular unit for 1 and a plural one above; moto accepts either"
				return s
			}(),
		}},
		{name: "PutEvents entries", steps: []step{
			createBus(),
			putEventsStep("good and bad entries", true, "", []string{"3", "", "InvalidArgument", "InvalidArgument", "MalformedDetail"}, "",
				entry("app", "X", `{"a":1}`), entry("", "X", `{}`), entry("app", "", `{}`), entry("app", "X", `{"a":`)),
			putEventsStep("no detail", true, "", []string{"1", "InvalidArgument"}, "", entry("app", "X", "")),
			putEventsStep("eleven entries", true, invalid, nil, "", slices.Repeat([]types.PutEventsRequestEntry{entry("app", "X", `{}`)}, 11)...),
			putEventsStep("a bus that does not exist", false, rnf, nil, "", types.PutEventsRequestEntry{
				Source: aws.String("app"), DetailType: aws.String("X"), Detail: aws.String(`{}`), EventBusName: aws.String("no-such-bus"),
			}),
			putEventsStep("detail that is not an object", true, "", []string{"1", "MalformedDetail"},
				"moto accepts any JSON detail (it warns that AWS ignores non-objects)", entry("app", "X", `[1, 2]`)),
			putEventsStep("an aws. source", true, "", []string{"1", "NotAuthorizedForSourceException"},
				"moto lets callers put events with AWS services' sources", entry("aws.secretsmanager", "X", `{}`)),
		}},
		{name: "a bus's permissions", steps: []step{
			createBus(),
			{name: "PutPermission", do: func(e *env) (any, error) {
				_, err := e.eb.PutPermission(e.ctx, &eventbridge.PutPermissionInput{EventBusName: aws.String(e.bus), Action: aws.String("events:PutEvents"), Principal: aws.String("111122223333"), StatementId: aws.String("s1")})
				return nil, err
			}},
			{name: "DescribeEventBus policy", do: func(e *env) (any, error) {
				out, err := e.eb.DescribeEventBus(e.ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(e.bus)})
				if err != nil {
					return nil, err
				}
				var p struct {
					Statement []struct {
						Sid, Effect, Action, Resource string
						Principal                     map[string]string
					}
				}
				if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &p); err != nil {
					return nil, err
				}
				for i := range p.Statement {
					p.Statement[i].Resource = e.sym(p.Statement[i].Resource)
				}
				return fmt.Sprintf("%+v", p.Statement), nil
			}, want: "[{Sid:s1 Effect:Allow Action:events:PutEvents Resource:" + arnPrefix + "event-bus/<bus> Principal:map[AWS:arn:aws:iam::111122223333:root]}]"},
			{name: "PutPermission for a principal that is no account", do: func(e *env) (any, error) {
				_, err := e.eb.PutPermission(e.ctx, &eventbridge.PutPermissionInput{EventBusName: aws.String(e.bus), Action: aws.String("events:PutEvents"), Principal: aws.String("12"), StatementId: aws.String("s2")})
				return nil, err
			}, wantCode: invalid, motoDiffers: "moto takes 1 to 12 digits as an account id; AWS wants 12"},
			{name: "RemovePermission", do: func(e *env) (any, error) {
				_, err := e.eb.RemovePermission(e.ctx, &eventbridge.RemovePermissionInput{EventBusName: aws.String(e.bus), StatementId: aws.String("s1")})
				return nil, err
			}},
			{name: "RemovePermission again", do: func(e *env) (any, error) {
				_, err := e.eb.RemovePermission(e.ctx, &eventbridge.RemovePermissionInput{EventBusName: aws.String(e.bus), StatementId: aws.String("s1")})
				return nil, err
			}, wantCode: rnf},
		}},
	}
}

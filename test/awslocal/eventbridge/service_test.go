package eventbridge

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

func TestSnapshotRestore(t *testing.T) {
	rec := &recorder{}
	l := newLocal(t, Options{Queues: rec.queues()})
	c := l.client()
	if _, err := c.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String("orders"), Description: aws.String("d")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutPermission(t.Context(), &eventbridge.PutPermissionInput{EventBusName: aws.String("orders"), Action: aws.String("events:PutEvents"), Principal: aws.String("111122223333"), StatementId: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	q := queueARN(account, "q")
	putRule(t, c, "orders", "r", `{"detail": {"n": [{"numeric": [">", 1]}]}}`, types.Target{
		Id: aws.String("t"), Arn: aws.String(q), InputPath: aws.String("$.detail"),
		DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(queueARN(account, "dlq"))},
	})
	putRule(t, l.as("222222222222"), "", "other-account", `{"source": ["x"]}`)
	snap, err := l.svc.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}

	// A second service, restored from the snapshot, has the same state and
	// delivers by it.
	rec2 := &recorder{}
	l2 := newLocal(t, Options{Queues: rec2.queues()})
	if err := l2.svc.Restore(snap); err != nil {
		t.Fatalf("Restore: want success, got %v", err)
	}
	again, err := l2.svc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap, again) {
		t.Errorf("snapshot of the restored service: want\n%s\ngot\n%s", snap, again)
	}
	c2 := l2.client()
	list, err := c2.ListTargetsByRule(t.Context(), &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r"), EventBusName: aws.String("orders")})
	if err != nil || len(list.Targets) != 1 || aws.ToString(list.Targets[0].InputPath) != "$.detail" || list.Targets[0].DeadLetterConfig == nil {
		t.Errorf("restored target: want InputPath and DeadLetterConfig kept, got %v %+v", err, list)
	}
	putEvent(t, c2, "orders", "app", "X", `{"n": 2}`)
	l2.drain(t)
	if got := rec2.to(q); !reflect.DeepEqual(got, []string{`{"n":2}`}) {
		t.Errorf("delivery after Restore: want [{\"n\":2}], got %q", got)
	}

	// A bad snapshot is refused and changes nothing.
	for _, bad := range []string{`{`, `{"version": 99}`,
		`{"version": 1, "scopes": [{"account": "1", "region": "r", "buses": {"b": {"name": "b", "rules": {"x": {"name": "x", "eventPattern": "{}", "state": "ENABLED"}}}}}]}`,
	} {
		if err := l2.svc.Restore([]byte(bad)); err == nil {
			t.Errorf("Restore(%s): want an error, got nil", bad)
		}
		after, _ := l2.svc.Snapshot()
		if !bytes.Equal(after, again) {
			t.Errorf("Restore(%s) failed but changed the state", bad)
		}
	}
}

func TestListPagination(t *testing.T) {
	l := newLocal(t, Options{})
	c := l.client()
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("r%d", i)
		putRule(t, c, "", name, `{"source": ["x"]}`)
		want = append(want, name)
	}
	var got []string
	var token *string
	pages := 0
	for {
		out, err := c.ListRules(t.Context(), &eventbridge.ListRulesInput{Limit: aws.Int32(3), NextToken: token})
		if err != nil {
			t.Fatalf("ListRules: %v", err)
		}
		pages++
		for _, r := range out.Rules {
			got = append(got, aws.ToString(r.Name))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !reflect.DeepEqual(got, want) || pages != 3 {
		t.Errorf("ListRules by 3: want %v in 3 pages, got %v in %d", want, got, pages)
	}
}

func TestQuotas(t *testing.T) {
	l := newLocal(t, Options{})
	c := l.client()
	putRule(t, c, "", "r", `{"source": ["x"]}`)
	var targets []types.Target
	for i := range maxTargetsPerRule + 1 {
		targets = append(targets, tgt(fmt.Sprint(i), queueARN(account, fmt.Sprint(i))))
	}
	_, err := c.PutTargets(t.Context(), &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: targets})
	if code := errorCode(err); code != CodeLimitExceeded {
		t.Errorf("six targets: want %s, got %q", CodeLimitExceeded, code)
	}
	// Replacing a target by its id does not count twice.
	for range 2 {
		if _, err := c.PutTargets(t.Context(), &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: targets[:maxTargetsPerRule]}); err != nil {
			t.Fatalf("five targets, twice: want success, got %v", err)
		}
	}
	for i := range maxBusesPerAccount - 1 {
		if _, err := c.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String(fmt.Sprintf("b%d", i))}); err != nil {
			t.Fatalf("bus %d: %v", i, err)
		}
	}
	_, err = c.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String("one-too-many")})
	if code := errorCode(err); code != CodeLimitExceeded {
		t.Errorf("bus %d: want %s, got %q", maxBusesPerAccount+1, CodeLimitExceeded, code)
	}
}

func TestDeleteEventBusDeletesItsRules(t *testing.T) {
	l := newLocal(t, Options{})
	c := l.client()
	if _, err := c.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	putRule(t, c, "b", "r", `{"source": ["x"]}`)
	if _, err := c.DeleteEventBus(t.Context(), &eventbridge.DeleteEventBusInput{Name: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListRules(t.Context(), &eventbridge.ListRulesInput{EventBusName: aws.String("b")})
	if err != nil || len(out.Rules) != 0 {
		t.Errorf("rules of a bus created again: want none, got %v %+v", err, out)
	}
}

func TestBusByARN(t *testing.T) {
	l := newLocal(t, Options{})
	c := l.client()
	arn := "arn:aws:events:" + region + ":" + account + ":event-bus/default"
	putRule(t, c, arn, "r", `{"source": ["x"]}`)
	out, err := c.DescribeRule(t.Context(), &eventbridge.DescribeRuleInput{Name: aws.String("r")})
	if err != nil || aws.ToString(out.EventBusName) != "default" {
		t.Errorf("rule put on the default bus by ARN: want it on default, got %v %+v", err, out)
	}
	// Another account's bus cannot be managed by ARN.
	_, err = c.PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["x"]}`),
		EventBusName: aws.String("arn:aws:events:" + region + ":222222222222:event-bus/default")})
	if code := errorCode(err); code != CodeResourceNotFound {
		t.Errorf("PutRule on another account's bus: want %s, got %q", CodeResourceNotFound, code)
	}
}

func TestScheduleExpressions(t *testing.T) {
	cases := []struct {
		expr string
		ok   bool
	}{
		{"rate(1 minute)", true},
		{"rate(5 minutes)", true},
		{"rate(1 day)", true},
		{"rate(12 hours)", true},
		{"rate(1 minutes)", false},
		{"rate(5 hour)", false},
		{"rate(0 minutes)", false},
		{"rate(5 weeks)", false},
		{"cron(0 12 * * ? *)", true},
		{"cron(0/15 * * * ? *)", true},
		{"cron(0 12 * * ?)", false},
		{"cron(99 12 * * ? *)", false},
		{"at(2026-01-01T00:00:00)", false},
	}
	for _, tc := range cases {
		if got := validSchedule(tc.expr); got != tc.ok {
			t.Errorf("validSchedule(%q): want %v, got %v", tc.expr, tc.ok, got)
		}
	}
}

func TestPolicyAllows(t *testing.T) {
	cases := []struct {
		name   string
		policy string
		want   bool
	}{
		{"account root ARN", `{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "events:PutEvents"}]}`, true},
		{"account id", `{"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["222222222222", "111111111111"]}, "Action": ["events:PutEvents"]}]}`, true},
		{"everyone", `{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "events:*"}]}`, true},
		{"another account", `{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "events:PutEvents"}]}`, false},
		{"another action", `{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "events:PutRule"}]}`, false},
		{"deny wins", `{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*"}, {"Effect": "Deny", "Principal": {"AWS": "111111111111"}, "Action": "events:PutEvents"}]}`, false},
		{"source and detail-type condition met", `{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": "events:PutEvents",
			"Condition": {"StringEquals": {"events:source": "rotor.consumer.orders-api", "events:detail-type": ["Consumer Acknowledged"]}}}]}`, true},
		{"source condition not met", `{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": "events:PutEvents",
			"Condition": {"StringEquals": {"events:source": "rotor.consumer.billing"}}}]}`, false},
		{"detail-type condition not met", `{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": "events:PutEvents",
			"Condition": {"StringEquals": {"events:detail-type": "Rotation Completed"}}}]}`, false},
		{"source like", `{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": "events:PutEvents",
			"Condition": {"StringLike": {"events:source": "rotor.consumer.*"}}}]}`, true},
		{"deny on a condition that does not hold", `{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*"}, {"Effect": "Deny", "Principal": "*", "Action": "events:PutEvents",
			"Condition": {"StringEquals": {"events:source": "rotor"}}}]}`, true},
		{"an organization condition (not emulated)", `{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "events:PutEvents",
			"Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}]}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLocal(t, Options{})
			_, err := l.client().PutPermission(t.Context(), &eventbridge.PutPermissionInput{Policy: aws.String(tc.policy)})
			if err != nil {
				t.Fatalf("PutPermission: %v", err)
			}
			l.svc.mu.Lock()
			got := l.svc.scopes[scope{account, region}].buses[defaultBus].Policy.allows("111111111111", putFacts{source: "rotor.consumer.orders-api", detailType: "Consumer Acknowledged"})
			l.svc.mu.Unlock()
			if got != tc.want {
				t.Errorf("allows 111111111111: want %v, got %v", tc.want, got)
			}
		})
	}
}

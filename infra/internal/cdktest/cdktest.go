package cdktest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// NagErrors returns the unsuppressed cdk-nag AwsSolutions errors of stack,
// one line each. cdk-nag reports a finding as an error annotation; a
// suppressed finding is no annotation.
func NagErrors(stack awscdk.Stack) []string {
	found := assertions.Annotations_FromStack(stack).FindError(jsii.String("*"),
		assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	var out []string
	for _, m := range *found {
		out = append(out, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
	}
	return out
}

// Resources returns the template's resources of the given type, by logical ID.
func Resources(t *testing.T, tpl assertions.Template, typ string) map[string]map[string]any {
	t.Helper()
	all := *tpl.FindResources(jsii.String(typ), nil)
	out := map[string]map[string]any{}
	for id, r := range all {
		out[id] = *r
	}
	return out
}

// Statement is one IAM statement of a template, with where it came from.
type Statement struct {
	Where     string
	Effect    string
	Actions   []string
	Resources []any
	Raw       map[string]any
}

// IdentityStatements returns every statement of every AWS::IAM::Policy and of
// every inline policy of every AWS::IAM::Role in the template.
func IdentityStatements(t *testing.T, tpl assertions.Template) []Statement {
	t.Helper()
	var out []Statement
	add := func(where string, doc any) {
		d, _ := doc.(map[string]any)
		stmts, _ := d["Statement"].([]any)
		for i, s := range stmts {
			m := s.(map[string]any)
			out = append(out, Statement{
				Where:     fmt.Sprintf("%s statement %d", where, i),
				Effect:    fmt.Sprint(m["Effect"]),
				Actions:   stringsOf(m["Action"]),
				Resources: listOf(m["Resource"]),
				Raw:       m,
			})
		}
	}
	for id, r := range Resources(t, tpl, "AWS::IAM::Policy") {
		props := r["Properties"].(map[string]any)
		add(id, props["PolicyDocument"])
	}
	for id, r := range Resources(t, tpl, "AWS::IAM::Role") {
		props := r["Properties"].(map[string]any)
		policies, _ := props["Policies"].([]any)
		for _, p := range policies {
			pm := p.(map[string]any)
			add(fmt.Sprintf("%s inline %v", id, pm["PolicyName"]), pm["PolicyDocument"])
		}
	}
	return out
}

// CheckSecretsManagerScoped fails t for every statement that allows a
// secretsmanager action on the resource "*", except GetRandomPassword and
// ListSecrets, which have no resource type; and for every secretsmanager
// wildcard action.
func CheckSecretsManagerScoped(t *testing.T, tpl assertions.Template) {
	t.Helper()
	for _, s := range IdentityStatements(t, tpl) {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range s.Actions {
			lower := strings.ToLower(a)
			if !strings.HasPrefix(lower, "secretsmanager:") {
				continue
			}
			if strings.Contains(a, "*") {
				t.Errorf("%s: wildcard action %s", s.Where, a)
			}
			if lower == "secretsmanager:getrandompassword" || lower == "secretsmanager:listsecrets" {
				continue
			}
			for _, r := range s.Resources {
				if str, ok := r.(string); ok && (str == "*" || strings.HasSuffix(str, ":*") || strings.Contains(str, "secret:*")) {
					t.Errorf("%s: %s on resource %q: want the secrets' ARNs", s.Where, a, str)
				}
			}
		}
	}
}

// JSON renders v for failure messages.
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func listOf(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// Count fails t unless the template has exactly n resources of type typ whose
// properties match props (assertions.Match_ObjectLike; nil matches any).
func Count(t *testing.T, tpl assertions.Template, typ string, props map[string]any, n int) {
	t.Helper()
	var match any
	if props != nil {
		match = map[string]any{"Properties": assertions.Match_ObjectLike(&props)}
	}
	got := *tpl.FindResources(jsii.String(typ), match)
	if len(got) != n {
		all := *tpl.FindResources(jsii.String(typ), nil)
		t.Errorf("want %d %s matching %s, got %d; the template's %s:\n%s", n, typ, JSON(props), len(got), typ, JSON(all))
	}
}

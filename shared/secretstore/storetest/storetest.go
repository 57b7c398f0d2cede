package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
)

// Store is the engine's view of a secret store.
type Store = lifecycle.Store

// Admin makes the Secrets Manager calls a scenario needs beyond [Store], in
// plain types. Errors must keep the service's exception in the chain (a
// *memstore.APIError or a smithy.APIError) so that [ErrorCode] finds it.
type Admin interface {
	// CreateSecret creates a secret; a nil value creates it without a
	// version.
	CreateSecret(ctx context.Context, name, token string, value *string) (arn string, err error)
	PutSecretValue(ctx context.Context, secretID, token, value string, stages []string) error
	UpdateSecretVersionStage(ctx context.Context, secretID, stage, moveTo, removeFrom string) error
	// GetSecretValue reads by version id, by stage, both or neither.
	GetSecretValue(ctx context.Context, secretID, versionID, stage string) (string, error)
	// VersionStages is DescribeSecret's VersionIdsToStages.
	VersionStages(ctx context.Context, secretID string) (map[string][]string, error)
	GetRandomPassword(ctx context.Context, in memstore.GetRandomPasswordInput) (string, error)
}

// Target is one implementation to run the scenarios on.
type Target struct {
	Name  string
	Store Store
	Admin Admin
	// Moto marks moto_server: steps with MotoDiffers are not checked.
	Moto bool
}

// Env is what a step acts on: the target, and the secret and versions of
// the scenario. Versions have symbolic names ("v1", "v2", ...) so that the
// outcomes of two targets, with different ids, compare.
type Env struct {
	Ctx    context.Context
	Target Target
	// Secret is the scenario's secret name, unique to the run.
	Secret string
	// ARN is set by steps that create the secret.
	ARN string

	ids  map[string]string
	syms map[string]string
}

// V returns the version id (a UUID, as ClientRequestToken wants 32 to 64
// characters) of the symbolic version sym.
func (e *Env) V(sym string) string {
	if id, ok := e.ids[sym]; ok {
		return id
	}
	id := uuid.NewString()
	e.ids[sym], e.syms[id] = id, sym
	return id
}

// Sym returns the symbolic name of a version id, or "?" + id for an id the
// scenario did not make.
func (e *Env) Sym(id string) string {
	if s, ok := e.syms[id]; ok {
		return s
	}
	return "?" + id
}

// Stages returns the secret's labelled versions by symbolic name, labels
// sorted. Versions with no label are left out: AWS does not list them (see
// [DescribeStep]).
func (e *Env) Stages(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for id, stages := range m {
		if len(stages) == 0 {
			continue
		}
		s := slices.Clone(stages)
		slices.Sort(s)
		out[e.Sym(id)] = s
	}
	return out
}

// Step is one call of a scenario and what AWS's documentation says it
// gives.
type Step struct {
	Name string
	// Do makes the call and returns a comparable result (nil, a string, a
	// map, a struct of properties).
	Do func(e *Env) (any, error)
	// WantCode is the exception Secrets Manager answers with; empty for
	// success unless WantErr is set.
	WantCode string
	// WantErr is the secretstore sentinel the error must match.
	WantErr error
	// Want, when not nil, is the result, compared with reflect.DeepEqual.
	Want any
	// MotoDiffers says how and why moto departs from AWS's documentation
	// on this step; moto's outcome of the step is then not checked.
	MotoDiffers string
}

// Scenario is a named sequence of steps on one fresh secret.
type Scenario struct {
	Name  string
	Steps []Step
}

// Outcome is what a step gave on a target.
type Outcome struct {
	Step   string
	Code   string
	Result any
	// Unchecked is set for moto's outcome of a MotoDiffers step.
	Unchecked bool
}

// ErrorCode returns the Secrets Manager exception in err's chain, "" for
// nil, and "error" for an error without one.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var me *memstore.APIError
	if errors.As(err, &me) {
		return me.Code
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "error"
}

// Run runs every scenario on every target, as subtests
// <scenario>/<target>, checks each step against its expectations, then
// compares the targets' outcomes with the first target's, step by step.
func Run(t *testing.T, scenarios []Scenario, targets ...Target) {
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			var first []Outcome
			for i, target := range targets {
				var outcomes []Outcome
				t.Run(target.Name, func(t *testing.T) {
					outcomes = RunScenario(t, sc, target)
				})
				if i == 0 {
					first = outcomes
					continue
				}
				compare(t, targets[0].Name, first, target.Name, outcomes)
			}
		})
	}
}

// RunScenario runs one scenario on one target and returns its outcomes. It
// stops at the first step that fails, as later steps build on it.
func RunScenario(t *testing.T, sc Scenario, target Target) []Outcome {
	t.Helper()
	e := &Env{
		Ctx:    t.Context(),
		Target: target,
		Secret: "storetest-" + uuid.NewString()[:8],
		ids:    map[string]string{},
		syms:   map[string]string{},
	}
	var outcomes []Outcome
	for _, st := range sc.Steps {
		got, err := st.Do(e)
		o := Outcome{Step: st.Name, Code: ErrorCode(err), Result: got, Unchecked: target.Moto && st.MotoDiffers != ""}
		outcomes = append(outcomes, o)
		if o.Unchecked {
			t.Logf("step %q: moto differs from AWS, not checked: %s (moto: code %q, result %v, error %v)", st.Name, st.MotoDiffers, o.Code, got, err)
			continue
		}
		if msg := check(st, got, err); msg != "" {
			t.Fatalf("step %q: %s", st.Name, msg)
		}
	}
	return outcomes
}

func check(st Step, got any, err error) string {
	code := ErrorCode(err)
	switch {
	case st.WantCode == "" && st.WantErr == nil && err != nil:
		return fmt.Sprintf("want success, got %v", err)
	case st.WantCode != "" && code != st.WantCode:
		return fmt.Sprintf("want exception %s, got %q (%v)", st.WantCode, code, err)
	case st.WantErr != nil && !errors.Is(err, st.WantErr):
		return fmt.Sprintf("want an error matching %q, got %v", st.WantErr, err)
	case st.Want != nil && !reflect.DeepEqual(got, st.Want):
		return fmt.Sprintf("want %#v, got %#v", st.Want, got)
	}
	return ""
}

func compare(t *testing.T, nameA string, a []Outcome, nameB string, b []Outcome) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s ran %d steps, %s ran %d: the first failure above stopped one of them", nameA, len(a), nameB, len(b))
	}
	for i := range min(len(a), len(b)) {
		if a[i].Unchecked || b[i].Unchecked {
			continue
		}
		if a[i].Code != b[i].Code || !reflect.DeepEqual(a[i].Result, b[i].Result) {
			t.Errorf("step %q: %s gave (%q, %#v), %s gave (%q, %#v): want the same", a[i].Step, nameA, a[i].Code, a[i].Result, nameB, b[i].Code, b[i].Result)
		}
	}
}

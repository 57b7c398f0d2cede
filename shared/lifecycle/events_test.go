package lifecycle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
	"github.com/rotorhq/rotor/test/faults"
)

// notifier records every Publish call; err, when set, is what Publish
// returns (after recording: a publish that fails may still have sent).
type notifier struct {
	mu    sync.Mutex
	calls [][]events.Event
	// live records, per call, whether the publish context was still live.
	live []bool
	err  error
}

func (n *notifier) Publish(ctx context.Context, evs ...events.Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, append([]events.Event(nil), evs...))
	n.live = append(n.live, ctx.Err() == nil)
	return n.err
}

// events returns the events published, checking that each call carried one.
func (n *notifier) events(t *testing.T) []events.Event {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []events.Event
	for i, c := range n.calls {
		if len(c) != 1 {
			t.Errorf("want one event per Publish call, call %d had %d", i+1, len(c))
		}
		out = append(out, c...)
	}
	return out
}

func (n *notifier) reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls, n.live = nil, nil
}

var testKey = bytes.Repeat([]byte("fingerprint-key-"), 3)

func newFingerprinter(t testing.TB) *events.Fingerprinter {
	t.Helper()
	fp, err := events.NewFingerprinter(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

// withEvents turns events on for the fixture's engine and returns the
// recording notifier.
func (f *fixture) withEvents(t testing.TB, fp *events.Fingerprinter) *notifier {
	t.Helper()
	n := &notifier{}
	f.eng = f.eng.WithEvents(n, fp)
	return n
}

func (f *fixture) value(t *testing.T, version string) []byte {
	t.Helper()
	v, err := f.store.Value(f.ctx, f.arn, version)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkEvent checks what every event of the fixture's secret carries.
func checkEvent(t *testing.T, f *fixture, ev events.Event, step lifecycle.Step, token string) {
	t.Helper()
	if err := ev.Detail.Validate(ev.DetailType); err != nil {
		t.Errorf("%s: want a valid event, got %v", ev.DetailType, err)
	}
	d := ev.Detail
	want := map[string][2]string{
		"secretArn":      {f.arn, d.SecretArn},
		"secretName":     {"app/db", d.SecretName},
		"account":        {memstore.DefaultAccountID, d.Account},
		"region":         {memstore.DefaultRegion, d.Region},
		"credentialType": {"fake", d.CredentialType},
		"strategy":       {"single-user", d.Strategy},
		"step":           {string(step), d.Step},
		"versionId":      {token, d.VersionID},
	}
	for field, wg := range want {
		if wg[0] != wg[1] {
			t.Errorf("%s %s: want %s %q, got %q", step, ev.DetailType, field, wg[0], wg[1])
		}
	}
	if d.DurationMs < 0 || d.Time.IsZero() || !ev.Time.Equal(d.Time) {
		t.Errorf("%s: want a duration and the time, got %v ms at %s (event time %s)", step, d.DurationMs, d.Time, ev.Time)
	}
	raw, _ := json.Marshal(ev)
	for _, secret := range []string{"old-Secret-Value-1", currentValue} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("%s: want no secret value in the event, got %s", step, raw)
		}
	}
}

// TestEventsOfARotation: each step publishes its event, once, with the
// versions and the pending value's fingerprint where the step has it.
func TestEventsOfARotation(t *testing.T) {
	for _, withFP := range []bool{true, false} {
		t.Run(fmt.Sprintf("fingerprints %v", withFP), func(t *testing.T) {
			f := newFixture(t, nil)
			var fp *events.Fingerprinter
			if withFP {
				fp = newFingerprinter(t)
			}
			n := f.withEvents(t, fp)
			token := f.start(t)
			wantTypes := []events.DetailType{events.RotationStarted, events.PendingSet, events.Tested, events.Completed}
			for i, step := range lifecycle.Steps {
				n.reset()
				if err := f.run(step, token); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				evs := n.events(t)
				if len(evs) != 1 {
					t.Fatalf("%s: want 1 Publish call, got %d", step, len(evs))
				}
				ev := evs[0]
				checkEvent(t, f, ev, step, token)
				if ev.DetailType != wantTypes[i] || ev.Detail.Outcome != events.OutcomeSucceeded {
					t.Errorf("%s: want %q succeeded, got %q %s", step, wantTypes[i], ev.DetailType, ev.Detail.Outcome)
				}
				if ev.Detail.PreviousVersionID != f.first {
					t.Errorf("%s: want previousVersionId %s (AWSCURRENT before the rotation), got %q", step, f.first, ev.Detail.PreviousVersionID)
				}
				wantFP := ""
				if withFP && step != lifecycle.FinishSecret {
					// finishSecret reads no value: no fingerprint.
					wantFP = fp.Fingerprint(f.value(t, token))
				}
				if ev.Detail.Fingerprint != wantFP {
					t.Errorf("%s: want fingerprint %q, got %q", step, wantFP, ev.Detail.Fingerprint)
				}
				if ev.Detail.ErrorClass != "" {
					t.Errorf("%s: want no error class, got %q", step, ev.Detail.ErrorClass)
				}
			}
		})
	}
}

// TestSkippedStepsPublishToo: a step that finds its work done publishes its
// event with outcome skipped, so that a crash between the work and the
// publish loses no event.
func TestSkippedStepsPublishToo(t *testing.T) {
	f := newFixture(t, nil)
	fp := newFingerprinter(t)
	n := f.withEvents(t, fp)
	token := f.start(t)

	// createSecret twice: the second finds the pending value.
	for range 2 {
		if err := f.run(lifecycle.CreateSecret, token); err != nil {
			t.Fatal(err)
		}
	}
	evs := n.events(t)
	if len(evs) != 2 || evs[1].DetailType != events.RotationStarted || evs[1].Detail.Outcome != events.OutcomeSkipped {
		t.Fatalf("want a second Rotation Started with outcome skipped, got %+v", evs)
	}
	if evs[1].Detail.Fingerprint != evs[0].Detail.Fingerprint || evs[1].Detail.PreviousVersionID != f.first {
		t.Errorf("want the repeated event to carry the same fingerprint and previous version, got %+v", evs[1].Detail)
	}
	checkEvent(t, f, evs[1], lifecycle.CreateSecret, token)

	for _, step := range lifecycle.Steps[1:] {
		if err := f.run(step, token); err != nil {
			t.Fatal(err)
		}
	}
	// A finished rotation: every step, run again, publishes its event
	// skipped, naming the version AWSCURRENT replaced; but testSecret on
	// the AWSCURRENT version is a configuration test (one of the shapes of
	// RotateImmediately=false), which publishes nothing.
	wantTypes := map[lifecycle.Step]events.DetailType{
		lifecycle.CreateSecret: events.RotationStarted, lifecycle.SetSecret: events.PendingSet,
		lifecycle.FinishSecret: events.Completed,
	}
	for _, step := range lifecycle.Steps {
		n.reset()
		if err := f.run(step, token); err != nil {
			t.Fatal(err)
		}
		evs := n.events(t)
		if step == lifecycle.TestSecret {
			if len(evs) != 0 {
				t.Fatalf("%s on the AWSCURRENT version: want no event (a configuration test), got %+v", step, evs)
			}
			continue
		}
		if len(evs) != 1 {
			t.Fatalf("%s: want 1 event, got %d", step, len(evs))
		}
		ev := evs[0]
		checkEvent(t, f, ev, step, token)
		if ev.DetailType != wantTypes[step] || ev.Detail.Outcome != events.OutcomeSkipped {
			t.Errorf("%s: want %q skipped, got %q %s", step, wantTypes[step], ev.DetailType, ev.Detail.Outcome)
		}
		if ev.Detail.PreviousVersionID != f.first {
			t.Errorf("%s: want previousVersionId %s, got %q", step, f.first, ev.Detail.PreviousVersionID)
		}
	}
}

// TestEventLostToACrashComesAgain: finishSecret moves AWSCURRENT and its
// publish fails (as a crash right after the move would lose it); the
// retried finishSecret publishes Rotation Completed, skipped, with the
// same previous version.
func TestEventLostToACrashComesAgain(t *testing.T) {
	f := newFixture(t, nil)
	n := f.withEvents(t, nil)
	token := f.start(t)
	for _, step := range lifecycle.Steps[:3] {
		if err := f.run(step, token); err != nil {
			t.Fatal(err)
		}
	}
	n.err = errors.New("bus unreachable")
	if err := f.run(lifecycle.FinishSecret, token); err != nil {
		t.Fatalf("want the step to succeed when its publish fails, got %v", err)
	}
	n.err = nil
	n.reset()
	if err := f.run(lifecycle.FinishSecret, token); err != nil {
		t.Fatal(err)
	}
	evs := n.events(t)
	if len(evs) != 1 || evs[0].DetailType != events.Completed || evs[0].Detail.Outcome != events.OutcomeSkipped || evs[0].Detail.PreviousVersionID != f.first {
		t.Fatalf("want Rotation Completed skipped with previousVersionId %s, got %+v", f.first, evs)
	}
}

// TestFailedStepEvents: a failed step publishes Rotation Failed with the
// class of its error and never the error's text.
func TestFailedStepEvents(t *testing.T) {
	const leak = "driver said: password Leaky-Secret-9 refused"
	cases := []struct {
		name    string
		step    lifecycle.Step
		prepare func(t *testing.T, f *fixture) (lifecycle.Request, context.Context)
		class   events.ErrorClass // "" when no event can be built
		phase   events.Phase
	}{
		{name: "target fails setSecret", step: lifecycle.SetSecret, class: events.ErrorTarget, phase: events.PhasePrepare,
			prepare: func(t *testing.T, f *fixture) (lifecycle.Request, context.Context) {
				f.rot.set = func(rotators.SetRequest) error { return errors.New(leak) }
				return f.created(t, lifecycle.SetSecret), f.ctx
			}},
		{name: "target fails testSecret", step: lifecycle.TestSecret, class: events.ErrorTarget, phase: events.PhaseVerify,
			prepare: func(t *testing.T, f *fixture) (lifecycle.Request, context.Context) {
				f.rot.test = func(rotators.TestRequest) error { return errors.New(leak) }
				return f.created(t, lifecycle.TestSecret), f.ctx
			}},
		{name: "the secret is malformed", step: lifecycle.CreateSecret, class: events.ErrorInvalidInput, phase: events.PhasePrepare,
			prepare: func(t *testing.T, f *fixture) (lifecycle.Request, context.Context) {
				f.rot.create = func(rotators.CreateRequest) (rotators.CreateResponse, error) {
					return rotators.CreateResponse{}, &rotators.InputError{Secret: "current", Field: "host", Reason: "missing"}
				}
				return f.request(t, lifecycle.CreateSecret), f.ctx
			}},
		{name: "setSecret before createSecret", step: lifecycle.SetSecret, class: events.ErrorState, phase: events.PhasePrepare,
			prepare: func(t *testing.T, f *fixture) (lifecycle.Request, context.Context) {
				return f.request(t, lifecycle.SetSecret), f.ctx
			}},
		{name: "rotation disabled", step: lifecycle.CreateSecret, class: events.ErrorState, phase: events.PhasePrepare,
			prepare: func(t *testing.T, f *fixture) (lifecycle.Request, context.Context) {
				req := f.request(t, lifecycle.CreateSecret)
				if err := f.store.SetRotationEnabled(f.ctx, f.arn, false); err != nil {
					t.Fatal(err)
				}
				return req, f.ctx
			}},
		{name: "token not a version", step: lifecycle.FinishSecret, class: events.ErrorState, phase: events.PhasePropagate,
			prepare: func(t *testing.T, f *fixture) (lifecycle.Request, context.Context) {
				f.start(t)
				return lifecycle.Request{SecretID: f.arn, Token: uuid.NewString(), Step: lifecycle.FinishSecret}, f.ctx
			}},
		{name: "the store fails", step: lifecycle.FinishSecret, class: events.ErrorStore, phase: events.PhasePropagate,
			prepare: func(t *testing.T, f *fixture) (lifecycle.Request, context.Context) {
				req := f.created(t, lifecycle.FinishSecret)
				f.inj.Arm(2, faults.Before) // UpdateSecretVersionStage, after DescribeSecret
				return req, f.ctx
			}},
		{name: "the step runs out of time", step: lifecycle.CreateSecret, class: events.ErrorTimeout, phase: events.PhasePrepare,
			prepare: func(t *testing.T, f *fixture) (lifecycle.Request, context.Context) {
				req := f.request(t, lifecycle.CreateSecret)
				ctx, cancel := context.WithDeadline(f.ctx, time.Now().Add(-time.Second))
				t.Cleanup(cancel)
				return req, ctx
			}},
		{name: "the target times out", step: lifecycle.SetSecret, class: events.ErrorTimeout, phase: events.PhasePrepare,
			prepare: func(t *testing.T, f *fixture) (lifecycle.Request, context.Context) {
				f.rot.set = func(rotators.SetRequest) error { return fmt.Errorf("connect: %w", context.DeadlineExceeded) }
				return f.created(t, lifecycle.SetSecret), f.ctx
			}},
		{name: "a password the target does not accept", step: lifecycle.CreateSecret, class: events.ErrorInternal, phase: events.PhasePrepare,
			prepare: func(t *testing.T, f *fixture) (lifecycle.Request, context.Context) {
				f.rot.info.PasswordChars = "ab"
				cfg := lifecycle.DefaultConfig()
				cfg.PasswordSource = lifecycle.PasswordFromStore
				eng, err := lifecycle.New(ignoringStore{f.store}, f.rot, cfg, loggerTo(f))
				if err != nil {
					t.Fatal(err)
				}
				f.eng = eng
				return f.request(t, lifecycle.CreateSecret), f.ctx
			}},
		{name: "a missing token: no event to build", step: lifecycle.CreateSecret,
			prepare: func(t *testing.T, f *fixture) (lifecycle.Request, context.Context) {
				f.start(t)
				return lifecycle.Request{SecretID: f.arn, Step: lifecycle.CreateSecret}, f.ctx
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			req, ctx := c.prepare(t, f)
			n := f.withEvents(t, newFingerprinter(t))
			n.reset()
			stepErr := f.eng.Run(ctx, req)
			if stepErr == nil {
				t.Fatal("want the step to fail, got nil")
			}
			evs := n.events(t)
			if c.class == "" {
				if len(evs) != 0 {
					t.Fatalf("want no event, got %+v", evs)
				}
				if !strings.Contains(f.logs.String(), "no rotation event") {
					t.Errorf("want the missing event logged, got:\n%s", f.logs.String())
				}
				return
			}
			if len(evs) != 1 {
				t.Fatalf("want 1 event, got %d", len(evs))
			}
			ev := evs[0]
			checkEvent(t, f, ev, c.step, req.Token)
			if ev.DetailType != events.RotationFailed || ev.Detail.Outcome != events.OutcomeFailed {
				t.Errorf("want Rotation Failed, failed, got %q %s", ev.DetailType, ev.Detail.Outcome)
			}
			if ev.Detail.ErrorClass != c.class {
				t.Errorf("want error class %q, got %q (error: %v)", c.class, ev.Detail.ErrorClass, stepErr)
			}
			if ev.Detail.Phase != c.phase {
				t.Errorf("want phase %q, got %q", c.phase, ev.Detail.Phase)
			}
			if !n.live[0] {
				t.Errorf("want the publish to get a live context, even after the step's ran out")
			}
			raw, _ := json.Marshal(ev)
			for _, bad := range []string{"Leaky-Secret-9", "driver said", stepErr.Error()} {
				if bytes.Contains(raw, []byte(bad)) {
					t.Errorf("want no error text in the event, found %q in %s", bad, raw)
				}
			}
		})
	}
}

// request starts a rotation and returns the request of a step for it.
func (f *fixture) request(t *testing.T, step lifecycle.Step) lifecycle.Request {
	t.Helper()
	return lifecycle.Request{SecretID: f.arn, Token: f.start(t), Step: step}
}

// created starts a rotation, runs the steps before step, and returns
// step's request.
func (f *fixture) created(t *testing.T, step lifecycle.Step) lifecycle.Request {
	t.Helper()
	req := f.request(t, step)
	for _, s := range lifecycle.Steps {
		if s == step {
			break
		}
		if err := f.run(s, req.Token); err != nil {
			t.Fatal(err)
		}
	}
	return req
}

// ignoringStore answers GetRandomPassword with characters no rotator
// asked for.
type ignoringStore struct{ lifecycle.Store }

func (ignoringStore) RandomPassword(context.Context, secretstore.PasswordSpec) (string, error) {
	return "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", nil
}

// TestConfigurationTestPublishesNothing: testSecret on an empty pending
// version (RotateImmediately=false) is no rotation; it is logged only.
func TestConfigurationTestPublishesNothing(t *testing.T) {
	f := newFixture(t, nil)
	n := f.withEvents(t, newFingerprinter(t))
	token := f.start(t)
	if err := f.run(lifecycle.TestSecret, token); err != nil {
		t.Fatal(err)
	}
	if evs := n.events(t); len(evs) != 0 {
		t.Fatalf("want no event for the configuration test, got %+v", evs)
	}
	if !strings.Contains(f.logs.String(), "no event is published") {
		t.Errorf("want the configuration test logged, got:\n%s", f.logs.String())
	}
}

// TestPublishFailuresNeverFailAStep: with every publish failing, a whole
// rotation still succeeds, and each failure is logged without a value.
func TestPublishFailuresNeverFailAStep(t *testing.T) {
	f := newFixture(t, nil)
	n := f.withEvents(t, newFingerprinter(t))
	n.err = errors.New("rotor events not published: AccessDeniedException")
	token := f.rotate(t)
	if got := f.stages(t)[token]; !slicesHave(got, "AWSCURRENT") {
		t.Fatalf("want AWSCURRENT on %s, got %v", token, got)
	}
	if got := len(n.events(t)); got != 4 {
		t.Errorf("want 4 publish attempts, got %d", got)
	}
	if got := strings.Count(f.logs.String(), "rotation event not published"); got != 4 {
		t.Errorf("want 4 log lines for the failed publishes, got %d:\n%s", got, f.logs.String())
	}
	var doc struct{ Password string }
	_ = json.Unmarshal(f.value(t, token), &doc)
	if strings.Contains(f.logs.String(), doc.Password) || strings.Contains(f.logs.String(), "old-Secret-Value-1") {
		t.Errorf("want no secret value in the log")
	}
}

// TestWithEventsLeavesTheEngineAlone: WithEvents returns a new engine; the
// one it was called on publishes nothing.
func TestWithEventsLeavesTheEngineAlone(t *testing.T) {
	f := newFixture(t, nil)
	plain := f.eng
	n := f.withEvents(t, nil)
	token := f.start(t)
	if err := plain.Run(f.ctx, lifecycle.Request{SecretID: f.arn, Token: token, Step: lifecycle.CreateSecret}); err != nil {
		t.Fatal(err)
	}
	if evs := n.events(t); len(evs) != 0 {
		t.Fatalf("want no event from the engine without events, got %d", len(evs))
	}
	if err := f.run(lifecycle.SetSecret, token); err != nil {
		t.Fatal(err)
	}
	if evs := n.events(t); len(evs) != 1 {
		t.Fatalf("want 1 event from the engine with events, got %d", len(evs))
	}
}

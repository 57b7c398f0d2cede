package eventbridge

import (
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// manualClock moves only when the test advances it. Sleep blocks until the
// clock passes its deadline, and every Sleep is counted, so that a test
// knows the scheduler has finished a pass (it sleeps again) without
// timing anything.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []manualWaiter
	sleeps  int
	changed chan struct{} // closed and replaced on every Sleep
}

type manualWaiter struct {
	until time.Time
	wake  chan struct{}
}

func newManualClock(now time.Time) *manualClock {
	return &manualClock{now: now, changed: make(chan struct{})}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	w := manualWaiter{until: c.now.Add(d), wake: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.sleeps++
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	select {
	case <-w.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sleepCount is how many times Sleep was called.
func (c *manualClock) sleepCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sleeps
}

// waitSleeps waits until Sleep was called n times.
func (c *manualClock) waitSleeps(t *testing.T, n int) {
	t.Helper()
	for {
		c.mu.Lock()
		got, changed := c.sleeps, c.changed
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-t.Context().Done():
			t.Fatalf("want %d sleeps on the clock, got %d", n, got)
		}
	}
}

// advance moves the clock and wakes the sleepers whose deadline passed.
func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.until.After(c.now) {
			kept = append(kept, w)
			continue
		}
		close(w.wake)
	}
	c.waiters = kept
}

// scheduled is a test's view of a service with a manual clock.
type scheduled struct {
	*local
	clk *manualClock
	rec *recorder
}

func newScheduled(t *testing.T, start time.Time) *scheduled {
	t.Helper()
	clk := newManualClock(start)
	rec := &recorder{}
	return &scheduled{local: newLocal(t, Options{Clock: clk, Lambda: rec.functions(), Queues: rec.queues()}), clk: clk, rec: rec}
}

// putSchedule creates an enabled schedule rule on the default bus with
// targets, and waits for the scheduler to be asleep.
func (s *scheduled) putSchedule(t *testing.T, name, expr string, targets ...types.Target) string {
	t.Helper()
	c := s.client()
	out, err := c.PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String(name), ScheduleExpression: aws.String(expr)})
	if err != nil {
		t.Fatalf("PutRule %s: want success, got %v", name, err)
	}
	if len(targets) > 0 {
		if o, err := c.PutTargets(t.Context(), &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: targets}); err != nil || o.FailedEntryCount != 0 {
			t.Fatalf("PutTargets %s: want success, got %v (%+v)", name, err, o)
		}
	}
	s.clk.waitSleeps(t, 1)
	return aws.ToString(out.RuleArn)
}

// step advances the clock by d, waits for the scheduler's pass at the new
// time to end (it sleeps again) and for its deliveries to settle.
func (s *scheduled) step(t *testing.T, d time.Duration) {
	t.Helper()
	n := s.clk.sleepCount()
	s.clk.advance(d)
	s.clk.waitSleeps(t, n+1)
	s.drain(t)
}

func TestScheduleRateFiresOnTheClock(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	s := newScheduled(t, start)
	fn := functionARN(account, "gate")
	arn := s.putSchedule(t, "sweep", "rate(1 hour)", tgt("gate", fn))

	s.step(t, 59*time.Minute)
	if got := s.rec.to(fn); len(got) != 0 {
		t.Fatalf("before the first hour: want nothing, got %q", got)
	}
	s.step(t, time.Minute)
	got := s.rec.to(fn)
	if len(got) != 1 {
		t.Fatalf("after an hour: want 1 Scheduled Event, got %d: %q", len(got), got)
	}
	ev := decodeEvent(t, got[0])
	want := eventJSON{
		Version: "0", ID: ev.ID, DetailType: "Scheduled Event", Source: "aws.events", Account: account,
		Time: "2026-03-01T13:00:30Z", Region: region, Resources: []string{arn}, Detail: json.RawMessage(`{}`),
	}
	if ev.ID == "" || !reflect.DeepEqual(ev, want) {
		t.Errorf("want event %+v, got %+v", want, ev)
	}

	// A clock that skips three runs gives one event, and the rate keeps
	// its phase.
	s.step(t, 3*time.Hour+10*time.Minute)
	if got := s.rec.to(fn); len(got) != 2 {
		t.Fatalf("after skipped runs: want 2 events in all, got %d", len(got))
	}
	s.step(t, 50*time.Minute)
	got = s.rec.to(fn)
	if len(got) != 3 {
		t.Fatalf("on the rate's phase: want 3 events in all, got %d", len(got))
	}
	if ev := decodeEvent(t, got[2]); ev.Time != "2026-03-01T17:00:30Z" {
		t.Errorf("third run: want time 2026-03-01T17:00:30Z, got %s", ev.Time)
	}
}

func TestScheduleOnlyEnabledRules(t *testing.T) {
	s := newScheduled(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	q := queueARN(account, "sweeps")
	s.putSchedule(t, "sweep", "rate(5 minutes)", tgt("q", q))
	c := s.client()
	if _, err := c.DisableRule(t.Context(), &eventbridge.DisableRuleInput{Name: aws.String("sweep")}); err != nil {
		t.Fatalf("DisableRule: %v", err)
	}
	s.step(t, 5*time.Minute)
	if got := s.rec.to(q); len(got) != 0 {
		t.Fatalf("disabled: want nothing, got %q", got)
	}
	if _, err := c.EnableRule(t.Context(), &eventbridge.EnableRuleInput{Name: aws.String("sweep")}); err != nil {
		t.Fatalf("EnableRule: %v", err)
	}
	s.step(t, 5*time.Minute)
	if got := s.rec.to(q); len(got) != 1 {
		t.Fatalf("enabled again: want 1 event, got %d", len(got))
	}
	// A pattern rule on the default bus gets no Scheduled Event.
	putRule(t, c, "", "all-aws-events", `{"source": ["aws.events"]}`, tgt("other", queueARN(account, "other")))
	s.step(t, 5*time.Minute)
	if got := s.rec.to(queueARN(account, "other")); len(got) != 0 {
		t.Errorf("a pattern rule: want no Scheduled Event, got %q", got)
	}
}

func TestScheduleCronAndInput(t *testing.T) {
	// 2026-03-02 is a Monday; cron's day-of-week 2 is Monday on AWS.
	s := newScheduled(t, time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC))
	fn := functionARN(account, "reports")
	target := tgt("f", fn)
	target.Input = aws.String(`{"kind":"weekly"}`)
	s.putSchedule(t, "weekly", "cron(30 12 ? * 2 *)", target)

	s.step(t, 24*time.Hour) // Sunday 11:00 -> Monday 11:00
	if got := s.rec.to(fn); len(got) != 0 {
		t.Fatalf("before Monday 12:30: want nothing, got %q", got)
	}
	s.step(t, 90*time.Minute)
	if got := s.rec.to(fn); len(got) != 1 || got[0] != `{"kind":"weekly"}` {
		t.Fatalf("Monday 12:30: want the target's Input once, got %q", got)
	}
	s.step(t, 6*24*time.Hour)
	if got := s.rec.to(fn); len(got) != 1 {
		t.Fatalf("before the next Monday: want still 1, got %d", len(got))
	}
	s.step(t, 24*time.Hour)
	if got := s.rec.to(fn); len(got) != 2 {
		t.Fatalf("next Monday: want 2, got %d", len(got))
	}
}

func TestScheduleStopsOnClose(t *testing.T) {
	s := newScheduled(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	fn := functionARN(account, "gate")
	s.putSchedule(t, "sweep", "rate(1 minute)", tgt("gate", fn))
	s.svc.Close() // returns only once the scheduler has
	s.clk.advance(time.Hour)
	if got := s.rec.to(fn); len(got) != 0 {
		t.Errorf("after Close: want nothing, got %q", got)
	}
}

func TestScheduleKeptByPutRuleAndRestore(t *testing.T) {
	s := newScheduled(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	fn := functionARN(account, "gate")
	s.putSchedule(t, "sweep", "rate(1 hour)", tgt("gate", fn))
	s.step(t, 30*time.Minute)
	// PutRule with the same schedule (a redeploy) keeps the rule's phase.
	if _, err := s.client().PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String("sweep"), ScheduleExpression: aws.String("rate(1 hour)"), Description: aws.String("redeployed")}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	s.step(t, 30*time.Minute)
	if got := s.rec.to(fn); len(got) != 1 {
		t.Fatalf("an hour after creation, redeployed meanwhile: want 1 event, got %d", len(got))
	}

	// A restored schedule runs on the restoring service's clock.
	snap, err := s.svc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := newScheduled(t, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	if err := r.svc.Restore(snap); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	r.clk.waitSleeps(t, 1)
	r.step(t, time.Hour)
	if got := r.rec.to(fn); len(got) != 1 {
		t.Fatalf("restored: want 1 event after an hour, got %d", len(got))
	}
}

package consumer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/events/consumer"
)

// TestNewLoadsCurrentAndPrevious: New returns with AWSCURRENT and
// AWSPREVIOUS loaded, in one DescribeSecret and one GetSecretValue each.
func TestNewLoadsCurrentAndPrevious(t *testing.T) {
	s, v1 := newSecret(t)
	v2 := s.rotate(t, v1)
	c := newCache(t, s, consumer.Options{})
	if got := c.Current(); got.ID != v2 || string(got.Value) != s.values[v2] || !slices.Contains(got.Stages, "AWSCURRENT") {
		t.Errorf("want current %s with its value and AWSCURRENT, got %s %v", v2, got.ID, got.Stages)
	}
	prev, ok := c.Previous()
	if !ok || prev.ID != v1 || string(prev.Value) != s.values[v1] {
		t.Errorf("want previous %s with its value, got %s (%v)", v1, prev.ID, ok)
	}
	if st := c.Stats(); st.DescribeSecretCalls != 1 || st.GetSecretValueCalls != 2 || st.Swaps != 0 {
		t.Errorf("want 1 DescribeSecret, 2 GetSecretValue, no swap, got %+v", st)
	}
	if c.SecretARN() != s.arn {
		t.Errorf("want ARN %s, got %s", s.arn, c.SecretARN())
	}
}

// TestBadOptions: each bad option is refused with an error naming it, and
// nothing is called.
func TestBadOptions(t *testing.T) {
	s, _ := newSecret(t)
	valid := func() consumer.Options {
		return consumer.Options{SecretID: s.arn, Consumer: "orders-api", Publisher: &recorder{}, TTL: time.Minute, Jitter: 0.2}
	}
	if _, err := consumer.New(t.Context(), smc, valid()); err != nil {
		t.Fatalf("baseline: want no error, got %v", err)
	}
	for _, tt := range []struct {
		name  string
		tweak func(*consumer.Options)
		field string
	}{
		{"no secret", func(o *consumer.Options) { o.SecretID = "" }, "SecretID"},
		{"blank secret", func(o *consumer.Options) { o.SecretID = "  " }, "SecretID"},
		{"publisher without consumer", func(o *consumer.Options) { o.Consumer = "" }, "Consumer"},
		{"consumer with a space", func(o *consumer.Options) { o.Consumer = "orders api" }, "Consumer"},
		{"consumer aws:", func(o *consumer.Options) { o.Consumer = "aws:orders" }, "Consumer"},
		{"consumer too long", func(o *consumer.Options) { o.Consumer = strings.Repeat("a", 114) }, "Consumer"},
		{"instance with a space", func(o *consumer.Options) { o.Instance = "pod 1" }, "Instance"},
		{"instance too long", func(o *consumer.Options) { o.Instance = strings.Repeat("i", 65) }, "Instance"},
		{"negative TTL", func(o *consumer.Options) { o.TTL = -time.Second }, "TTL"},
		{"negative jitter", func(o *consumer.Options) { o.Jitter = -0.1 }, "Jitter"},
		{"jitter of 1", func(o *consumer.Options) { o.Jitter = 1 }, "Jitter"},
		{"negative auth retry interval", func(o *consumer.Options) { o.AuthRetryInterval = -1 }, "AuthRetryInterval"},
		{"negative refresh timeout", func(o *consumer.Options) { o.RefreshTimeout = -1 }, "RefreshTimeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := valid()
			tt.tweak(&o)
			before := calls.Get(describeTarget)
			c, err := consumer.New(t.Context(), smc, o)
			var oe *consumer.OptionError
			if !errors.As(err, &oe) || oe.Field != tt.field {
				t.Fatalf("want an OptionError naming %s, got %v", tt.field, err)
			}
			if c != nil {
				t.Error("want no cache with the error, got one")
			}
			if n := calls.Get(describeTarget) - before; n != 0 {
				t.Errorf("want no call for bad options, got %d DescribeSecret", n)
			}
		})
	}
	t.Run("nil client", func(t *testing.T) {
		_, err := consumer.New(t.Context(), nil, valid())
		var oe *consumer.OptionError
		if !errors.As(err, &oe) || oe.Field != "api" {
			t.Fatalf("want an OptionError naming api, got %v", err)
		}
	})
}

// TestDefaultInstance: without Options.Instance, acknowledgements carry a
// tag-safe id of the host and the process.
func TestDefaultInstance(t *testing.T) {
	id := consumer.DefaultInstance()
	if err := events.CheckInstance(id); err != nil {
		t.Fatalf("want a valid instance id, got %q: %v", id, err)
	}
	if !strings.HasSuffix(id, fmt.Sprintf("/%d", os.Getpid())) {
		t.Errorf("want the process id at the end, got %q", id)
	}
	s, v1 := newSecret(t)
	rec := &recorder{}
	c := newCache(t, s, consumer.Options{Consumer: "orders-api", Publisher: rec})
	s.rotate(t, v1)
	if _, err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if acks := rec.events(); len(acks) != 1 || acks[0].Detail.Instance != id {
		t.Errorf("want one acknowledgement from instance %q, got %+v", id, acks)
	}
}

func TestMissingSecret(t *testing.T) {
	_, err := consumer.New(t.Context(), smc, consumer.Options{SecretID: "consumer-test/no-such-secret"})
	if !errors.Is(err, consumer.ErrSecretNotFound) {
		t.Fatalf("want ErrSecretNotFound, got %v", err)
	}
}

// TestRefreshSwapsThenHooksThenAcknowledges: a refresh that finds no
// change is one DescribeSecret; one that finds AWSCURRENT moved loads the
// new version (one GetSecretValue), runs the hooks, then acknowledges.
func TestRefreshSwapsThenHooksThenAcknowledges(t *testing.T) {
	s, v1 := newSecret(t)
	rec := &recorder{}
	c := newCache(t, s, consumer.Options{Consumer: "orders-api", Instance: "orders-api-pod-1", Publisher: rec})
	var mu sync.Mutex
	var swaps [][2]string
	acksAtHook := -1
	c.OnSwap(func(old, new consumer.Version) { panic(new) }) // logged, and the next hook runs
	c.OnSwap(func(old, new consumer.Version) {
		mu.Lock()
		defer mu.Unlock()
		swaps = append(swaps, [2]string{old.ID, new.ID})
		acksAtHook = len(rec.events())
	})

	before := c.Stats()
	swapped, err := c.Refresh(t.Context())
	if err != nil || swapped {
		t.Fatalf("no change: want (false, nil), got (%v, %v)", swapped, err)
	}
	if st := c.Stats(); st.DescribeSecretCalls-before.DescribeSecretCalls != 1 || st.GetSecretValueCalls != before.GetSecretValueCalls {
		t.Errorf("no change: want exactly 1 DescribeSecret and no GetSecretValue, got %+v", st)
	}

	v2 := s.rotate(t, v1)
	before = c.Stats()
	swapped, err = c.Refresh(t.Context())
	if err != nil || !swapped {
		t.Fatalf("after a rotation: want (true, nil), got (%v, %v)", swapped, err)
	}
	st := c.Stats()
	if st.DescribeSecretCalls-before.DescribeSecretCalls != 1 || st.GetSecretValueCalls-before.GetSecretValueCalls != 1 || st.Swaps != 1 {
		t.Errorf("swap: want 1 DescribeSecret, 1 GetSecretValue (the old value becomes previous), 1 swap, got %+v", st)
	}
	if got := c.Current(); got.ID != v2 || string(got.Value) != s.values[v2] {
		t.Errorf("want current %s, got %s", v2, got.ID)
	}
	if prev, ok := c.Previous(); !ok || prev.ID != v1 {
		t.Errorf("want previous %s, got %s (%v)", v1, prev.ID, ok)
	}
	mu.Lock()
	if !slices.Equal(swaps, [][2]string{{v1, v2}}) || acksAtHook != 0 {
		t.Errorf("want one hook call (%s→%s) before any acknowledgement, got %v with %d acks already", v1, v2, swaps, acksAtHook)
	}
	mu.Unlock()
	acks := rec.events()
	if len(acks) != 1 {
		t.Fatalf("want 1 acknowledgement, got %d", len(acks))
	}
	d := acks[0].Detail
	if acks[0].DetailType != events.ConsumerAcknowledged || acks[0].Source != "rotor.consumer.orders-api" || d.Instance != "orders-api-pod-1" ||
		d.VersionID != v2 || d.PreviousVersionID != v1 || d.Consumer != "orders-api" ||
		d.SecretArn != s.arn || d.SecretName != s.name || d.Account != "123456789012" || d.Region != "us-east-1" ||
		d.Phase != events.PhaseAcknowledge || d.Outcome != events.OutcomeSucceeded || d.SchemaVersion != events.SchemaVersion {
		t.Errorf("want a complete acknowledgement of %s, got %+v", v2, d)
	}
	if err := d.Validate(events.ConsumerAcknowledged); err != nil {
		t.Errorf("want a valid acknowledgement, got %v", err)
	}
}

// TestAcknowledgeOnStart: a consumer that starts after a rotation reports
// the version it loaded, unless told not to.
func TestAcknowledgeOnStart(t *testing.T) {
	s, v1 := newSecret(t)
	v2 := s.rotate(t, v1)
	rec := &recorder{}
	if _, err := consumer.New(t.Context(), smc, consumer.Options{SecretID: s.arn, Consumer: "billing-worker", Publisher: rec}); err != nil {
		t.Fatal(err)
	}
	acks := rec.events()
	if len(acks) != 1 || acks[0].Detail.VersionID != v2 || acks[0].Detail.PreviousVersionID != v1 {
		t.Fatalf("want one acknowledgement of %s (previous %s), got %+v", v2, v1, acks)
	}
	skip := &recorder{}
	newCache(t, s, consumer.Options{Consumer: "billing-worker", Publisher: skip, SkipAcknowledgeOnStart: true})
	if acks := skip.events(); len(acks) != 0 {
		t.Fatalf("SkipAcknowledgeOnStart: want no acknowledgement, got %+v", acks)
	}
}

// TestRollbackIsFollowed: DescribeSecret is the truth, also when
// AWSCURRENT moves back; the old value is still held, so no GetSecretValue.
func TestRollbackIsFollowed(t *testing.T) {
	s, v1 := newSecret(t)
	rec := &recorder{}
	c := newCache(t, s, consumer.Options{Consumer: "orders-api", Publisher: rec})
	v2 := s.rotate(t, v1)
	if _, err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The rollback: AWSCURRENT back to v1.
	if _, err := smc.UpdateSecretVersionStage(t.Context(), &sm.UpdateSecretVersionStageInput{
		SecretId: aws.String(s.arn), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(v1), RemoveFromVersionId: aws.String(v2),
	}); err != nil {
		t.Fatal(err)
	}
	before := c.Stats()
	if err := c.HandleEvent(t.Context(), s.rotorEvent(t, events.RolledBack, v1, v2)); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if got := c.Current(); got.ID != v1 || string(got.Value) != s.values[v1] {
		t.Errorf("want current back at %s, got %s", v1, got.ID)
	}
	if st.GetSecretValueCalls != before.GetSecretValueCalls || st.Swaps-before.Swaps != 1 {
		t.Errorf("want one swap and no GetSecretValue, got %+v", st)
	}
	if acks := rec.events(); len(acks) != 2 || acks[1].Detail.VersionID != v1 || acks[1].Detail.PreviousVersionID != v2 {
		t.Errorf("want a second acknowledgement, of %s, got %+v", v1, acks)
	}
}

// TestDuplicateAndOutOfOrderEvents: the same event twice, and an event for
// an older version after a newer one: no downgrade, no extra
// GetSecretValue, one acknowledgement per version.
func TestDuplicateAndOutOfOrderEvents(t *testing.T) {
	s, v1 := newSecret(t)
	rec := &recorder{}
	c := newCache(t, s, consumer.Options{Consumer: "orders-api", Publisher: rec})
	ctx := t.Context()
	handle := func(ev ebEvent) {
		t.Helper()
		if err := c.HandleEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	v2 := s.rotate(t, v1)
	completed2 := s.rotorEvent(t, events.Completed, v2, v1)
	handle(completed2)
	if c.Current().ID != v2 {
		t.Fatalf("want %s after its Rotation Completed, got %s", v2, c.Current().ID)
	}
	base := c.Stats()
	handle(completed2) // the same event again
	if st := c.Stats(); st.DescribeSecretCalls != base.DescribeSecretCalls || st.EventsDuplicate != base.EventsDuplicate+1 {
		t.Errorf("duplicate: want no call and one duplicate counted, got %+v", st)
	}

	v3 := s.rotate(t, v2)
	handle(s.rotorEvent(t, events.Completed, v3, v2))
	base = c.Stats()
	handle(completed2)                                                     // late: an older version after a newer one
	handle(s.rotorEvent(t, events.Completed, v3, v2))                      // duplicate of the newest
	handle(labelUpdated(s, v2))                                            // Secrets Manager's event for the older version, late
	handle(s.rotorEvent(t, events.ConsumerAcknowledged, v3, v2))           // an acknowledgement (ours or another's)
	handle(s.rotorEvent(t, events.PendingSet, v3, v2))                     // a phase that moves nothing
	handle(otherSecret(t, s.rotorEvent(t, events.Completed, "other", v3))) // another secret
	st := c.Stats()
	if got := c.Current(); got.ID != v3 {
		t.Errorf("want no downgrade from %s, got %s", v3, got.ID)
	}
	// Only Secret Label Updated may be a rollback: one DescribeSecret, which
	// says AWSCURRENT is v3.
	if st.DescribeSecretCalls-base.DescribeSecretCalls != 1 || st.GetSecretValueCalls != base.GetSecretValueCalls || st.Swaps != base.Swaps {
		t.Errorf("want 1 DescribeSecret, no GetSecretValue and no swap for stale events, got %+v (before %+v)", st, base)
	}
	if st.EventsIgnored-base.EventsIgnored != 3 || st.EventsDuplicate-base.EventsDuplicate != 2 {
		t.Errorf("want 3 events ignored and 2 duplicates, got %+v (before %+v)", st, base)
	}
	var versions []string
	for _, a := range rec.events() {
		versions = append(versions, a.Detail.VersionID)
	}
	if !slices.Equal(versions, []string{v2, v3}) {
		t.Errorf("want one acknowledgement per version (%s, %s), got %v", v2, v3, versions)
	}
}

// labelUpdated is Secrets Manager's "Secret Label Updated" for AWSCURRENT.
func labelUpdated(s *secret, version string) ebEvent {
	raw, _ := json.Marshal(map[string]string{"name": s.name, "labelUpdated": "AWSCURRENT", "versionId": version})
	return ebEvent{Version: "0", ID: "e", DetailType: "Secret Label Updated", Source: "aws.secretsmanager",
		AccountID: "123456789012", Region: "us-east-1", Time: time.Now(), Resources: []string{s.arn}, Detail: raw}
}

// otherSecret re-addresses a rotor event to another secret.
func otherSecret(t *testing.T, ev ebEvent) ebEvent {
	var d events.Detail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		t.Fatal(err)
	}
	d.SecretArn, d.SecretName = d.SecretArn+"-other", d.SecretName+"-other"
	ev.Detail, _ = json.Marshal(d)
	ev.Resources = []string{d.SecretArn}
	return ev
}

// TestAuthFailedSingleFlight: 50 concurrent failures of the same version
// make one DescribeSecret; more failures of it within AuthRetryInterval
// make none; after it, one more.
func TestAuthFailedSingleFlight(t *testing.T) {
	s, v1 := newSecret(t)
	clock := newFakeClock()
	c := newCache(t, s, consumer.Options{Now: clock.Now})
	before, server := c.Stats(), calls.Get(describeTarget)

	var wg sync.WaitGroup
	errs := make([]error, 50)
	start := make(chan struct{})
	for i := range errs {
		wg.Go(func() {
			<-start
			_, errs[i] = c.AuthFailed(t.Context(), v1)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, consumer.ErrNoNewerCredential) {
			t.Fatalf("call %d: want ErrNoNewerCredential (nothing newer exists), got %v", i, err)
		}
	}
	st := c.Stats()
	if n := st.DescribeSecretCalls - before.DescribeSecretCalls; n != 1 {
		t.Errorf("want 1 DescribeSecret for 50 concurrent failures, got %d", n)
	}
	if n := calls.Get(describeTarget) - server; n != 1 {
		t.Errorf("want the endpoint to see 1 DescribeSecret, got %d", n)
	}
	if st.AuthFailures != 50 || st.AuthFailureRefreshes != 1 {
		t.Errorf("want 50 failures and 1 refresh, got %+v", st)
	}

	// The same version fails again within AuthRetryInterval: no call.
	if _, err := c.AuthFailed(t.Context(), v1); !errors.Is(err, consumer.ErrNoNewerCredential) {
		t.Fatalf("want ErrNoNewerCredential, got %v", err)
	}
	if n := c.Stats().DescribeSecretCalls - before.DescribeSecretCalls; n != 1 {
		t.Errorf("within the interval: want still 1 DescribeSecret, got %d", n)
	}
	// After it: one more refresh, which finds the rotation.
	v2 := s.rotate(t, v1)
	clock.Advance(consumer.DefaultAuthRetryInterval)
	got, err := c.AuthFailed(t.Context(), v1)
	if err != nil || got.ID != v2 {
		t.Fatalf("after the interval and a rotation: want %s, got %s (%v)", v2, got.ID, err)
	}
	if n := c.Stats().DescribeSecretCalls - before.DescribeSecretCalls; n != 2 {
		t.Errorf("after the interval: want 2 DescribeSecret in all, got %d", n)
	}
	// A connection opened before the swap fails: the cache already has
	// something newer, no call.
	if got, err := c.AuthFailed(t.Context(), v1); err != nil || got.ID != v2 {
		t.Errorf("stale connection: want %s at once, got %s (%v)", v2, got.ID, err)
	}
	if n := c.Stats().DescribeSecretCalls - before.DescribeSecretCalls; n != 2 {
		t.Errorf("stale connection: want no more DescribeSecret, got %d in all", n)
	}
	if _, err := c.AuthFailed(t.Context(), ""); err == nil {
		t.Error("want an error for an empty version id, got none")
	}
}

// TestSingleUserWindow: AWSPENDING holds the password the database has,
// AWSCURRENT has not moved yet. AuthFailed hands out the pending version
// and Current prefers it; when AWSCURRENT moves to it, one swap (without
// GetSecretValue), one acknowledgement.
func TestSingleUserWindow(t *testing.T) {
	s, v1 := newSecret(t)
	rec := &recorder{}
	clock := newFakeClock()
	c := newCache(t, s, consumer.Options{Consumer: "orders-api", Publisher: rec, Now: clock.Now, TTL: time.Minute})
	var hooks []string
	c.OnSwap(func(old, new consumer.Version) { hooks = append(hooks, old.ID+"→"+new.ID) })
	v2 := s.pending(t)

	before := c.Stats()
	got, err := c.AuthFailed(t.Context(), v1)
	if err != nil || got.ID != v2 || string(got.Value) != s.values[v2] {
		t.Fatalf("want the pending version %s, got %s (%v)", v2, got.ID, err)
	}
	if cur := c.Current(); cur.ID != v2 {
		t.Errorf("want Current to prefer the pending version %s, got %s", v2, cur.ID)
	}
	st := c.Stats()
	if st.DescribeSecretCalls-before.DescribeSecretCalls != 1 || st.GetSecretValueCalls-before.GetSecretValueCalls != 1 || st.Swaps != 0 {
		t.Errorf("want 1 DescribeSecret and 1 GetSecretValue (the pending value), no swap, got %+v", st)
	}
	// Other connections of v1 fail too: they get v2 without a call.
	if got, err := c.AuthFailed(t.Context(), v1); err != nil || got.ID != v2 {
		t.Errorf("want %s again, got %s (%v)", v2, got.ID, err)
	}
	if n := c.Stats().DescribeSecretCalls - before.DescribeSecretCalls; n != 1 {
		t.Errorf("want still 1 DescribeSecret, got %d", n)
	}
	if len(rec.events()) != 0 {
		t.Errorf("want no acknowledgement before AWSCURRENT moves, got %d", len(rec.events()))
	}

	s.promote(t, v1, v2) // finishSecret
	before = c.Stats()
	if err := c.HandleEvent(t.Context(), s.rotorEvent(t, events.Completed, v2, v1)); err != nil {
		t.Fatal(err)
	}
	st = c.Stats()
	if cur := c.Current(); cur.ID != v2 || !slices.Contains(cur.Stages, "AWSCURRENT") {
		t.Errorf("want AWSCURRENT %s, got %s %v", v2, cur.ID, cur.Stages)
	}
	if st.Swaps != 1 || st.GetSecretValueCalls != before.GetSecretValueCalls {
		t.Errorf("want one swap and no GetSecretValue (the value is held), got %+v", st)
	}
	if !slices.Equal(hooks, []string{v1 + "→" + v2}) {
		t.Errorf("want one hook call %s→%s, got %v", v1, v2, hooks)
	}
	if acks := rec.events(); len(acks) != 1 || acks[0].Detail.VersionID != v2 {
		t.Errorf("want one acknowledgement of %s, got %+v", v2, acks)
	}
	// The preference is over: a later pending version is not handed out
	// until a login fails again.
	s.pending(t)
	clock.Advance(2 * time.Second)
	if _, err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if cur := c.Current(); cur.ID != v2 {
		t.Errorf("want %s, got %s", v2, cur.ID)
	}
}

// TestPreferenceExpires: a pending version is preferred for a TTL at most;
// and a pending version that fails too is not handed out again.
func TestPreferenceExpires(t *testing.T) {
	s, v1 := newSecret(t)
	clock := newFakeClock()
	c := newCache(t, s, consumer.Options{Now: clock.Now, TTL: time.Minute})
	v2 := s.pending(t)
	if got, err := c.AuthFailed(t.Context(), v1); err != nil || got.ID != v2 {
		t.Fatalf("want %s, got %s (%v)", v2, got.ID, err)
	}
	clock.Advance(time.Minute)
	if cur := c.Current(); cur.ID != v1 {
		t.Errorf("after TTL: want AWSCURRENT %s again, got %s", v1, cur.ID)
	}

	// Both fail now (a wrong password everywhere): no ping-pong.
	clock.Advance(time.Second)
	if got, err := c.AuthFailed(t.Context(), v1); err != nil || got.ID != v2 {
		t.Fatalf("want %s, got %s (%v)", v2, got.ID, err)
	}
	if _, err := c.AuthFailed(t.Context(), v2); !errors.Is(err, consumer.ErrNoNewerCredential) {
		t.Errorf("the pending version failed too: want ErrNoNewerCredential, got %v", err)
	}
	if cur := c.Current(); cur.ID != v1 {
		t.Errorf("want the preference dropped, got %s", cur.ID)
	}
}

// TestNoSecretValueInLogsOrEvents: values stay out of log lines (even when
// an error quotes one), errors and events.
func TestNoSecretValueInLogsOrEvents(t *testing.T) {
	s, v1 := newSecret(t)
	var logs logBuffer
	// A publisher whose error quotes the value it was given must not leak
	// it through the cache's log.
	leaky := &recorder{err: fmt.Errorf("bus refused %s", s.values[v1])}
	c := newCache(t, s, consumer.Options{Consumer: "orders-api", Publisher: leaky, Logger: logs.logger()})
	rec := &recorder{}
	v2 := s.rotate(t, v1)
	if _, err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	c2 := newCache(t, s, consumer.Options{Consumer: "orders-api", Publisher: rec, Logger: logs.logger()})
	v3 := s.pending(t)
	if _, err := c2.AuthFailed(t.Context(), v2); err != nil {
		t.Fatal(err)
	}
	s.promote(t, v2, v3)
	if _, err := c2.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.AuthFailed(t.Context(), v3); err == nil {
		t.Fatal("want ErrNoNewerCredential, got none")
	} else {
		s.assertNoValues(t, "an error", err.Error())
	}
	if st := c.Stats(); st.AcknowledgementFailures != 1 {
		t.Errorf("want the failed acknowledgement counted, got %+v", st)
	}
	text := logs.String()
	if !strings.Contains(text, "acknowledgement not published") || !strings.Contains(text, "[REDACTED]") {
		t.Errorf("want the failed acknowledgement logged with the value masked, got:\n%s", text)
	}
	s.assertNoValues(t, "the log", text)
	raw, _ := json.Marshal(rec.events())
	if len(rec.events()) == 0 {
		t.Fatal("want acknowledgements to scan, got none")
	}
	s.assertNoValues(t, "the events", string(raw))
}

// TestStaleRequestAfterSecretDeleted: a refresh error leaves the cache
// serving what it has.
func TestRefreshErrorKeepsServing(t *testing.T) {
	s, v1 := newSecret(t)
	c := newCache(t, s, consumer.Options{})
	if _, err := smc.DeleteSecret(t.Context(), &sm.DeleteSecretInput{SecretId: aws.String(s.arn), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refresh(t.Context()); !errors.Is(err, consumer.ErrSecretNotFound) {
		t.Errorf("want ErrSecretNotFound, got %v", err)
	}
	if c.Current().ID != v1 || c.Stats().RefreshErrors != 1 {
		t.Errorf("want %s still served and the error counted, got %s, %+v", v1, c.Current().ID, c.Stats())
	}
}

// gatedAPI holds every DescribeSecret until its gate opens.
type gatedAPI struct {
	consumer.SecretsManagerAPI
	gate    chan struct{}
	entered *atomic.Int64
}

func (g gatedAPI) DescribeSecret(ctx context.Context, in *sm.DescribeSecretInput, opts ...func(*sm.Options)) (*sm.DescribeSecretOutput, error) {
	g.entered.Add(1)
	<-g.gate
	return g.SecretsManagerAPI.DescribeSecret(ctx, in, opts...)
}

// TestRefreshSharedByConcurrentCallers: callers that arrive while a refresh
// is in flight share it, and the first caller's cancellation fails neither
// the refresh nor the others.
func TestRefreshSharedByConcurrentCallers(t *testing.T) {
	s, v1 := newSecret(t)
	api := gatedAPI{SecretsManagerAPI: smc, gate: make(chan struct{}, 1), entered: &atomic.Int64{}}
	api.gate <- struct{}{} // New's load passes
	c, err := consumer.New(t.Context(), api, consumer.Options{SecretID: s.arn})
	if err != nil {
		t.Fatal(err)
	}
	v2 := s.rotate(t, v1)
	before := c.Stats()

	firstCtx, cancelFirst := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := c.Refresh(firstCtx); first <- err }()
	eventually(t, "the first caller's DescribeSecret in flight", func() bool { return api.entered.Load() == 2 })
	const n = 19
	var wg sync.WaitGroup
	swaps := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { swaps[i], errs[i] = c.Refresh(context.Background()) })
	}
	eventually(t, fmt.Sprintf("%d callers joined", n), func() bool { return c.Stats().RefreshesJoined-before.RefreshesJoined == n })
	cancelFirst()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("first caller, cancelled: want context.Canceled, got %v", err)
	}
	close(api.gate)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || !swaps[i] {
			t.Errorf("caller %d: want (true, nil) from the shared refresh, got (%v, %v)", i, swaps[i], errs[i])
		}
	}
	st := c.Stats()
	if d := st.DescribeSecretCalls - before.DescribeSecretCalls; d != 1 || st.Swaps != 1 {
		t.Errorf("want 1 DescribeSecret and 1 swap for %d callers, got %d and %d", n+1, d, st.Swaps)
	}
	if c.Current().ID != v2 {
		t.Errorf("want %s, got %s", v2, c.Current().ID)
	}
}

// A hook removed with the function OnSwap returned no longer runs; the
// others still do, in order.
func TestOnSwapRemove(t *testing.T) {
	s, v1 := newSecret(t)
	c := newCache(t, s, consumer.Options{})
	var mu sync.Mutex
	var ran []string
	hook := func(name string) func(old, new consumer.Version) {
		return func(old, new consumer.Version) {
			mu.Lock()
			defer mu.Unlock()
			ran = append(ran, name)
		}
	}
	c.OnSwap(hook("first"))
	remove := c.OnSwap(hook("removed"))
	c.OnSwap(hook("last"))
	remove()
	remove() // twice is harmless
	s.rotate(t, v1)
	if swapped, err := c.Refresh(t.Context()); err != nil || !swapped {
		t.Fatalf("want a swap, got (%v, %v)", swapped, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(ran, []string{"first", "last"}) {
		t.Fatalf("want hooks first and last to run, got %v", ran)
	}
}

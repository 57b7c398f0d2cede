package deactivation_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/deactivation"
)

// TestAllAcknowledged: the previous user is locked only when the last
// registered consumer acknowledges; the current user keeps working and one
// Credential Deactivated event is published.
func TestAllAcknowledged(t *testing.T) {
	a := newApp(t, false, "orders-api", "billing-worker")
	prevCred, prev := a.read(t, "AWSCURRENT")
	cur := a.rotate(t, false)
	curCred, _ := a.read(t, "AWSCURRENT")
	h := newGate(t, alternating, 0)
	ctx := t.Context()

	if err := h.gate.Handle(ctx, rotorEvent(t, a, events.Completed, cur, "")); err != nil {
		t.Fatalf("Rotation Completed: want no error, got %v", err)
	}
	if got, _ := h.unacknowledged(t, a.name); got != 2 {
		t.Errorf("after Rotation Completed: want UnacknowledgedConsumers 2, got %v", got)
	}
	ack(t, h, a, "orders-api", cur)
	if got, _ := h.unacknowledged(t, a.name); got != 1 {
		t.Errorf("after one ack: want UnacknowledgedConsumers 1, got %v", got)
	}
	wantLogin(t, "previous user with one consumer missing", prevCred)
	if evs := a.received(t); len(evs) != 0 {
		t.Fatalf("with one consumer missing: want no event, got %d", len(evs))
	}

	settle(t, prevCred.Username) // the login just checked is evidence of use
	ack(t, h, a, "billing-worker", cur)
	if got, _ := h.unacknowledged(t, a.name); got != 0 {
		t.Errorf("after every ack: want UnacknowledgedConsumers 0, got %v", got)
	}
	wantRefused(t, "previous user after every ack", prevCred)
	wantLogin(t, "current user after every ack", curCred)
	evs := a.received(t)
	if len(evs) != 1 {
		t.Fatalf("want one Credential Deactivated event, got %d", len(evs))
	}
	d := evs[0].Detail
	if d.Outcome != events.OutcomeSucceeded || d.VersionID != cur || d.PreviousVersionID != prev ||
		d.Phase != events.PhaseDeactivate || d.CredentialType != "postgres" || d.Strategy != "alternating-users" || len(d.Unacknowledged) != 0 {
		t.Errorf("want a succeeded deactivate event for %s (previous %s), got %+v", cur, prev, d)
	}
	if got := a.tags(t)[deactivation.DeactivatedTag]; got != prev {
		t.Errorf("want tag %s = %s, got %q", deactivation.DeactivatedTag, prev, got)
	}

	// A duplicate ack changes nothing and publishes nothing.
	res, err := h.gate.Acknowledge(ctx, ackOf(a, "billing-worker", cur))
	if err != nil || res != deactivation.AckDuplicate {
		t.Errorf("duplicate ack: want %q, got %q (%v)", deactivation.AckDuplicate, res, err)
	}
	dec, err := h.gate.Evaluate(ctx, a.arn)
	if err != nil || dec.Action != deactivation.ActionAlreadyDone {
		t.Errorf("re-evaluation: want %q, got %q (%v)", deactivation.ActionAlreadyDone, dec.Action, err)
	}
	if evs := a.received(t); len(evs) != 0 {
		t.Errorf("after a duplicate ack: want no new event, got %d", len(evs))
	}

	// The next rotation moves back to the locked user, which logs in again
	// with its new password, and the gate starts over.
	next := a.rotate(t, false)
	nextCred, _ := a.read(t, "AWSCURRENT")
	if nextCred.Username != prevCred.Username {
		t.Fatalf("want the next rotation to move back to %s, got %s", prevCred.Username, nextCred.Username)
	}
	wantLogin(t, "re-activated user after the next rotation", nextCred)
	dec, err = h.gate.Evaluate(ctx, a.arn)
	if err != nil || dec.Action != deactivation.ActionWaiting || !slices.Equal(dec.Unacknowledged, []string{"billing-worker", "orders-api"}) {
		t.Errorf("after the next rotation (%s): want %q with both consumers missing, got %+v (%v)", next, deactivation.ActionWaiting, dec, err)
	}
	wantLogin(t, "previous user right after the next rotation", curCred)
	noSecretValues(t, a)
}

// TestGracePeriod: with a consumer missing nothing is revoked until the
// grace period has passed since LastRotatedDate; then a scheduled sweep
// revokes and the event lists the missing consumer.
func TestGracePeriod(t *testing.T) {
	a := newApp(t, false, "orders-api", "billing-worker")
	prevCred, prev := a.read(t, "AWSCURRENT")
	cur := a.rotate(t, false)
	curCred, _ := a.read(t, "AWSCURRENT")

	early := newGate(t, alternating, time.Hour, a.arn)
	ack(t, early, a, "orders-api", cur)
	dec, err := early.gate.Evaluate(t.Context(), a.arn)
	if err != nil || dec.Action != deactivation.ActionWaiting {
		t.Fatalf("an hour after the rotation: want %q, got %q (%v)", deactivation.ActionWaiting, dec.Action, err)
	}
	if got, _ := early.unacknowledged(t, a.name); got != 1 {
		t.Errorf("want UnacknowledgedConsumers 1, got %v", got)
	}
	wantLogin(t, "previous user within the grace period", prevCred)
	if evs := a.received(t); len(evs) != 0 {
		t.Fatalf("within the grace period: want no event, got %d", len(evs))
	}

	late := newGate(t, alternating, 25*time.Hour, a.arn)
	if err := late.gate.Handle(t.Context(), scheduled()); err != nil {
		t.Fatalf("scheduled sweep: want no error, got %v", err)
	}
	wantRefused(t, "previous user after the grace period", prevCred)
	wantLogin(t, "current user after the grace period", curCred)
	evs := a.received(t)
	if len(evs) != 1 {
		t.Fatalf("want one event, got %d", len(evs))
	}
	d := evs[0].Detail
	if d.Outcome != events.OutcomeGraceExpired || !slices.Equal(d.Unacknowledged, []string{"billing-worker"}) || d.PreviousVersionID != prev {
		t.Errorf("want outcome grace-expired listing billing-worker, got %+v", d)
	}
	if logs := late.logs.String(); !strings.Contains(logs, "grace period expired") || !strings.Contains(logs, "billing-worker") {
		t.Errorf("want a log line naming the missing consumer, got:\n%s", logs)
	}
	if got, _ := late.unacknowledged(t, a.name); got != 1 {
		t.Errorf("want UnacknowledgedConsumers 1, got %v", got)
	}
	noSecretValues(t, a)
}

func scheduled() awsevents.EventBridgeEvent {
	return awsevents.EventBridgeEvent{
		Version: "0", ID: "sched-1", Source: deactivation.ScheduledSource, DetailType: deactivation.ScheduledDetailType,
		Time: time.Now().UTC(), Detail: []byte(`{}`),
	}
}

// TestSweepFindsRegisteredSecrets: without a configured list, a scheduled
// sweep evaluates the secrets that carry a registration
// (ListSecrets, tag-key prefix), and only those.
func TestSweepFindsRegisteredSecrets(t *testing.T) {
	registered := newApp(t, false, "orders-api")
	unregistered := newApp(t, false)
	regPrev, _ := registered.read(t, "AWSCURRENT")
	unregPrev, _ := unregistered.read(t, "AWSCURRENT")
	registered.rotate(t, false)
	unregistered.rotate(t, false)
	h := newGate(t, alternating, 25*time.Hour)
	if err := h.gate.Handle(t.Context(), scheduled()); err != nil {
		t.Fatalf("sweep: want no error, got %v", err)
	}
	if _, n := h.unacknowledged(t, registered.name); n != 1 {
		t.Errorf("want the registered secret evaluated once, got %d metric lines", n)
	}
	if _, n := h.unacknowledged(t, unregistered.name); n != 0 {
		t.Errorf("want the unregistered secret not evaluated, got %d metric lines", n)
	}
	wantRefused(t, "registered secret's previous user", regPrev)
	wantLogin(t, "unregistered secret's previous user", unregPrev)
}

// TestSweepByTagKeepsToItsFunction: a gate that knows its function's name
// evaluates only the registered secrets that function rotates.
func TestSweepByTagKeepsToItsFunction(t *testing.T) {
	a := newApp(t, false, "orders-api")
	a.rotate(t, false) // by fnAlternating
	for _, c := range []struct {
		function string
		want     int
	}{{fnSingle, 0}, {fnAlternating, 1}} {
		h := newGateOf(t, alternating, 0, c.function)
		if err := h.gate.Handle(t.Context(), scheduled()); err != nil {
			t.Fatalf("gate of %s: sweep: want no error, got %v", c.function, err)
		}
		if _, n := h.unacknowledged(t, a.name); n != c.want {
			t.Errorf("gate of %s: want the secret evaluated %d times, got %d", c.function, c.want, n)
		}
	}
}

// TestAcknowledgements: stale, out-of-order, duplicate and unregistered
// acknowledgements.
func TestAcknowledgements(t *testing.T) {
	a := newApp(t, false, "orders-api", "billing-worker")
	v1 := a.version(t, "AWSCURRENT")
	v2 := a.rotate(t, false)
	h := newGate(t, alternating, 0)
	ctx := t.Context()

	tests := []struct {
		name          string
		consumer, ver string
		want          deactivation.AckResult
		wantVal       string // the version the instance's tag holds afterwards ("" = absent)
	}{
		{"ack of the previous version is stale", "orders-api", v1, deactivation.AckStale, ""},
		{"ack of an unknown version is stale", "orders-api", "00000000-0000-4000-8000-000000000000", deactivation.AckStale, ""},
		{"ack of the current version is recorded", "orders-api", v2, deactivation.AckRecorded, v2},
		{"the same ack again is a duplicate", "orders-api", v2, deactivation.AckDuplicate, v2},
		{"a late ack of the previous version does not undo it", "orders-api", v1, deactivation.AckStale, v2},
		{"ack of an unregistered consumer is ignored", "reporting", v2, deactivation.AckUnregistered, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.gate.Acknowledge(ctx, ackOf(a, tt.consumer, tt.ver))
			if err != nil || got != tt.want {
				t.Fatalf("want %q, got %q (%v)", tt.want, got, err)
			}
			if val := ackedVersion(t, a, tt.consumer, instanceOf(tt.consumer)); val != tt.wantVal {
				t.Errorf("want %s's acknowledgement tag to hold %q, got %q", tt.consumer, tt.wantVal, val)
			}
		})
	}
	if logs := h.logs.String(); !strings.Contains(logs, "not registered") || !strings.Contains(logs, "is not AWSCURRENT") {
		t.Errorf("want log lines for the unregistered and the stale acks, got:\n%s", logs)
	}
	prev, _ := a.read(t, "AWSPREVIOUS")
	wantLogin(t, "previous user with billing-worker missing", prev)
	noSecretValues(t, a)
}

// TestCrashBetweenDeactivateAndTag: TagResource fails once after the
// revocation; the evaluation fails, the credential is revoked already, and
// the next evaluation converges (the idempotent Deactivate again, then the
// tag).
func TestCrashBetweenDeactivateAndTag(t *testing.T) {
	a := newApp(t, false, "orders-api")
	prevCred, prev := a.read(t, "AWSCURRENT")
	cur := a.rotate(t, false)
	h := newGate(t, alternating, 0)
	ctx := t.Context()
	if _, err := h.gate.Acknowledge(ctx, ackOf(a, "orders-api", cur)); err != nil {
		// The ack itself is recorded; only evaluation reaches the fault.
		t.Fatalf("ack: %v", err)
	}
	wantRefused(t, "previous user after the ack", prevCred)
	// Now the same for a fresh rotation, with the fault armed.
	cur2 := a.rotate(t, false)
	prevCred2, prev2 := a.read(t, "AWSPREVIOUS")
	if prev2 != cur {
		t.Fatalf("want AWSPREVIOUS on %s, got %s", cur, prev2)
	}
	h.store.failKey = deactivation.DeactivatedTag
	_, err := h.gate.Acknowledge(ctx, ackOf(a, "orders-api", cur2))
	var ee *deactivation.EvaluateError
	if !errors.As(err, &ee) || ee.Phase != "tag" {
		t.Fatalf("with TagResource failing: want an EvaluateError in phase tag, got %v", err)
	}
	rec.add(err.Error())
	wantRefused(t, "previous user after the failed tag", prevCred2)
	if got := a.tags(t)[deactivation.DeactivatedTag]; got != prev {
		t.Fatalf("after the failed tag: want %s still = %s (the earlier deactivation), got %q", deactivation.DeactivatedTag, prev, got)
	}

	dec, err := h.gate.Evaluate(ctx, a.arn)
	if err != nil || dec.Action != deactivation.ActionDeactivated {
		t.Fatalf("re-evaluation: want %q, got %q (%v)", deactivation.ActionDeactivated, dec.Action, err)
	}
	if !strings.Contains(h.logs.String(), `"rotator_outcome":"`+string(rotators.AlreadyInactive)+`"`) {
		t.Errorf("want the repeated Deactivate to report %q, got logs:\n%s", rotators.AlreadyInactive, h.logs.String())
	}
	if got := a.tags(t)[deactivation.DeactivatedTag]; got != prev2 {
		t.Errorf("want %s = %s, got %q", deactivation.DeactivatedTag, prev2, got)
	}
	wantRefused(t, "previous user after convergence", prevCred2)
	wantLogin(t, "current user after convergence", curCred2(t, a))
	// One event for the first rotation, two for the second (the repeat
	// after the failed tag): at least once, never lost.
	evs := a.received(t)
	var forSecond int
	for _, ev := range evs {
		if ev.Detail.PreviousVersionID == prev2 {
			forSecond++
		}
	}
	if forSecond != 2 {
		t.Errorf("want two events for the second deactivation (before and after the failed tag), got %d of %d", forSecond, len(evs))
	}
	dec, err = h.gate.Evaluate(ctx, a.arn)
	if err != nil || dec.Action != deactivation.ActionAlreadyDone {
		t.Errorf("third evaluation: want %q, got %q (%v)", deactivation.ActionAlreadyDone, dec.Action, err)
	}
	noSecretValues(t, a)
}

func curCred2(t *testing.T, a *app) credential {
	t.Helper()
	c, _ := a.read(t, "AWSCURRENT")
	return c
}

// TestBadInput: an acknowledgement with a bad consumer name or version id
// is an error naming the field, and changes no tag.
func TestBadInput(t *testing.T) {
	a := newApp(t, false, "orders-api")
	cur := a.rotate(t, false)
	h := newGate(t, alternating, 0)
	before := a.tags(t)
	tests := []struct {
		name, consumer, version, wantField string
	}{
		{"empty consumer", "", cur, "consumer"},
		{"consumer with a space", "orders api", cur, "consumer"},
		{"consumer with a star", "orders*", cur, "consumer"},
		{"consumer with a non-ASCII letter", "bestellungen-ä", cur, "consumer"},
		{"consumer reserved by AWS", "aws:orders", cur, "consumer"},
		{"consumer too long", strings.Repeat("a", deactivation.MaxConsumerNameLen+1), cur, "consumer"},
		{"version with a quote", "orders-api", `v"1`, "versionId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.gate.Acknowledge(t.Context(), ackOf(a, tt.consumer, tt.version))
			var fe *deactivation.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("want a FieldError naming %q, got %v", tt.wantField, err)
			}
			// Through Handle, as a Consumer Acknowledged event.
			if tt.consumer != "" {
				err = h.gate.Handle(t.Context(), rotorEvent(t, a, events.ConsumerAcknowledged, tt.version, tt.consumer))
				if !errors.As(err, &fe) || fe.Field != tt.wantField || !strings.Contains(err.Error(), `"`+tt.wantField+`"`) {
					t.Fatalf("Handle: want an error naming %q, got %v", tt.wantField, err)
				}
			}
		})
	}
	for _, instance := range []string{"", "pod 1", strings.Repeat("i", events.MaxInstanceLen+1)} {
		req := ackOf(a, "orders-api", cur)
		req.Instance = instance
		_, err := h.gate.Acknowledge(t.Context(), req)
		var fe *deactivation.FieldError
		if !errors.As(err, &fe) || fe.Field != "instance" {
			t.Errorf("instance %q: want a FieldError naming instance, got %v", instance, err)
		}
	}
	if max := strings.Repeat("a", deactivation.MaxConsumerNameLen); deactivation.ValidateConsumerName("consumer", max) != nil {
		t.Errorf("want a name of %d characters accepted, got refused", deactivation.MaxConsumerNameLen)
	}
	if err := deactivation.ValidateConsumerName("consumer", "team/orders-api:prod@eu+1=x.y_z"); err != nil {
		t.Errorf("want every allowed punctuation accepted, got %v", err)
	}
	if after := a.tags(t); len(after) != len(before) {
		t.Errorf("want the tags unchanged, got %v (before %v)", after, before)
	}
	err := h.gate.Handle(t.Context(), awsevents.EventBridgeEvent{Source: "aws.secretsmanager", DetailType: "AWS API Call via CloudTrail", Detail: []byte(`{}`)})
	if !errors.Is(err, deactivation.ErrUnsupportedEvent) {
		t.Errorf("foreign event: want ErrUnsupportedEvent, got %v", err)
	}
	var ve *events.ValidationError
	bad := rotorEvent(t, a, events.ConsumerAcknowledged, cur, "orders-api")
	bad.Detail = []byte(`{"schemaVersion":1}`)
	if err := h.gate.Handle(t.Context(), bad); !errors.As(err, &ve) {
		t.Errorf("malformed rotor event: want a ValidationError naming the field, got %v", err)
	}
}

// TestSingleUser: a gate without a Deactivator revokes nothing, so it
// claims no revocation: no rotor:deactivated tag, no log line saying the
// old password stopped working, no event. It records rotor:not-revoked
// instead, says once what is true, and stays quiet after. With a single
// user the previous password was replaced at setSecret; with alternating
// users and no ROTOR_LOCK_IDLE_USER it still works, and the gate must not
// say otherwise.
func TestSingleUser(t *testing.T) {
	plain, err := postgres.New(postgres.Options{Strategy: postgres.AlternatingUsers, RootCAs: db.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		single          bool
		rot             *postgres.Rotator
		previousWorking bool
	}{
		{"single user", true, single, false},
		{"alternating users without locking", false, plain, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(t, tt.single, "orders-api")
			prevCred, _ := a.read(t, "AWSCURRENT")
			cur := a.rotate(t, tt.single)
			curCred, _ := a.read(t, "AWSCURRENT")
			prev := a.version(t, "AWSPREVIOUS")
			if tt.rot.Deactivator() != nil {
				t.Fatal("want no Deactivator")
			}
			h := newGate(t, tt.rot, 25*time.Hour)
			for range 2 {
				if err := h.gate.Handle(t.Context(), rotorEvent(t, a, events.Completed, cur, "")); err != nil {
					t.Fatalf("want no error, got %v", err)
				}
			}
			logs := h.logs.String()
			if strings.Contains(logs, "stopped working") || strings.Contains(logs, "deactivated") {
				t.Errorf("want no log line claiming a revocation, got:\n%s", logs)
			}
			if n := strings.Count(logs, `"level":"INFO","msg":"the gate revokes nothing`); n != 1 {
				t.Errorf("want one info line saying the gate revokes nothing (then quiet), got %d:\n%s", n, logs)
			}
			tags := a.tags(t)
			if got, ok := tags[deactivation.DeactivatedTag]; ok {
				t.Errorf("want no %s tag, got %q", deactivation.DeactivatedTag, got)
			}
			if got := tags[deactivation.NotRevokedTag]; got != prev {
				t.Errorf("want %s = %s, got %q", deactivation.NotRevokedTag, prev, got)
			}
			if got, _ := h.unacknowledged(t, a.name); got != 1 {
				t.Errorf("want UnacknowledgedConsumers 1, got %v", got)
			}
			if evs := a.received(t); len(evs) != 0 {
				t.Errorf("want no event, got %d", len(evs))
			}
			wantLogin(t, "current user", curCred)
			if err := login(t, prevCred); (err == nil) != tt.previousWorking {
				t.Errorf("previous credential: want it working %v, got %v", tt.previousWorking, err)
			}
			noSecretValues(t, a)
		})
	}

	// An alternating gate on a single-user secret: its Deactivator finds
	// the same principal on both sides and touches nothing.
	b := newApp(t, true, "orders-api")
	bcur := b.rotate(t, true)
	bCred, _ := b.read(t, "AWSCURRENT")
	bprev := b.version(t, "AWSPREVIOUS")
	alt := newGate(t, alternating, 25*time.Hour)
	dec, err := alt.gate.Acknowledge(t.Context(), ackOf(b, "orders-api", bcur))
	if err != nil || dec != deactivation.AckRecorded {
		t.Fatalf("want %q, got %q (%v)", deactivation.AckRecorded, dec, err)
	}
	if !strings.Contains(alt.logs.String(), "same principal") {
		t.Errorf("want a log line saying previous and current are the same principal, got:\n%s", alt.logs.String())
	}
	if tags := b.tags(t); tags[deactivation.NotRevokedTag] != bprev || tags[deactivation.DeactivatedTag] != "" {
		t.Errorf("want %s = %s and no %s, got %v", deactivation.NotRevokedTag, bprev, deactivation.DeactivatedTag, tags)
	}
	if evs := b.received(t); len(evs) != 0 {
		t.Errorf("want no event, got %d", len(evs))
	}
	wantLogin(t, "current single user under an alternating gate", bCred)
	noSecretValues(t, b)
}

// TestRotationInProgress: while AWSPENDING is on another version than
// AWSCURRENT, the gate revokes nothing, even with every acknowledgement in:
// the rotation may be about to make the previous user current again.
func TestRotationInProgress(t *testing.T) {
	a := newApp(t, false, "orders-api")
	prevCred, _ := a.read(t, "AWSCURRENT")
	cur := a.rotate(t, false)
	pending := uuid.NewString()
	if _, err := smc.PutSecretValue(t.Context(), &sm.PutSecretValueInput{
		SecretId: aws.String(a.arn), ClientRequestToken: aws.String(pending),
		SecretString: aws.String(`{"engine":"postgres"}`), VersionStages: []string{"AWSPENDING"},
	}); err != nil {
		t.Fatal(err)
	}
	h := newGate(t, alternating, 25*time.Hour)
	if res, err := h.gate.Acknowledge(t.Context(), ackOf(a, "orders-api", cur)); err != nil || res != deactivation.AckRecorded {
		t.Fatalf("want %q, got %q (%v)", deactivation.AckRecorded, res, err)
	}
	dec, err := h.gate.Evaluate(t.Context(), a.arn)
	if err != nil || dec.Action != deactivation.ActionRotationInProgress {
		t.Fatalf("want %q, got %q (%v)", deactivation.ActionRotationInProgress, dec.Action, err)
	}
	wantLogin(t, "previous user during a rotation", prevCred)
	if _, err := smc.UpdateSecretVersionStage(t.Context(), &sm.UpdateSecretVersionStageInput{
		SecretId: aws.String(a.arn), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(pending),
	}); err != nil {
		t.Fatal(err)
	}
	settle(t, prevCred.Username)
	dec, err = h.gate.Evaluate(t.Context(), a.arn)
	if err != nil || dec.Action != deactivation.ActionDeactivated {
		t.Fatalf("after the rotation ended: want %q, got %q (%v)", deactivation.ActionDeactivated, dec.Action, err)
	}
	wantRefused(t, "previous user after the rotation ended", prevCred)
}

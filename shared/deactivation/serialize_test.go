package deactivation_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/deactivation"
)

// startRotation does what createSecret and setSecret (and testSecret) do,
// directly: the pending version with AWSPENDING, then Set (and Test) of
// the alternating rotator. It returns the pending version and credential.
func startRotation(t *testing.T, a *app, withTest bool) (string, credential) {
	t.Helper()
	ctx := t.Context()
	curOut, err := smc.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(a.arn)})
	if err != nil {
		t.Fatal(err)
	}
	current := []byte(aws.ToString(curOut.SecretString))
	created, err := alternating.Create(ctx, rotators.CreateRequest{SecretID: a.arn, Current: current, Password: "Pending-" + uuid.NewString(), Secrets: smSecrets{}})
	if err != nil {
		t.Fatal(err)
	}
	version := uuid.NewString()
	if _, err := smc.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String(a.arn), ClientRequestToken: aws.String(version),
		SecretString: aws.String(string(created.Pending)), VersionStages: []string{"AWSPENDING"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := alternating.Set(ctx, rotators.SetRequest{SecretID: a.arn, Current: current, Pending: created.Pending, Secrets: smSecrets{}}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if withTest {
		if _, err := alternating.Test(ctx, rotators.TestRequest{SecretID: a.arn, Current: current, Pending: created.Pending, Secrets: smSecrets{}}); err != nil {
			t.Fatalf("Test: %v", err)
		}
	}
	a.passwords(t)
	p, _ := a.read(t, "AWSPENDING")
	return version, p
}

// finish moves AWSCURRENT to the version, as finishSecret does.
func finish(t *testing.T, a *app, version string) {
	t.Helper()
	cur := a.version(t, "AWSCURRENT")
	if _, err := smc.UpdateSecretVersionStage(t.Context(), &sm.UpdateSecretVersionStageInput{SecretId: aws.String(a.arn),
		VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(version), RemoveFromVersionId: aws.String(cur)}); err != nil {
		t.Fatal(err)
	}
	if _, err := smc.UpdateSecretVersionStage(t.Context(), &sm.UpdateSecretVersionStageInput{SecretId: aws.String(a.arn),
		VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(version)}); err != nil {
		t.Fatal(err)
	}
}

// TestRecheckAfterDecision: the gate decides from one description, then
// reads the values and takes the target's lock. A rotation whose Set (and
// testSecret) ran in between, on the very user the gate would lock (the
// previous user is the next pending user), is seen by the Recheck under the
// lock: nothing is revoked, no event claims it, and once finishSecret
// promotes the pending user it logs in.
func TestRecheckAfterDecision(t *testing.T) {
	for _, tt := range []struct {
		name     string
		withTest bool
	}{{"set between decision and lock", false}, {"set and test between decision and lock", true}} {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(t, false, "orders-api")
			cur := a.rotate(t, false)
			prevCred, _ := a.read(t, "AWSPREVIOUS")
			ackKey, ackValue := deactivation.InstanceAckTag("orders-api", instanceOf("orders-api"), cur)
			if _, err := smc.TagResource(t.Context(), &sm.TagResourceInput{SecretId: aws.String(a.arn),
				Tags: tagList(map[string]string{ackKey: ackValue})}); err != nil {
				t.Fatal(err)
			}
			h := newGate(t, alternating, 0)
			var pending string
			var pendingCred credential
			h.store.onValue = func() { pending, pendingCred = startRotation(t, a, tt.withTest) }

			dec, err := h.gate.Evaluate(t.Context(), a.arn)
			if err != nil || dec.Action != deactivation.ActionRotationInProgress {
				t.Fatalf("want %q after the Recheck, got %q (%v)", deactivation.ActionRotationInProgress, dec.Action, err)
			}
			if pendingCred.Username != prevCred.Username {
				t.Fatalf("want the pending user to be the previous user %s, got %s", prevCred.Username, pendingCred.Username)
			}
			wantLogin(t, "pending user after the gate's evaluation", pendingCred)
			if got, ok := a.tags(t)[deactivation.DeactivatedTag]; ok {
				t.Errorf("want no %s tag, got %q", deactivation.DeactivatedTag, got)
			}
			if evs := a.received(t); len(evs) != 0 {
				t.Errorf("want no Credential Deactivated event, got %d", len(evs))
			}
			finish(t, a, pending)
			wantLogin(t, "promoted user after finishSecret", pendingCred)
			dec, err = h.gate.Evaluate(t.Context(), a.arn)
			if err != nil || dec.Action != deactivation.ActionWaiting || dec.PreviousVersion != cur {
				t.Errorf("after the rotation: want %q for previous %s, got %+v (%v)", deactivation.ActionWaiting, cur, dec, err)
			}
			noSecretValues(t, a)
		})
	}
}

// TestInUseWaitsForSessions: every consumer acknowledged, but the database
// shows a session of the previous user: the gate revokes nothing and says
// who still uses it. Once the grace period has passed it revokes anyway,
// records the sessions in the log and the event, and leaves the session
// open (revocation stops new logins only).
func TestInUseWaitsForSessions(t *testing.T) {
	a := newApp(t, false, "orders-api")
	prevCred, _ := a.read(t, "AWSCURRENT")
	cur := a.rotate(t, false)
	cfg := db.ConnConfig(prevCred.Username, prevCred.Password, true)
	cfg.RuntimeParams["application_name"] = "orders-api-legacy"
	old, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close(context.WithoutCancel(t.Context()))

	h := newGate(t, alternating, time.Hour)
	ack(t, h, a, "orders-api", cur)
	dec, err := h.gate.Evaluate(t.Context(), a.arn)
	if err != nil || dec.Action != deactivation.ActionInUse || dec.Sessions.Count != 1 {
		t.Fatalf("want %q with 1 session, got %+v (%v)", deactivation.ActionInUse, dec, err)
	}
	wantLogin(t, "previous user in use", prevCred)
	if evs := a.received(t); len(evs) != 0 {
		t.Fatalf("in use: want no event, got %d", len(evs))
	}
	if logs := h.logs.String(); !strings.Contains(logs, "open sessions") || !strings.Contains(logs, "orders-api-legacy") {
		t.Errorf("want a log line with the sessions' evidence, got:\n%s", logs)
	}

	late := newGate(t, alternating, 25*time.Hour)
	dec, err = late.gate.Evaluate(t.Context(), a.arn)
	if err != nil || dec.Action != deactivation.ActionGraceExpired {
		t.Fatalf("after the grace period: want %q, got %+v (%v)", deactivation.ActionGraceExpired, dec, err)
	}
	wantRefused(t, "previous user after the grace period", prevCred)
	if _, err := old.Exec(t.Context(), "SELECT 1"); err != nil {
		t.Errorf("want the open session left alone (revocation stops new logins only), got %v", err)
	}
	evs := a.received(t)
	if len(evs) != 1 {
		t.Fatalf("want one event, got %d", len(evs))
	}
	s := evs[0].Detail.Sessions
	if evs[0].Detail.Outcome != events.OutcomeGraceExpired || s == nil || s.Count != 1 || s.Ended != 0 ||
		!slices.Equal(s.ApplicationNames, []string{"orders-api-legacy"}) || len(s.ClientAddresses) != 1 {
		t.Errorf("want a grace-expired event with the evidence of 1 open session of orders-api-legacy, got %+v (sessions %+v)", evs[0].Detail, s)
	}
	if logs := late.logs.String(); !strings.Contains(logs, `"sessions":1`) {
		t.Errorf("want the revocation's log line to record the session, got:\n%s", logs)
	}
	noSecretValues(t, a)
}

// TestEmergencyRotation: an operator's emergency rotation of a leaked
// AWSCURRENT credential is refused without the confirmation and a reason;
// with them it rotates, and once the rotation completes the leaked
// credential is revoked at once, without acknowledgements or grace, its
// open session ended, and the event says why. A leaked AWSPREVIOUS is
// revoked at once; a pending version never.
func TestEmergencyRotation(t *testing.T) {
	a := newApp(t, false, "orders-api", "billing-worker")
	leaked := a.rotate(t, false)
	leakedCred, _ := a.read(t, "AWSCURRENT")
	h := newGate(t, alternating, 0)
	ctx := t.Context()
	valid := deactivation.EmergencyEvent{Action: deactivation.EmergencyAction, SecretID: a.arn, VersionID: leaked,
		Confirm: deactivation.EmergencyConfirm, Reason: "INC-4711: password pasted in a public channel"}

	before := a.tags(t)
	for _, tt := range []struct {
		name      string
		tweak     func(*deactivation.EmergencyEvent)
		wantField string
	}{
		{"no confirmation", func(e *deactivation.EmergencyEvent) { e.Confirm = "" }, "Confirm"},
		{"wrong confirmation", func(e *deactivation.EmergencyEvent) { e.Confirm = "yes" }, "Confirm"},
		{"no reason", func(e *deactivation.EmergencyEvent) { e.Reason = "" }, "Reason"},
		{"reason with a quote", func(e *deactivation.EmergencyEvent) { e.Reason = `it's out` }, "Reason"},
		{"reason too long", func(e *deactivation.EmergencyEvent) { e.Reason = strings.Repeat("x", 257) }, "Reason"},
		{"no secret", func(e *deactivation.EmergencyEvent) { e.SecretID = "" }, "SecretId"},
		{"unknown version", func(e *deactivation.EmergencyEvent) { e.VersionID = uuid.NewString() }, "VersionId"},
	} {
		ev := valid
		tt.tweak(&ev)
		_, err := h.gate.Emergency(ctx, ev)
		var fe *deactivation.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.wantField {
			t.Errorf("%s: want a FieldError naming %s, got %v", tt.name, tt.wantField, err)
		}
	}
	if after := a.tags(t); len(after) != len(before) {
		t.Fatalf("refused requests: want the tags unchanged, got %v (before %v)", after, before)
	}
	wantLogin(t, "leaked credential after refused requests", leakedCred)

	// A session of the leaker.
	cfg := db.ConnConfig(leakedCred.Username, leakedCred.Password, true)
	cfg.RuntimeParams["application_name"] = "intruder"
	intruder, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Close(context.WithoutCancel(ctx))

	dec, err := h.gate.Emergency(ctx, valid)
	if err != nil || dec.Action != deactivation.ActionEmergencyRotating {
		t.Fatalf("want %q, got %+v (%v)", deactivation.ActionEmergencyRotating, dec, err)
	}
	if err := endpoint.SecretsManager.WaitRotations(ctx); err != nil {
		t.Fatal(err)
	}
	newCur, newCred := a.version(t, "AWSCURRENT"), curCred2(t, a)
	a.passwords(t)
	if newCur == leaked || a.version(t, "AWSPREVIOUS") != leaked {
		t.Fatalf("want the emergency rotation to make %s AWSPREVIOUS, got AWSCURRENT %s", leaked, newCur)
	}
	// Its Rotation Completed reaches the gate: no acknowledgement, no grace.
	if err := h.gate.Handle(ctx, rotorEvent(t, a, events.Completed, newCur, "")); err != nil {
		t.Fatalf("Rotation Completed: want no error, got %v", err)
	}
	wantRefused(t, "leaked credential after the emergency", leakedCred)
	if _, err := intruder.Exec(ctx, "SELECT 1"); err == nil {
		t.Errorf("want the leaked credential's session ended, got a query through")
	}
	wantLogin(t, "new current credential", newCred)
	evs := a.received(t)
	if len(evs) != 1 {
		t.Fatalf("want one event, got %d", len(evs))
	}
	d := evs[0].Detail
	if d.Outcome != events.OutcomeEmergency || d.Reason != valid.Reason || d.PreviousVersionID != leaked || d.Sessions == nil ||
		d.Sessions.Count != 1 || d.Sessions.Ended != 1 || !slices.Equal(d.Sessions.ApplicationNames, []string{"intruder"}) ||
		!slices.Equal(d.Unacknowledged, []string{"billing-worker", "orders-api"}) {
		t.Errorf("want an emergency event with the reason, 1 session ended and both consumers unacknowledged, got %+v (sessions %+v)", d, d.Sessions)
	}
	tags := a.tags(t)
	if tags[deactivation.DeactivatedTag] != leaked || tags[deactivation.EmergencyTag] != deactivation.EmergencyDonePrefix+leaked {
		t.Errorf("want %s = %s and %s done, got %v", deactivation.DeactivatedTag, leaked, deactivation.EmergencyTag, tags)
	}
	if logs := h.logs.String(); !strings.Contains(logs, valid.Reason) || !strings.Contains(logs, "emergency rotation") {
		t.Errorf("want the reason in the log, got:\n%s", logs)
	}
	if dec, err := h.gate.Evaluate(ctx, a.arn); err != nil || dec.Action != deactivation.ActionAlreadyDone {
		t.Errorf("re-evaluation: want %q, got %q (%v)", deactivation.ActionAlreadyDone, dec.Action, err)
	}
	if evs := a.received(t); len(evs) != 0 {
		t.Errorf("re-evaluation: want no new event, got %d", len(evs))
	}

	// A leaked AWSPREVIOUS is revoked now, synchronously.
	next := a.rotate(t, false)
	prevCred, _ := a.read(t, "AWSPREVIOUS")
	ev := valid
	ev.VersionID, ev.Reason = newCur, "INC-4712"
	dec, err = h.gate.Emergency(ctx, ev)
	if err != nil || dec.Action != deactivation.ActionEmergency {
		t.Fatalf("leaked AWSPREVIOUS: want %q, got %+v (%v)", deactivation.ActionEmergency, dec, err)
	}
	wantRefused(t, "leaked previous credential", prevCred)
	wantLogin(t, "current credential after revoking the previous one", curCred2(t, a))

	// A pending version is never revoked.
	pending, _ := startRotation(t, a, false)
	ev.VersionID = pending
	if _, err := h.gate.Emergency(ctx, ev); !errors.Is(err, deactivation.ErrEmergencyRefused) {
		t.Errorf("pending version: want ErrEmergencyRefused, got %v", err)
	}
	pendingCred, _ := a.read(t, "AWSPENDING")
	wantLogin(t, "pending credential after a refused emergency", pendingCred)
	// Nor, during a rotation, a previous version that the rotation is
	// about to move on.
	ev.VersionID = a.version(t, "AWSPREVIOUS")
	if _, err := h.gate.Emergency(ctx, ev); !errors.Is(err, deactivation.ErrEmergencyRefused) {
		t.Errorf("previous version during a rotation: want ErrEmergencyRefused, got %v", err)
	}
	wantLogin(t, "pending credential after a refused emergency of the previous version", pendingCred)
	_ = next
	noSecretValues(t, a)
}

func tagList(m map[string]string) []smtypes.Tag {
	var out []smtypes.Tag
	for k, v := range m {
		out = append(out, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// TestSetHonoursTheGracePolicy: with alternating users the next rotation's
// setSecret ends the previous credential (it changes that user's password),
// so it follows the gate's policy: while the previous user has an open
// session and the grace period since LastRotatedDate (which the engine
// passes to Set) runs, the rotation stops at setSecret, retryably, and
// nothing changes; once the session ended, the same rotation completes.
func TestSetHonoursTheGracePolicy(t *testing.T) {
	a := newApp(t, false)
	ctx := t.Context()
	prevCred, _ := a.read(t, "AWSCURRENT")
	rotate := func(token string) (string, error) {
		in := &sm.RotateSecretInput{SecretId: aws.String(a.arn), RotationLambdaARN: aws.String(endpoint.FunctionARN(fnGraceful))}
		if token != "" {
			in.ClientRequestToken = aws.String(token)
		}
		out, err := smc.RotateSecret(ctx, in)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.VersionId), endpoint.SecretsManager.WaitRotations(ctx)
	}
	if _, err := rotate(""); err != nil {
		t.Fatal(err)
	}
	cur := a.version(t, "AWSCURRENT")
	old, err := pgx.ConnectConfig(ctx, db.ConnConfig(prevCred.Username, prevCred.Password, true))
	if err != nil {
		t.Fatal(err)
	}
	pending, err := rotate("")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.version(t, "AWSCURRENT"); got != cur {
		t.Fatalf("with the previous user in use: want AWSCURRENT to stay on %s, got %s", cur, got)
	}
	if got := a.version(t, "AWSPENDING"); got != pending {
		t.Fatalf("want the stopped rotation's version %s left AWSPENDING, got %s", pending, got)
	}
	wantLogin(t, "previous credential while in use", prevCred)

	old.Close(ctx)
	settle(t, prevCred.Username)
	if _, err := rotate(pending); err != nil {
		t.Fatal(err)
	}
	if got := a.version(t, "AWSCURRENT"); got != pending {
		t.Fatalf("after the session ended: want the rotation completed on %s, got AWSCURRENT %s", pending, got)
	}
	wantLogin(t, "the new current credential", curCred2(t, a))
	noSecretValues(t, a)
}

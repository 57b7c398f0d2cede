package deactivation_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/shared/deactivation"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
)

// otherAccount is a second account of the endpoint (an access key of
// twelve digits is taken as the account).
const otherAccount = "111122223333"

// register sets consumer's registration tag to value.
func (a *app) register(t testing.TB, consumer, value string) {
	t.Helper()
	if _, err := smc.TagResource(t.Context(), &sm.TagResourceInput{SecretId: aws.String(a.arn), Tags: []smtypes.Tag{
		{Key: aws.String(deactivation.ConsumerTagPrefix + consumer), Value: aws.String(value)},
	}}); err != nil {
		t.Fatal(err)
	}
}

// refused returns the RefusedAcknowledgements metric lines of a secret,
// as their Reason dimensions.
func (h *harness) refused(t *testing.T, secretName string) []string {
	t.Helper()
	var reasons []string
	for _, line := range strings.Split(strings.TrimSpace(h.metrics.String()), "\n") {
		var doc map[string]any
		if line == "" || json.Unmarshal([]byte(line), &doc) != nil {
			continue
		}
		if doc[deactivation.DimensionSecretName] == secretName && doc[deactivation.MetricRefusedAcks] != nil {
			reasons = append(reasons, fmt.Sprint(doc[deactivation.DimensionReason]))
		}
	}
	return reasons
}

// TestAcknowledgementIdentity: an acknowledgement counts only when its
// source is the consumer's own and it comes from the registration's
// account (the secret's, when the registration names none). Forged,
// foreign, stale, unregistered and badly registered acknowledgements are
// refused: no tag, a log line and a RefusedAcknowledgements metric, and the
// previous credential keeps working. Each case tweaks one valid baseline.
func TestAcknowledgementIdentity(t *testing.T) {
	a := newApp(t, false, "orders-api", "billing-worker", "partner", "typo")
	a.register(t, "partner", "bus account="+otherAccount)
	a.register(t, "typo", "sqs instance=2")
	prevCred, prev := a.read(t, "AWSCURRENT")
	cur := a.rotate(t, false)
	h := newGate(t, alternating, 0)

	tests := []struct {
		name  string
		tweak func(r *deactivation.AckRequest)
		want  deactivation.AckResult
	}{
		{"another consumer's source", func(r *deactivation.AckRequest) { r.Source = events.ConsumerSource("billing-worker") }, deactivation.AckForged},
		{"rotor's own source", func(r *deactivation.AckRequest) { r.Source = events.Source }, deactivation.AckForged},
		{"no source", func(r *deactivation.AckRequest) { r.Source = "" }, deactivation.AckForged},
		{"another account", func(r *deactivation.AckRequest) { r.Account = otherAccount }, deactivation.AckForeign},
		{"no account", func(r *deactivation.AckRequest) { r.Account = "" }, deactivation.AckForeign},
		{"the previous version", func(r *deactivation.AckRequest) { r.Version = prev }, deactivation.AckStale},
		{"an unregistered consumer", func(r *deactivation.AckRequest) {
			r.Consumer, r.Source = "reporting", events.ConsumerSource("reporting")
		}, deactivation.AckUnregistered},
		{"a registration that does not parse", func(r *deactivation.AckRequest) {
			r.Consumer, r.Source = "typo", events.ConsumerSource("typo")
		}, deactivation.AckBadRegistration},
		{"a consumer of another account, from the secret's", func(r *deactivation.AckRequest) {
			r.Consumer, r.Source = "partner", events.ConsumerSource("partner")
		}, deactivation.AckForeign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.tags(t)
			req := ackOf(a, "orders-api", cur)
			tt.tweak(&req)
			got, err := h.gate.Acknowledge(t.Context(), req)
			if err != nil || got != tt.want {
				t.Fatalf("want %q, got %q (%v)", tt.want, got, err)
			}
			if after := a.tags(t); len(after) != len(before) {
				t.Errorf("want no tag written, got %d tags (before %d)", len(after), len(before))
			}
			if reasons := h.refused(t, a.name); len(reasons) == 0 || reasons[len(reasons)-1] != string(tt.want) {
				t.Errorf("want a RefusedAcknowledgements metric with Reason %q, got %v", tt.want, reasons)
			}
			if !strings.Contains(h.logs.String(), `"reason":"`+string(tt.want)+`"`) {
				t.Errorf("want a log line with reason %q, got:\n%s", tt.want, h.logs.String())
			}
		})
	}
	wantLogin(t, "previous user after refused acknowledgements", prevCred)

	// The same checks hold through Handle, which takes the source and the
	// account from the EventBridge envelope, not from the detail.
	forged := rotorEvent(t, a, events.ConsumerAcknowledged, cur, "orders-api")
	forged.Source = events.ConsumerSource("billing-worker")
	foreign := rotorEvent(t, a, events.ConsumerAcknowledged, cur, "billing-worker")
	foreign.AccountID = otherAccount
	for _, ev := range []awsevents.EventBridgeEvent{forged, foreign} {
		if err := h.gate.Handle(t.Context(), ev); err != nil {
			t.Fatalf("Handle of a refused acknowledgement: want no error (it is recorded, not retried), got %v", err)
		}
	}
	if got := h.refused(t, a.name); !slices.Equal(got[len(got)-2:], []string{string(deactivation.AckForged), string(deactivation.AckForeign)}) {
		t.Errorf("through Handle: want forged then foreign refused, got %v", got)
	}

	// The valid acknowledgements: the partner's from its own account.
	for _, c := range []string{"orders-api", "billing-worker"} {
		if res, err := h.gate.Acknowledge(t.Context(), ackOf(a, c, cur)); err != nil || res != deactivation.AckRecorded {
			t.Fatalf("%s: want %q, got %q (%v)", c, deactivation.AckRecorded, res, err)
		}
	}
	req := ackOf(a, "partner", cur)
	req.Account = otherAccount
	if res, err := h.gate.Acknowledge(t.Context(), req); err != nil || res != deactivation.AckRecorded {
		t.Fatalf("partner from its account: want %q, got %q (%v)", deactivation.AckRecorded, res, err)
	}
	// "typo" never acknowledges: only the grace period revokes.
	dec, err := h.gate.Evaluate(t.Context(), a.arn)
	if err != nil || dec.Action != deactivation.ActionWaiting || !slices.Equal(dec.Unacknowledged, []string{"typo"}) {
		t.Fatalf("with a bad registration: want %q with typo missing, got %+v (%v)", deactivation.ActionWaiting, dec, err)
	}
	wantLogin(t, "previous user while a badly registered consumer is missing", prevCred)
	late := newGate(t, alternating, 25*time.Hour)
	if dec, err := late.gate.Evaluate(t.Context(), a.arn); err != nil || dec.Action != deactivation.ActionGraceExpired {
		t.Fatalf("after the grace period: want %q, got %+v (%v)", deactivation.ActionGraceExpired, dec, err)
	}
	wantRefused(t, "previous user after the grace period", prevCred)
	noSecretValues(t, a)
}

// TestAcknowledgementsThroughTheBus: the model end to end on the local
// EventBridge. The bus admits account otherAccount for the acknowledgements
// of its consumer "partner" only (the policy infra/rotor writes:
// events:source and events:detail-type conditions), and EventBridge stamps
// the sender's account on what it delivers. From otherAccount:
//
//   - an acknowledgement of source rotor.consumer.orders-api is refused by
//     the bus;
//   - one of partner's source that names orders-api in its detail is
//     delivered, and the gate refuses it as forged;
//   - partner's own is delivered and recorded (its registration says
//     account=otherAccount), and the previous credential is revoked.
//
// And from the secret's account, partner's acknowledgement is foreign.
func TestAcknowledgementsThroughTheBus(t *testing.T) {
	a := newApp(t, false, "partner")
	a.register(t, "partner", "bus account="+otherAccount)
	prevCred, _ := a.read(t, "AWSCURRENT")
	cur := a.rotate(t, false)
	h := newGate(t, alternating, 0)
	ctx := t.Context()

	bus := fmt.Sprintf("acks-%d", seq.Add(1))
	if _, err := ebc.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"AcknowledgeFrompartner","Effect":"Allow",
		"Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"events:PutEvents","Resource":%q,
		"Condition":{"StringEquals":{"events:source":%q,"events:detail-type":%q}}}]}`,
		otherAccount, a.busARN(bus), events.ConsumerSource("partner"), events.ConsumerAcknowledged)
	if _, err := ebc.PutPermission(ctx, &eventbridge.PutPermissionInput{EventBusName: aws.String(bus), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	url, arn := awstest.Queue(t, sqsc, bus)
	awstest.Route(t, ebc, bus, bus, `{"source":[{"prefix":"rotor.consumer."}],"detail-type":["Consumer Acknowledged"]}`, arn)
	other := awstest.Config(endpoint.URL)
	other.Credentials = credentials.NewStaticCredentialsProvider(otherAccount, "local", "")
	put := func(source, consumer string) *eventbridge.PutEventsOutput {
		t.Helper()
		ev := rotorEvent(t, a, events.ConsumerAcknowledged, cur, consumer)
		out, err := eventbridge.NewFromConfig(other).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String(a.busARN(bus)), Source: aws.String(source), DetailType: aws.String(ev.DetailType),
			Detail: aws.String(string(ev.Detail)), Resources: ev.Resources,
		}}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	deliver := func(what string) {
		t.Helper()
		bodies := awstest.Drain(t, endpoint, sqsc, url)
		if len(bodies) != 1 {
			t.Fatalf("%s: want one event delivered, got %d", what, len(bodies))
		}
		var ev awsevents.EventBridgeEvent
		if err := json.Unmarshal(bodies[0], &ev); err != nil {
			t.Fatal(err)
		}
		if ev.AccountID != otherAccount {
			t.Fatalf("%s: want the event stamped with the sender's account %s, got %s", what, otherAccount, ev.AccountID)
		}
		if err := h.gate.Handle(ctx, ev); err != nil {
			t.Fatalf("%s: Handle: want no error, got %v", what, err)
		}
	}

	if out := put(events.ConsumerSource("orders-api"), "orders-api"); out.FailedEntryCount != 1 || aws.ToString(out.Entries[0].ErrorCode) != "AccessDeniedException" {
		t.Fatalf("another consumer's source from the partner's account: want AccessDeniedException, got %+v", out.Entries)
	}
	if out := put(events.ConsumerSource("partner"), "orders-api"); out.FailedEntryCount != 0 {
		t.Fatalf("partner's source: want it accepted, got %+v", out.Entries)
	}
	deliver("partner's source naming orders-api")
	wantLogin(t, "previous user after a forged acknowledgement", prevCred)

	// From the secret's own account, partner's acknowledgement is foreign.
	if res, err := h.gate.Acknowledge(ctx, ackOf(a, "partner", cur)); err != nil || res != deactivation.AckForeign {
		t.Fatalf("partner from the secret's account: want %q, got %q (%v)", deactivation.AckForeign, res, err)
	}
	if got := h.refused(t, a.name); !slices.Equal(got, []string{string(deactivation.AckForged), string(deactivation.AckForeign)}) {
		t.Errorf("want forged then foreign refused, got %v", got)
	}
	wantLogin(t, "previous user after a foreign acknowledgement", prevCred)

	if out := put(events.ConsumerSource("partner"), "partner"); out.FailedEntryCount != 0 {
		t.Fatalf("partner's own acknowledgement: want it accepted, got %+v", out.Entries)
	}
	deliver("partner's own acknowledgement")
	wantRefused(t, "previous user after partner acknowledged from its account", prevCred)
	noSecretValues(t, a)
}

func (a *app) busARN(bus string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", awslocal.DefaultRegion, awslocal.DefaultAccount, bus)
}

// TestInstances: with "instances=3" in the registration, the previous
// credential stays until three instances of the consumer acknowledged the
// current version; one instance's acknowledgement, or the same instance
// twice, does not speak for the others.
func TestInstances(t *testing.T) {
	a := newApp(t, false, "orders-api", "billing-worker")
	a.register(t, "orders-api", "sqs instances=3")
	prevCred, _ := a.read(t, "AWSCURRENT")
	old := a.version(t, "AWSCURRENT")
	h := newGate(t, alternating, 0)
	inst := func(instance, version string) deactivation.AckRequest {
		r := ackOf(a, "orders-api", version)
		r.Instance = instance
		return r
	}
	// An instance that acknowledged the version before the rotation counts
	// for nothing after it.
	if res, err := h.gate.Acknowledge(t.Context(), inst("pod-c", old)); err != nil || res != deactivation.AckRecorded {
		t.Fatalf("ack before the rotation: want %q, got %q (%v)", deactivation.AckRecorded, res, err)
	}
	cur := a.rotate(t, false)
	ack(t, h, a, "billing-worker", cur)
	for _, step := range []struct {
		instance string
		want     deactivation.AckResult
	}{{"pod-a", deactivation.AckRecorded}, {"pod-b", deactivation.AckRecorded}, {"pod-b", deactivation.AckDuplicate}} {
		if res, err := h.gate.Acknowledge(t.Context(), inst(step.instance, cur)); err != nil || res != step.want {
			t.Fatalf("%s: want %q, got %q (%v)", step.instance, step.want, res, err)
		}
	}
	dec, err := h.gate.Evaluate(t.Context(), a.arn)
	if err != nil || dec.Action != deactivation.ActionWaiting || !slices.Equal(dec.Unacknowledged, []string{"orders-api"}) {
		t.Fatalf("two of three instances: want %q with orders-api missing, got %+v (%v)", deactivation.ActionWaiting, dec, err)
	}
	wantLogin(t, "previous user with one instance missing", prevCred)
	if ackedVersion(t, a, "orders-api", "pod-c") != old {
		t.Fatalf("want pod-c's tag to hold the old version")
	}
	if res, err := h.gate.Acknowledge(t.Context(), inst("pod-c", cur)); err != nil || res != deactivation.AckRecorded {
		t.Fatalf("pod-c: want %q, got %q (%v)", deactivation.AckRecorded, res, err)
	}
	wantRefused(t, "previous user after the third instance", prevCred)
	noSecretValues(t, a)
}

// TestConcurrentAcknowledgements: the last two consumers acknowledge at
// the same time, and each reads the tags before the other writes its own
// (a hook in the store holds each TagResource until both have read). The
// previous credential is revoked all the same, at once, not at the next
// hourly sweep: the evaluation reads the tags again after writing.
func TestConcurrentAcknowledgements(t *testing.T) {
	a := newApp(t, false, "orders-api", "billing-worker")
	prevCred, prev := a.read(t, "AWSCURRENT")
	cur := a.rotate(t, false)
	h := newGate(t, alternating, 0)
	var bothRead sync.WaitGroup
	bothRead.Add(2)
	var once sync.Map
	h.store.beforeTag = func(tags map[string]string) {
		for k := range tags {
			if strings.HasPrefix(k, deactivation.AckTagPrefix) {
				if _, again := once.LoadOrStore(k, true); !again {
					bothRead.Done()
					bothRead.Wait()
				}
			}
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []string{"orders-api", "billing-worker"} {
		wg.Go(func() {
			res, err := h.gate.Acknowledge(t.Context(), ackOf(a, c, cur))
			if err == nil && res != deactivation.AckRecorded {
				err = fmt.Errorf("want %q, got %q", deactivation.AckRecorded, res)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent acknowledgement: %v", err)
		}
	}
	wantRefused(t, "previous user after two concurrent acknowledgements", prevCred)
	if got := a.tags(t)[deactivation.DeactivatedTag]; got != prev {
		t.Errorf("want %s = %s, got %q", deactivation.DeactivatedTag, prev, got)
	}
	if evs := a.received(t); len(evs) == 0 {
		t.Errorf("want a Credential Deactivated event, got none")
	}
	noSecretValues(t, a)
}

// TestTagBudget: acknowledgements share the secret's 50 tags. When the
// secret is full, the acknowledgements of older versions (instances gone,
// rotations past) make room; when nothing can go, the acknowledgement is
// refused as no-room, and the consumer waits for the grace period.
func TestTagBudget(t *testing.T) {
	a := newApp(t, false, "orders-api")
	prevCred, _ := a.read(t, "AWSCURRENT")
	old := a.version(t, "AWSCURRENT")
	fill := map[string]string{}
	for i := 0; len(a.tags(t))+len(fill) < deactivation.MaxTags; i++ {
		k, v := deactivation.InstanceAckTag("orders-api", fmt.Sprintf("gone-%d", i), old)
		fill[k] = v
	}
	a.tag(t, fill)
	cur := a.rotate(t, false)
	h := newGate(t, alternating, 0)
	if res, err := h.gate.Acknowledge(t.Context(), ackOf(a, "orders-api", cur)); err != nil || res != deactivation.AckRecorded {
		t.Fatalf("with the secret full of old acknowledgements: want %q, got %q (%v)", deactivation.AckRecorded, res, err)
	}
	tags := a.tags(t)
	for k := range fill {
		if _, ok := tags[k]; ok {
			t.Fatalf("want the old acknowledgements removed, got %s still", k)
		}
	}
	wantRefused(t, "previous user after the acknowledgement", prevCred)

	b := newApp(t, false, "orders-api")
	bPrev, _ := b.read(t, "AWSCURRENT")
	// rotor:deactivated is among them (from an earlier rotation), so that
	// the gate can still record a deactivation on the full secret.
	fill = map[string]string{deactivation.DeactivatedTag: "none"}
	for i := 0; len(b.tags(t))+len(fill) < deactivation.MaxTags; i++ {
		fill[fmt.Sprintf("team-%d", i)] = "x"
	}
	b.tag(t, fill)
	bcur := b.rotate(t, false)
	if res, err := h.gate.Acknowledge(t.Context(), ackOf(b, "orders-api", bcur)); err != nil || res != deactivation.AckNoRoom {
		t.Fatalf("with the secret full of other tags: want %q, got %q (%v)", deactivation.AckNoRoom, res, err)
	}
	if got := h.refused(t, b.name); !slices.Equal(got, []string{string(deactivation.AckNoRoom)}) {
		t.Errorf("want the refusal counted, got %v", got)
	}
	wantLogin(t, "previous user when the acknowledgement found no room", bPrev)
}

// tag adds tags to the app's secret.
func (a *app) tag(t *testing.T, tags map[string]string) {
	t.Helper()
	in := &sm.TagResourceInput{SecretId: aws.String(a.arn)}
	for k, v := range tags {
		in.Tags = append(in.Tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := smc.TagResource(t.Context(), in); err != nil {
		t.Fatal(err)
	}
}

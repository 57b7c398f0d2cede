package lifecycle_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/rotorhq/rotor/shared/lifecycle"
)

// TestRotationEventFixture round-trips the event Secrets Manager sends to a
// rotation function through aws-lambda-go's type.
func TestRotationEventFixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/rotation-event.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SecretsManagerSecretRotationEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Step != "createSecret" || ev.RotationToken == "" || ev.ClientRequestToken == "" || !strings.HasPrefix(ev.SecretID, "arn:") {
		t.Fatalf("want every field read, got %+v", ev)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	_ = json.Unmarshal(raw, &a)
	_ = json.Unmarshal(out, &b)
	if len(a) != len(b) {
		t.Fatalf("want the same fields back, got %s", out)
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("field %s: want %v, got %v", k, v, b[k])
		}
	}
}

// TestHandleRotationEvent runs a step through the Lambda handler: the
// event's fields reach the store, and the request id reaches the log.
func TestHandleRotationEvent(t *testing.T) {
	f := newFixture(t, nil)
	rec := &recorder{Store: f.store}
	eng, err := lifecycle.New(rec, f.rot, lifecycle.DefaultConfig(), loggerTo(f))
	if err != nil {
		t.Fatal(err)
	}
	token := f.start(t)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-42"})
	err = eng.HandleRotationEvent(ctx, events.SecretsManagerSecretRotationEvent{
		Step: "createSecret", SecretID: f.arn, ClientRequestToken: token, RotationToken: "rot-7",
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.put.VersionID != token || rec.put.RotationToken != "rot-7" {
		t.Errorf("want the token and RotationToken passed on, got %q and %q", rec.put.VersionID, rec.put.RotationToken)
	}
	if !strings.Contains(f.logs.String(), `"request_id":"req-42"`) {
		t.Errorf("want the request id in the log, got %s", f.logs.String())
	}
	err = eng.HandleRotationEvent(ctx, events.SecretsManagerSecretRotationEvent{Step: "rotateSecret", SecretID: f.arn, ClientRequestToken: token})
	if err == nil || !strings.Contains(err.Error(), `"Step"`) {
		t.Errorf("want an error naming Step, got %v", err)
	}
}

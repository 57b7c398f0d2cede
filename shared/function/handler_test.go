package function

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"
)

type recorder struct {
	rotations []awsevents.SecretsManagerSecretRotationEvent
	events    []awsevents.EventBridgeEvent
}

func (r *recorder) HandleRotationEvent(_ context.Context, ev awsevents.SecretsManagerSecretRotationEvent) error {
	r.rotations = append(r.rotations, ev)
	return nil
}

func (r *recorder) Handle(_ context.Context, ev awsevents.EventBridgeEvent) error {
	r.events = append(r.events, ev)
	return nil
}

func TestHandlerRoutesByPayload(t *testing.T) {
	rotation := `{"Step":"createSecret","SecretId":"arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf","ClientRequestToken":"t1"}`
	event := `{"version":"0","id":"e1","detail-type":"Scheduled Event","source":"aws.events","account":"111122223333","time":"2026-11-25T10:00:00Z","region":"eu-west-1","detail":{}}`
	cases := []struct {
		name              string
		payload           string
		gate              bool
		wantErr           error
		rotations, events int
	}{
		{"rotation step", rotation, true, nil, 1, 0},
		{"rotation step without gate", rotation, false, nil, 1, 0},
		{"eventbridge event", event, true, nil, 0, 1},
		{"eventbridge event without gate", event, false, ErrNoGate, 0, 0},
		{"neither", `{"hello":"world"}`, true, ErrUnknownPayload, 0, 0},
		{"not an object", `[1,2]`, true, ErrUnknownPayload, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &recorder{}
			var gate EventHandler
			if c.gate {
				gate = r
			}
			err := Handler(r, gate)(context.Background(), json.RawMessage(c.payload))
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
				t.Fatalf("want error %v, got %v", c.wantErr, err)
			}
			if len(r.rotations) != c.rotations || len(r.events) != c.events {
				t.Fatalf("want %d rotations and %d events handled, got %d and %d", c.rotations, c.events, len(r.rotations), len(r.events))
			}
			if c.rotations == 1 && (r.rotations[0].Step != "createSecret" || r.rotations[0].ClientRequestToken != "t1") {
				t.Errorf("rotation event decoded wrong: %+v", r.rotations[0])
			}
			if c.events == 1 && r.events[0].DetailType != "Scheduled Event" {
				t.Errorf("eventbridge event decoded wrong: %+v", r.events[0])
			}
		})
	}
}

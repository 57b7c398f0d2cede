package function

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/rotorhq/rotor/shared/deactivation"
	"github.com/rotorhq/rotor/shared/lifecycle"
)

type recorder struct {
	rotations   []awsevents.SecretsManagerSecretRotationEvent
	rollbacks   []lifecycle.RollbackEvent
	events      []awsevents.EventBridgeEvent
	emergencies []deactivation.EmergencyEvent
}

func (r *recorder) HandleEmergency(_ context.Context, ev deactivation.EmergencyEvent) error {
	r.emergencies = append(r.emergencies, ev)
	return nil
}

func (r *recorder) HandleRollback(_ context.Context, ev lifecycle.RollbackEvent) error {
	r.rollbacks = append(r.rollbacks, ev)
	return nil
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
	rollback := `{"Action":"rollback","SecretId":"prod/db","FromVersionId":"v2"}`
	emergency := `{"Action":"emergency-rotation","SecretId":"prod/db","VersionId":"v2","Confirm":"revoke-now","Reason":"INC-1"}`
	event := `{"version":"0","id":"e1","detail-type":"Scheduled Event","source":"aws.events","account":"111122223333","time":"2026-11-25T10:00:00Z","region":"eu-west-1","detail":{}}`
	cases := []struct {
		name                                      string
		payload                                   string
		gate                                      bool
		wantErr                                   error
		rotations, rollbacks, events, emergencies int
	}{
		{"rotation step", rotation, true, nil, 1, 0, 0, 0},
		{"rotation step without gate", rotation, false, nil, 1, 0, 0, 0},
		{"rollback", rollback, false, nil, 0, 1, 0, 0},
		{"emergency rotation", emergency, true, nil, 0, 0, 0, 1},
		{"emergency rotation without gate", emergency, false, ErrNoGate, 0, 0, 0, 0},
		{"eventbridge event", event, true, nil, 0, 0, 1, 0},
		{"eventbridge event without gate", event, false, ErrNoGate, 0, 0, 0, 0},
		{"none of them", `{"hello":"world"}`, true, ErrUnknownPayload, 0, 0, 0, 0},
		{"not an object", `[1,2]`, true, ErrUnknownPayload, 0, 0, 0, 0},
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
			if len(r.rotations) != c.rotations || len(r.rollbacks) != c.rollbacks || len(r.events) != c.events || len(r.emergencies) != c.emergencies {
				t.Fatalf("want %d rotations, %d rollbacks, %d events and %d emergencies handled, got %d, %d, %d and %d",
					c.rotations, c.rollbacks, c.events, c.emergencies, len(r.rotations), len(r.rollbacks), len(r.events), len(r.emergencies))
			}
			if c.emergencies == 1 && (r.emergencies[0].SecretID != "prod/db" || r.emergencies[0].VersionID != "v2" || r.emergencies[0].Confirm != "revoke-now" || r.emergencies[0].Reason != "INC-1") {
				t.Errorf("emergency decoded wrong: %+v", r.emergencies[0])
			}
			if c.rollbacks == 1 && (r.rollbacks[0].SecretID != "prod/db" || r.rollbacks[0].FromVersionID != "v2") {
				t.Errorf("rollback decoded wrong: %+v", r.rollbacks[0])
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

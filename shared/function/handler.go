package function

import (
	"context"
	"encoding/json"
	"errors"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/rotorhq/rotor/shared/deactivation"
	"github.com/rotorhq/rotor/shared/lifecycle"
)

// One function serves four kinds of invocation: Secrets Manager's
// rotation steps, an operator's rollback or emergency rotation, and the
// EventBridge events of the
// deactivation gate (consumer acknowledgements, completed rotations, the
// hourly schedule). Serving them from one function keeps one role, one
// network path to the database and one deployment per credential type.

// RotationHandler runs a rotation step or a rollback (lifecycle.Engine).
type RotationHandler interface {
	HandleRotationEvent(ctx context.Context, ev awsevents.SecretsManagerSecretRotationEvent) error
	HandleRollback(ctx context.Context, ev lifecycle.RollbackEvent) error
}

// EventHandler takes EventBridge events (deactivation.Gate).
type EventHandler interface {
	Handle(ctx context.Context, ev awsevents.EventBridgeEvent) error
}

// EmergencyHandler takes an operator's emergency rotation
// (deactivation.Gate); the gate an [EventHandler] is may have it.
type EmergencyHandler interface {
	HandleEmergency(ctx context.Context, ev deactivation.EmergencyEvent) error
}

// ErrNoGate is returned for an EventBridge event when the function runs
// without a gate (no event bus configured).
var ErrNoGate = errors.New("this function has no deactivation gate: set ROTOR_EVENT_BUS")

// ErrUnknownPayload is returned for a payload that is neither a rotation
// step, a rollback nor an EventBridge event.
var ErrUnknownPayload = errors.New("payload is neither a Secrets Manager rotation step, a rollback nor an EventBridge event")

// Handler returns the function's Lambda handler: a payload with "Step" is
// a rotation step, one with "Action" a rollback, or an emergency rotation
// when the Action is deactivation.EmergencyAction (which needs the gate),
// one with "detail-type" an EventBridge event. gate may be nil.
func Handler(rotation RotationHandler, gate EventHandler) func(ctx context.Context, payload json.RawMessage) error {
	return func(ctx context.Context, payload json.RawMessage) error {
		var probe struct {
			Step       *string `json:"Step"`
			Action     *string `json:"Action"`
			DetailType *string `json:"detail-type"`
		}
		if err := json.Unmarshal(payload, &probe); err != nil {
			// The decoder's message quotes no input beyond a type name.
			return errors.Join(ErrUnknownPayload, err)
		}
		switch {
		case probe.Step != nil:
			var ev awsevents.SecretsManagerSecretRotationEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				return err
			}
			return rotation.HandleRotationEvent(ctx, ev)
		case probe.Action != nil && *probe.Action == deactivation.EmergencyAction:
			eh, ok := gate.(EmergencyHandler)
			if !ok {
				return ErrNoGate
			}
			var ev deactivation.EmergencyEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				return err
			}
			return eh.HandleEmergency(ctx, ev)
		case probe.Action != nil:
			var ev lifecycle.RollbackEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				return err
			}
			return rotation.HandleRollback(ctx, ev)
		case probe.DetailType != nil:
			if gate == nil {
				return ErrNoGate
			}
			var ev awsevents.EventBridgeEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				return err
			}
			return gate.Handle(ctx, ev)
		}
		return ErrUnknownPayload
	}
}

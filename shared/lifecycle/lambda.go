package lifecycle

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// HandleRotationEvent is the Lambda handler of a rotation function: it
// types the event at the edge and runs the step.
func (e *Engine) HandleRotationEvent(ctx context.Context, ev events.SecretsManagerSecretRotationEvent) error {
	return e.Run(ctx, Request{
		SecretID:      ev.SecretID,
		Token:         ev.ClientRequestToken,
		Step:          Step(ev.Step),
		RotationToken: ev.RotationToken,
	})
}

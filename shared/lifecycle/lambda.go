package lifecycle

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// HandleRotationEvent is the Lambda handler of a rotation function: it
// types the event at the edge and runs the step.
func (e *Engine) HandleRotationEvent(ctx context.Context, ev events.SecretsManagerSecretRotationEvent) error {
	req := Request{
		SecretID:      ev.SecretID,
		Token:         ev.ClientRequestToken,
		Step:          Step(ev.Step),
		RotationToken: ev.RotationToken,
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		req.InvocationID = lc.AwsRequestID
	}
	return e.Run(ctx, req)
}

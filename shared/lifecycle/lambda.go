package lifecycle

import (
	"context"
	"fmt"

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

// RollbackAction is the Action of a rollback payload.
const RollbackAction = "rollback"

// RollbackEvent is the payload with which an operator asks the function to
// roll back (aws lambda invoke --payload):
//
//	{"Action": "rollback", "SecretId": "<arn or name>", "FromVersionId": "<version>"}
//
// FromVersionId is AWSCURRENT's version to move AWSCURRENT back after
// finishSecret, or AWSPENDING's to drop a rotation before it ([Engine.Rollback]).
type RollbackEvent struct {
	Action        string `json:"Action"`
	SecretID      string `json:"SecretId"`
	FromVersionID string `json:"FromVersionId"`
}

// HandleRollback is the Lambda handler of a rollback payload.
func (e *Engine) HandleRollback(ctx context.Context, ev RollbackEvent) error {
	if ev.Action != RollbackAction {
		return &RollbackError{SecretID: ev.SecretID, Phase: "request", Err: &InputError{Field: "Action", Reason: fmt.Sprintf("want %q", RollbackAction)}}
	}
	return e.Rollback(ctx, RollbackRequest{SecretID: ev.SecretID, FromVersion: ev.FromVersionID})
}

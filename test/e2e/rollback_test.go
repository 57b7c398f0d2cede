package e2e_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/rotorhq/rotor/shared/lifecycle"
)

// invokeRollback asks the function to roll back, as an operator does with
// `aws lambda invoke`; it returns Lambda's FunctionError and payload.
func invokeRollback(t *testing.T, function, arn, from string) (functionError string, payload []byte) {
	t.Helper()
	body, _ := json.Marshal(lifecycle.RollbackEvent{Action: lifecycle.RollbackAction, SecretID: arn, FromVersionID: from})
	out, err := lambdasdk.NewFromConfig(awsConfig()).Invoke(context.Background(), &lambdasdk.InvokeInput{
		FunctionName: aws.String(endpoint.FunctionARN(function)), Payload: body,
	})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return aws.ToString(out.FunctionError), out.Payload
}

// With alternating users the previous user still logs in: a rollback moves
// AWSCURRENT back to it. With a single user the old password is gone: the
// function refuses and nothing moves.
func TestRollbackThroughTheFunction(t *testing.T) {
	t.Run("alternating-users", func(t *testing.T) {
		arn := newApp(t, "app_rollback")
		_, first := read(t, arn, "AWSCURRENT")
		second := rotate(t, arn, "rotor-postgres", "")
		if fe, payload := invokeRollback(t, "rotor-postgres", arn, second); fe != "" {
			t.Fatalf("want the rollback done, got %s: %s", fe, payload)
		}
		cur, curVersion := read(t, arn, "AWSCURRENT")
		_, prevVersion := read(t, arn, "AWSPREVIOUS")
		if curVersion != first || prevVersion != second {
			t.Fatalf("want AWSCURRENT back on %s and AWSPREVIOUS on %s, got %s and %s", first, second, curVersion, prevVersion)
		}
		mustLogin(t, cur, "AWSCURRENT after the rollback")
		// Asked again: done already, nothing moves.
		if fe, payload := invokeRollback(t, "rotor-postgres", arn, second); fe != "" {
			t.Fatalf("asked again: want success, got %s: %s", fe, payload)
		}
		if _, v := read(t, arn, "AWSCURRENT"); v != first {
			t.Fatalf("asked again: want AWSCURRENT to stay on %s, got %s", first, v)
		}
	})
	t.Run("single-user", func(t *testing.T) {
		arn := newApp(t, "app_rollback_single")
		second := rotate(t, arn, "rotor-postgres-single", "")
		fe, payload := invokeRollback(t, "rotor-postgres-single", arn, second)
		if fe == "" || !strings.Contains(string(payload), "RollbackError") || !strings.Contains(string(payload), "no longer works") {
			t.Fatalf("want a RollbackError saying the previous credential no longer works, got %q: %s", fe, payload)
		}
		cur, v := read(t, arn, "AWSCURRENT")
		if v != second {
			t.Fatalf("want AWSCURRENT to stay on %s, got %s", second, v)
		}
		mustLogin(t, cur, "AWSCURRENT after a refused rollback")
	})
	checkNoSecretInLogs(t)
}

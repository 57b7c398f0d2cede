package lambda

import (
	"strings"
	"testing"
	"time"
)

// TestPostgresFunctionBoots runs the real functions/postgres bootstrap under
// aws-lambda-rie and sends it rotation events it must refuse: the refusals
// come back as Lambda function errors that name the field, which proves the
// binary starts, reads its configuration and runs the engine under the
// emulator. Its Secrets Manager endpoint is a port nothing listens on: a
// refused event must not reach it.
func TestPostgresFunctionBoots(t *testing.T) {
	rie := rieTB(t)
	boot := bootstrap(t, "../../../functions/postgres")
	reg := NewRegistry(RegistryOptions{})
	defer reg.Close()
	const arn = "arn:aws:lambda:eu-west-1:111122223333:function:rotor-postgres"
	var output syncBuffer
	if _, err := reg.StartFunction(t.Context(), arn, RIEOptions{
		Path:      rie,
		Bootstrap: boot,
		Env:       map[string]string{"SECRETS_MANAGER_ENDPOINT": "http://127.0.0.1:9"},
		Timeout:   10 * time.Second,
		Stdout:    &output,
		Stderr:    &output,
	}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, event, wantInMessage string
	}{
		{"missing SecretId", `{"ClientRequestToken":"9c1f0b7e-1111-4a5e-9d7e-000000000001","Step":"createSecret"}`, `field "SecretId": missing`},
		{"missing ClientRequestToken", `{"SecretId":"app/orders","Step":"createSecret"}`, `field "ClientRequestToken": missing`},
		{"unknown step", `{"SecretId":"app/orders","ClientRequestToken":"9c1f0b7e-1111-4a5e-9d7e-000000000001","Step":"rotateEverything"}`, `field "Step": unknown step "rotateEverything"`},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requestID := "rotor-lambda-test-" + string(rune('a'+i))
			ctx := withInvocation(t.Context(), invocation{RequestID: requestID})
			start := time.Now()
			_, err := reg.Invoke(ctx, arn, []byte(c.event))
			t.Logf("invocation took %s", time.Since(start))
			// The engine wraps the refusal in its StepError, whose name
			// Lambda reports as errorType.
			wantFunctionError(t, err, "StepError", c.wantInMessage)
			// The function's JSON log line for the step, with Lambda's request id.
			if want := `"request_id":"` + requestID + `"`; !eventually(2*time.Second, func() bool { return strings.Contains(output.String(), want) }) {
				t.Errorf("want the function's log line with %s, got:\n%s", want, output.String())
			}
		})
	}
}

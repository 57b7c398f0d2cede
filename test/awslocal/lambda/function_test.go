package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// RotationRefused is an error type with a name worth reporting, as
// rotor's StepError is.
type RotationRefused struct{ Reason string }

func (e *RotationRefused) Error() string { return "refused: " + e.Reason }

type testEvent struct {
	Value  string `json:"value"`
	Fail   string `json:"fail"`
	Panic  string `json:"panic"`
	Custom bool   `json:"custom"`
}

type testResponse struct {
	Value       string `json:"value"`
	RequestID   string `json:"requestId"`
	FunctionARN string `json:"functionArn"`
}

func testHandler(ctx context.Context, ev testEvent) (testResponse, error) {
	switch {
	case ev.Fail != "":
		return testResponse{}, &RotationRefused{Reason: ev.Fail}
	case ev.Panic != "":
		panic(ev.Panic)
	case ev.Custom:
		return testResponse{}, messages.InvokeResponse_Error{Type: "Custom.Type", Message: "custom"}
	}
	lc, _ := lambdacontext.FromContext(ctx)
	return testResponse{Value: ev.Value, RequestID: lc.AwsRequestID, FunctionARN: lc.InvokedFunctionArn}, nil
}

func TestHandler(t *testing.T) {
	fn := Handler(testHandler)
	const arn = "arn:aws:lambda:eu-west-1:111122223333:function:test"
	ctx := withInvocation(t.Context(), invocation{RequestID: "req-1", FunctionARN: arn})

	out, err := fn.Invoke(ctx, []byte(`{"value":"v"}`))
	if err != nil {
		t.Fatalf("want a response, got %v", err)
	}
	var resp testResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if want := (testResponse{Value: "v", RequestID: "req-1", FunctionARN: arn}); resp != want {
		t.Errorf("want %+v, got %+v", want, resp)
	}

	cases := []struct {
		name, payload, wantType, wantMessage string
	}{
		{"returned error: its type's name", `{"fail":"locked"}`, "RotationRefused", "refused: locked"},
		{"panic: the panic value's type", `{"panic":"kaboom"}`, "string", "kaboom"},
		{"InvokeResponse_Error: as it says", `{"custom":true}`, "Custom.Type", "custom"},
		{"payload that does not decode", `[1,2]`, "UnmarshalTypeError", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := fn.Invoke(ctx, []byte(c.payload))
			var fe *FunctionError
			if !errors.As(err, &fe) {
				t.Fatalf("want a *FunctionError, got %v (response %s)", err, out)
			}
			if fe.Type != c.wantType {
				t.Errorf("want errorType %q, got %q", c.wantType, fe.Type)
			}
			if c.wantMessage != "" && fe.Message != c.wantMessage {
				t.Errorf("want errorMessage %q, got %q", c.wantMessage, fe.Message)
			}
			var body map[string]string
			if err := json.Unmarshal(fe.Body(), &body); err != nil || body["errorType"] != c.wantType {
				t.Errorf("want a body with errorType %q, got %s (%v)", c.wantType, fe.Body(), err)
			}
		})
	}
}

func TestHandlerInvalid(t *testing.T) {
	_, err := Handler("not a function").Invoke(t.Context(), []byte(`{}`))
	var fe *FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("want a *FunctionError for an invalid handler, as Lambda reports it, got %v", err)
	}
}

// TestHandlerResponseNotReused: aws-lambda-go returns a pooled buffer; a
// response must survive the next call.
func TestHandlerResponseNotReused(t *testing.T) {
	fn := Handler(func(ev testEvent) (testEvent, error) { return ev, nil })
	first, err := fn.Invoke(t.Context(), []byte(`{"value":"first"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fn.Invoke(t.Context(), []byte(`{"value":"second-and-longer"}`)); err != nil {
		t.Fatal(err)
	}
	if want := `{"value":"first","fail":"","panic":"","custom":false}`; string(first) != want {
		t.Errorf("want %s, got %s", want, first)
	}
}

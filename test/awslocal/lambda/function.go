package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/uuid"
)

// Function is something the registry can run: a process under aws-lambda-rie
// or a handler in process.
type Function interface {
	// Invoke runs the function once with payload (JSON) and returns its
	// response. An error the function reported is a [*FunctionError]; any
	// other error means it could not be run.
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// FunctionError is an error the function reported: its handler returned an
// error or panicked, its process crashed, or it ran out of time. Type and
// Message are Lambda's errorType and errorMessage; for a Go function
// errorType is the name of the error's type (StepError, InputError).
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
	// Payload is the body as the runtime reported it (with its stackTrace,
	// for a panic), which the Invoke API returns as it is. Empty means
	// {"errorMessage","errorType"} from Type and Message.
	Payload []byte `json:"-"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("lambda: function error %s: %s", e.Type, e.Message)
}

// ErrorType is Lambda's errorType: callers that must not repeat the
// function's message (it is the function's to word) report this.
func (e *FunctionError) ErrorType() string { return e.Type }

// Body is the error as Lambda returns it in an Invoke response.
func (e *FunctionError) Body() []byte {
	if len(e.Payload) > 0 {
		return e.Payload
	}
	b, _ := json.Marshal(e)
	return b
}

// Handler returns a Function that calls h in process. h is any handler
// aws-lambda-go's lambda.Start accepts; an invalid one fails each call, as
// it would in Lambda. The handler's context carries a lambdacontext with a
// request id and the invoked ARN, as the runtime's does. Errors and panics
// become [*FunctionError] with the errorType aws-lambda-go reports (the
// error's type name; for a panic, the type of the panic value). Unlike in
// Lambda, a panic does not end anything: there is no process to restart.
func Handler(h any) Function {
	return &inProcess{h: awslambda.NewHandler(h)}
}

type inProcess struct{ h awslambda.Handler }

func (p *inProcess) Invoke(ctx context.Context, payload []byte) (out []byte, err error) {
	inv := invocationFrom(ctx)
	if inv.RequestID == "" {
		inv.RequestID = uuid.NewString()
	}
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       inv.RequestID,
		InvokedFunctionArn: inv.FunctionARN,
	})
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, &FunctionError{Type: typeName(v), Message: fmt.Sprintf("%v", v)}
		}
	}()
	resp, err := p.h.Invoke(ctx, payload)
	if err != nil {
		return nil, functionError(err)
	}
	// aws-lambda-go hands back a pooled buffer that the next call reuses.
	return bytes.Clone(resp), nil
}

// functionError reports err as aws-lambda-go's runtime loop does.
func functionError(err error) *FunctionError {
	if ive, ok := err.(messages.InvokeResponse_Error); ok {
		return &FunctionError{Type: ive.Type, Message: ive.Message}
	}
	return &FunctionError{Type: typeName(err), Message: err.Error()}
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// invocation is what the registry knows of one call, passed to the
// function through its context.
type invocation struct {
	RequestID   string
	FunctionARN string
}

type invocationKey struct{}

func withInvocation(ctx context.Context, inv invocation) context.Context {
	return context.WithValue(ctx, invocationKey{}, inv)
}

func invocationFrom(ctx context.Context) invocation {
	inv, _ := ctx.Value(invocationKey{}).(invocation)
	return inv
}

// Command echo is a tiny Lambda function for the lambda package's tests: it
// runs under aws-lambda-rie as a real bootstrap would, so the tests see what
// the emulator does with payloads, errors, panics, crashes, timeouts and the
// environment.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Request asks the function to do one thing besides echoing.
type Request struct {
	Echo json.RawMessage `json:"echo,omitempty"`
	// Fail makes the handler return an *EchoError with this message.
	Fail string `json:"fail,omitempty"`
	// Panic makes the handler panic with this message.
	Panic string `json:"panic,omitempty"`
	// Exit makes the process exit with this code, without a response.
	Exit int `json:"exit,omitempty"`
	// Print names an environment variable to print on standard output
	// and return.
	Print string `json:"print,omitempty"`
	// Sleep is a duration to wait before answering ("2s").
	Sleep string `json:"sleep,omitempty"`
}

// Response is what the function saw.
type Response struct {
	Echo        json.RawMessage `json:"echo,omitempty"`
	Value       string          `json:"value,omitempty"`
	PID         int             `json:"pid"`
	RequestID   string          `json:"requestId"`
	FunctionARN string          `json:"functionArn"`
	DeadlineMS  int64           `json:"deadlineMs"`
}

// EchoError is the error the handler returns when asked: Lambda reports its
// type name, EchoError, as errorType.
type EchoError struct{ Message string }

func (e *EchoError) Error() string { return e.Message }

func handle(ctx context.Context, req Request) (Response, error) {
	if req.Sleep != "" {
		d, err := time.ParseDuration(req.Sleep)
		if err != nil {
			return Response{}, err
		}
		time.Sleep(d)
	}
	switch {
	case req.Fail != "":
		return Response{}, &EchoError{Message: req.Fail}
	case req.Panic != "":
		panic(req.Panic)
	case req.Exit != 0:
		os.Exit(req.Exit)
	}
	resp := Response{Echo: req.Echo, PID: os.Getpid()}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		resp.RequestID = lc.AwsRequestID
		resp.FunctionARN = lc.InvokedFunctionArn
	}
	if dl, ok := ctx.Deadline(); ok {
		resp.DeadlineMS = time.Until(dl).Milliseconds()
	}
	if req.Print != "" {
		resp.Value = os.Getenv(req.Print)
		line, _ := json.Marshal(map[string]string{"env": req.Print, "value": resp.Value})
		fmt.Println(string(line))
	}
	return resp, nil
}

func main() {
	// ECHO_INIT_EXIT makes the function fail its init, as a function with a
	// bad configuration does (functions/postgres exits 1).
	if code := os.Getenv("ECHO_INIT_EXIT"); code != "" {
		fmt.Fprintln(os.Stderr, "echo: exiting at init as asked")
		n, _ := strconv.Atoi(code)
		os.Exit(n)
	}
	lambda.Start(handle)
}

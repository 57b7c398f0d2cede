package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
)

// serve starts the local endpoint's router with reg's routes and returns a
// Lambda client for account and region (the access key is the account id,
// the endpoint's convention).
func serve(t *testing.T, reg *Registry, account, region string) *awslambda.Client {
	t.Helper()
	router := awsjson.NewRouter(awsjson.Identity{DefaultAccount: "000000000000", DefaultRegion: "us-east-1"}, nil)
	reg.Routes(router)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return awslambda.New(awslambda.Options{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(account, "secret", ""),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
	})
}

func TestInvokeAPI(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []testResponse
	)
	reg := NewRegistry(RegistryOptions{})
	defer reg.Close()
	reg.Register(echoARN, Handler(func(ctx context.Context, ev testEvent) (testResponse, error) {
		resp, err := testHandler(ctx, ev)
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, resp)
		return resp, err
	}))
	reg.Register("arn:aws:lambda:eu-west-1:444455556666:function:other", Handler(func() error { return nil }))
	client := serve(t, reg, account, region)
	ctx := t.Context()

	t.Run("RequestResponse", func(t *testing.T) {
		for _, name := range []string{"echo", "111122223333:function:echo", echoARN} {
			out, err := client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"value":"v"}`)})
			if err != nil {
				t.Fatalf("%s: want a response, got %v", name, err)
			}
			var resp testResponse
			if err := json.Unmarshal(out.Payload, &resp); err != nil {
				t.Fatal(err)
			}
			reqID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
			if out.StatusCode != 200 || out.FunctionError != nil || aws.ToString(out.ExecutedVersion) != "$LATEST" {
				t.Errorf("want 200, no function error, $LATEST; got %d, %v, %q", out.StatusCode, aws.ToString(out.FunctionError), aws.ToString(out.ExecutedVersion))
			}
			if want := (testResponse{Value: "v", RequestID: reqID, FunctionARN: echoARN}); resp != want || reqID == "" {
				t.Errorf("want %+v (the response's request id is the invocation's), got %+v", want, resp)
			}
		}
	})

	t.Run("Qualifier $LATEST", func(t *testing.T) {
		_, err := client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Qualifier: aws.String("$LATEST"), Payload: []byte(`{}`)})
		if err != nil {
			t.Errorf("want a response, got %v", err)
		}
	})

	t.Run("no payload is {}", func(t *testing.T) {
		out, err := client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo")})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("want a response, got %v, %s", err, out.Payload)
		}
	})

	t.Run("function error", func(t *testing.T) {
		out, err := client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"fail":"locked"}`)})
		if err != nil {
			t.Fatalf("want a function error in the response, got an API error %v", err)
		}
		if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" {
			t.Errorf("want 200 and FunctionError Unhandled, got %d and %q", out.StatusCode, aws.ToString(out.FunctionError))
		}
		var body struct{ ErrorType, ErrorMessage string }
		if err := json.Unmarshal(out.Payload, &body); err != nil {
			t.Fatal(err)
		}
		if body.ErrorType != "RotationRefused" || body.ErrorMessage != "refused: locked" {
			t.Errorf("want RotationRefused / refused: locked, got %s", out.Payload)
		}
	})

	t.Run("unknown function", func(t *testing.T) {
		for _, name := range []string{"nope", "other", "echo:live"} {
			_, err := client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{}`)})
			var nf *types.ResourceNotFoundException
			if !errors.As(err, &nf) {
				t.Fatalf("%s: want ResourceNotFoundException, got %v", name, err)
			}
			if want := "Function not found: arn:aws:lambda:eu-west-1:111122223333:function:"; !bytes.HasPrefix([]byte(aws.ToString(nf.Message)), []byte(want)) || aws.ToString(nf.Type) != "User" {
				t.Errorf("%s: want message %q... and Type User, got %q, %q", name, want, aws.ToString(nf.Message), aws.ToString(nf.Type))
			}
		}
	})

	t.Run("Event", func(t *testing.T) {
		mu.Lock()
		seen = nil
		mu.Unlock()
		out, err := client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"),
			InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"value":"async"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != 202 || len(out.Payload) != 0 {
			t.Errorf("want 202 and no payload, got %d and %q", out.StatusCode, out.Payload)
		}
		if err := reg.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 1 || seen[0].Value != "async" {
			t.Errorf("want one asynchronous invocation with value async, got %+v", seen)
		}
	})

	t.Run("DryRun", func(t *testing.T) {
		mu.Lock()
		seen = nil
		mu.Unlock()
		out, err := client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"),
			InvocationType: types.InvocationTypeDryRun, Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != 204 {
			t.Errorf("want 204, got %d", out.StatusCode)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 0 {
			t.Errorf("want the function not run, got %d invocations", len(seen))
		}
		_, err = client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("nope"), InvocationType: types.InvocationTypeDryRun})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("want ResourceNotFoundException for a dry run of an unknown function, got %v", err)
		}
	})

	t.Run("payload too large", func(t *testing.T) {
		big := append(append([]byte(`"`), bytes.Repeat([]byte("x"), MaxSyncPayload)...), '"')
		_, err := client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: big})
		var tl *types.RequestTooLargeException
		if !errors.As(err, &tl) {
			t.Errorf("want RequestTooLargeException, got %v", err)
		}
		async := append(append([]byte(`"`), bytes.Repeat([]byte("x"), MaxAsyncPayload)...), '"')
		_, err = client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent, Payload: async})
		if !errors.As(err, &tl) {
			t.Errorf("want RequestTooLargeException for 1 MB asynchronously, got %v", err)
		}
	})

	t.Run("payload not JSON", func(t *testing.T) {
		_, err := client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`not json`)})
		var ic *types.InvalidRequestContentException
		if !errors.As(err, &ic) {
			t.Errorf("want InvalidRequestContentException, got %v", err)
		}
	})

	t.Run("ListFunctions", func(t *testing.T) {
		out, err := client.ListFunctions(ctx, &awslambda.ListFunctionsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Functions) != 1 || aws.ToString(out.Functions[0].FunctionArn) != echoARN || aws.ToString(out.Functions[0].FunctionName) != "echo" {
			t.Errorf("want only %s (the caller's account), got %+v", echoARN, out.Functions)
		}
	})
}

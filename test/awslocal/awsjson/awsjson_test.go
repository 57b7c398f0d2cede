package awsjson

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	id := Identity{DefaultAccount: "123456789012", DefaultRegion: "us-east-1", Accounts: map[string]string{"AKIAMAPPED": "999999999999"}}
	sign := func(key, region string) string {
		return "AWS4-HMAC-SHA256 Credential=" + key + "/20261125/" + region + "/secretsmanager/aws4_request, SignedHeaders=host, Signature=0"
	}
	tests := []struct {
		name, header, account, region string
		ok                            bool
	}{
		{"default account", sign("AKIDEXAMPLE", "eu-west-1"), "123456789012", "eu-west-1", true},
		{"twelve digits are the account", sign("111122223333", "us-east-1"), "111122223333", "us-east-1", true},
		{"mapped key", sign("AKIAMAPPED", "us-east-1"), "999999999999", "us-east-1", true},
		{"unsigned", "", "", "", false},
		{"not SigV4", "Basic dXNlcjpwYXNz", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := id.Resolve(tt.header)
			if ok != tt.ok || c.AccountID != tt.account || c.Region != tt.region {
				t.Fatalf("want account %q region %q ok %v, got %q %q %v", tt.account, tt.region, tt.ok, c.AccountID, c.Region, ok)
			}
		})
	}
}

type echoIn struct{ Name string }
type echoOut struct{ Greeting, Account string }

func TestRouter(t *testing.T) {
	r := NewRouter(Identity{DefaultAccount: "123456789012", DefaultRegion: "us-east-1"}, nil)
	var calls []string
	r.OnCall = func(_ Caller, target string, status int) { calls = append(calls, target) }
	r.Register(Service{TargetPrefix: "test", ContentType: "application/x-amz-json-1.1", Operations: map[string]Operation{
		"Echo": Op(func(ctx context.Context, in *echoIn) (*echoOut, error) {
			if in.Name == "" {
				return nil, ClientError("ValidationException", "Name is required")
			}
			return &echoOut{Greeting: "hello " + in.Name, Account: CallerFrom(ctx).AccountID}, nil
		}),
		"Crash": Op(func(context.Context, *echoIn) (*echoOut, error) {
			return nil, context.DeadlineExceeded // not an *Error: its text must not leak
		}),
	}})
	srv := httptest.NewServer(r)
	defer srv.Close()
	call := func(target, body string, signed bool) (int, map[string]string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		if signed {
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/test/aws4_request, SignedHeaders=host, Signature=0")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]string{}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		out["header"] = resp.Header.Get("X-Amzn-Errortype")
		return resp.StatusCode, out
	}
	tests := []struct {
		name, target, body string
		signed             bool
		status             int
		field, want        string
	}{
		{"ok", "test.Echo", `{"Name":"rotor"}`, true, 200, "Greeting", "hello rotor"},
		{"caller account", "test.Echo", `{"Name":"rotor"}`, true, 200, "Account", "123456789012"},
		{"empty body is {}", "test.Echo", ``, true, 400, "__type", "ValidationException"},
		{"error header", "test.Echo", ``, true, 400, "header", "ValidationException"},
		{"malformed JSON", "test.Echo", `{"Name":`, true, 400, "__type", "SerializationException"},
		{"wrong type", "test.Echo", `{"Name":3}`, true, 400, "__type", "SerializationException"},
		{"unknown operation", "test.Nope", `{}`, true, 400, "__type", "UnknownOperationException"},
		{"unknown service", "other.Echo", `{}`, true, 400, "__type", "UnknownOperationException"},
		{"unsigned", "test.Echo", `{"Name":"rotor"}`, false, 400, "__type", "MissingAuthenticationTokenException"},
		{"internal error hides its text", "test.Crash", `{}`, true, 500, "message", "The request processing has failed because of an unknown error, exception or failure."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := call(tt.target, tt.body, tt.signed)
			if status != tt.status || out[tt.field] != tt.want {
				t.Fatalf("want %d with %s %q, got %d with %v", tt.status, tt.field, tt.want, status, out)
			}
		})
	}
	if len(calls) != len(tests) {
		t.Fatalf("want OnCall for each of %d requests, got %d", len(tests), len(calls))
	}
}

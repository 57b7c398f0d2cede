package awssm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/shared/secretstore/awssm"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
	"github.com/rotorhq/rotor/shared/secretstore/storetest"
	"github.com/rotorhq/rotor/test/motoserver"
)

// The engine's view of a store.
var _ lifecycle.Store = (*awssm.Store)(nil)

// moto is the package's moto_server.
var moto *motoserver.Server

func TestMain(m *testing.M) {
	s, err := motoserver.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	moto = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// TestScenarios runs the table of storetest on memstore and, through the
// SDK and this adapter, on moto_server, and compares their outcomes.
func TestScenarios(t *testing.T) {
	storetest.Run(t, storetest.Scenarios(),
		storetest.MemTarget("memstore", memstore.New()),
		storetest.SDKTarget("moto", moto.SecretsManager(), true),
	)
}

// secret creates a secret on moto with a first version and returns its
// name and that version's id.
func secret(t *testing.T, sm *secretsmanager.Client, in *secretsmanager.CreateSecretInput) (string, string) {
	t.Helper()
	name := "awssm-" + uuid.NewString()[:8]
	in.Name = aws.String(name)
	in.ClientRequestToken = aws.String(uuid.NewString())
	if _, err := sm.CreateSecret(t.Context(), in); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	return name, *in.ClientRequestToken
}

func TestStoreAgainstMoto(t *testing.T) {
	ctx := t.Context()
	sm := moto.SecretsManager()
	s := awssm.New(sm)
	name, v1 := secret(t, sm, &secretsmanager.CreateSecretInput{SecretString: aws.String(`{"password":"one"}`)})

	d, err := s.Describe(ctx, name)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if d.Name != name || !strings.HasPrefix(d.ARN, "arn:aws:secretsmanager:") || d.RotationEnabled {
		t.Fatalf("Describe: want name %s, an ARN and rotation disabled, got %+v", name, d)
	}
	if want := map[string][]string{v1: {secretstore.Current}}; !reflect.DeepEqual(d.Versions, want) {
		t.Fatalf("Describe: want versions %v, got %v", want, d.Versions)
	}

	v2 := uuid.NewString()
	pending := secretstore.PendingValue{SecretID: name, VersionID: v2, Value: []byte(`{"password":"two"}`), RotationToken: uuid.NewString()}
	for i := range 2 {
		if err := s.PutPending(ctx, pending); err != nil {
			t.Fatalf("PutPending #%d: want success, got %v", i+1, err)
		}
	}
	if got, err := s.Value(ctx, name, v2); err != nil || string(got) != string(pending.Value) {
		t.Fatalf("Value of the pending version: want it back, got error %v", err)
	}
	if err := s.MoveStage(ctx, secretstore.StageMove{SecretID: name, Stage: secretstore.Current, ToVersion: v2, FromVersion: v1}); err != nil {
		t.Fatalf("MoveStage: %v", err)
	}
	if got, err := s.CurrentValue(ctx, name); err != nil || string(got) != string(pending.Value) {
		t.Fatalf("CurrentValue after MoveStage: want the new value, got error %v", err)
	}
	d, err = s.Describe(ctx, name)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if !d.HasStage(v1, secretstore.Previous) || !d.HasStage(v2, secretstore.Current) || !d.HasStage(v2, secretstore.Pending) {
		t.Fatalf("after MoveStage: want v1 AWSPREVIOUS, v2 AWSCURRENT+AWSPENDING, got %v", d.Versions)
	}
	// finishSecret removes AWSPENDING; the version is then an ordinary
	// one, and another value under its id is refused.
	if err := s.MoveStage(ctx, secretstore.StageMove{SecretID: name, Stage: secretstore.Pending, FromVersion: v2}); err != nil {
		t.Fatalf("MoveStage removing AWSPENDING: %v", err)
	}
	if d, err = s.Describe(ctx, name); err != nil || d.HasStage(v2, secretstore.Pending) || !d.HasStage(v2, secretstore.Current) {
		t.Fatalf("after removing AWSPENDING: want v2 AWSCURRENT only, got %v (%v)", d.Versions, err)
	}
	err = s.PutPending(ctx, secretstore.PendingValue{SecretID: name, VersionID: v2, Value: []byte("other-value-81a")})
	var exists *types.ResourceExistsException
	if !errors.Is(err, secretstore.ErrVersionExists) || !errors.As(err, &exists) {
		t.Fatalf("PutPending of another value: want ErrVersionExists wrapping ResourceExistsException, got %v", err)
	}
	if strings.Contains(err.Error(), "other-value-81a") {
		t.Fatalf("want an error without the value, got %q", err)
	}

	pw, err := s.RandomPassword(ctx, secretstore.PasswordSpec{Length: 40, ExcludeCharacters: `"'\/@`, RequireEachIncludedType: true})
	if err != nil || len(pw) != 40 || strings.ContainsAny(pw, `"'\/@`) {
		t.Fatalf("RandomPassword: want 40 characters without excluded ones, got %d characters, %v", len(pw), err)
	}
}

func TestErrorsAgainstMoto(t *testing.T) {
	ctx := t.Context()
	sm := moto.SecretsManager()
	s := awssm.New(sm)
	name, v1 := secret(t, sm, &secretsmanager.CreateSecretInput{SecretString: aws.String("one")})
	deleted, _ := secret(t, sm, &secretsmanager.CreateSecretInput{SecretString: aws.String("one")})
	if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(deleted)}); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	tests := []struct {
		name      string
		call      func() error
		want      error
		wantChain any // an SDK error type the chain must hold, or nil
	}{
		{"Describe unknown secret", func() error { _, err := s.Describe(ctx, "nope-"+name); return err }, secretstore.ErrNotFound, new(*types.ResourceNotFoundException)},
		{"Describe secret scheduled for deletion", func() error { _, err := s.Describe(ctx, deleted); return err }, secretstore.ErrNotFound, nil},
		{"Value unknown secret", func() error { _, err := s.Value(ctx, "nope-"+name, v1); return err }, secretstore.ErrNotFound, new(*types.ResourceNotFoundException)},
		{"Value unknown version", func() error { _, err := s.Value(ctx, name, uuid.NewString()); return err }, secretstore.ErrVersionNotFound, new(*types.ResourceNotFoundException)},
		{"Value empty version", func() error { _, err := s.Value(ctx, name, ""); return err }, secretstore.ErrInvalidRequest, nil},
		{"Value of a secret scheduled for deletion", func() error { _, err := s.Value(ctx, deleted, v1); return err }, secretstore.ErrInvalidRequest, new(*types.InvalidRequestException)},
		{"CurrentValue unknown secret", func() error { _, err := s.CurrentValue(ctx, "nope-"+name); return err }, secretstore.ErrNotFound, new(*types.ResourceNotFoundException)},
		{"PutPending unknown secret", func() error {
			return s.PutPending(ctx, secretstore.PendingValue{SecretID: "nope-" + name, VersionID: uuid.NewString(), Value: []byte("x")})
		}, secretstore.ErrNotFound, new(*types.ResourceNotFoundException)},
		{"PutPending empty version", func() error {
			return s.PutPending(ctx, secretstore.PendingValue{SecretID: name, Value: []byte("x")})
		}, secretstore.ErrInvalidRequest, nil},
		{"MoveStage without FromVersion", func() error {
			return s.MoveStage(ctx, secretstore.StageMove{SecretID: name, Stage: secretstore.Current, ToVersion: uuid.NewString()})
		}, secretstore.ErrInvalidRequest, new(*types.InvalidParameterException)},
		{"RandomPassword too short for its classes", func() error {
			_, err := s.RandomPassword(ctx, secretstore.PasswordSpec{Length: 3, RequireEachIncludedType: true})
			return err
		}, secretstore.ErrInvalidRequest, new(*types.InvalidParameterException)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("want an error matching %q, got %v", tt.want, err)
			}
			if tt.wantChain != nil && !errors.As(err, tt.wantChain) {
				t.Fatalf("want %T in the chain, got %v", tt.wantChain, err)
			}
		})
	}
}

func TestBinarySecretAgainstMoto(t *testing.T) {
	sm := moto.SecretsManager()
	bin := []byte{0, 1, 2, 255}
	name, v1 := secret(t, sm, &secretsmanager.CreateSecretInput{SecretBinary: bin})
	s := awssm.New(sm)
	for _, tt := range []struct {
		name string
		get  func() ([]byte, error)
	}{
		{"Value", func() ([]byte, error) { return s.Value(t.Context(), name, v1) }},
		{"CurrentValue", func() ([]byte, error) { return s.CurrentValue(t.Context(), name) }},
	} {
		if got, err := tt.get(); err != nil || !reflect.DeepEqual(got, bin) {
			t.Fatalf("%s of a binary secret: want %v, got %v, %v", tt.name, bin, got, err)
		}
	}
}

// recorder is an HTTP server that speaks just enough of the AWS JSON
// protocol: it records each request's operation and body, and answers with
// the body set for the operation.
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	answers  map[string]string
}

type request struct {
	Op   string
	Body map[string]any
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{answers: map[string]string{
		"DescribeSecret":           `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbC123","Name":"x","VersionIdsToStages":{}}`,
		"GetSecretValue":           `{"SecretString":"v"}`,
		"PutSecretValue":           `{}`,
		"UpdateSecretVersionStage": `{}`,
		"GetRandomPassword":        `{"RandomPassword":"pw"}`,
	}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "secretsmanager.")
		b, _ := io.ReadAll(req.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		r.mu.Lock()
		r.requests = append(r.requests, request{Op: op, Body: body})
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, r.answers[op])
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) last(t *testing.T) request {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.requests) == 0 {
		t.Fatalf("want a request to %s, got none", r.URL)
	}
	return r.requests[len(r.requests)-1]
}

func (r *recorder) client() *secretsmanager.Client {
	return secretsmanager.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  aws.AnonymousCredentials{},
		BaseEndpoint: aws.String(r.URL),
	})
}

// TestRequests checks what the adapter sends, field by field.
func TestRequests(t *testing.T) {
	tests := []struct {
		name string
		call func(ctx context.Context, s *awssm.Store) error
		want request
	}{
		{"Describe", func(ctx context.Context, s *awssm.Store) error { _, err := s.Describe(ctx, "x"); return err },
			request{"DescribeSecret", map[string]any{"SecretId": "x"}}},
		{"Value: by VersionId only", func(ctx context.Context, s *awssm.Store) error { _, err := s.Value(ctx, "x", "v1"); return err },
			request{"GetSecretValue", map[string]any{"SecretId": "x", "VersionId": "v1"}}},
		{"CurrentValue: by AWSCURRENT", func(ctx context.Context, s *awssm.Store) error { _, err := s.CurrentValue(ctx, "x"); return err },
			request{"GetSecretValue", map[string]any{"SecretId": "x", "VersionStage": "AWSCURRENT"}}},
		{"PutPending with a rotation token", func(ctx context.Context, s *awssm.Store) error {
			return s.PutPending(ctx, secretstore.PendingValue{SecretID: "x", VersionID: "v2", Value: []byte("new"), RotationToken: "rt"})
		}, request{"PutSecretValue", map[string]any{"SecretId": "x", "ClientRequestToken": "v2", "SecretString": "new", "VersionStages": []any{"AWSPENDING"}, "RotationToken": "rt"}}},
		{"PutPending without a rotation token", func(ctx context.Context, s *awssm.Store) error {
			return s.PutPending(ctx, secretstore.PendingValue{SecretID: "x", VersionID: "v2", Value: []byte("new")})
		}, request{"PutSecretValue", map[string]any{"SecretId": "x", "ClientRequestToken": "v2", "SecretString": "new", "VersionStages": []any{"AWSPENDING"}}}},
		{"MoveStage from another version", func(ctx context.Context, s *awssm.Store) error {
			return s.MoveStage(ctx, secretstore.StageMove{SecretID: "x", Stage: "AWSCURRENT", ToVersion: "v2", FromVersion: "v1"})
		}, request{"UpdateSecretVersionStage", map[string]any{"SecretId": "x", "VersionStage": "AWSCURRENT", "MoveToVersionId": "v2", "RemoveFromVersionId": "v1"}}},
		{"MoveStage from the same version", func(ctx context.Context, s *awssm.Store) error {
			return s.MoveStage(ctx, secretstore.StageMove{SecretID: "x", Stage: "AWSCURRENT", ToVersion: "v2", FromVersion: "v2"})
		}, request{"UpdateSecretVersionStage", map[string]any{"SecretId": "x", "VersionStage": "AWSCURRENT", "MoveToVersionId": "v2"}}},
		{"MoveStage without a FromVersion", func(ctx context.Context, s *awssm.Store) error {
			return s.MoveStage(ctx, secretstore.StageMove{SecretID: "x", Stage: "AWSPENDING", ToVersion: "v2"})
		}, request{"UpdateSecretVersionStage", map[string]any{"SecretId": "x", "VersionStage": "AWSPENDING", "MoveToVersionId": "v2"}}},
		{"MoveStage without a ToVersion removes the label", func(ctx context.Context, s *awssm.Store) error {
			return s.MoveStage(ctx, secretstore.StageMove{SecretID: "x", Stage: "AWSPENDING", FromVersion: "v2"})
		}, request{"UpdateSecretVersionStage", map[string]any{"SecretId": "x", "VersionStage": "AWSPENDING", "RemoveFromVersionId": "v2"}}},
		{"RandomPassword", func(ctx context.Context, s *awssm.Store) error {
			_, err := s.RandomPassword(ctx, secretstore.PasswordSpec{Length: 20, ExcludeCharacters: "ab", RequireEachIncludedType: true})
			return err
		}, request{"GetRandomPassword", map[string]any{"PasswordLength": float64(20), "ExcludeCharacters": "ab", "RequireEachIncludedType": true}}},
		{"RandomPassword with a zero spec", func(ctx context.Context, s *awssm.Store) error {
			_, err := s.RandomPassword(ctx, secretstore.PasswordSpec{})
			return err
		}, request{"GetRandomPassword", map[string]any{"RequireEachIncludedType": false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t)
			if err := tt.call(t.Context(), awssm.New(r.client())); err != nil {
				t.Fatalf("want success, got %v", err)
			}
			if got := r.last(t); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("want request %+v, got %+v", tt.want, got)
			}
		})
	}
}

// TestNewFromEnv checks which endpoint a store from the environment calls:
// SECRETS_MANAGER_ENDPOINT, then AWS_ENDPOINT_URL_SECRETS_MANAGER, then
// AWS_ENDPOINT_URL.
func TestNewFromEnv(t *testing.T) {
	tests := []struct {
		name string
		set  []string // of "rotation", "service", "global"
		want string
	}{
		{"AWS_ENDPOINT_URL", []string{"global"}, "global"},
		{"AWS_ENDPOINT_URL_SECRETS_MANAGER over AWS_ENDPOINT_URL", []string{"global", "service"}, "service"},
		{"SECRETS_MANAGER_ENDPOINT alone", []string{"rotation"}, "rotation"},
		{"SECRETS_MANAGER_ENDPOINT over both", []string{"global", "service", "rotation"}, "rotation"},
	}
	envs := map[string]string{"rotation": awssm.EndpointEnv, "service": "AWS_ENDPOINT_URL_SECRETS_MANAGER", "global": "AWS_ENDPOINT_URL"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWSEnv(t)
			servers := map[string]*recorder{}
			for _, which := range []string{"rotation", "service", "global"} {
				servers[which] = newRecorder(t)
			}
			for _, which := range tt.set {
				t.Setenv(envs[which], servers[which].URL)
			}
			s, err := awssm.NewFromEnv(t.Context())
			if err != nil {
				t.Fatalf("NewFromEnv: %v", err)
			}
			if _, err := s.Describe(t.Context(), "x"); err != nil {
				t.Fatalf("Describe: want success, got %v", err)
			}
			for which, r := range servers {
				r.mu.Lock()
				n := len(r.requests)
				r.mu.Unlock()
				if want := map[bool]int{true: 1, false: 0}[which == tt.want]; n != want {
					t.Fatalf("%s endpoint: want %d requests, got %d", which, want, n)
				}
			}
		})
	}
}

// isolateAWSEnv gives the test an environment of its own: static
// credentials and a region, no shared files, no endpoint variables.
func isolateAWSEnv(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":                   "testing",
		"AWS_SECRET_ACCESS_KEY":               "testing",
		"AWS_SESSION_TOKEN":                   "",
		"AWS_REGION":                          "us-east-1",
		"AWS_PROFILE":                         "",
		"AWS_CONFIG_FILE":                     dir + "/config",
		"AWS_SHARED_CREDENTIALS_FILE":         dir + "/credentials",
		"AWS_EC2_METADATA_DISABLED":           "true",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AWS_ENDPOINT_URL":                    "",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER":    "",
		awssm.EndpointEnv:                     "",
	} {
		t.Setenv(k, v)
	}
}

// fakeAPI is an awssm.API of function fields.
type fakeAPI struct {
	describe func() (*secretsmanager.DescribeSecretOutput, error)
	get      func() (*secretsmanager.GetSecretValueOutput, error)
	put      func() (*secretsmanager.PutSecretValueOutput, error)
	update   func() (*secretsmanager.UpdateSecretVersionStageOutput, error)
	password func() (*secretsmanager.GetRandomPasswordOutput, error)
}

func (f fakeAPI) DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	return f.describe()
}

func (f fakeAPI) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return f.get()
}

func (f fakeAPI) PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	return f.put()
}

func (f fakeAPI) UpdateSecretVersionStage(context.Context, *secretsmanager.UpdateSecretVersionStageInput, ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error) {
	return f.update()
}

func (f fakeAPI) GetRandomPassword(context.Context, *secretsmanager.GetRandomPasswordInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetRandomPasswordOutput, error) {
	return f.password()
}

// TestErrorMapping checks each modelled error against the sentinel it
// becomes, with the SDK error kept in the chain.
func TestErrorMapping(t *testing.T) {
	boom := errors.New("connection reset")
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"ResourceNotFoundException", &types.ResourceNotFoundException{}, secretstore.ErrNotFound},
		{"ResourceExistsException", &types.ResourceExistsException{}, secretstore.ErrVersionExists},
		{"InvalidRequestException", &types.InvalidRequestException{}, secretstore.ErrInvalidRequest},
		{"InvalidParameterException", &types.InvalidParameterException{}, secretstore.ErrInvalidRequest},
		{"another error", boom, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail := func() error { return tt.err }
			s := awssm.New(fakeAPI{
				describe: func() (*secretsmanager.DescribeSecretOutput, error) { return nil, fail() },
				put:      func() (*secretsmanager.PutSecretValueOutput, error) { return nil, fail() },
				update:   func() (*secretsmanager.UpdateSecretVersionStageOutput, error) { return nil, fail() },
				password: func() (*secretsmanager.GetRandomPasswordOutput, error) { return nil, fail() },
			})
			ctx := t.Context()
			for call, err := range map[string]error{
				"Describe":       discard(s.Describe(ctx, "x")),
				"PutPending":     s.PutPending(ctx, secretstore.PendingValue{SecretID: "x", VersionID: "v", Value: []byte("value-9c1")}),
				"MoveStage":      s.MoveStage(ctx, secretstore.StageMove{SecretID: "x", Stage: "AWSCURRENT", ToVersion: "v"}),
				"RandomPassword": discard(s.RandomPassword(ctx, secretstore.PasswordSpec{})),
			} {
				if !errors.Is(err, tt.want) || !errors.Is(err, tt.err) {
					t.Fatalf("%s: want an error matching %q with %v in its chain, got %v", call, tt.want, tt.err, err)
				}
				if strings.Contains(err.Error(), "value-9c1") {
					t.Fatalf("%s: want an error without the value, got %q", call, err)
				}
			}
		})
	}
}

// TestValueNotFoundMakesNoOtherCall: a read by version id that the service
// cannot answer is ErrVersionNotFound at once, so that createSecret makes
// one DescribeSecret per invocation, as the engine promises.
func TestValueNotFoundMakesNoOtherCall(t *testing.T) {
	s := awssm.New(fakeAPI{
		get: func() (*secretsmanager.GetSecretValueOutput, error) {
			return nil, &types.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret value for VersionId: v")}
		},
		describe: func() (*secretsmanager.DescribeSecretOutput, error) {
			t.Fatalf("want no DescribeSecret call, got one")
			return nil, nil
		},
	})
	_, err := s.Value(t.Context(), "x", "v")
	var nf *types.ResourceNotFoundException
	if !errors.Is(err, secretstore.ErrVersionNotFound) || !errors.As(err, &nf) {
		t.Fatalf("want an error matching %q wrapping ResourceNotFoundException, got %v", secretstore.ErrVersionNotFound, err)
	}
	_, err = s.CurrentValue(t.Context(), "x")
	if !errors.Is(err, secretstore.ErrNotFound) || errors.Is(err, secretstore.ErrVersionNotFound) {
		t.Fatalf("want CurrentValue of a missing secret to be ErrNotFound only, got %v", err)
	}
}

func discard[T any](_ T, err error) error { return err }

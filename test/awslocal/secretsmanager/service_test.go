package secretsmanager_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotorhq/rotor/rotators/rotatortest"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore/awssm"
	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/clock"
	"github.com/rotorhq/rotor/test/awslocal/secretsmanager"
)

const (
	account   = "123456789012"
	region    = "us-east-1"
	lambdaARN = "arn:aws:lambda:us-east-1:123456789012:function:rotor-test"
	current   = `{"username":"app","password":"Initial-Secret-Value-1"}`
)

// functions runs the lifecycle engine in process: the engine reaches the
// endpoint through the awssm adapter over HTTP, as the Lambda binary does.
type functions struct {
	engine *lifecycle.Engine
	mu     sync.Mutex
	events []events.SecretsManagerSecretRotationEvent
	// failed, when set, receives each step that failed: tests wait on it
	// instead of on time.
	failed chan string
	// before, when set, runs before each step: tests hold a step there.
	before func(ev events.SecretsManagerSecretRotationEvent)
}

func (f *functions) Exists(_ context.Context, arn string) bool { return arn == lambdaARN }

func (f *functions) Invoke(ctx context.Context, arn string, payload []byte) ([]byte, error) {
	var ev events.SecretsManagerSecretRotationEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.events = append(f.events, ev)
	before, failed := f.before, f.failed
	f.mu.Unlock()
	if before != nil {
		before(ev)
	}
	err := f.engine.HandleRotationEvent(ctx, ev)
	if err != nil && failed != nil {
		failed <- ev.Step
	}
	return nil, err
}

func (f *functions) steps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, ev := range f.events {
		out = append(out, ev.Step)
	}
	return out
}

// bus records the events the service sends.
type bus struct {
	mu     sync.Mutex
	events []secretsmanager.Event
}

func (b *bus) Emit(_ context.Context, acct, reg string, e secretsmanager.Event) error {
	if acct != account || reg != region {
		return fmt.Errorf("event for %s/%s, want %s/%s", acct, reg, account, region)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, e)
	return nil
}

// names lists detail-type, or eventName for CloudTrail events, or
// "label:<label>" for label events.
func (b *bus) names() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.events {
		switch d := e.Detail.(type) {
		case map[string]any:
			out = append(out, d["eventName"].(string))
		case map[string]string:
			out = append(out, "label:"+d["labelUpdated"])
		}
	}
	return out
}

type env struct {
	svc    *secretsmanager.Service
	client *sm.Client
	rot    *rotatortest.Fake
	fns    *functions
	bus    *bus
}

func start(t *testing.T, opts secretsmanager.Options) *env {
	t.Helper()
	e := &env{rot: &rotatortest.Fake{}, fns: &functions{}, bus: &bus{}}
	opts.Functions, opts.Events = e.fns, e.bus
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = time.Millisecond
	}
	e.svc = secretsmanager.New(opts)
	router := awsjson.NewRouter(awsjson.Identity{DefaultAccount: account, DefaultRegion: region}, nil)
	router.Register(e.svc.JSONService())
	srv := httptest.NewServer(router)
	t.Cleanup(func() { e.svc.Close(); srv.Close() })
	e.client = client(srv.URL, "AKIDEXAMPLE")
	engine, err := lifecycle.New(awssm.New(e.client), e.rot, lifecycle.DefaultConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.fns.engine = engine
	return e
}

func client(url, accessKey string) *sm.Client {
	return sm.NewFromConfig(aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, "secret", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	})
}

func (e *env) create(t *testing.T, name string) string {
	t.Helper()
	out, err := e.client.CreateSecret(context.Background(), &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(current)})
	if err != nil {
		t.Fatal(err)
	}
	return *out.ARN
}

// failSetSecret starts a rotation of the secret arn whose setSecret fails
// and returns the rotation's pending version id once that step failed; the
// service then waits for its retry or gives up, as e's options say. The
// caller lets later steps pass again with e.rot.Fail("").
func (e *env) failSetSecret(t *testing.T, arn string) (pending *string) {
	t.Helper()
	e.fns.failed = make(chan string, 16)
	e.rot.Fail("set")
	out, err := e.client.RotateSecret(context.Background(), &sm.RotateSecretInput{SecretId: aws.String(arn), RotationLambdaARN: aws.String(lambdaARN)})
	if err != nil {
		t.Fatal(err)
	}
	if step := <-e.fns.failed; step != "setSecret" {
		t.Fatalf("want setSecret to fail, got %s", step)
	}
	return out.VersionId
}

func (e *env) wait(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.svc.WaitRotations(ctx); err != nil {
		t.Fatalf("rotations did not settle: %v", err)
	}
}

func (e *env) stages(t *testing.T, id string) map[string][]string {
	t.Helper()
	d, err := e.client.DescribeSecret(context.Background(), &sm.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return d.VersionIdsToStages
}

func TestRotateSecretRunsTheFourSteps(t *testing.T) {
	e := start(t, secretsmanager.Options{})
	ctx := context.Background()
	arn := e.create(t, "app/db")
	out, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{
		SecretId: aws.String("app/db"), RotationLambdaARN: aws.String(lambdaARN),
		RotationRules: &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(t)
	if got, want := e.fns.steps(), []string{"createSecret", "setSecret", "testSecret", "finishSecret"}; !slices.Equal(got, want) {
		t.Fatalf("want steps %v, got %v", want, got)
	}
	for _, ev := range e.fns.events {
		if ev.SecretID != arn || ev.ClientRequestToken != *out.VersionId || ev.RotationToken == "" {
			t.Fatalf("want SecretId %s, token %s and a RotationToken, got %+v", arn, *out.VersionId, ev)
		}
	}
	if got := e.stages(t, arn)[*out.VersionId]; !slices.Contains(got, "AWSCURRENT") {
		t.Fatalf("want the new version AWSCURRENT, got %v", got)
	}
	v, err := e.client.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil || *v.SecretString == current {
		t.Fatalf("want a new current value, got the old one (%v)", err)
	}
	d, _ := e.client.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)})
	if !aws.ToBool(d.RotationEnabled) || d.LastRotatedDate == nil || d.NextRotationDate == nil ||
		aws.ToString(d.RotationLambdaARN) != lambdaARN || aws.ToInt64(d.RotationRules.AutomaticallyAfterDays) != 30 {
		t.Fatalf("want rotation enabled, dates and rules reported, got %+v", d)
	}
	if got := d.NextRotationDate.Sub(*d.LastRotatedDate); got < 29*24*time.Hour || got > 31*24*time.Hour {
		t.Fatalf("want the next rotation 30 days after the last, got %v", got)
	}
	if got, want := e.bus.names(), []string{"RotationStarted", "label:AWSCURRENT", "RotationSucceeded"}; !slices.Equal(got, want) {
		t.Fatalf("want events %v, got %v", want, got)
	}
}

func TestPendingVersionHasNoValueUntilCreateSecret(t *testing.T) {
	e := start(t, secretsmanager.Options{})
	e.rot.Fail("create")
	e.create(t, "app/db")
	out, err := e.client.RotateSecret(context.Background(), &sm.RotateSecretInput{SecretId: aws.String("app/db"), RotationLambdaARN: aws.String(lambdaARN)})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(t)
	_, err = e.client.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("app/db"), VersionId: out.VersionId})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("want ResourceNotFoundException reading the empty pending version, got %v", err)
	}
	if got := e.stages(t, "app/db")[*out.VersionId]; !slices.Equal(got, []string{"AWSPENDING"}) {
		t.Fatalf("want AWSPENDING left on the version, got %v", got)
	}
}

func TestFailedRotationIsRetriedThenResumedWithTheSameToken(t *testing.T) {
	e := start(t, secretsmanager.Options{Retries: 2})
	ctx := context.Background()
	e.create(t, "app/db")
	e.rot.Fail("set")
	out, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String("app/db"), RotationLambdaARN: aws.String(lambdaARN)})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(t)
	if got := strings.Count(strings.Join(e.fns.steps(), ","), "setSecret"); got != 3 {
		t.Fatalf("want setSecret tried 3 times (1 + 2 retries), got %d (%v)", got, e.fns.steps())
	}
	if got := strings.Count(strings.Join(e.bus.names(), ","), "RotationFailed"); got != 3 {
		t.Fatalf("want 3 RotationFailed events, got %v", e.bus.names())
	}
	_, err = e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String("app/db")})
	var ir *types.InvalidRequestException
	if !errors.As(err, &ir) || !strings.Contains(err.Error(), "previous rotation isn't complete") {
		t.Fatalf("want InvalidRequestException about the previous rotation, got %v", err)
	}
	e.rot.Fail("")
	if _, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String("app/db"), ClientRequestToken: out.VersionId}); err != nil {
		t.Fatalf("want RotateSecret with the pending version's token accepted, got %v", err)
	}
	e.wait(t)
	if got := e.stages(t, "app/db")[*out.VersionId]; !slices.Contains(got, "AWSCURRENT") {
		t.Fatalf("want the same version finished, got %v", got)
	}
}

// RotateImmediately=false: "The test creates an AWSPENDING version of the
// secret and then removes it." testSecret alone runs, with the token of a
// new version that is AWSPENDING and holds the AWSCURRENT value, so that a
// function that reads the AWSPENDING version of its token (as AWS's own
// functions do) tests the credential in use; then the label goes, and
// nothing else changes.
func TestRotateImmediatelyFalseRunsOnlyTestSecret(t *testing.T) {
	e := start(t, secretsmanager.Options{})
	ctx := context.Background()
	arn := e.create(t, "app/db")
	before := e.stages(t, arn)
	var (
		seenStages []string
		seenValue  string
		readErr    error
	)
	e.fns.before = func(ev events.SecretsManagerSecretRotationEvent) {
		if d, err := e.client.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)}); err == nil {
			seenStages = d.VersionIdsToStages[ev.ClientRequestToken]
		}
		v, err := e.client.GetSecretValue(ctx, &sm.GetSecretValueInput{
			SecretId: aws.String(arn), VersionId: aws.String(ev.ClientRequestToken), VersionStage: aws.String("AWSPENDING")})
		if readErr = err; err == nil {
			seenValue = aws.ToString(v.SecretString)
		}
	}
	out, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{
		SecretId: aws.String("app/db"), RotationLambdaARN: aws.String(lambdaARN), RotateImmediately: aws.Bool(false),
		RotationRules: &types.RotationRulesType{ScheduleExpression: aws.String("rate(10 days)")},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(t)
	if got := e.fns.steps(); !slices.Equal(got, []string{"testSecret"}) {
		t.Fatalf("want testSecret only, got %v", got)
	}
	if ev := e.fns.events[0]; ev.ClientRequestToken != *out.VersionId || ev.RotationToken == "" {
		t.Fatalf("want the token of the version RotateSecret returned, %s, got %+v", *out.VersionId, ev)
	}
	if !slices.Equal(seenStages, []string{"AWSPENDING"}) {
		t.Fatalf("want the token's version AWSPENDING during testSecret, got %v", seenStages)
	}
	if readErr != nil || seenValue != current {
		t.Fatalf("want the AWSPENDING version to hold the current value during testSecret, got an error (%v) or another value", readErr)
	}
	after := e.stages(t, arn)
	if !maps.EqualFunc(before, after, slices.Equal) {
		t.Fatalf("want the labels as before (the test version's AWSPENDING removed), got %v, before %v", after, before)
	}
	d, _ := e.client.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)})
	if !aws.ToBool(d.RotationEnabled) || d.LastRotatedDate != nil || d.NextRotationDate == nil {
		t.Fatalf("want rotation enabled and scheduled but not recorded as done, got %+v", d)
	}
	if got := e.bus.names(); len(got) != 0 {
		t.Fatalf("want no rotation events for a configuration test, got %v", got)
	}
}

func TestRotateImmediatelyFalseReportsAFailedTest(t *testing.T) {
	e := start(t, secretsmanager.Options{})
	ctx := context.Background()
	arn := e.create(t, "app/db")
	before := e.stages(t, arn)
	// The engine runs the rotator's configuration test for it.
	e.rot.Fail("config")
	_, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{
		SecretId: aws.String(arn), RotationLambdaARN: aws.String(lambdaARN), RotateImmediately: aws.Bool(false)})
	var ir *types.InvalidRequestException
	if !errors.As(err, &ir) || !strings.Contains(err.Error(), "testSecret") {
		t.Fatalf("want InvalidRequestException naming testSecret, got %v", err)
	}
	if after := e.stages(t, arn); !maps.EqualFunc(before, after, slices.Equal) {
		t.Fatalf("want the labels as before, got %v, before %v", after, before)
	}
	// Nothing is left pending: a rotation may start.
	e.rot.Fail("")
	out, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatalf("want a rotation accepted after a failed configuration test, got %v", err)
	}
	e.wait(t)
	if got := e.stages(t, arn)[*out.VersionId]; !slices.Contains(got, "AWSCURRENT") {
		t.Fatalf("want the rotation finished, got %v", got)
	}
}

// A configuration test cannot run while a rotation is incomplete, not even
// with the pending version's token: it would take AWSPENDING off that
// version.
func TestRotateImmediatelyFalseRefusedDuringARotation(t *testing.T) {
	e := start(t, secretsmanager.Options{Retries: -1})
	ctx := context.Background()
	arn := e.create(t, "app/db")
	e.rot.Fail("set")
	out, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(arn), RotationLambdaARN: aws.String(lambdaARN)})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(t)
	before := e.stages(t, arn)
	for _, token := range []*string{nil, out.VersionId} {
		_, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(arn), RotateImmediately: aws.Bool(false), ClientRequestToken: token})
		var ir *types.InvalidRequestException
		if !errors.As(err, &ir) || !strings.Contains(err.Error(), "previous rotation isn't complete") {
			t.Fatalf("token %v: want InvalidRequestException about the previous rotation, got %v", aws.ToString(token), err)
		}
	}
	if after := e.stages(t, arn); !maps.EqualFunc(before, after, slices.Equal) {
		t.Fatalf("want the labels unchanged, got %v, before %v", after, before)
	}
}

func TestScheduleRotatesOnTheClock(t *testing.T) {
	// Four hours pass in a tenth of a second.
	e := start(t, secretsmanager.Options{Clock: clock.Scaled(4 * 3600 * 10), SchedulerTick: time.Minute})
	ctx := context.Background()
	e.create(t, "app/db")
	if _, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{
		SecretId: aws.String("app/db"), RotationLambdaARN: aws.String(lambdaARN),
		RotationRules: &types.RotationRulesType{ScheduleExpression: aws.String("rate(4 hours)")},
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if n := strings.Count(strings.Join(e.bus.names(), ","), "RotationSucceeded"); n >= 3 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("want 3 rotations (1 immediate, 2 scheduled), got events %v", e.bus.names())
}

func TestCancelRotateSecret(t *testing.T) {
	e := start(t, secretsmanager.Options{Retries: -1})
	ctx := context.Background()
	e.create(t, "app/db")
	e.rot.Fail("test")
	out, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String("app/db"), RotationLambdaARN: aws.String(lambdaARN)})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(t)
	c, err := e.client.CancelRotateSecret(ctx, &sm.CancelRotateSecretInput{SecretId: aws.String("app/db")})
	if err != nil || aws.ToString(c.VersionId) != *out.VersionId {
		t.Fatalf("want the pending version %s returned, got %v (%v)", *out.VersionId, aws.ToString(c.VersionId), err)
	}
	d, _ := e.client.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("app/db")})
	if aws.ToBool(d.RotationEnabled) {
		t.Fatal("want rotation disabled after CancelRotateSecret, got enabled")
	}
}

func TestRotateSecretRefusals(t *testing.T) {
	e := start(t, secretsmanager.Options{})
	e.create(t, "app/db")
	before, _ := e.svc.Snapshot()
	tests := []struct {
		name string
		in   *sm.RotateSecretInput
		want string
	}{
		{"no function", &sm.RotateSecretInput{SecretId: aws.String("app/db")}, "InvalidRequestException"},
		{"unknown function", &sm.RotateSecretInput{SecretId: aws.String("app/db"), RotationLambdaARN: aws.String(lambdaARN + "-x")}, "AccessDeniedException"},
		{"unknown secret", &sm.RotateSecretInput{SecretId: aws.String("nope"), RotationLambdaARN: aws.String(lambdaARN)}, "ResourceNotFoundException"},
		{"bad schedule", &sm.RotateSecretInput{SecretId: aws.String("app/db"), RotationLambdaARN: aws.String(lambdaARN),
			RotationRules: &types.RotationRulesType{ScheduleExpression: aws.String("rate(1 hours)")}}, "InvalidParameterException"},
		{"short token", &sm.RotateSecretInput{SecretId: aws.String("app/db"), RotationLambdaARN: aws.String(lambdaARN), ClientRequestToken: aws.String("short")}, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.RotateSecret(context.Background(), tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want %s, got %v", tt.want, err)
			}
		})
	}
	after, _ := e.svc.Snapshot()
	if string(before) != string(after) {
		t.Fatal("want refused rotations to change nothing, got a changed state")
	}
}

func TestAccountsAreSeparate(t *testing.T) {
	e := start(t, secretsmanager.Options{})
	router := awsjson.NewRouter(awsjson.Identity{DefaultAccount: account, DefaultRegion: region}, nil)
	router.Register(e.svc.JSONService())
	srv := httptest.NewServer(router)
	defer srv.Close()
	a, b := client(srv.URL, "111111111111"), client(srv.URL, "222222222222")
	ctx := context.Background()
	out, err := a.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("shared-name"), SecretString: aws.String("a")})
	if err != nil || !strings.Contains(*out.ARN, ":111111111111:") {
		t.Fatalf("want the secret in account 111111111111, got %v (%v)", out, err)
	}
	if _, err := b.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("shared-name")}); err == nil {
		t.Fatal("want account 222222222222 not to see account 111111111111's secret, got it")
	}
}

func TestBadRequestsChangeNothing(t *testing.T) {
	e := start(t, secretsmanager.Options{})
	router := awsjson.NewRouter(awsjson.Identity{DefaultAccount: account, DefaultRegion: region}, nil)
	router.Register(e.svc.JSONService())
	srv := httptest.NewServer(router)
	defer srv.Close()
	e.create(t, "app/db")
	before, _ := e.svc.Snapshot()
	big := strings.Repeat("x", 65537)
	tests := []struct {
		name, target, body, want string
		status                   int
	}{
		{"unknown target", "secretsmanager.Frobnicate", `{}`, "UnknownOperationException", 400},
		{"malformed JSON", "secretsmanager.PutSecretValue", `{"SecretId":`, "SerializationException", 400},
		{"wrong type", "secretsmanager.PutSecretValue", `{"SecretId":7}`, "SerializationException", 400},
		{"missing SecretId", "secretsmanager.GetSecretValue", `{}`, "ValidationException", 400},
		{"value over the limit", "secretsmanager.PutSecretValue", `{"SecretId":"app/db","SecretString":"` + big + `"}`, "ValidationException", 400},
		{"unknown secret", "secretsmanager.PutSecretValue", `{"SecretId":"nope","SecretString":"x"}`, "ResourceNotFoundException", 400},
		{"no value", "secretsmanager.PutSecretValue", `{"SecretId":"app/db"}`, "InvalidParameterException", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(tt.body))
			req.Header.Set("X-Amz-Target", tt.target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status || body.Type != tt.want {
				t.Fatalf("want %d %s, got %d %s (%s)", tt.status, tt.want, resp.StatusCode, body.Type, body.Message)
			}
		})
	}
	after, _ := e.svc.Snapshot()
	if string(before) != string(after) {
		t.Fatal("want bad requests to change nothing, got a changed state")
	}
}

func TestSnapshotRestore(t *testing.T) {
	e := start(t, secretsmanager.Options{})
	e.create(t, "app/db")
	snap, err := e.svc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	other := secretsmanager.New(secretsmanager.Options{})
	defer other.Close()
	if err := other.Restore(snap); err != nil {
		t.Fatal(err)
	}
	got, _ := other.Snapshot()
	if string(got) != string(snap) {
		t.Fatal("want the restored state equal to the saved one, got a different state")
	}
}

// BenchmarkGetSecretValue is one GetSecretValue through the SDK over HTTP:
// the endpoint's cost per call, which bounds how fast tests and the demo can
// run.
func BenchmarkGetSecretValue(b *testing.B) {
	svc := secretsmanager.New(secretsmanager.Options{})
	defer svc.Close()
	router := awsjson.NewRouter(awsjson.Identity{DefaultAccount: account, DefaultRegion: region}, nil)
	router.Register(svc.JSONService())
	srv := httptest.NewServer(router)
	defer srv.Close()
	c := client(srv.URL, "AKIDEXAMPLE")
	ctx := context.Background()
	if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("bench"), SecretString: aws.String(current)}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("bench")}); err != nil {
			b.Fatal(err)
		}
	}
}

// The recovery AWS documents for a failed rotation: remove AWSPENDING from
// the failed rotation's version, then RotateSecret. The new rotation runs at
// once, even while the failed one waits for its next retry, and the secret
// rotates normally afterwards.
func TestRotateSecretAfterRecoveryFromAFailedRotation(t *testing.T) {
	// An hour between retries: the failed rotation is still waiting for its
	// retry when the recovery happens.
	e := start(t, secretsmanager.Options{Retries: 3, RetryBackoff: time.Hour})
	ctx := context.Background()
	arn := e.create(t, "app/db")
	failed := e.failSetSecret(t, arn)
	e.rot.Fail("")
	if _, err := e.client.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
		SecretId: aws.String(arn), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: failed,
	}); err != nil {
		t.Fatal(err)
	}
	fresh, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatalf("want RotateSecret accepted after AWSPENDING was removed, got %v", err)
	}
	e.wait(t)
	stages := e.stages(t, arn)
	if got := stages[*fresh.VersionId]; !slices.Contains(got, "AWSCURRENT") {
		t.Fatalf("want the new rotation's version AWSCURRENT, got %v", stages)
	}
	if got := stages[*failed]; got != nil {
		t.Fatalf("want the failed rotation's version left without labels, got %v", got)
	}
	if got := strings.Count(strings.Join(e.bus.names(), ","), "RotationSucceeded"); got != 1 {
		t.Fatalf("want one RotationSucceeded, got %v", e.bus.names())
	}
	// Nothing is stuck: the next rotation is accepted and runs.
	next, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatalf("want a later RotateSecret accepted, got %v", err)
	}
	e.wait(t)
	if got := e.stages(t, arn)[*next.VersionId]; !slices.Contains(got, "AWSCURRENT") {
		t.Fatalf("want the later rotation finished, got %v", got)
	}
}

// "That rotation will be reattempted": a RotateSecret naming the pending
// version's token retries it at once, not when the failed run's wait for
// its next retry ends.
func TestRotateSecretWithThePendingTokenRetriesAtOnce(t *testing.T) {
	e := start(t, secretsmanager.Options{Retries: 3, RetryBackoff: time.Hour})
	ctx := context.Background()
	arn := e.create(t, "app/db")
	pending := e.failSetSecret(t, arn)
	e.rot.Fail("")
	if _, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(arn), ClientRequestToken: pending}); err != nil {
		t.Fatalf("want RotateSecret with the pending token accepted, got %v", err)
	}
	e.wait(t)
	if got := e.stages(t, arn)[*pending]; !slices.Contains(got, "AWSCURRENT") {
		t.Fatalf("want the pending version finished, got %v", got)
	}
}

// A user who removes AWSPENDING while a step runs stops the rotation: no
// later step runs on a version that is no longer pending, and AWSCURRENT
// does not move to it.
func TestPendingLabelRemovedDuringAStep(t *testing.T) {
	e := start(t, secretsmanager.Options{Retries: 3, RetryBackoff: time.Hour})
	ctx := context.Background()
	arn := e.create(t, "app/db")
	removeErr := make(chan error, 1)
	e.fns.before = func(ev events.SecretsManagerSecretRotationEvent) {
		if ev.Step == "setSecret" {
			_, err := e.client.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
				SecretId: aws.String(arn), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(ev.ClientRequestToken)})
			removeErr <- err
		}
	}
	out, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(arn), RotationLambdaARN: aws.String(lambdaARN)})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-removeErr; err != nil {
		t.Fatal(err)
	}
	e.wait(t)
	for _, step := range e.fns.steps() {
		if step == "testSecret" || step == "finishSecret" {
			t.Fatalf("want no step after the label was removed, got %v", e.fns.steps())
		}
	}
	if got := e.stages(t, arn)[*out.VersionId]; got != nil {
		t.Fatalf("want the version left without labels, got %v", got)
	}
	if v, err := e.client.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(arn)}); err != nil || *v.SecretString != current {
		t.Fatalf("want AWSCURRENT unchanged (%v)", err)
	}
	if names := e.bus.names(); !slices.Contains(names, "RotationAbandoned") || slices.Contains(names, "RotationSucceeded") {
		t.Fatalf("want the rotation abandoned, got events %v", names)
	}
}

// CancelRotateSecret while a step runs: the step finishes (a Lambda
// invocation is not interrupted), no later step runs, the labels stay as
// they are for the user to clean up, and the documented clean-up lets the
// next rotation run.
func TestCancelRotateSecretDuringAStep(t *testing.T) {
	e := start(t, secretsmanager.Options{Retries: 3, RetryBackoff: time.Hour})
	ctx := context.Background()
	arn := e.create(t, "app/db")
	var once sync.Once
	cancelled := make(chan *sm.CancelRotateSecretOutput, 1)
	e.fns.before = func(ev events.SecretsManagerSecretRotationEvent) {
		if ev.Step == "setSecret" {
			once.Do(func() {
				c, err := e.client.CancelRotateSecret(ctx, &sm.CancelRotateSecretInput{SecretId: aws.String(arn)})
				if err != nil {
					c = nil
				}
				cancelled <- c
			})
		}
	}
	out, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(arn), RotationLambdaARN: aws.String(lambdaARN)})
	if err != nil {
		t.Fatal(err)
	}
	c := <-cancelled
	if c == nil || aws.ToString(c.VersionId) != *out.VersionId {
		t.Fatalf("want CancelRotateSecret to return the pending version %s, got %+v", *out.VersionId, c)
	}
	e.wait(t)
	if got, want := e.fns.steps(), []string{"createSecret", "setSecret"}; !slices.Equal(got, want) {
		t.Fatalf("want steps %v, got %v", want, got)
	}
	if got := e.stages(t, arn)[*out.VersionId]; !slices.Equal(got, []string{"AWSPENDING"}) {
		t.Fatalf("want AWSPENDING left on the cancelled version, got %v", got)
	}
	if names := e.bus.names(); slices.Contains(names, "RotationFailed") || slices.Contains(names, "RotationSucceeded") {
		t.Fatalf("want no outcome event for a cancelled rotation, got %v", names)
	}
	e.fns.before = nil
	if _, err := e.client.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
		SecretId: aws.String(arn), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: out.VersionId}); err != nil {
		t.Fatal(err)
	}
	next, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatalf("want RotateSecret accepted after the clean-up, got %v", err)
	}
	e.wait(t)
	if got := e.stages(t, arn)[*next.VersionId]; !slices.Contains(got, "AWSCURRENT") {
		t.Fatalf("want the next rotation finished, got %v", got)
	}
}

// RotationAbandoned: "When you manually create a new version of a secret,
// you send a message signalling the abandonment of the current ongoing
// rotation in favor of the new secret version. As a result, Secrets Manager
// removes the AWSPENDING label to allow future rotations to succeed."
func TestManualVersionAbandonsTheRotation(t *testing.T) {
	for _, tt := range []struct {
		name  string
		write func(e *env, arn string) error
	}{
		{"PutSecretValue", func(e *env, arn string) error {
			_, err := e.client.PutSecretValue(context.Background(), &sm.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(`{"username":"app","password":"Set-By-Hand-1"}`)})
			return err
		}},
		{"UpdateSecret", func(e *env, arn string) error {
			_, err := e.client.UpdateSecret(context.Background(), &sm.UpdateSecretInput{SecretId: aws.String(arn), SecretString: aws.String(`{"username":"app","password":"Set-By-Hand-1"}`)})
			return err
		}},
	} {
		// A rotation whose retries are spent, and one waiting for its retry.
		for _, waiting := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, run waiting %t", tt.name, waiting), func(t *testing.T) {
				opts := secretsmanager.Options{Retries: -1}
				if waiting {
					opts = secretsmanager.Options{Retries: 3, RetryBackoff: time.Hour}
				}
				e := start(t, opts)
				ctx := context.Background()
				arn := e.create(t, "app/db")
				failed := e.failSetSecret(t, arn)
				if !waiting {
					e.wait(t)
				}
				if err := tt.write(e, arn); err != nil {
					t.Fatal(err)
				}
				if got := e.stages(t, arn)[*failed]; got != nil {
					t.Fatalf("want AWSPENDING removed from the abandoned rotation's version, got %v", got)
				}
				e.wait(t)
				if got := strings.Count(strings.Join(e.bus.names(), ","), "RotationAbandoned"); got != 1 {
					t.Fatalf("want one RotationAbandoned, got %v", e.bus.names())
				}
				e.rot.Fail("")
				next, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(arn)})
				if err != nil {
					t.Fatalf("want the next rotation accepted, got %v", err)
				}
				e.wait(t)
				if got := e.stages(t, arn)[*next.VersionId]; !slices.Contains(got, "AWSCURRENT") {
					t.Fatalf("want the next rotation finished, got %v", got)
				}
			})
		}
	}
}

// The rotation's own writes (PutSecretValue of the pending value with
// AWSPENDING, by createSecret) and writes to a secret without rotation
// abandon nothing.
func TestOnlyManualCurrentVersionsAbandon(t *testing.T) {
	e := start(t, secretsmanager.Options{})
	ctx := context.Background()
	arn := e.create(t, "app/db")
	// No rotation configured: a pending version put by hand stays when a new
	// current one is put.
	if _, err := e.client.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String(arn), ClientRequestToken: aws.String(strings.Repeat("p", 32)),
		SecretString: aws.String("pending"), VersionStages: []string{"AWSPENDING"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("new")}); err != nil {
		t.Fatal(err)
	}
	if got := e.stages(t, arn)[strings.Repeat("p", 32)]; !slices.Equal(got, []string{"AWSPENDING"}) {
		t.Fatalf("want AWSPENDING kept on a secret without rotation, got %v", got)
	}
	if names := e.bus.names(); slices.Contains(names, "RotationAbandoned") {
		t.Fatalf("want no RotationAbandoned, got %v", names)
	}
}

// After CancelRotateSecret, RotateSecret with the cancelled rotation's
// token turns rotation on again and resumes that version, even while the
// cancelled run was waiting for its retry.
func TestRotateSecretResumesACancelledRotation(t *testing.T) {
	e := start(t, secretsmanager.Options{Retries: 3, RetryBackoff: time.Hour})
	ctx := context.Background()
	arn := e.create(t, "app/db")
	cancelled := e.failSetSecret(t, arn)
	if _, err := e.client.CancelRotateSecret(ctx, &sm.CancelRotateSecretInput{SecretId: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	e.rot.Fail("")
	if _, err := e.client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(arn), ClientRequestToken: cancelled}); err != nil {
		t.Fatalf("want RotateSecret with the cancelled version's token accepted, got %v", err)
	}
	e.wait(t)
	if got := e.stages(t, arn)[*cancelled]; !slices.Contains(got, "AWSCURRENT") {
		t.Fatalf("want the cancelled version resumed and finished, got %v", got)
	}
}

// DeleteSecret stops a rotation waiting for its retry.
func TestDeleteSecretStopsTheRotation(t *testing.T) {
	e := start(t, secretsmanager.Options{Retries: 3, RetryBackoff: time.Hour})
	ctx := context.Background()
	arn := e.create(t, "app/db")
	e.failSetSecret(t, arn)
	if _, err := e.client.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String(arn), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	e.wait(t)
	if got := strings.Count(strings.Join(e.fns.steps(), ","), "createSecret"); got != 1 {
		t.Fatalf("want no attempt after DeleteSecret, got steps %v", e.fns.steps())
	}
}

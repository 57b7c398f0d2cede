package awslocal_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor/rotators/rotatortest"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore/awssm"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/lambda"
)

// TestBoto3Session runs testdata/boto3-session.py: boto3, unchanged but for
// its endpoint URL, creates, rotates (the engine in process behind Lambda's
// registry), reads events from a queue, batch-reads, and invokes a step by
// hand through Lambda's Invoke API.
func TestBoto3Session(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 with boto3 (moto's dependency) is needed: %v", err)
	}
	logs := &cliLog{}
	srv, err := awslocal.Start(awslocal.Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	engine, err := lifecycle.New(awssm.New(sm.NewFromConfig(sdkConfig(srv.URL, awslocal.DefaultAccount))),
		&rotatortest.Fake{}, lifecycle.DefaultConfig(), slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Lambda.Register(srv.FunctionARN("rotor-py"), lambda.Handler(engine.HandleRotationEvent))

	const initial = "Py-Initial-Secret-3b8d"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/boto3-session.py")
	cmd.Env = []string{
		"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=" + awslocal.DefaultAccount, "AWS_SECRET_ACCESS_KEY=x", "AWS_DEFAULT_REGION=" + awslocal.DefaultRegion,
		"AWS_EC2_METADATA_DISABLED=true", "ENDPOINT=" + srv.URL, "FUNCTION_ARN=" + srv.FunctionARN("rotor-py"), "INITIAL=" + initial,
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3 session failed: %v\n%s", err, stderr.String())
	}
	got := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
			got[k] = v
		}
	}
	want := map[string]string{
		"created":                "py/app",
		"rotated-version-stages": "AWSCURRENT,AWSPENDING",
		"rotation-enabled":       "True",
		"events":                 "RotationStarted,RotationSucceeded",
		"batch":                  "1 ResourceNotFoundException",
		"missing":                "ResourceNotFoundException",
		"invoke-error":           "Unhandled StepError",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: want %q, got %q", k, v, got[k])
		}
	}
	for _, sec := range srv.SecretsManager.Store(awslocal.DefaultAccount, awslocal.DefaultRegion).Snapshot().Secrets {
		for _, v := range sec.Versions {
			var c struct{ Password string }
			_ = json.Unmarshal(v.Value, &c)
			if c.Password == "" {
				t.Fatalf("want a password in %s version %s, got none", sec.Name, v.VersionID)
			}
			if strings.Contains(logs.String(), c.Password) {
				t.Errorf("want no secret value in the endpoint's or the function's log, found %s version %s", sec.Name, v.VersionID)
			}
		}
	}
}

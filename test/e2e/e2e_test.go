package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
	"github.com/rotorhq/rotor/test/awslocal/lambda"
	"github.com/rotorhq/rotor/test/pgserver"
)

const masterUser = "rotor_master"

var (
	db        *pgserver.Server
	endpoint  *awslocal.Server
	client    *sm.Client
	logs      = &syncBuffer{}
	fnLogPath string
	// bootstrap is the postgres function, built for this machine as
	// `make local-build` builds it; rie is aws-lambda-rie.
	bootstrap string
	rie       string
	masterARN string
	masterPW  = "Master-" + uuid.NewString()
)

// calls counts the endpoint's API calls by target.
var calls = &awstest.Calls{}

// Two functions from the same binary, one per strategy.
var functions = map[string]string{"rotor-postgres": "alternating-users", "rotor-postgres-single": "single-user"}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rotor-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bootstrap = filepath.Join(dir, "postgres", "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", bootstrap, "github.com/rotorhq/rotor/functions/postgres")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build the function: %w\n%s", err, out)
	}
	if rie, err = lambda.EnsureRIE(ctx); err != nil {
		return 0, err
	}
	if db, err = pgserver.Start(pgserver.Options{TLS: true}); err != nil {
		return 0, err
	}
	defer db.Stop()
	if err := db.Exec(ctx, `CREATE ROLE `+masterUser+` WITH LOGIN CREATEROLE PASSWORD '`+masterPW+`'`); err != nil {
		return 0, err
	}
	endpoint, err = awslocal.Start(awslocal.Options{
		RotationRetries: 2, RotationBackoff: 20 * time.Millisecond, OnCall: calls.Observe,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		return 0, err
	}
	defer endpoint.Close()
	fnLogPath = filepath.Join(dir, "function.log")
	for name, strategy := range functions {
		_, err := endpoint.Lambda.StartFunction(ctx, endpoint.FunctionARN(name), lambda.RIEOptions{
			Path: rie, Bootstrap: bootstrap, Timeout: 30 * time.Second, LogFile: fnLogPath,
			Env: functionEnv(strategy),
		})
		if err != nil {
			return 0, err
		}
	}
	client = sm.NewFromConfig(awsConfig())
	if masterARN, err = createSecret(ctx, "e2e/master", masterUser, masterPW, ""); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// functionEnv is the postgres function's environment for a strategy.
func functionEnv(strategy string) map[string]string {
	return map[string]string{
		"SECRETS_MANAGER_ENDPOINT": endpoint.URL,
		"ROTATION_STRATEGY":        strategy,
		"ROTOR_CA_BUNDLE":          db.CAFile,
		"LOG_LEVEL":                "debug",
	}
}

func createSecret(ctx context.Context, name, user, password, master string) (string, error) {
	doc := map[string]any{"engine": "postgres", "host": db.Host, "port": db.Port, "username": user, "password": password, "dbname": "postgres"}
	if master != "" {
		doc["masterarn"] = master
	}
	raw, _ := json.Marshal(doc)
	out, err := client.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(raw))})
	if err != nil {
		return "", err
	}
	return *out.ARN, nil
}

// roleSeq makes role and secret names unique, so that -count=N runs.
var roleSeq atomic.Int64

// newApp creates a login role and its secret.
func newApp(t *testing.T, user string) string {
	t.Helper()
	ctx := context.Background()
	user = fmt.Sprintf("%s_%d", user, roleSeq.Add(1))
	pw := "Initial-" + uuid.NewString()
	if err := db.Exec(ctx, `CREATE ROLE `+user+` WITH LOGIN PASSWORD '`+pw+`'`); err != nil {
		t.Fatal(err)
	}
	arn, err := createSecret(ctx, "e2e/"+user, user, pw, masterARN)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

type credential struct{ Username, Password string }

func read(t *testing.T, arn, stage string) (credential, string) {
	t.Helper()
	out, err := client.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String(stage)})
	if err != nil {
		t.Fatalf("read %s: %v", stage, err)
	}
	var c credential
	if err := json.Unmarshal([]byte(*out.SecretString), &c); err != nil {
		t.Fatal(err)
	}
	return c, *out.VersionId
}

func waitRotations(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := endpoint.SecretsManager.WaitRotations(ctx); err != nil {
		t.Fatalf("rotations did not settle: %v", err)
	}
}

func rotate(t *testing.T, arn, function, token string) string {
	t.Helper()
	in := &sm.RotateSecretInput{SecretId: aws.String(arn), RotationLambdaARN: aws.String(endpoint.FunctionARN(function))}
	if token != "" {
		in.ClientRequestToken = aws.String(token)
	}
	out, err := client.RotateSecret(context.Background(), in)
	if err != nil {
		t.Fatalf("RotateSecret: %v", err)
	}
	waitRotations(t)
	return *out.VersionId
}

func mustLogin(t *testing.T, c credential, what string) {
	t.Helper()
	if err := db.CanLogin(context.Background(), c.Username, c.Password, true); err != nil {
		t.Fatalf("want %s (%s) to log in, got %v", what, c.Username, err)
	}
}

func TestRotationsWithTheRealFunction(t *testing.T) {
	for function, strategy := range functions {
		t.Run(strategy, func(t *testing.T) {
			arn := newApp(t, "app_"+strings.ReplaceAll(strategy, "-", "_"))
			for i := range 3 {
				version := rotate(t, arn, function, "")
				cur, curVersion := read(t, arn, "AWSCURRENT")
				if curVersion != version {
					t.Fatalf("rotation %d: want AWSCURRENT on the rotated version %s, got %s", i+1, version, curVersion)
				}
				mustLogin(t, cur, "AWSCURRENT")
				if strategy == "alternating-users" {
					prev, _ := read(t, arn, "AWSPREVIOUS")
					mustLogin(t, prev, "AWSPREVIOUS (alternating users keep it valid)")
					if prev.Username == cur.Username {
						t.Fatalf("rotation %d: want AWSPREVIOUS and AWSCURRENT on different users, both are %s", i+1, cur.Username)
					}
				}
			}
			d, err := client.DescribeSecret(context.Background(), &sm.DescribeSecretInput{SecretId: aws.String(arn)})
			if err != nil || d.LastRotatedDate == nil || !aws.ToBool(d.RotationEnabled) {
				t.Fatalf("want rotation enabled and LastRotatedDate set, got %+v (%v)", d, err)
			}
		})
	}
	checkNoSecretInLogs(t)
}

// TestStoppedDatabaseLeavesTheRotationPending: with the database down,
// setSecret fails on every attempt; AWSPENDING stays on the new version,
// AWSCURRENT still logs in, and a later RotateSecret is refused until the
// same token is given again, which then completes the rotation.
func TestStoppedDatabaseLeavesTheRotationPending(t *testing.T) {
	arn := newApp(t, "app_outage")
	before, beforeVersion := read(t, arn, "AWSCURRENT")
	db.Halt()
	resumed := false
	defer func() {
		if !resumed {
			_ = db.Resume()
		}
	}()
	version := rotate(t, arn, "rotor-postgres", "")
	d, err := client.DescribeSecret(context.Background(), &sm.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.VersionIdsToStages[version]; !slices.Equal(got, []string{"AWSPENDING"}) {
		t.Fatalf("want AWSPENDING left on %s, got %v", version, got)
	}
	if got := d.VersionIdsToStages[beforeVersion]; !slices.Contains(got, "AWSCURRENT") {
		t.Fatalf("want AWSCURRENT still on %s, got %v", beforeVersion, got)
	}
	_, err = client.RotateSecret(context.Background(), &sm.RotateSecretInput{SecretId: aws.String(arn)})
	var ir *types.InvalidRequestException
	if !errors.As(err, &ir) || !strings.Contains(err.Error(), "previous rotation isn't complete") {
		t.Fatalf("want InvalidRequestException: A previous rotation isn't complete, got %v", err)
	}

	if err := db.Resume(); err != nil {
		t.Fatal(err)
	}
	resumed = true
	mustLogin(t, before, "AWSCURRENT after the outage")
	if got := rotate(t, arn, "rotor-postgres", version); got != version {
		t.Fatalf("want the retry to finish version %s, got %s", version, got)
	}
	cur, curVersion := read(t, arn, "AWSCURRENT")
	if curVersion != version {
		t.Fatalf("want AWSCURRENT on %s after the retry, got %s", version, curVersion)
	}
	mustLogin(t, cur, "the rotated AWSCURRENT")
}

// checkNoSecretInLogs scans the function's log (its JSON lines under
// aws-lambda-rie) and the endpoint's for every password a secret holds.
func checkNoSecretInLogs(t *testing.T) {
	t.Helper()
	fnLog, err := os.ReadFile(fnLogPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(fnLog, []byte("rotation step finished")) {
		t.Fatalf("want the function's step log lines in %s, got none", fnLogPath)
	}
	store := endpoint.SecretsManager.Store(awslocal.DefaultAccount, awslocal.DefaultRegion)
	for _, sec := range store.Snapshot().Secrets {
		for _, v := range sec.Versions {
			var c credential
			if json.Unmarshal(v.Value, &c) != nil || c.Password == "" {
				continue
			}
			for name, log := range map[string][]byte{"function": fnLog, "endpoint": logs.Bytes()} {
				if bytes.Contains(log, []byte(c.Password)) {
					t.Errorf("want no secret value in the %s log, found the password of %s version %s", name, sec.Name, v.VersionID)
				}
			}
		}
	}
}

// BenchmarkRotation is one full rotation as AWS runs it: RotateSecret, the
// four steps of the real function under aws-lambda-rie against PostgreSQL
// (TLS, SCRAM), through the endpoint. It reports the Secrets Manager calls
// the function made per rotation, by operation.
func BenchmarkRotation(b *testing.B) {
	for _, strategy := range []string{"alternating-users", "single-user"} {
		b.Run(strategy, func(b *testing.B) {
			function := "rotor-postgres"
			if strategy == "single-user" {
				function = "rotor-postgres-single"
			}
			benchRotations(b, benchSecret(b, "bench", strategy), function)
			reportCalls(b)
		})
	}
}

// benchSecret creates a role named after prefix and strategy (unique in
// the binary, so -count=2 works) and its alternating-users secret, for a
// rotation benchmark.
func benchSecret(b *testing.B, prefix, strategy string) (arn string) {
	b.Helper()
	ctx := context.Background()
	user := fmt.Sprintf("%s_%s_%d", prefix, strings.ReplaceAll(strategy, "-", "_"), roleSeq.Add(1))
	pw := "Initial-" + uuid.NewString()
	if err := db.Exec(ctx, `CREATE ROLE `+user+` WITH LOGIN PASSWORD '`+pw+`'`); err != nil {
		b.Fatal(err)
	}
	arn, err := createSecret(ctx, "e2e/"+user, user, pw, masterARN)
	if err != nil {
		b.Fatal(err)
	}
	return arn
}

// benchRotations times b.Loop's rotations of the secret arn as AWS runs
// them (RotateSecret, then the four steps through function), each checked
// finished, with the Secrets Manager calls counted from the first.
func benchRotations(b *testing.B, arn, function string) {
	b.Helper()
	ctx := context.Background()
	calls.Reset()
	b.ResetTimer()
	for b.Loop() {
		out, err := client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(arn), RotationLambdaARN: aws.String(endpoint.FunctionARN(function))})
		if err != nil {
			b.Fatal(err)
		}
		if err := endpoint.SecretsManager.WaitRotations(ctx); err != nil {
			b.Fatal(err)
		}
		d, err := client.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)})
		if err != nil || !slices.Contains(d.VersionIdsToStages[*out.VersionId], "AWSCURRENT") {
			b.Fatalf("want the rotation finished, got %v (%v)", d.VersionIdsToStages, err)
		}
	}
	b.StopTimer()
}

// reportCalls reports the Secrets Manager calls the function made per
// rotation, by operation, since calls.Reset: the benchmark's own
// RotateSecret and DescribeSecret (one of each per rotation) are not the
// function's.
func reportCalls(b *testing.B) {
	b.Helper()
	total := 0
	for target, n := range calls.Snapshot() {
		op := strings.TrimPrefix(target, "secretsmanager.")
		if op == target {
			continue
		}
		switch op {
		case "RotateSecret":
			continue
		case "DescribeSecret":
			n -= b.N
		}
		total += n
		b.ReportMetric(float64(n)/float64(b.N), op+"/op")
	}
	b.ReportMetric(float64(total)/float64(b.N), "sm-calls/op")
}

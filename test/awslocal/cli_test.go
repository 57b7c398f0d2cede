package awslocal_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rotorhq/rotor/rotators/rotatortest"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore/awssm"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/lambda"
)

// What the CLI session sets; the test looks for each in the logs.
const (
	cliSecretName   = "cli/app"
	cliInitialValue = `{"username":"app","password":"Cli-Initial-Secret-7f3a"}`
	cliPendingValue = `{"username":"app","password":"Cli-Pending-Secret-9c1e"}`
	cliMessageBody  = "hello from the CLI session, message 1"
)

// cliLog is a log destination that tests read once the endpoint is closed.
type cliLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *cliLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *cliLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// cliOutput is the session's "key: value" lines by key, in order. Each
// check takes the lines it reads, so that a line nobody checks is reported.
type cliOutput struct {
	lines map[string][]string
	taken map[string]bool
}

func parseCLIOutput(t *testing.T, stdout []byte) *cliOutput {
	t.Helper()
	o := &cliOutput{lines: map[string][]string{}, taken: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			t.Errorf("want key: value lines, got %q", sc.Text())
			continue
		}
		o.lines[key] = append(o.lines[key], value)
	}
	return o
}

// one returns the key's only value; a missing or repeated key is an error.
func (o *cliOutput) one(t *testing.T, key string) string {
	t.Helper()
	o.taken[key] = true
	if v := o.lines[key]; len(v) != 1 {
		t.Errorf("%s: want one line, got %d %q", key, len(v), v)
		return ""
	}
	return o.lines[key][0]
}

func (o *cliOutput) all(key string) []string {
	o.taken[key] = true
	return o.lines[key]
}

func (o *cliOutput) unchecked() []string {
	var keys []string
	for k := range o.lines {
		if !o.taken[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func cliConfig(url string) aws.Config {
	return aws.Config{
		Region:           awslocal.DefaultRegion,
		Credentials:      credentials.NewStaticCredentialsProvider(awslocal.DefaultAccount, "x", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	}
}

// TestCLISession runs testdata/cli-session.sh, a session of the AWS CLI
// against the endpoint, and checks every line it prints against what the
// endpoint's state says, or, for the states the session passed through,
// against what AWS documents. The rotation runs the lifecycle engine with a
// fake rotator, in process, reaching the endpoint over HTTP as the Lambda
// binary would.
func TestCLISession(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("this test needs the AWS CLI (aws) on PATH, and is never skipped: %v", err)
	}

	var endpointLog, engineLog cliLog
	debug := &slog.HandlerOptions{Level: slog.LevelDebug}
	srv, err := awslocal.Start(awslocal.Options{
		Logger: slog.New(slog.NewTextHandler(&endpointLog, debug)),
		// An hour between retries: the failed rotation of the recovery
		// part is still waiting for its retry when the recovery happens.
		RotationBackoff: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	closeServer := func() {
		if !closed {
			closed = true
			if err := srv.Close(); err != nil {
				t.Errorf("close the endpoint: %v", err)
			}
		}
	}
	t.Cleanup(closeServer)

	cfg := cliConfig(srv.URL)
	smc := sm.NewFromConfig(cfg)
	engine, err := lifecycle.New(awssm.New(smc), &rotatortest.Fake{}, lifecycle.DefaultConfig(),
		slog.New(slog.NewTextHandler(&engineLog, debug)))
	if err != nil {
		t.Fatal(err)
	}
	functionARN := srv.FunctionARN("rotor-cli")
	srv.Lambda.Register(functionARN, lambda.Handler(engine.HandleRotationEvent))
	failingARN := srv.FunctionARN("rotor-cli-failing")
	srv.Lambda.Register(failingARN, lambda.Handler(func(context.Context, events.SecretsManagerSecretRotationEvent) error {
		return errors.New("this rotation function always fails")
	}))

	// A bound for a hung session, not a timing assertion: the CLI starts a
	// Python interpreter per call, slow on a loaded machine.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "testdata/cli-session.sh")
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"AWS_ACCESS_KEY_ID=" + awslocal.DefaultAccount,
		"AWS_SECRET_ACCESS_KEY=x",
		"AWS_DEFAULT_REGION=" + awslocal.DefaultRegion,
		"AWS_EC2_METADATA_DISABLED=true",
		// No retries: an error of the endpoint shows at once.
		"AWS_MAX_ATTEMPTS=1",
		"ENDPOINT=" + srv.URL,
		"FUNCTION_ARN=" + functionARN,
		"FAILING_FUNCTION_ARN=" + failingARN,
		"SECRET_NAME=" + cliSecretName,
		"INITIAL_VALUE=" + cliInitialValue,
		"PENDING_VALUE=" + cliPendingValue,
		"MESSAGE_BODY=" + cliMessageBody,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	runErr := cmd.Run()
	t.Logf("the CLI session (%s) took %v", awsCLI, time.Since(start).Round(time.Millisecond))
	if runErr != nil {
		t.Fatalf("cli-session.sh: %v\nstderr:\n%s\nstdout:\n%s", runErr, stderr.String(), stdout.String())
	}
	if testing.Verbose() {
		t.Logf("session output:\n%s", stdout.String())
	}
	if stderr.Len() > 0 {
		t.Logf("the session's stderr (warnings of the CLI?):\n%s", stderr.String())
	}
	out := parseCLIOutput(t, stdout.Bytes())

	// Let the endpoint settle: the rotation has finished (the session saw
	// its last event), deliveries of the custom bus may still run.
	if err := srv.SecretsManager.WaitRotations(ctx); err != nil {
		t.Fatalf("rotations did not settle: %v", err)
	}
	if err := srv.EventBridge.Drain(ctx); err != nil {
		t.Fatalf("event deliveries did not settle: %v", err)
	}

	store := srv.SecretsManager.Store(awslocal.DefaultAccount, awslocal.DefaultRegion)
	d, err := store.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: cliSecretName})
	if err != nil {
		t.Fatalf("the endpoint has no secret %s: %v", cliSecretName, err)
	}
	listed, err := store.ListSecretVersionIDs(ctx, memstore.ListSecretVersionIDsInput{SecretID: cliSecretName, IncludeDeprecated: true})
	if err != nil {
		t.Fatal(err)
	}
	stagesNow := map[string]string{}
	for _, v := range listed.Versions {
		stagesNow[v.VersionID] = strings.Join(slices.Sorted(slices.Values(v.VersionStages)), ",")
	}
	valueOf := func(versionID string) string {
		v, err := store.GetSecretValue(ctx, memstore.GetSecretValueInput{SecretID: cliSecretName, VersionID: versionID})
		if err != nil {
			t.Errorf("version %s the CLI printed: want a value on the endpoint, got %v", versionID, err)
			return ""
		}
		return string(v.Value())
	}
	current, err := store.GetSecretValue(ctx, memstore.GetSecretValueInput{SecretID: cliSecretName})
	if err != nil {
		t.Fatal(err)
	}
	rotatedValue := string(current.Value())

	v1, v2, rv := out.one(t, "initial-version"), out.one(t, "pending-version"), out.one(t, "rotation-version")
	for _, v := range []struct{ name, id string }{{"initial-version", v1}, {"pending-version", v2}, {"rotation-version", rv}} {
		if _, ok := stagesNow[v.id]; !ok {
			t.Errorf("%s: want a version of %s on the endpoint, got %q (versions: %v)", v.name, cliSecretName, v.id, stagesNow)
		}
	}

	sqsc := sqs.NewFromConfig(cfg)
	ebc := eventbridge.NewFromConfig(cfg)
	queueARN := func(name string) (url, arn string) {
		u, err := sqsc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			t.Errorf("queue %s: %v", name, err)
			return "", ""
		}
		a, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Errorf("queue %s: %v", name, err)
			return *u.QueueUrl, ""
		}
		return *u.QueueUrl, a.Attributes["QueueArn"]
	}
	_, eventsQueueARN := queueARN("rotor-events")
	workURL, workQueueARN := queueARN("rotor-work")
	rule, err := ebc.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("secrets-to-queue")})
	if err != nil {
		t.Fatalf("rule secrets-to-queue: %v", err)
	}
	targets, err := ebc.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("secrets-to-queue")})
	if err != nil {
		t.Fatalf("targets of secrets-to-queue: %v", err)
	}
	if len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].Arn) != eventsQueueARN {
		t.Errorf("secrets-to-queue: want one target, the queue %s, got %+v", eventsQueueARN, targets.Targets)
	}
	bus, err := ebc.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("rotor-app")})
	if err != nil {
		t.Fatalf("bus rotor-app: %v", err)
	}
	work, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(workURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	md5Body := md5.Sum([]byte(cliMessageBody))

	// Each line and what it must say: the endpoint's state now, or, for
	// states the session passed through, what AWS documents.
	for _, c := range []struct{ key, want string }{
		{"created", cliSecretName},
		{"secret-arn", d.ARN},
		{"pending-put-stages", "AWSPENDING"},
		{"stages-initial", "AWSCURRENT"},
		{"stages-pending", "AWSPENDING"},
		// UpdateSecretVersionStage moves AWSCURRENT only; AWSPREVIOUS
		// follows it to the version it left; AWSPENDING stays.
		{"stages-after-move", "AWSCURRENT,AWSPENDING"},
		{"previous-after-move", "AWSPREVIOUS"},
		{"current-version", v2},
		{"current-value", cliPendingValue},
		{"by-id-stages", "AWSPREVIOUS"},
		{"by-id-value", cliInitialValue},
		{"listed", cliSecretName},
		{"tags", tagList(d.Tags)},
		{"events-queue-arn", eventsQueueARN},
		{"rule-arn", aws.ToString(rule.Arn)},
		{"targets-failed", "0"},
		{"pattern-match", "True"},
		{"pattern-no-match", "False"},
		{"rotated", "yes"},
		{"next-rotation-in-days", "10"},
		{"rotation-enabled", "True"},
		{"rotation-schedule", d.Rotation.Rules.ScheduleExpression},
		{"rotation-function", d.Rotation.LambdaARN},
		{"stages-rotated", stagesNow[rv]},
		{"stages-before-rotation", stagesNow[v2]},
		{"rotation-events", "RotationStarted,RotationSucceeded,Secret Label Updated"},
		{"rotation-event-count", "3"},
		{"label-updated", "AWSCURRENT " + rv},
		{"rotation-event-secret", d.ARN},
		{"sent-id", out.one(t, "received-id")},
		{"sent-md5", hex.EncodeToString(md5Body[:])},
		{"received-count", "1"},
		{"received-body", cliMessageBody},
		{"work-queue-after-delete", "0,0"},
		{"bus-arn", aws.ToString(bus.Arn)},
		{"put-events-failed", "0"},
		{"custom-event-id", out.one(t, "put-event-id")},
		{"custom-event-detail", `{"app":"cli","n":1}`},
		// CLI v1 exits 255 on a service error.
		{"error-exit", "255"},
		{"error", "ResourceNotFoundException"},
		{"error-message", "Secrets Manager can't find the specified secret."},
		// SQS's JSON protocol keeps the query protocol's error code in
		// x-amzn-query-error, which botocore reports.
		{"queue-error-exit", "255"},
		{"queue-error", "AWS.SimpleQueueService.NonExistentQueue"},
		{"queue-error-message", "The specified queue does not exist."},
	} {
		if got := out.one(t, c.key); got != c.want {
			t.Errorf("%s: want %q, got %q", c.key, c.want, got)
		}
	}

	// ListSecretVersionIds as the session saw it, before the rotation.
	wantVersions := []string{v1 + " AWSPREVIOUS", v2 + " AWSCURRENT,AWSPENDING"}
	slices.Sort(wantVersions)
	if got := out.all("version"); !slices.Equal(got, wantVersions) {
		t.Errorf("version: want %q, got %q", wantVersions, got)
	}
	// The state the rotation left: a new AWSCURRENT, the hand-staged value
	// AWSPREVIOUS, the first version without a label but kept. AWSPENDING
	// may stay on the new version or be on none (RotateSecret's reference:
	// "When rotation is successful, the AWSPENDING staging label might be
	// attached to the same version as the AWSCURRENT version, or it might
	// not be attached to any version").
	wantStages := map[string][]string{v1: {""}, v2: {"AWSPREVIOUS"}, rv: {"AWSCURRENT", "AWSCURRENT,AWSPENDING"}}
	if len(stagesNow) != len(wantStages) {
		t.Errorf("versions of %s: want %v, got %v", cliSecretName, wantStages, stagesNow)
	}
	for id, want := range wantStages {
		if got := stagesNow[id]; !slices.Contains(want, got) {
			t.Errorf("version %s now: want stages %q, got %q", id, strings.Join(want, `" or "`), got)
		}
	}
	if got := valueOf(v1); got != cliInitialValue {
		t.Errorf("version %s: want the initial value, got %q", v1, got)
	}
	if got := valueOf(v2); got != cliPendingValue {
		t.Errorf("version %s: want the value put with AWSPENDING, got %q", v2, got)
	}
	var rotated struct{ Username, Password string }
	if err := json.Unmarshal([]byte(rotatedValue), &rotated); err != nil || rotated.Username != "app" ||
		rotated.Password == "" || strings.Contains(cliPendingValue, rotated.Password) {
		t.Errorf("rotated value: want username app and a new password, got %v (%v)", rotated.Username, err)
	}
	if got := d.Rotation.NextRotation.Sub(d.Rotation.LastRotated); got != 10*24*time.Hour {
		t.Errorf("next rotation: want 240h after the last, got %v", got)
	}

	// The recovery: the failed rotation's version without a label, the next
	// rotation finished; the configuration test's version holds the current
	// value, without a label.
	recoveryStages := map[string]string{}
	recoveryVersions, err := store.ListSecretVersionIDs(ctx, memstore.ListSecretVersionIDsInput{SecretID: "cli/recovery", IncludeDeprecated: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range recoveryVersions.Versions {
		recoveryStages[v.VersionID] = strings.Join(slices.Sorted(slices.Values(v.VersionStages)), ",")
	}
	fv, nv, ct := out.one(t, "recovery-failed-version"), out.one(t, "recovery-version"), out.one(t, "config-test-version")
	if got, ok := recoveryStages[fv]; !ok || got != "" {
		t.Errorf("recovery-failed-version %s: want a version without labels, got %q (present %t)", fv, got, ok)
	}
	// AWSPENDING, if the rotation left it on the AWSCURRENT version, went to
	// the configuration test's version.
	if seen := out.one(t, "recovery-stages"); !strings.HasPrefix(seen, "AWSCURRENT") {
		t.Errorf("recovery-stages: want AWSCURRENT, got %q", seen)
	}
	if got := recoveryStages[nv]; got != "AWSCURRENT" {
		t.Errorf("recovery-version %s: want AWSCURRENT, got %q", nv, got)
	}
	if got, ok := recoveryStages[ct]; !ok || got != "" || out.one(t, "config-test-stages") != "None" {
		t.Errorf("config-test-version %s: want a version without labels, got %q (present %t)", ct, got, ok)
	}
	recoveryCurrent, err := store.GetSecretValue(ctx, memstore.GetSecretValueInput{SecretID: "cli/recovery"})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := store.GetSecretValue(ctx, memstore.GetSecretValueInput{SecretID: "cli/recovery", VersionID: ct}); err != nil ||
		string(v.Value()) != string(recoveryCurrent.Value()) {
		t.Errorf("config-test-version %s: want a copy of the current value, got another value or %v", ct, err)
	}

	randomPassword := out.one(t, "random-password")
	checkRandomPassword(t, randomPassword)

	// Of the two events put on rotor-app, the rule sent only n > 0, which
	// the session received and left unacknowledged.
	if got, want := work.Attributes["ApproximateNumberOfMessages"]+","+work.Attributes["ApproximateNumberOfMessagesNotVisible"], "0,1"; got != want {
		t.Errorf("rotor-work after the session (visible,not visible): want %s, got %s", want, got)
	}
	if workQueueARN == "" {
		t.Errorf("rotor-work: want a queue ARN, got none")
	}

	if keys := out.unchecked(); len(keys) > 0 {
		t.Errorf("lines nobody checks (add a check): %v", keys)
	}

	// No value the session set or the rotation made reaches a log.
	closeServer()
	secrets := map[string]string{
		"initial value": cliInitialValue, "pending value": cliPendingValue, "rotated value": rotatedValue,
		"initial password": "Cli-Initial-Secret-7f3a", "pending password": "Cli-Pending-Secret-9c1e",
		"rotated password": rotated.Password, "random password": randomPassword,
		"message body": cliMessageBody,
	}
	logs := map[string]string{"endpoint": endpointLog.String(), "rotation function": engineLog.String()}
	if !strings.Contains(logs["endpoint"], "GetSecretValue") {
		t.Errorf("endpoint log: want a line for each call (level debug), got:\n%s", logs["endpoint"])
	}
	for logName, text := range logs {
		for what, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("%s log: want no %s in it, got:\n%s", logName, what, text)
			}
		}
	}
}

func tagList(tags []memstore.Tag) string {
	var out []string
	for _, t := range tags {
		out = append(out, t.Key+"="+t.Value)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// checkRandomPassword checks what the session asked of GetRandomPassword:
// 24 characters, no punctuation, none of O0Il1, each included type.
func checkRandomPassword(t *testing.T, p string) {
	t.Helper()
	if n := len([]rune(p)); n != 24 {
		t.Errorf("random-password: want 24 characters, got %d (%q)", n, p)
	}
	var lower, upper, digit bool
	for _, r := range p {
		switch {
		case strings.ContainsRune("O0Il1", r):
			t.Errorf("random-password: want none of O0Il1, got %q in %q", r, p)
		case unicode.IsLower(r) && r < unicode.MaxASCII:
			lower = true
		case unicode.IsUpper(r) && r < unicode.MaxASCII:
			upper = true
		case unicode.IsDigit(r) && r < unicode.MaxASCII:
			digit = true
		default:
			t.Errorf("random-password: want letters and digits only, got %q in %q", r, p)
		}
	}
	if !lower || !upper || !digit {
		t.Errorf("random-password: want a lowercase letter, an uppercase letter and a digit, got %q", p)
	}
}

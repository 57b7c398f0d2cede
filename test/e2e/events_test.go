package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
	"github.com/rotorhq/rotor/test/awslocal/lambda"
)

// awsConfig is the test's own client configuration for the endpoint.
func awsConfig() aws.Config { return awstest.Config(endpoint.URL) }

// startEventsFunction starts the postgres function (the binary TestMain
// built) under aws-lambda-rie with events on: ROTOR_EVENT_BUS, and
// ROTOR_FINGERPRINT_KEY_SECRET when keySecret is set; extra adds or
// overrides variables. It returns the function's name and the path of its
// own log.
func startEventsFunction(t testing.TB, bus, keySecret string, extra map[string]string) (name, logPath string) {
	t.Helper()
	ctx := context.Background()
	rie, err := lambda.EnsureRIE(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name = fmt.Sprintf("rotor-postgres-events-%d", roleSeq.Add(1))
	logPath = filepath.Join(t.TempDir(), "function.log")
	env := map[string]string{
		"SECRETS_MANAGER_ENDPOINT":     endpoint.URL,
		"AWS_ENDPOINT_URL_EVENTBRIDGE": endpoint.URL,
		"ROTATION_STRATEGY":            "alternating-users",
		"ROTOR_CA_BUNDLE":              db.CAFile,
		"LOG_LEVEL":                    "debug",
		"ROTOR_EVENT_BUS":              bus,
	}
	if keySecret != "" {
		env["ROTOR_FINGERPRINT_KEY_SECRET"] = keySecret
	}
	maps.Copy(env, extra)
	fn, err := endpoint.Lambda.StartFunction(ctx, endpoint.FunctionARN(name), lambda.RIEOptions{
		Path: rie, Bootstrap: bootstrap,
		Timeout: 30 * time.Second, LogFile: logPath, Env: env,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fn.Close() })
	return name, logPath
}

// eventRoute is a custom bus whose rule (source rotor) sends to a queue.
type eventRoute struct {
	bus, queueURL string
}

func newEventRoute(t *testing.T) eventRoute {
	t.Helper()
	ebc, sqsc := eventbridge.NewFromConfig(awsConfig()), sqs.NewFromConfig(awsConfig())
	n := roleSeq.Add(1)
	r := eventRoute{bus: fmt.Sprintf("rotor-e2e-%d", n)}
	if _, err := ebc.CreateEventBus(context.Background(), &eventbridge.CreateEventBusInput{Name: aws.String(r.bus)}); err != nil {
		t.Fatal(err)
	}
	var queueARN string
	r.queueURL, queueARN = awstest.Queue(t, sqsc, fmt.Sprintf("rotor-e2e-events-%d", n))
	awstest.Route(t, ebc, r.bus, "rotor-to-queue", `{"source":["rotor"]}`, queueARN)
	return r
}

// messages waits for deliveries in flight, then drains the queue.
func (r eventRoute) messages(t *testing.T) [][]byte {
	t.Helper()
	return awstest.Drain(t, endpoint, sqs.NewFromConfig(awsConfig()), r.queueURL)
}

// jsonLines decodes the JSON lines of a function log (aws-lambda-rie's own
// lines are not JSON and are skipped).
func jsonLines(t *testing.T, log []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil {
			out = append(out, line)
		}
	}
	return out
}

// checkNoSecretIn scans texts for every password any secret of the
// endpoint holds, and for the extra values (the fingerprint key).
func checkNoSecretIn(t *testing.T, texts map[string][]byte, extra ...string) {
	t.Helper()
	secrets := slices.Clone(extra)
	store := endpoint.SecretsManager.Store(awslocal.DefaultAccount, awslocal.DefaultRegion)
	for _, sec := range store.Snapshot().Secrets {
		for _, v := range sec.Versions {
			var c credential
			if json.Unmarshal(v.Value, &c) == nil && c.Password != "" {
				secrets = append(secrets, c.Password)
			}
		}
	}
	if len(secrets) == 0 {
		t.Fatal("want secret values to scan for, found none")
	}
	for name, text := range texts {
		for _, s := range secrets {
			if bytes.Contains(text, []byte(s)) {
				t.Errorf("want no secret value in %s, found one", name)
			}
		}
	}
}

// TestRotationPublishesEachPhase: a rotation by the real function, with
// events on, puts Rotation Started, Pending Set, Tested and Completed for
// the new version on the bus, one PutEvents call a step, and the rule
// delivers them to the queue in a form events.Parse accepts, fingerprinted
// under the deployment's key and free of secret values.
func TestRotationPublishesEachPhase(t *testing.T) {
	ctx := context.Background()
	route := newEventRoute(t)
	key := "Fingerprint-Key-" + uuid.NewString() + uuid.NewString()
	keyOut, err := client.CreateSecret(ctx, &sm.CreateSecretInput{
		Name: aws.String(fmt.Sprintf("e2e/fingerprint-key-%d", roleSeq.Add(1))), SecretString: aws.String(key),
	})
	if err != nil {
		t.Fatal(err)
	}
	function, logPath := startEventsFunction(t, route.bus, aws.ToString(keyOut.ARN), nil)
	arn := newApp(t, "app_events")
	_, oldVersion := read(t, arn, "AWSCURRENT")
	d, err := client.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}

	before := calls.Snapshot()["AWSEvents.PutEvents"]
	version := rotate(t, arn, function, "")
	if got := calls.Snapshot()["AWSEvents.PutEvents"] - before; got != 4 {
		t.Errorf("want 4 PutEvents calls (one a step), got %d", got)
	}
	cur, err := client.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSCURRENT")})
	if err != nil || aws.ToString(cur.VersionId) != version {
		t.Fatalf("want AWSCURRENT on %s, got %v (%v)", version, cur, err)
	}

	bodies := route.messages(t)
	got := map[events.DetailType]events.Event{}
	for _, b := range bodies {
		ev, err := events.Parse(b)
		if err != nil {
			t.Fatalf("want a body events.Parse accepts, got %v:\n%s", err, b)
		}
		if ev.Detail.VersionID != version {
			t.Errorf("want events of version %s only, got one of %q", version, ev.Detail.VersionID)
			continue
		}
		got[ev.DetailType] = ev
	}
	fp, err := events.NewFingerprinter([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []events.DetailType{events.RotationStarted, events.PendingSet, events.Tested, events.Completed} {
		ev, ok := got[want]
		if !ok {
			t.Errorf("want %q on the queue, got %d events: %v", want, len(bodies), slices.Collect(maps.Keys(got)))
			continue
		}
		d2 := ev.Detail
		if d2.Outcome != events.OutcomeSucceeded || d2.SecretArn != arn || d2.SecretName != aws.ToString(d.Name) ||
			d2.Account != awslocal.DefaultAccount || d2.Region != awslocal.DefaultRegion ||
			d2.CredentialType != "postgres" || d2.Strategy != "alternating-users" {
			t.Errorf("%s: want a succeeded event of %s (%s) by postgres/alternating-users in %s/%s, got %+v",
				want, arn, aws.ToString(d.Name), awslocal.DefaultAccount, awslocal.DefaultRegion, d2)
		}
		if d2.PreviousVersionID != oldVersion {
			t.Errorf("%s: want previousVersionId %s (the old AWSCURRENT), got %q", want, oldVersion, d2.PreviousVersionID)
		}
		if want == events.Completed {
			continue // finishSecret reads no value, so it has no fingerprint
		}
		if !fp.Matches(d2.Fingerprint, []byte(aws.ToString(cur.SecretString))) {
			t.Errorf("%s: want the fingerprint of the new AWSCURRENT value under the deployment's key, got %q", want, d2.Fingerprint)
		}
	}
	if _, ok := got[events.RotationFailed]; ok {
		t.Errorf("want no Rotation Failed event, got %+v", got[events.RotationFailed])
	}

	fnLog, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	published := 0
	for _, line := range jsonLines(t, fnLog) {
		if line["msg"] == "rotation event published" {
			published++
		}
	}
	if published != 4 {
		t.Errorf("want 4 'rotation event published' lines in the function log, got %d", published)
	}
	texts := map[string][]byte{"the function log": fnLog}
	for i, b := range bodies {
		texts[fmt.Sprintf("event body %d", i+1)] = b
	}
	checkNoSecretIn(t, texts, key, masterPW)
}

// TestRotationWithTheBusMissing: with ROTOR_EVENT_BUS naming a bus that
// does not exist (and no fingerprint key), every publish fails; the
// rotation completes all the same, and the function's log shows each miss
// and counts it in the EventsNotPublished metric.
func TestRotationWithTheBusMissing(t *testing.T) {
	function, logPath := startEventsFunction(t, fmt.Sprintf("rotor-e2e-missing-%d", roleSeq.Add(1)), "", nil)
	arn := newApp(t, "app_nobus")
	version := rotate(t, arn, function, "")
	cur, curVersion := read(t, arn, "AWSCURRENT")
	if curVersion != version {
		t.Fatalf("want AWSCURRENT on %s with the bus missing, got %s", version, curVersion)
	}
	mustLogin(t, cur, "AWSCURRENT after a rotation whose events were not published")

	fnLog, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var missed []string
	warnings, metrics := 0, 0
	for _, line := range jsonLines(t, fnLog) {
		switch {
		case line["msg"] == "rotor event not published":
			if line["error_code"] != "ResourceNotFoundException" || line["version_id"] != version {
				t.Errorf("want the miss of version %s logged with ResourceNotFoundException, got %v", version, line)
			}
			missed = append(missed, fmt.Sprint(line["detail_type"]))
		case line["msg"] == "ROTOR_FINGERPRINT_KEY_SECRET is not set: rotation events carry no fingerprints":
			warnings++
		case line["EventsNotPublished"] == 1.0:
			metrics++
		}
	}
	want := []string{string(events.RotationStarted), string(events.PendingSet), string(events.Tested), string(events.Completed)}
	if !slices.Equal(missed, want) {
		t.Errorf("want the misses %v logged, got %v", want, missed)
	}
	if metrics != len(want) {
		t.Errorf("want %d EventsNotPublished metric lines, got %d", len(want), metrics)
	}
	if warnings != 1 {
		t.Errorf("want the missing fingerprint key warned about once (at cold start), got %d", warnings)
	}
	checkNoSecretIn(t, map[string][]byte{"the function log": fnLog}, masterPW)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/events/audit"
	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/deactivation"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
	"github.com/rotorhq/rotor/test/awslocal/clock"
	"github.com/rotorhq/rotor/test/awslocal/lambda"
	"github.com/rotorhq/rotor/test/pgserver"
)

const (
	masterUser   = "rotor_master"
	functionName = "rotor-postgres"
	schedule     = "rate(4 hours)"
	// appSecretName is the rotated secret's name.
	appSecretName = "demo/postgres/app"
	// gateSchedule wakes the gate, as infra/rotor's GateSchedule rule does.
	gateSchedule  = "rate(1 hour)"
	sweepRuleName = "rotor-demo-gate-sweep"
	// busName is rotor's bus: the function publishes every phase there,
	// services subscribe their queues, and acknowledgements come back.
	busName = "rotor-demo"
)

// stack is everything the demo runs: the database, the endpoint with the
// function under aws-lambda-rie, and SDK clients of the endpoint.
type stack struct {
	db       *pgserver.Server
	endpoint *awslocal.Server
	sm       *sm.Client
	sqs      *sqs.Client
	events   *eventbridge.Client
	steps    *stepRecorder
	logs     *bytes.Buffer // the endpoint's log
	fnLog    string
	logDir   string
	appARN   string
	queueURL string
	// The audit sink and the consumers' log.
	auditPath   string
	stopAudit   func() error
	consumerLog *os.File
}

func startStack(ctx context.Context, o options, out io.Writer) (_ *stack, err error) {
	st := &stack{steps: &stepRecorder{byVersion: map[string]*rotation{}}, logs: &bytes.Buffer{}, logDir: o.logDir}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	st.db, err = pgserver.Start(pgserver.Options{TLS: true})
	if err != nil {
		return nil, fmt.Errorf("start PostgreSQL: %w", err)
	}
	fmt.Fprintf(out, "  database  throwaway PostgreSQL on %s:%d: TLS verify-full, scram-sha-256, log_statement=all\n", st.db.Host, st.db.Port)

	rie, err := lambda.EnsureRIE(ctx)
	if err != nil {
		return nil, err
	}
	var logOut io.Writer = st.logs
	if o.verbose {
		logOut = io.MultiWriter(st.logs, os.Stderr)
	}
	// rate(4 hours) passes in one interval.
	speed := float64(4*time.Hour) / float64(o.interval)
	st.endpoint, err = awslocal.Start(awslocal.Options{
		Clock:           clock.Scaled(speed),
		SchedulerTick:   10 * time.Minute, // of the fast clock
		RotationBackoff: 10 * time.Minute,
		Logger:          slog.New(slog.NewJSONHandler(logOut, nil)),
		OnInvoke:        st.steps.observe,
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "  endpoint  %s: Secrets Manager, EventBridge, SQS, Lambda (clock %.0fx: %s every %s)\n", st.endpoint.URL, speed, schedule, o.interval)

	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return nil, err
	}
	st.fnLog, _ = filepath.Abs(filepath.Join(o.logDir, "function.log"))
	_ = os.Remove(st.fnLog)
	var fnOut io.Writer
	if o.verbose {
		fnOut = os.Stderr
	}
	cfg := awstest.Config(st.endpoint.URL)
	st.sm, st.sqs, st.events = sm.NewFromConfig(cfg), sqs.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg)
	keyARN, err := st.prepareEvents(ctx)
	if err != nil {
		return nil, err
	}
	fnARN := st.endpoint.FunctionARN(functionName)
	env := map[string]string{
		"SECRETS_MANAGER_ENDPOINT":     st.endpoint.URL,
		"AWS_ENDPOINT_URL_EVENTBRIDGE": st.endpoint.URL,
		"ROTATION_STRATEGY":            o.strategy,
		"ROTOR_CA_BUNDLE":              st.db.CAFile,
		"ROTOR_EVENT_BUS":              busName,
		"ROTOR_FINGERPRINT_KEY_SECRET": keyARN,
		// The sweep finds its secrets by tag and by the function's name,
		// AWS_LAMBDA_FUNCTION_NAME, which under aws-lambda-rie is RIE's own
		// ("test_function"), not the name the secret's rotation names: the
		// demo lists its secret instead.
		deactivation.EnvSecrets: appSecretName,
	}
	if postgres.Strategy(o.strategy) == postgres.AlternatingUsers {
		env["ROTOR_LOCK_IDLE_USER"] = "true"
	}
	_, err = st.endpoint.Lambda.StartFunction(ctx, fnARN, lambda.RIEOptions{
		Path: rie, Bootstrap: o.bootstrap, Timeout: 30 * time.Second, LogFile: st.fnLog, Stdout: fnOut, Stderr: fnOut, Env: env,
	})
	if err != nil {
		return nil, fmt.Errorf("start the function under aws-lambda-rie: %w", err)
	}
	fmt.Fprintf(out, "  function  %s: %s under aws-lambda-rie, publishing to bus %s\n", fnARN, o.bootstrap, busName)
	if err := st.prepare(ctx, o); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "  secret    %s (user app, master %s), %d consumers registered (tags rotor:consumer:*)\n", st.appARN, masterUser, o.consumers)
	fmt.Fprintf(out, "  events    function -> bus %s -> one rule and SQS queue per service; acknowledgements -> the function's gate\n", busName)
	fmt.Fprintf(out, "  gate      %s on the default bus -> the function: the sweep locks a previous user once its sessions closed (every %s here)\n",
		gateSchedule, time.Duration(float64(time.Hour)/speed).Round(time.Millisecond))
	fmt.Fprintf(out, "  audit     every rotor and Secrets Manager event -> %s\n\n", st.auditPath)
	return st, nil
}

func (st *stack) close() {
	if st.stopAudit != nil {
		if err := st.stopAudit(); err != nil {
			fmt.Fprintln(os.Stderr, "rotor-demo: audit:", err)
		}
	}
	if st.consumerLog != nil {
		_ = st.consumerLog.Close()
	}
	if st.endpoint != nil {
		if err := st.endpoint.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "rotor-demo: stop the endpoint:", err)
		}
	}
	if st.db != nil {
		if err := st.db.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "rotor-demo: stop PostgreSQL:", err)
		}
	}
	if st.logs != nil && st.logs.Len() > 0 {
		_ = os.WriteFile(filepath.Join(st.logDir, "endpoint.log"), st.logs.Bytes(), 0o644)
	}
}

// prepare creates the master role (CREATEROLE, as an RDS master user is not
// a superuser), the application role with a table it can use, the two
// secrets in AWS's format, and the event subscription.
func (st *stack) prepare(ctx context.Context, o options) error {
	conn, err := st.db.Admin(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	masterPW, appPW := "M-"+uuid.NewString(), "A-"+uuid.NewString()
	for _, sql := range []string{
		`CREATE ROLE ` + masterUser + ` WITH LOGIN CREATEROLE PASSWORD '` + masterPW + `'`,
		`CREATE ROLE app_rw NOLOGIN`,
		`GRANT app_rw TO ` + masterUser + ` WITH ADMIN OPTION`,
		`CREATE TABLE orders (id serial PRIMARY KEY, item text, at timestamptz DEFAULT now())`,
		`GRANT SELECT, INSERT ON orders TO app_rw`,
		`GRANT USAGE ON SEQUENCE orders_id_seq TO app_rw`,
		`CREATE ROLE app WITH LOGIN PASSWORD '` + appPW + `' IN ROLE app_rw`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("prepare database: %w", err)
		}
	}
	secret := func(name string, fields map[string]any) (string, error) {
		doc := map[string]any{"engine": "postgres", "host": st.db.Host, "port": st.db.Port, "dbname": "postgres"}
		for k, v := range fields {
			doc[k] = v
		}
		raw, _ := json.Marshal(doc)
		out, err := st.sm.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(raw))})
		if err != nil {
			return "", fmt.Errorf("create secret %s: %w", name, err)
		}
		st.steps.initial = aws.ToString(out.VersionId) // the app secret's, created last
		return *out.ARN, nil
	}
	masterARN, err := secret("demo/postgres/master", map[string]any{"username": masterUser, "password": masterPW})
	if err != nil {
		return err
	}
	if st.appARN, err = secret(appSecretName, map[string]any{"username": "app", "password": appPW, "masterarn": masterARN}); err != nil {
		return err
	}
	// Services register on the secret; the gate waits for each of them.
	var tags []smtypes.Tag
	for i := range o.consumers {
		tags = append(tags, smtypes.Tag{Key: aws.String(events.ConsumerTagPrefix + consumerName(i)), Value: aws.String("sqs")})
	}
	if len(tags) > 0 {
		if _, err := st.sm.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String(st.appARN), Tags: tags}); err != nil {
			return err
		}
	}
	// The function is the deactivation gate too: its events, and its sweep
	// on a schedule, which revokes a previous user once the services'
	// pools have closed its sessions (after the last acknowledgement, as a
	// rule).
	if err := st.sweepRule(ctx, st.endpoint.FunctionARN(functionName)); err != nil {
		return err
	}
	gate := fmt.Sprintf(`{"source":["rotor",{"prefix":"rotor.consumer."}],"detail-type":[%q,%q],"detail":{"secretArn":[%q]}}`, events.ConsumerAcknowledged, events.Completed, st.appARN)
	if err := st.rule(ctx, "rotor-demo-gate", gate, st.endpoint.FunctionARN(functionName)); err != nil {
		return err
	}
	var queueARN string
	if st.queueURL, queueARN, err = awstest.CreateQueue(ctx, st.sqs, "rotor-demo-events"); err != nil {
		return err
	}
	// Label events name the secret in resources, CloudTrail events in
	// detail.additionalEventData.SecretId.
	pattern, _ := json.Marshal(map[string]any{
		"source": []string{"aws.secretsmanager"},
		"$or": []any{
			map[string]any{"resources": []string{st.appARN}},
			map[string]any{"detail": map[string]any{"additionalEventData": map[string]any{"SecretId": []string{st.appARN}}}},
		},
	})
	if err := awstest.PutRoute(ctx, st.events, "default", "rotor-demo", string(pattern), queueARN); err != nil {
		return err
	}
	// The demo follows rotor's own events on the same queue.
	return st.rule(ctx, "rotor-demo-watch", `{"source":["rotor",{"prefix":"rotor.consumer."}]}`, queueARN)
}

// prepareEvents makes rotor's bus, the fingerprint key, and the audit
// sink; it returns the key's ARN.
func (st *stack) prepareEvents(ctx context.Context) (string, error) {
	if _, err := st.events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(busName)}); err != nil {
		return "", err
	}
	key, err := st.sm.GetRandomPassword(ctx, &sm.GetRandomPasswordInput{PasswordLength: aws.Int64(64), ExcludePunctuation: aws.Bool(true)})
	if err != nil {
		return "", err
	}
	out, err := st.sm.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("rotor/demo/fingerprint-key"), SecretString: key.RandomPassword})
	if err != nil {
		return "", err
	}
	st.auditPath = filepath.Join(st.logDir, "audit.jsonl")
	_ = os.Remove(st.auditPath)
	w, err := audit.Open(st.auditPath, audit.Options{})
	if err != nil {
		return "", err
	}
	queueURL, err := audit.Subscribe(ctx, st.events, st.sqs, audit.Subscription{Buses: []string{"default", busName}})
	if err != nil {
		_ = w.Close()
		return "", err
	}
	auditCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- audit.Consume(auditCtx, st.sqs, queueURL, w) }()
	st.stopAudit = func() error {
		// Let the last events reach the queue and the sink take them all
		// (written, synced, deleted), then stop it.
		drainCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = st.endpoint.EventBridge.Drain(drainCtx)
		for drainCtx.Err() == nil && st.queueDepth(drainCtx, queueURL) > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		return errors.Join(<-done, w.Close())
	}
	return aws.ToString(out.ARN), nil
}

// queueDepth is how many messages a queue holds, visible or in flight; -1
// when it cannot say.
func (st *stack) queueDepth(ctx context.Context, url string) int {
	out, err := st.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	}})
	if err != nil {
		return -1
	}
	n := 0
	for _, v := range out.Attributes {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n
}

// rule sends the events of rotor's bus that match pattern to target.
func (st *stack) rule(ctx context.Context, name, pattern, target string) error {
	return awstest.PutRoute(ctx, st.events, busName, name, pattern, target)
}

// sweepRule is the gate's schedule on the default bus, with the retry
// policy infra/rotor gives it: a missed sweep is made up by the next one.
func (st *stack) sweepRule(ctx context.Context, function string) error {
	if _, err := st.events.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String(sweepRuleName), ScheduleExpression: aws.String(gateSchedule),
		Description: aws.String("rotor deactivation gate: hourly sweep"),
	}); err != nil {
		return fmt.Errorf("gate schedule: %w", err)
	}
	_, err := st.events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(sweepRuleName), Targets: []ebtypes.Target{{
		Id: aws.String("gate"), Arn: aws.String(function),
		RetryPolicy: &ebtypes.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(3600), MaximumRetryAttempts: aws.Int32(2)},
	}}})
	if err != nil {
		return fmt.Errorf("gate schedule: %w", err)
	}
	return nil
}

// subscribe gives a service its own queue, fed by a rule on rotor's bus.
func (st *stack) subscribe(ctx context.Context, name, pattern string) (string, error) {
	url, arn, err := awstest.CreateQueue(ctx, st.sqs, name)
	if err != nil {
		return "", err
	}
	return url, st.rule(ctx, name, pattern, arn)
}

// run starts the consumers and the rotation schedule, follows the events
// until the rotations are done, and prints the summary.
func (st *stack) run(ctx context.Context, o options, out io.Writer) error {
	work, stopWork := context.WithCancel(ctx)
	defer stopWork()
	var err error
	if st.consumerLog, err = os.Create(filepath.Join(st.logDir, "consumers.log")); err != nil {
		return err
	}
	load, err := st.startConsumers(work, o.consumers, slog.New(slog.NewJSONHandler(st.consumerLog, nil)))
	if err != nil {
		return err
	}

	started := time.Now()
	_, err = st.sm.RotateSecret(ctx, &sm.RotateSecretInput{
		SecretId: aws.String(st.appARN), RotationLambdaARN: aws.String(st.endpoint.FunctionARN(functionName)),
		RotationRules: &smtypes.RotationRulesType{ScheduleExpression: aws.String(schedule)},
	})
	if err != nil {
		return fmt.Errorf("RotateSecret: %w", err)
	}
	fmt.Fprintf(out, "RotateSecret: the first rotation now, then %s\n", schedule)
	ev := st.follow(ctx, o, out)

	// Stop the schedule, let consumers run on the last credential a moment:
	// with alternating users, until the gate's sweep has locked the user
	// before it (their pools retire its sessions within retireWindow), so
	// that the last rotation is deactivated too, but no longer than a
	// bound.
	_, _ = st.sm.CancelRotateSecret(context.WithoutCancel(ctx), &sm.CancelRotateSecretInput{SecretId: aws.String(st.appARN)})
	waitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	_ = st.endpoint.SecretsManager.WaitRotations(waitCtx)
	cancel()
	if ctx.Err() == nil {
		if postgres.Strategy(o.strategy) == postgres.AlternatingUsers {
			st.awaitLastDeactivation(ctx, &ev, max(2*o.interval, 5*time.Second))
		} else {
			time.Sleep(500 * time.Millisecond)
		}
	}
	// No sweep after this: one running while the endpoint shuts down
	// would find it gone.
	_, _ = st.events.DisableRule(context.WithoutCancel(ctx), &eventbridge.DisableRuleInput{Name: aws.String(sweepRuleName)})
	stopWork()
	stats := load.wait()
	if ctx.Err() != nil {
		fmt.Fprintln(out, "\ninterrupted: stopping cleanly")
		return nil
	}
	// The last acknowledgements and the gate's answers.
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	_ = st.endpoint.EventBridge.Drain(drainCtx)
	_ = st.endpoint.Lambda.Drain(drainCtx)
	cancel()
	st.collect(context.WithoutCancel(ctx), &ev)
	if st.stopAudit != nil {
		stopAudit := st.stopAudit
		st.stopAudit = nil
		if err := stopAudit(); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return st.summary(out, o, ev, stats, load.propagation(ev.finished), time.Since(started))
}

// eventLog is what the demo saw on the queue.
type eventLog struct {
	succeeded, failed int
	byType            map[string]int
	bodies            [][]byte
	// From rotor's events: when finishSecret ended, by version, and the
	// acknowledgements and deactivations.
	finished    map[string]time.Time
	acked       map[string]int // acknowledgements by version
	acks        int
	deactivated int
	graceExpiry int
	// deactivatedUnder holds the AWSCURRENT versions under which the gate
	// locked the previous user.
	deactivatedUnder map[string]bool
}

// record takes one event off the queue; it returns its name.
func (ev *eventLog) record(body []byte) string {
	ev.bodies = append(ev.bodies, body)
	if re, err := events.Parse(body); err == nil {
		switch re.DetailType {
		case events.Completed:
			ev.finished[re.Detail.VersionID] = re.Detail.Time
		case events.ConsumerAcknowledged:
			ev.acks++
			ev.acked[re.Detail.VersionID]++
		case events.CredentialDeactivated:
			ev.deactivated++
			ev.deactivatedUnder[re.Detail.VersionID] = true
			if re.Detail.Outcome == events.OutcomeGraceExpired {
				ev.graceExpiry++
			}
		}
		name := "rotor " + string(re.DetailType)
		ev.byType[name]++
		return name
	}
	var e struct {
		DetailType string `json:"detail-type"`
		Detail     struct {
			EventName    string `json:"eventName"`
			LabelUpdated string `json:"labelUpdated"`
		} `json:"detail"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	name := e.Detail.EventName
	if name == "" {
		name = e.DetailType + " " + e.Detail.LabelUpdated
	}
	ev.byType[name]++
	return name
}

// awaitLastDeactivation takes the events off the queue until one says the
// gate locked the user previous to AWSCURRENT, or until bound passes.
func (st *stack) awaitLastDeactivation(ctx context.Context, ev *eventLog, bound time.Duration) {
	d, err := st.sm.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(st.appARN)})
	if err != nil {
		return
	}
	var current string
	for version, stages := range d.VersionIdsToStages {
		if slices.Contains(stages, "AWSCURRENT") {
			current = version
		}
	}
	deadline := time.Now().Add(bound)
	for !ev.deactivatedUnder[current] && ctx.Err() == nil && time.Now().Before(deadline) {
		_, _ = st.take(ctx, ev, 1)
	}
}

// collect drains the queue of what is left after the rotations.
func (st *stack) collect(ctx context.Context, ev *eventLog) {
	for {
		if names, err := st.take(ctx, ev, 0); err != nil || len(names) == 0 {
			return
		}
	}
}

// take receives up to ten events from the queue, waiting at most wait
// seconds for one, records and deletes them, and returns their names.
func (st *stack) take(ctx context.Context, ev *eventLog, wait int32) ([]string, error) {
	msgs, err := st.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(st.queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: wait})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(msgs.Messages))
	for _, m := range msgs.Messages {
		names = append(names, ev.record([]byte(aws.ToString(m.Body))))
		_, _ = st.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(st.queueURL), ReceiptHandle: m.ReceiptHandle})
	}
	return names, nil
}

// follow receives the events from the queue and prints each rotation as its
// AWSCURRENT moves, until o.rotations have succeeded.
func (st *stack) follow(ctx context.Context, o options, out io.Writer) eventLog {
	ev := eventLog{byType: map[string]int{}, finished: map[string]time.Time{}, acked: map[string]int{}, deactivatedUnder: map[string]bool{}}
	deadline := time.Now().Add(time.Duration(o.rotations+2)*o.interval + 2*time.Minute)
	n := 0
	printed := map[string]bool{}
	for ev.succeeded < o.rotations && ctx.Err() == nil && time.Now().Before(deadline) {
		names, err := st.take(ctx, &ev, 1)
		if err != nil {
			continue
		}
		for _, name := range names {
			switch name {
			case "RotationSucceeded":
				ev.succeeded++
				// Events arrive in any order: print every finished
				// rotation not printed yet.
				for _, version := range st.steps.finished(printed) {
					printed[version] = true
					n++
					r := st.steps.get(version)
					from, to := st.user(ctx, r.previous), st.user(ctx, version)
					fmt.Fprintf(out, "rotation %d  version %s  user %-9s -> %-9s %s\n", n, short(version), from, to, r)
				}
			case "RotationFailed":
				ev.failed++
				fmt.Fprintf(out, "  a rotation attempt failed (RotationFailed); Secrets Manager retries it\n")
			}
		}
	}
	return ev
}

func (st *stack) user(ctx context.Context, versionID string) string {
	if versionID == "" {
		return "?"
	}
	out, err := st.sm.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(st.appARN), VersionId: aws.String(versionID)})
	if err != nil {
		return "?"
	}
	var c credential
	_ = json.Unmarshal([]byte(aws.ToString(out.SecretString)), &c)
	return c.Username
}

func (st *stack) summary(out io.Writer, o options, ev eventLog, stats loadStats, propagation []time.Duration, took time.Duration) error {
	rots := st.steps.all()
	var ok int
	var sum [4]time.Duration
	for _, r := range rots {
		if r.done() {
			ok++
			for i, d := range r.steps {
				sum[i] += d
			}
		}
	}
	leaks, checked, err := st.leaks(ev)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\nsummary")
	fmt.Fprintf(w, "  rotations\t%d succeeded (RotationSucceeded events), %d failed attempts, in %s\n", ev.succeeded, ev.failed, took.Round(time.Millisecond))
	if ok > 0 {
		avg := func(d time.Duration) string { return ms(d / time.Duration(ok)) }
		fmt.Fprintf(w, "  mean step time\tcreateSecret %s, setSecret %s, testSecret %s, finishSecret %s (invocations under aws-lambda-rie)\n",
			avg(sum[0]), avg(sum[1]), avg(sum[2]), avg(sum[3]))
	}
	var types []string
	for t, n := range ev.byType {
		types = append(types, fmt.Sprintf("%s %d", t, n))
	}
	sort.Strings(types)
	fmt.Fprintf(w, "  events on the queue\t%s\n", strings.Join(types, ", "))
	fmt.Fprintf(w, "  consumer queries\t%d ok, %d failed; %d logins refused and retried once with the refreshed credential\n",
		stats.ok, stats.failed, stats.refused)
	if postgres.Strategy(o.strategy) == postgres.SingleUser {
		fmt.Fprintln(w, "  \tsingle user: between setSecret and finishSecret only the new password works; the pools' retry with AWSPENDING closes that window")
	}
	if len(propagation) > 0 {
		fmt.Fprintf(w, "  propagation\tfinishSecret -> service swapped: p50 %s, p99 %s, max %s over %d swaps (push: bus -> rule -> SQS -> consumer SDK)\n",
			ms(percentile(propagation, 0.5)), ms(percentile(propagation, 0.99)), ms(propagation[len(propagation)-1]), len(propagation))
	}
	rotated := 0
	for version := range ev.finished {
		rotated += ev.acked[version]
	}
	fmt.Fprintf(w, "  acknowledgements\t%d of rotated versions (%d services x %d rotations expected), %d more when the services started\n",
		rotated, o.consumers, ev.succeeded, ev.acks-rotated)
	if postgres.Strategy(o.strategy) == postgres.AlternatingUsers {
		fmt.Fprintf(w, "  deactivation\tthe gate locked the previous user %d times once every service had acknowledged and no session used it (%d after the grace period)\n", ev.deactivated, ev.graceExpiry)
	}
	fmt.Fprintf(w, "  secret values\t%d generated passwords; found %d times in PostgreSQL's statement log, the function's, the endpoint's and the services' logs, the events and the audit trail\n", checked, leaks)
	fmt.Fprintln(w, "\nwhere to look next")
	fmt.Fprintf(w, "  %s\tthe function's own JSON log lines, one per step, under aws-lambda-rie\n", filepath.Join(o.logDir, "function.log"))
	fmt.Fprintf(w, "  %s\tthe endpoint's log\n", filepath.Join(o.logDir, "endpoint.log"))
	fmt.Fprintf(w, "  %s\tthe services' log (consumer SDK and pools)\n", filepath.Join(o.logDir, "consumers.log"))
	fmt.Fprintf(w, "  %s\tthe audit trail: every rotor and Secrets Manager event, one JSON line each\n", st.auditPath)
	fmt.Fprintln(w, "  go run ./cmd/rotor-local -h\tthe endpoint on its own, for the AWS CLI, boto3 or the SDKs (README: Local AWS)")
	fmt.Fprintln(w, "  make test\tconformance with moto, the AWS CLI session, end-to-end rotations, crash and bad-input tests")
	fmt.Fprintln(w, "  make bench\tSecrets Manager calls and time per rotation; 20 services under load through 50 rotations")
	fmt.Fprintln(w, "  go run ./cmd/rotor-demo -h\tmore rotations, consumers, -strategy single-user, -v for every log line")
	if err := w.Flush(); err != nil {
		return err
	}
	if stats.failed > 0 || ev.succeeded < o.rotations || leaks > 0 {
		return errors.New("the demo saw failures (see the summary)")
	}
	return nil
}

// leaks counts the rotation-generated passwords (every version but each
// secret's first, which the demo set in plain SQL) found in the logs and
// events.
func (st *stack) leaks(ev eventLog) (found, checked int, err error) {
	pgLog, err := st.db.Log()
	if err != nil {
		return 0, 0, err
	}
	fnLog, _ := os.ReadFile(st.fnLog)
	consumerLog, _ := os.ReadFile(filepath.Join(st.logDir, "consumers.log"))
	auditLog, _ := os.ReadFile(st.auditPath)
	haystacks := [][]byte{pgLog, fnLog, st.logs.Bytes(), consumerLog, auditLog}
	haystacks = append(haystacks, ev.bodies...)
	store := st.endpoint.SecretsManager.Store(awslocal.DefaultAccount, awslocal.DefaultRegion)
	for _, sec := range store.Snapshot().Secrets {
		for i, v := range sec.Versions {
			var c credential
			if i == 0 || json.Unmarshal(v.Value, &c) != nil || c.Password == "" {
				continue
			}
			checked++
			for _, h := range haystacks {
				found += bytes.Count(h, []byte(c.Password))
			}
		}
	}
	return found, checked, nil
}

// credential is the part of a database secret the demo reads.
type credential struct{ Username, Password string }

// stepRecorder times each step invocation, by version.
type stepRecorder struct {
	mu        sync.Mutex
	initial   string // the secret's first version
	byVersion map[string]*rotation
	order     []string
}

type rotation struct {
	previous string
	steps    [4]time.Duration
	errors   int
}

var stepIndex = map[string]int{"createSecret": 0, "setSecret": 1, "testSecret": 2, "finishSecret": 3}

func (s *stepRecorder) observe(_ string, payload []byte, took time.Duration, err error) {
	var ev struct{ Step, ClientRequestToken string }
	if json.Unmarshal(payload, &ev) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.byVersion[ev.ClientRequestToken]
	if r == nil {
		r = &rotation{}
		r.previous = s.initial
		if n := len(s.order); n > 0 {
			r.previous = s.order[n-1]
		}
		s.byVersion[ev.ClientRequestToken] = r
		s.order = append(s.order, ev.ClientRequestToken)
	}
	if err != nil {
		r.errors++
		return
	}
	if i, ok := stepIndex[ev.Step]; ok {
		r.steps[i] = took
	}
}

func (s *stepRecorder) get(version string) rotation {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.byVersion[version]; r != nil {
		return *r
	}
	return rotation{}
}

// finished lists the versions whose four steps succeeded, in order, but
// those in skip.
func (s *stepRecorder) finished(skip map[string]bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, v := range s.order {
		if s.byVersion[v].done() && !skip[v] {
			out = append(out, v)
		}
	}
	return out
}

func (s *stepRecorder) all() []rotation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []rotation
	for _, v := range s.order {
		out = append(out, *s.byVersion[v])
	}
	return out
}

func (r rotation) done() bool { return r.steps[3] > 0 }

func (r rotation) String() string {
	var total time.Duration
	for _, d := range r.steps {
		total += d
	}
	s := fmt.Sprintf("create %-7s set %-7s test %-7s finish %-7s total %s", ms(r.steps[0]), ms(r.steps[1]), ms(r.steps[2]), ms(r.steps[3]), ms(total))
	if r.errors > 0 {
		s += fmt.Sprintf("  (%d failed step invocations retried)", r.errors)
	}
	return s
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

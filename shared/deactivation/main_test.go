package deactivation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/deactivation"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/metrics"
	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/shared/secretstore/awssm"
	"github.com/rotorhq/rotor/test/awslocal"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
	"github.com/rotorhq/rotor/test/awslocal/lambda"
	"github.com/rotorhq/rotor/test/pgserver"
)

const masterUser = "gate_master"

// The AWS adapter is a Store of the gate's; the gate itself imports no
// cloud adapter.
var _ deactivation.Store = (*awssm.Store)(nil)

var (
	db       *pgserver.Server
	endpoint *awslocal.Server
	cfg      aws.Config
	smc      *sm.Client
	ebc      *eventbridge.Client
	sqsc     *sqs.Client

	masterARN string
	masterPW  = "Master-" + uuid.NewString()

	// rotators behind the rotation functions.
	alternating *postgres.Rotator
	single      *postgres.Rotator
	// graceful applies the grace policy to Set (ROTOR_GRACE_PERIOD).
	graceful *postgres.Rotator
)

// Rotation functions, in process, one per strategy.
const (
	fnAlternating = "rotor-postgres"
	fnSingle      = "rotor-postgres-single"
	fnGraceful    = "rotor-postgres-graceful"
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deactivation:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx := context.Background()
	var err error
	if db, err = pgserver.Start(pgserver.Options{}); err != nil {
		return 0, err
	}
	defer db.Stop()
	// Like the RDS master user (rds_superuser): CREATEROLE, and members of
	// pg_signal_backend (an emergency ends sessions) and pg_read_all_stats
	// (the evidence shows other roles' client addresses).
	if err := db.Exec(ctx, `CREATE ROLE `+masterUser+` WITH LOGIN CREATEROLE PASSWORD '`+masterPW+`' IN ROLE pg_signal_backend, pg_read_all_stats`); err != nil {
		return 0, err
	}
	if endpoint, err = awslocal.Start(awslocal.Options{RotationRetries: 1, RotationBackoff: 10 * time.Millisecond}); err != nil {
		return 0, err
	}
	defer endpoint.Close()
	cfg = awstest.Config(endpoint.URL)
	cfg.RetryMaxAttempts = 1
	smc, ebc, sqsc = sm.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)

	if alternating, err = postgres.New(postgres.Options{Strategy: postgres.AlternatingUsers, LockIdleUser: true, RootCAs: db.RootCAs()}); err != nil {
		return 0, err
	}
	if single, err = postgres.New(postgres.Options{Strategy: postgres.SingleUser, RootCAs: db.RootCAs()}); err != nil {
		return 0, err
	}
	if graceful, err = postgres.New(postgres.Options{Strategy: postgres.AlternatingUsers, LockIdleUser: true, RootCAs: db.RootCAs(), GracePeriod: deactivation.DefaultGracePeriod}); err != nil {
		return 0, err
	}
	for name, rot := range map[string]*postgres.Rotator{fnAlternating: alternating, fnSingle: single, fnGraceful: graceful} {
		engine, err := lifecycle.New(awssm.New(smc), rot, lifecycle.DefaultConfig(), slog.New(slog.DiscardHandler))
		if err != nil {
			return 0, err
		}
		endpoint.Lambda.Register(endpoint.FunctionARN(name), lambda.Handler(engine.HandleRotationEvent))
	}
	if masterARN, err = createSecret(ctx, "gate/master", masterUser, masterPW, "", nil); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

func createSecret(ctx context.Context, name, user, pw, master string, tags map[string]string) (string, error) {
	doc := map[string]any{"engine": "postgres", "host": db.Host, "port": db.Port, "username": user, "password": pw, "dbname": "postgres"}
	if master != "" {
		doc["masterarn"] = master
	}
	raw, _ := json.Marshal(doc)
	in := &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(raw))}
	for k, v := range tags {
		in.Tags = append(in.Tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := smc.CreateSecret(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ARN), nil
}

var seq atomic.Int64

// app is one secret of a test, with what the test checks.
type app struct {
	arn, name, user string
	queueURL        string
	seen            []string // every password of the app's versions
}

// newApp creates a login role, its secret (alternating users unless
// single), registered consumers as tags, and a queue that receives the
// secret's Credential Deactivated events.
func newApp(t testing.TB, single bool, consumers ...string) *app {
	t.Helper()
	ctx := t.Context()
	n := seq.Add(1)
	a := &app{user: fmt.Sprintf("gate_app_%d", n), name: fmt.Sprintf("gate/app-%d", n)}
	pw := "Initial-" + uuid.NewString()
	a.seen = append(a.seen, pw)
	if err := db.Exec(ctx, `CREATE ROLE `+a.user+` WITH LOGIN PASSWORD '`+pw+`'`); err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{"team": "payments"}
	for _, c := range consumers {
		tags[deactivation.ConsumerTagPrefix+c] = "queue-" + c
	}
	master := masterARN
	if single {
		master = ""
	}
	var err error
	if a.arn, err = createSecret(ctx, a.name, a.user, pw, master, tags); err != nil {
		t.Fatal(err)
	}
	var queueARN string
	a.queueURL, queueARN = awstest.Queue(t, sqsc, fmt.Sprintf("gate-events-%d", n))
	pattern, _ := json.Marshal(map[string]any{
		"source": []string{events.Source}, "detail-type": []string{string(events.CredentialDeactivated)},
		"detail": map[string]any{"secretArn": []string{a.arn}},
	})
	awstest.Route(t, ebc, "default", fmt.Sprintf("gate-%d", n), string(pattern), queueARN)
	return a
}

// rotate rotates the secret through the endpoint with the rotation
// function of its strategy and returns the new AWSCURRENT version.
func (a *app) rotate(t testing.TB, single bool) string {
	t.Helper()
	fn := fnAlternating
	if single {
		fn = fnSingle
	}
	ctx := t.Context()
	out, err := smc.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(a.arn), RotationLambdaARN: aws.String(endpoint.FunctionARN(fn))})
	if err != nil {
		t.Fatal(err)
	}
	if err := endpoint.SecretsManager.WaitRotations(ctx); err != nil {
		t.Fatal(err)
	}
	a.passwords(t) // remember the new one before a later rotation deprecates it
	if cur := a.version(t, "AWSCURRENT"); cur != aws.ToString(out.VersionId) {
		t.Fatalf("rotation: want AWSCURRENT on %s, got %s", aws.ToString(out.VersionId), cur)
	}
	return aws.ToString(out.VersionId)
}

type credential struct {
	Username, Password string
}

// read returns the credential and the version of a stage.
func (a *app) read(t testing.TB, stage string) (credential, string) {
	t.Helper()
	out, err := smc.GetSecretValue(t.Context(), &sm.GetSecretValueInput{SecretId: aws.String(a.arn), VersionStage: aws.String(stage)})
	if err != nil {
		t.Fatalf("read %s: %v", stage, err)
	}
	var c credential
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &c); err != nil {
		t.Fatal(err)
	}
	return c, aws.ToString(out.VersionId)
}

func (a *app) version(t testing.TB, stage string) string {
	t.Helper()
	_, v := a.read(t, stage)
	return v
}

// passwords lists every password the app's versions have had, and the
// master's.
func (a *app) passwords(t testing.TB) []string {
	t.Helper()
	out, err := smc.ListSecretVersionIds(t.Context(), &sm.ListSecretVersionIdsInput{SecretId: aws.String(a.arn)})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range out.Versions {
		got, err := smc.GetSecretValue(t.Context(), &sm.GetSecretValueInput{SecretId: aws.String(a.arn), VersionId: v.VersionId})
		if err != nil {
			continue
		}
		var c credential
		if json.Unmarshal([]byte(aws.ToString(got.SecretString)), &c) == nil && c.Password != "" && !slices.Contains(a.seen, c.Password) {
			a.seen = append(a.seen, c.Password)
		}
	}
	return append([]string{masterPW}, a.seen...)
}

func (a *app) tags(t testing.TB) map[string]string {
	t.Helper()
	out, err := smc.DescribeSecret(t.Context(), &sm.DescribeSecretInput{SecretId: aws.String(a.arn)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, tg := range out.Tags {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m
}

// login logs in with a credential; nil means it works.
func login(t testing.TB, c credential) error {
	t.Helper()
	return db.CanLogin(t.Context(), c.Username, c.Password, true)
}

// wantRefused checks that a login is refused because the role may not log
// in (SQLSTATE 28000).
func wantRefused(t testing.TB, what string, c credential) {
	t.Helper()
	err := login(t, c)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28000" {
		t.Errorf("%s: want the login refused with SQLSTATE 28000, got %v", what, err)
	}
}

func wantLogin(t testing.TB, what string, c credential) {
	t.Helper()
	if err := login(t, c); err != nil {
		t.Errorf("%s: want a login, got %v", what, err)
	}
}

// received drains the app's queue: the Credential Deactivated events
// published so far.
func (a *app) received(t testing.TB) []events.Event {
	t.Helper()
	var evs []events.Event
	for _, body := range awstest.Drain(t, endpoint, sqsc, a.queueURL) {
		rec.add(string(body))
		ev, err := events.Parse(body)
		if err != nil {
			t.Fatalf("want a valid rotor event on the queue, got %v", err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// ebPublisher publishes rotor events on the endpoint's default bus, as
// events/publish does in a deployment.
type ebPublisher struct{}

func (ebPublisher) Publish(ctx context.Context, evs ...events.Event) error {
	var entries []ebtypes.PutEventsRequestEntry
	for _, ev := range evs {
		detail, err := json.Marshal(ev.Detail)
		if err != nil {
			return err
		}
		rec.add(string(detail))
		entries = append(entries, ebtypes.PutEventsRequestEntry{
			Source: aws.String(events.Source), DetailType: aws.String(string(ev.DetailType)),
			Detail: aws.String(string(detail)), Resources: []string{ev.Detail.SecretArn}, Time: aws.Time(ev.Time),
		})
	}
	out, err := ebc.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil {
		return err
	}
	if out.FailedEntryCount > 0 {
		return fmt.Errorf("PutEvents: %d entries failed", out.FailedEntryCount)
	}
	return nil
}

// recorder keeps everything the gate let out (log lines, metric lines,
// events, errors), to be scanned for secret values.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

var rec = &recorder{}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf.WriteString(s)
	r.buf.WriteByte('\n')
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// harness is one gate with its log and metric lines.
type harness struct {
	gate    *deactivation.Gate
	logs    *syncBuffer
	metrics *syncBuffer
	store   *faultyStore
	now     time.Time
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rec.Write(p)
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newGate builds a gate over the endpoint; offset moves its clock.
func newGate(t testing.TB, rot *postgres.Rotator, offset time.Duration, secrets ...string) *harness {
	t.Helper()
	return newGateOf(t, rot, offset, "", secrets...)
}

// newGateOf is newGate for the gate of the named rotation function.
func newGateOf(t testing.TB, rot *postgres.Rotator, offset time.Duration, function string, secrets ...string) *harness {
	t.Helper()
	h := &harness{logs: &syncBuffer{}, metrics: &syncBuffer{}, store: &faultyStore{Store: awssm.New(smc)}}
	h.now = time.Now().Add(offset)
	g, err := deactivation.New(deactivation.Config{
		Store:        h.store,
		Publisher:    ebPublisher{},
		Deactivator:  rot.Deactivator(),
		Info:         rot.Info(),
		Secrets:      secrets,
		FunctionName: function,
		Metrics:      metrics.New(h.metrics, metrics.Namespace),
		Logger:       slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:          func() time.Time { return h.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.gate = g
	return h
}

// unacknowledged returns the last UnacknowledgedConsumers value emitted
// for the secret, and how many lines were emitted for it.
func (h *harness) unacknowledged(t testing.TB, secretName string) (float64, int) {
	t.Helper()
	var last float64
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(h.metrics.String()), "\n") {
		if line == "" {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		if doc[deactivation.DimensionSecretName] != secretName {
			continue
		}
		emf := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
		if emf["Namespace"] != "Rotor" {
			t.Errorf("want namespace Rotor, got %v", emf["Namespace"])
		}
		last = doc[deactivation.MetricUnacknowledged].(float64)
		n++
	}
	return last, n
}

// faultyStore fails the first Tag call whose keys include failKey, and
// runs onValue once, at the first value read of an evaluation: after the
// gate's decision, before its Deactivator takes the target's lock; and it
// calls beforeTag (when set) before every Tag call. The hooks drive
// interleavings.
type faultyStore struct {
	*awssm.Store
	mu        sync.Mutex
	failKey   string
	failed    int
	onValue   func()
	beforeTag func(tags map[string]string)
	calls     map[string]int // by method, for the benchmarks
}

func (f *faultyStore) count(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[method]++
}

// total returns the store calls so far, and forgets them.
func (f *faultyStore) total() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *faultyStore) Details(ctx context.Context, secretID string) (secretstore.Details, error) {
	f.count("DescribeSecret")
	return f.Store.Details(ctx, secretID)
}

func (f *faultyStore) CurrentValue(ctx context.Context, secretID string) ([]byte, error) {
	f.count("GetSecretValue")
	return f.Store.CurrentValue(ctx, secretID)
}

func (f *faultyStore) Value(ctx context.Context, secretID, versionID string) ([]byte, error) {
	f.count("GetSecretValue")
	f.mu.Lock()
	hook := f.onValue
	f.onValue = nil
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	return f.Store.Value(ctx, secretID, versionID)
}

func (f *faultyStore) Tag(ctx context.Context, secretID string, tags map[string]string) error {
	f.count("TagResource")
	f.mu.Lock()
	hook := f.beforeTag
	f.mu.Unlock()
	if hook != nil {
		hook(tags)
	}
	f.mu.Lock()
	if _, ok := tags[f.failKey]; ok && f.failKey != "" {
		f.failKey = ""
		f.failed++
		f.mu.Unlock()
		return errors.New("TagResource failed (injected)")
	}
	f.mu.Unlock()
	return f.Store.Tag(ctx, secretID, tags)
}

// rotorEvent builds an EventBridge event of rotor's as the gate receives it.
func rotorEvent(t testing.TB, a *app, typ events.DetailType, version, consumer string) awsevents.EventBridgeEvent {
	t.Helper()
	phase, _ := events.PhaseOf(typ)
	d := events.Detail{
		SchemaVersion: events.SchemaVersion, SecretArn: a.arn, SecretName: a.name,
		Account: awslocal.DefaultAccount, Region: awslocal.DefaultRegion,
		Phase: phase, VersionID: version, Outcome: events.OutcomeSucceeded,
		Consumer: consumer, Time: time.Now().UTC(),
	}
	source := events.Source
	if typ == events.ConsumerAcknowledged {
		source, d.Instance = events.ConsumerSource(consumer), instanceOf(consumer)
	}
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return awsevents.EventBridgeEvent{
		Version: "0", ID: uuid.NewString(), DetailType: string(typ), Source: source,
		AccountID: awslocal.DefaultAccount, Region: awslocal.DefaultRegion, Time: time.Now().UTC(),
		Resources: []string{a.arn}, Detail: raw,
	}
}

// instanceOf is the one instance of a consumer in the tests that do not
// count instances.
func instanceOf(string) string { return "pod-1" }

// ackOf is the acknowledgement of consumer's one instance, as Handle
// builds it from an event the consumer sent from the secret's account.
func ackOf(a *app, consumer, version string) deactivation.AckRequest {
	return deactivation.AckRequest{
		SecretID: a.arn, Consumer: consumer, Instance: instanceOf(consumer), Version: version,
		Source: events.ConsumerSource(consumer), Account: awslocal.DefaultAccount,
	}
}

// ackedVersion is the version an instance's acknowledgement tag holds, ""
// if it has none.
func ackedVersion(t testing.TB, a *app, consumer, instance string) string {
	t.Helper()
	key, _ := deactivation.InstanceAckTag(consumer, instance, "")
	v, _, _ := strings.Cut(a.tags(t)[key], " ")
	return v
}

func ack(t testing.TB, h *harness, a *app, consumer, version string) {
	t.Helper()
	if err := h.gate.Handle(t.Context(), rotorEvent(t, a, events.ConsumerAcknowledged, version, consumer)); err != nil {
		t.Fatalf("ack of %s: want no error, got %v", consumer, err)
	}
}

// noSecretValues fails if any password of the apps appears in anything the
// gates let out.
func noSecretValues(t *testing.T, apps ...*app) {
	t.Helper()
	out := rec.String()
	for _, a := range apps {
		for _, pw := range a.passwords(t) {
			if strings.Contains(out, pw) {
				t.Errorf("want no secret value in logs, metrics, events or errors, got one")
			}
		}
	}
}

// settle waits until the server shows no session of the users: a login a
// test made to check a credential ends asynchronously on the server, and
// the gate counts open sessions as evidence. A condition, not a timing.
func settle(t testing.TB, users ...string) {
	t.Helper()
	conn, err := db.Admin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	for {
		var n int
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE usename = ANY($1)`, users).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("sessions of %v did not end: %v", users, t.Context().Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// smSecrets reads the master secret from the endpoint, as the engine's
// reader does.
type smSecrets struct{}

func (smSecrets) CurrentValue(ctx context.Context, id string) ([]byte, error) {
	out, err := smc.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return nil, err
	}
	return []byte(aws.ToString(out.SecretString)), nil
}

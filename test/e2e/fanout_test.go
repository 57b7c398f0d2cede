package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/events/consumer"
	"github.com/rotorhq/rotor/events/pgadapter"
	"github.com/rotorhq/rotor/events/publish"
	"github.com/rotorhq/rotor/test/awslocal/awstest"
	"github.com/rotorhq/rotor/test/awslocal/lambda"
)

// fanout is rotor's push path on the local endpoint: the real function
// under aws-lambda-rie publishes to a custom bus; a rule per consumer
// sends rotor's events to that consumer's SQS queue (or Lambda function);
// consumers acknowledge on the same bus, and a rule sends
// acknowledgements and completed rotations back to the function, which is
// also the deactivation gate. An observer queue sees every rotor event.
type fanout struct {
	bus       string
	function  string
	logPath   string
	arn       string
	observer  string // queue URL
	eb        *eventbridge.Client
	sqs       *sqs.Client
	publisher *publish.Publisher
}

// consumerLogs collects the consumers' and pools' logs, to be scanned for
// secret values.
var (
	consumerLogs   = &syncBuffer{}
	consumerLogger = slog.New(slog.NewJSONHandler(consumerLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))
)

// consumerPattern is what a consumer subscribes to: every rotor event of
// the secret but acknowledgements (as the CDK's ConsumerSubscription does).
func consumerPattern(arn string) string {
	return fmt.Sprintf(`{"source":["rotor"],"detail-type":[{"anything-but":[%q]}],"detail":{"secretArn":[%q]}}`, events.ConsumerAcknowledged, arn)
}

// newFanout starts a function with events on (extra: more variables), and
// a secret for user whose consumers are registered by tags.
func newFanout(tb testing.TB, user, strategy string, consumers []string, extra map[string]string) *fanout {
	tb.Helper()
	ctx := context.Background()
	n := roleSeq.Add(1)
	f := &fanout{bus: fmt.Sprintf("rotor-fanout-%d", n), eb: eventbridge.NewFromConfig(awsConfig()), sqs: sqs.NewFromConfig(awsConfig())}
	if _, err := f.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(f.bus)}); err != nil {
		tb.Fatal(err)
	}
	key, err := client.CreateSecret(ctx, &sm.CreateSecretInput{
		Name: aws.String(fmt.Sprintf("e2e/fanout-key-%d", n)), SecretString: aws.String("Key-" + uuid.NewString() + uuid.NewString()),
	})
	if err != nil {
		tb.Fatal(err)
	}
	env := map[string]string{"ROTATION_STRATEGY": strategy, "LOG_LEVEL": "info"}
	for k, v := range extra {
		env[k] = v
	}
	f.function, f.logPath = startEventsFunction(tb, f.bus, aws.ToString(key.ARN), env)

	user = fmt.Sprintf("%s_%d", user, n)
	pw := "Initial-" + uuid.NewString()
	if err := db.Exec(ctx, `CREATE ROLE `+user+` WITH LOGIN PASSWORD '`+pw+`'`); err != nil {
		tb.Fatal(err)
	}
	if err := db.Exec(ctx, `GRANT pg_read_all_stats TO `+user); err != nil {
		tb.Fatal(err)
	}
	master := masterARN
	if strategy == "single-user" {
		master = ""
	}
	if f.arn, err = createSecret(ctx, "e2e/"+user, user, pw, master); err != nil {
		tb.Fatal(err)
	}
	var tags []smtypes.Tag
	for _, c := range consumers {
		tags = append(tags, smtypes.Tag{Key: aws.String(events.ConsumerTagPrefix + c), Value: aws.String("sqs")})
	}
	if len(tags) > 0 {
		if _, err := client.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String(f.arn), Tags: tags}); err != nil {
			tb.Fatal(err)
		}
	}
	// The gate hears acknowledgements and completed rotations.
	awstest.Route(tb, f.eb, f.bus, "gate", fmt.Sprintf(`{"source":["rotor",{"prefix":"rotor.consumer."}],"detail-type":[%q,%q],"detail":{"secretArn":[%q]}}`,
		events.ConsumerAcknowledged, events.Completed, f.arn), endpoint.FunctionARN(f.function))
	f.observer = f.queue(tb, "observer", `{"source":["rotor",{"prefix":"rotor.consumer."}]}`)
	if f.publisher, err = publish.New(f.eb, publish.Options{BusName: f.bus}); err != nil {
		tb.Fatal(err)
	}
	return f
}

// queue makes a queue and subscribes it to pattern; it returns its URL.
func (f *fanout) queue(tb testing.TB, name, pattern string) string {
	tb.Helper()
	url, arn := awstest.Queue(tb, f.sqs, f.bus+"-"+name)
	awstest.Route(tb, f.eb, f.bus, name, pattern, arn)
	return url
}

// consumer is a service's view of the secret: the SDK's cache, fed by its
// own queue (or, for a Lambda consumer, by a Lambda target), and the
// moments it swapped.
type consumerUnderTest struct {
	name  string
	cache *consumer.Cache
	mu    sync.Mutex
	swaps map[string]time.Time // version id -> when the cache swapped to it
}

func (c *consumerUnderTest) swappedAt(version string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.swaps[version]
	return at, ok
}

// newConsumer starts a consumer of the secret. viaLambda subscribes a
// Lambda function running consumer.LambdaHandler; otherwise a queue is
// long-polled with consumer.ListenSQS. ttl is the poll fallback.
func (f *fanout) newConsumer(tb testing.TB, ctx context.Context, name string, viaLambda bool, ttl time.Duration) *consumerUnderTest {
	tb.Helper()
	cache, err := consumer.New(ctx, sm.NewFromConfig(awsConfig()), consumer.Options{
		SecretID: f.arn, Consumer: name, Publisher: f.publisher, TTL: ttl, Logger: consumerLogger,
	})
	if err != nil {
		tb.Fatal(err)
	}
	c := &consumerUnderTest{name: name, cache: cache, swaps: map[string]time.Time{}}
	cache.OnSwap(func(_, new consumer.Version) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.swaps[new.ID] = time.Now()
	})
	if viaLambda {
		arn := endpoint.FunctionARN(fmt.Sprintf("%s-%s", f.bus, name))
		endpoint.Lambda.Register(arn, lambda.Handler(consumer.LambdaHandler(cache)))
		awstest.Route(tb, f.eb, f.bus, name, consumerPattern(f.arn), arn)
		return c
	}
	queueURL := f.queue(tb, name, consumerPattern(f.arn))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = consumer.ListenSQS(ctx, f.sqs, queueURL, cache)
	}()
	tb.Cleanup(func() { <-done })
	return c
}

// rotate runs one rotation through Secrets Manager and returns the new
// version.
func (f *fanout) rotate(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	out, err := client.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String(f.arn), RotationLambdaARN: aws.String(endpoint.FunctionARN(f.function))})
	if err != nil {
		tb.Fatalf("RotateSecret: %v", err)
	}
	if err := endpoint.SecretsManager.WaitRotations(ctx); err != nil {
		tb.Fatal(err)
	}
	return aws.ToString(out.VersionId)
}

// settle waits for the event deliveries and asynchronous invocations
// (the gate) in flight.
func settle(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 3 { // a delivery may start an invocation that publishes more
		if err := endpoint.EventBridge.Drain(ctx); err != nil {
			tb.Fatal(err)
		}
		if err := endpoint.Lambda.Drain(ctx); err != nil {
			tb.Fatal(err)
		}
	}
}

// waitSwapped waits until every consumer uses version, or fails after a
// generous deadline (a correctness check, not a timing one).
func waitSwapped(tb testing.TB, version string, consumers ...*consumerUnderTest) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for _, c := range consumers {
		for c.cache.Current().ID != version {
			if time.Now().After(deadline) {
				tb.Fatalf("consumer %s: want version %s, still on %s", c.name, version, c.cache.Current().ID)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// observed drains the observer queue: every rotor event so far.
func (f *fanout) observed(tb testing.TB) []events.Event {
	tb.Helper()
	var out []events.Event
	for _, body := range awstest.Receive(tb, f.sqs, f.observer) {
		ev, err := events.Parse(body)
		if err != nil {
			tb.Fatalf("observer: an event events.Parse refuses: %v", err)
		}
		checkSchema(tb, body)
		out = append(out, ev)
	}
	return out
}

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// checkSchema validates an event as delivered against the published JSON
// Schema (events/schema), which consumers not written in Go rely on.
func checkSchema(tb testing.TB, body []byte) {
	tb.Helper()
	schemaOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(events.JSONSchema))
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if schemaErr = c.AddResource("rotation-event.v1.json", doc); schemaErr == nil {
			schema, schemaErr = c.Compile("rotation-event.v1.json")
		}
	})
	if schemaErr != nil {
		tb.Fatal(schemaErr)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		tb.Fatalf("an event the JSON Schema refuses: %v\n%s", err, body)
	}
}

func ofType(evs []events.Event, t events.DetailType, version string) []events.Event {
	var out []events.Event
	for _, ev := range evs {
		if ev.DetailType == t && ev.Detail.VersionID == version {
			out = append(out, ev)
		}
	}
	return out
}

// newPool is a consumer's pgx pool on the SDK's credentials, with short
// connection lifetimes so that new logins happen all the time.
func newPool(tb testing.TB, ctx context.Context, c *consumerUnderTest, conns int32) *pgadapter.Pool {
	tb.Helper()
	// A zero retire window: the gate locks the previous user once every
	// consumer acknowledged and its sessions are gone, so the pools close
	// their old connections as soon as they are idle, as a service that
	// wants the revocation right away would. (With a window, the gate sees
	// the old connections retiring and waits for its next evaluation.)
	return newPoolWith(tb, ctx, c, conns, true, nil, pgadapter.WithRetireWindow(0))
}

// newPoolWith is newPool whose connections live 40 ms (churn) or for the
// whole test, whose pgxpool.Config has beforeConnect (nil for none), such
// as a login counter, with the adapter's options opts.
func newPoolWith(tb testing.TB, ctx context.Context, c *consumerUnderTest, conns int32, churn bool, beforeConnect func(context.Context, *pgx.ConnConfig) error, opts ...pgadapter.Option) *pgadapter.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		tb.Fatal(err)
	}
	cfg.ConnConfig = db.ConnConfig("", "", true)
	cfg.MaxConns = conns
	// Shorter than the time between rotations, so that logins also fall
	// in the single-user window between setSecret and finishSecret.
	if churn {
		cfg.MaxConnLifetime = 40 * time.Millisecond
		cfg.MaxConnLifetimeJitter = 40 * time.Millisecond
		cfg.HealthCheckPeriod = 20 * time.Millisecond
	}
	cfg.BeforeConnect = beforeConnect
	pool, err := pgadapter.NewPool(ctx, c.cache, cfg, append([]pgadapter.Option{pgadapter.WithLogger(consumerLogger)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// queryLoad runs queries through a pool until ctx ends, counting failures.
type queryLoad struct {
	wg             sync.WaitGroup
	mu             sync.Mutex
	ok, failed     int
	failureSamples []string
}

func (l *queryLoad) run(ctx context.Context, pool *pgadapter.Pool, every time.Duration) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var one int
			err := pool.QueryRow(ctx, `SELECT 1`).Scan(&one)
			if ctx.Err() != nil {
				return
			}
			l.mu.Lock()
			if err != nil {
				l.failed++
				if len(l.failureSamples) < 5 {
					l.failureSamples = append(l.failureSamples, err.Error())
				}
			} else {
				l.ok++
			}
			l.mu.Unlock()
		}
	}()
}

// TestFanOut is the push path end to end: a rotation by the real function
// reaches two services through their own SQS queues and a Lambda consumer
// through a Lambda target; each swaps and acknowledges; the gate (the same
// function) then locks the previous user of the alternating pair, and the
// next rotation gives it back. Pools query throughout without a failure.
func TestFanOut(t *testing.T) {
	names := []string{"orders-api", "billing-worker", "report-lambda"}
	f := newFanout(t, "app_fanout", "alternating-users", names,
		map[string]string{"ROTOR_LOCK_IDLE_USER": "true", "ROTOR_GRACE_PERIOD": "24h"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// An hour's poll: only the push path can explain a swap here.
	var consumers []*consumerUnderTest
	for i, name := range names {
		consumers = append(consumers, f.newConsumer(t, ctx, name, i == 2, time.Hour))
	}
	load := &queryLoad{}
	for _, c := range consumers[:2] {
		load.run(ctx, newPool(t, ctx, c, 2), 5*time.Millisecond)
	}

	first, firstVersion := read(t, f.arn, "AWSCURRENT")
	for round := 1; round <= 2; round++ {
		before, beforeVersion := read(t, f.arn, "AWSCURRENT")
		version := f.rotate(t)
		waitSwapped(t, version, consumers...)
		settle(t)
		evs := f.observed(t)
		completed := ofType(evs, events.Completed, version)
		if len(completed) == 0 || completed[0].Detail.PreviousVersionID != beforeVersion {
			t.Fatalf("round %d: want a Rotation Completed for %s after %s, got %+v", round, version, beforeVersion, completed)
		}
		var acked []string
		for _, ev := range ofType(evs, events.ConsumerAcknowledged, version) {
			acked = append(acked, ev.Detail.Consumer)
		}
		slices.Sort(acked)
		if want := slices.Sorted(slices.Values(names)); !slices.Equal(acked, want) {
			t.Fatalf("round %d: want one acknowledgement from each of %v, got %v", round, want, acked)
		}
		// Every consumer acknowledged: the gate locked the previous user.
		deact := ofType(evs, events.CredentialDeactivated, version)
		if len(deact) != 1 || deact[0].Detail.Outcome != events.OutcomeSucceeded || deact[0].Detail.PreviousVersionID != beforeVersion {
			t.Fatalf("round %d: want one Credential Deactivated (succeeded) of %s, got %+v", round, beforeVersion, deact)
		}
		err := db.CanLogin(ctx, before.Username, before.Password, true)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28000" {
			t.Fatalf("round %d: want the previous user %s refused (28000), got %v", round, before.Username, err)
		}
		cur, _ := read(t, f.arn, "AWSCURRENT")
		mustLogin(t, cur, "AWSCURRENT after the gate")
	}
	// Two rotations brought the first user back, with LOGIN restored.
	cur, _ := read(t, f.arn, "AWSCURRENT")
	if cur.Username != first.Username {
		t.Fatalf("want %s current again after two rotations, got %s (first version %s)", first.Username, cur.Username, firstVersion)
	}
	cancel()
	load.wg.Wait()
	t.Logf("queries: %d ok, %d failed", load.ok, load.failed)
	if load.failed != 0 || load.ok == 0 {
		t.Fatalf("want queries to run without a failure across the rotations, got %d ok, %d failed: %v", load.ok, load.failed, load.failureSamples)
	}
	fnLog, err := os.ReadFile(f.logPath)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []byte
	for _, ev := range f.observed(t) {
		b, _ := json.Marshal(ev)
		bodies = append(bodies, b...)
	}
	checkNoSecretIn(t, map[string][]byte{"function log": fnLog, "events": bodies, "consumer logs": consumerLogs.Bytes()})
}

// TestLostEventsConverge: with the consumer's queue never fed (its rule is
// missing) the poll fallback still brings the new version, and an old
// Rotation Completed that arrives late changes nothing.
func TestLostEventsConverge(t *testing.T) {
	f := newFanout(t, "app_lost", "alternating-users", []string{"late-service"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cache, err := consumer.New(ctx, sm.NewFromConfig(awsConfig()), consumer.Options{SecretID: f.arn, TTL: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = cache.Run(ctx) }()
	c := &consumerUnderTest{name: "late-service", cache: cache}
	v1 := f.rotate(t)
	waitSwapped(t, v1, c)
	v2 := f.rotate(t)
	waitSwapped(t, v2, c)
	settle(t)
	// Replay the first rotation's Completed, late and twice.
	var stale []events.Event
	for _, ev := range f.observed(t) {
		if ev.DetailType == events.Completed && ev.Detail.VersionID == v1 {
			stale = append(stale, ev)
		}
	}
	if len(stale) == 0 {
		t.Fatal("want the first rotation's Completed event observed")
	}
	body, _ := json.Marshal(map[string]any{
		"version": "0", "id": uuid.NewString(), "detail-type": string(events.Completed), "source": events.Source,
		"account": stale[0].Account, "region": stale[0].Region, "time": stale[0].Time, "detail": stale[0].Detail,
	})
	var ev awsevents.EventBridgeEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	gets := cache.Stats().GetSecretValueCalls
	for range 2 {
		if err := cache.HandleEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if got := cache.Current().ID; got != v2 {
		t.Fatalf("want the cache to stay on %s after a stale event, got %s", v2, got)
	}
	if got := cache.Stats().GetSecretValueCalls; got != gets {
		t.Fatalf("want no GetSecretValue for a stale event, got %d more", got-gets)
	}
}

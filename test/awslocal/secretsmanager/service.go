package secretsmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/clock"
)

// Functions runs rotation functions (the local Lambda registry).
type Functions interface {
	// Invoke runs the function synchronously, as Secrets Manager invokes a
	// rotation function; a function error is an error.
	Invoke(ctx context.Context, functionARN string, payload []byte) ([]byte, error)
	// Exists reports whether RotateSecret may name the function.
	Exists(ctx context.Context, functionARN string) bool
}

// Event is an event for the account's default bus.
type Event struct {
	Source     string
	DetailType string
	Detail     any
	Resources  []string
	Time       time.Time
}

// Events receives the events Secrets Manager sends to EventBridge.
type Events interface {
	Emit(ctx context.Context, account, region string, e Event) error
}

// Options configures a [Service].
type Options struct {
	Clock     clock.Clock
	Logger    *slog.Logger
	Functions Functions // nil: rotations fail, as with a function that cannot be invoked
	Events    Events    // nil: events are dropped
	// Retries is how many times a failed rotation is tried again (default
	// 3; negative: never).
	Retries int
	// RetryBackoff is the wait before the first retry, doubled before each
	// next one, on Clock (default 1 minute).
	RetryBackoff time.Duration
	// StepTimeout bounds one step's invocation (default 15 minutes,
	// Lambda's longest timeout).
	StepTimeout time.Duration
	// SchedulerTick is how often, on Clock, the scheduler looks for due
	// rotations (default 1 minute). Zero Options.Clock ticks are real time.
	SchedulerTick time.Duration
}

// Service is Secrets Manager for every account and region the endpoint
// serves.
type Service struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	stores map[scope]*region

	rotations rotations

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type scope struct{ account, region string }

// region is one account's Secrets Manager in one region. writeMu serializes
// the operations that move labels, so that the labels before and after each
// are known and "Secret Label Updated" events are exact.
type region struct {
	scope
	store   *memstore.Store
	writeMu sync.Mutex
}

// New returns a service and starts its scheduler; [Service.Close] stops it.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Retries == 0 {
		opts.Retries = 3
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = time.Minute
	}
	if opts.StepTimeout == 0 {
		opts.StepTimeout = 15 * time.Minute
	}
	if opts.SchedulerTick == 0 {
		opts.SchedulerTick = time.Minute
	}
	s := &Service{opts: opts, log: opts.Logger, stores: map[scope]*region{}}
	s.rotations.latest = map[string]*run{}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.runScheduler()
	return s
}

// Close stops the scheduler and every rotation in progress, and waits for
// them.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// Store returns the store of an account and region, creating it: tests and
// tools use it to seed or inspect state without the API.
func (s *Service) Store(account, regionName string) *memstore.Store {
	return s.region(scope{account, regionName}).store
}

func (s *Service) region(sc scope) *region {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.stores[sc]
	if r == nil {
		r = &region{scope: sc, store: memstore.New(
			memstore.WithAccountID(sc.account), memstore.WithRegion(sc.region),
			memstore.WithClock(s.opts.Clock.Now))}
		s.stores[sc] = r
	}
	return r
}

func (s *Service) regions() []*region {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Values(s.stores))
}

func (s *Service) caller(ctx context.Context) *region {
	c := awsjson.CallerFrom(ctx)
	return s.region(scope{c.AccountID, c.Region})
}

// JSONService returns the operations for the endpoint's router.
func (s *Service) JSONService() awsjson.Service {
	return awsjson.Service{
		TargetPrefix: "secretsmanager",
		ContentType:  "application/x-amz-json-1.1",
		Operations: map[string]awsjson.Operation{
			"CreateSecret":             awsjson.Op(s.createSecret),
			"DescribeSecret":           awsjson.Op(s.describeSecret),
			"GetSecretValue":           awsjson.Op(s.getSecretValue),
			"BatchGetSecretValue":      awsjson.Op(s.batchGetSecretValue),
			"PutSecretValue":           awsjson.Op(s.putSecretValue),
			"UpdateSecret":             awsjson.Op(s.updateSecret),
			"UpdateSecretVersionStage": awsjson.Op(s.updateSecretVersionStage),
			"ListSecrets":              awsjson.Op(s.listSecrets),
			"ListSecretVersionIds":     awsjson.Op(s.listSecretVersionIDs),
			"TagResource":              awsjson.Op(s.tagResource),
			"UntagResource":            awsjson.Op(s.untagResource),
			"DeleteSecret":             awsjson.Op(s.deleteSecret),
			"RestoreSecret":            awsjson.Op(s.restoreSecret),
			"GetRandomPassword":        awsjson.Op(s.getRandomPassword),
			"RotateSecret":             awsjson.Op(s.rotateSecret),
			"CancelRotateSecret":       awsjson.Op(s.cancelRotateSecret),
		},
	}
}

// labels returns the secret's labels by label, or nil when it is gone.
func labels(ctx context.Context, st *memstore.Store, secretID string) (arn, name string, byLabel map[string]string) {
	d, err := st.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: secretID})
	if err != nil {
		return "", "", nil
	}
	byLabel = map[string]string{}
	for v, stages := range d.VersionIDsToStages {
		for _, l := range stages {
			byLabel[l] = v
		}
	}
	return d.ARN, d.Name, byLabel
}

// write runs a label-moving operation and sends "Secret Label Updated" for
// each label, other than AWSPENDING and AWSPREVIOUS, that it attached to a
// version.
func (s *Service) write(ctx context.Context, r *region, secretID string, op func() error) error {
	return s.writeVersion(ctx, r, secretID, nil, op)
}

// writeVersion is write for an operation that stores a value; versionID
// returns, once op has run, the version it wrote (nil: no value). A
// manual version abandons a rotation in progress: "When you manually
// create a new version of a secret, you send a message signalling the
// abandonment of the current ongoing rotation in favor of the new secret
// version. As a result, Secrets Manager removes the AWSPENDING label to
// allow future rotations to succeed" (AWS Secrets Manager User Guide, RotationAbandoned). A new
// version that became AWSCURRENT, of a secret with rotation on, while
// AWSPENDING is on another version than AWSCURRENT, does that here.
func (s *Service) writeVersion(ctx context.Context, r *region, secretID string, versionID func() string, op func() error) error {
	r.writeMu.Lock()
	_, _, before := labels(ctx, r.store, secretID)
	err := op()
	arn, name, after := labels(ctx, r.store, secretID)
	abandoned := false
	if err == nil && versionID != nil {
		abandoned = s.abandonPending(ctx, r, arn, versionID(), before, after)
		if abandoned {
			arn, name, after = labels(ctx, r.store, secretID)
		}
	}
	r.writeMu.Unlock()
	if err != nil {
		return apiError(err)
	}
	for _, l := range slices.Sorted(maps.Keys(after)) {
		if l == secretstore.Pending || l == secretstore.Previous || before[l] == after[l] {
			continue
		}
		s.emit(r.scope, Event{
			Source: "aws.secretsmanager", DetailType: "Secret Label Updated",
			Resources: []string{arn},
			Detail:    map[string]string{"name": name, "labelUpdated": l, "versionId": after[l]},
		})
	}
	if abandoned {
		// The run of the abandoned version, if one is in progress, notices
		// and reports RotationAbandoned itself; otherwise it is reported here.
		if s.rotations.busy(arn) {
			s.rotations.wake(arn)
		} else {
			s.cloudTrail(r.scope, RotationAbandoned, arn)
		}
	}
	return nil
}

// abandonPending removes AWSPENDING from the version of a rotation in
// progress when the manual version written became AWSCURRENT. The caller
// holds r.writeMu.
func (s *Service) abandonPending(ctx context.Context, r *region, arn, written string, before, after map[string]string) bool {
	pending := after[secretstore.Pending]
	if written == "" || after[secretstore.Current] != written || before[secretstore.Current] == written ||
		pending == "" || pending == written {
		return false
	}
	d, err := r.store.DescribeSecret(ctx, memstore.DescribeSecretInput{SecretID: arn})
	if err != nil || !d.RotationEnabled {
		return false
	}
	_, err = r.store.UpdateSecretVersionStage(ctx, memstore.UpdateSecretVersionStageInput{
		SecretID: arn, VersionStage: secretstore.Pending, RemoveFromVersionID: pending})
	return err == nil
}

func (s *Service) emit(sc scope, e Event) {
	if s.opts.Events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = s.opts.Clock.Now()
	}
	if err := s.opts.Events.Emit(context.WithoutCancel(s.ctx), sc.account, sc.region, e); err != nil {
		s.log.Warn("event not sent", "detail_type", e.DetailType, "error", err)
	}
}

// Snapshot returns every store's state as JSON (secret values included:
// it is the local endpoint's state file).
func (s *Service) Snapshot() ([]byte, error) {
	out := map[string]json.RawMessage{}
	for _, r := range s.regions() {
		var buf bytes.Buffer
		if err := r.store.Save(&buf); err != nil {
			return nil, err
		}
		out[r.account+"/"+r.region] = buf.Bytes()
	}
	return json.Marshal(out)
}

// Restore replaces the state with one [Service.Snapshot] returned.
func (s *Service) Restore(data []byte) error {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("secretsmanager: restore: %w", err)
	}
	for key, raw := range in {
		account, regionName, ok := strings.Cut(key, "/")
		if !ok {
			return fmt.Errorf("secretsmanager: restore: key %q is not account/region", key)
		}
		if err := s.Store(account, regionName).Load(bytes.NewReader(raw)); err != nil {
			return fmt.Errorf("secretsmanager: restore %s: %w", key, err)
		}
	}
	return nil
}

package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/password"
	"github.com/rotorhq/rotor/shared/redact"
	"github.com/rotorhq/rotor/shared/secretstore"
)

// Store is the secret store as the engine uses it: one call per Secrets
// Manager operation. The AWS and in-memory adapters of shared/secretstore
// satisfy it; their errors wrap the secretstore sentinels.
type Store interface {
	Describe(ctx context.Context, secretID string) (secretstore.Description, error)
	// Value reads one version by id; secretstore.ErrVersionNotFound when it
	// has no value yet.
	Value(ctx context.Context, secretID, versionID string) ([]byte, error)
	CurrentValue(ctx context.Context, secretID string) ([]byte, error)
	// Version reads one version by id with the labels it carries (AWS:
	// GetSecretValue by VersionId answers VersionStages), with the errors
	// of Value; Current reads the AWSCURRENT version with its id. A cold
	// step that must read these values anyway learns the labels from them,
	// instead of describing the secret first.
	Version(ctx context.Context, secretID, versionID string) (secretstore.Version, error)
	Current(ctx context.Context, secretID string) (secretstore.Version, error)
	PutPending(ctx context.Context, p secretstore.PendingValue) error
	MoveStage(ctx context.Context, m secretstore.StageMove) error
	RandomPassword(ctx context.Context, spec secretstore.PasswordSpec) (string, error)
}

// Request is one rotation step to run, as the rotation event carries it.
type Request struct {
	SecretID string
	// Token is the ClientRequestToken: the id of the pending version.
	Token string
	Step  Step
	// RotationToken is passed on to PutSecretValue when present.
	RotationToken string
	// InvocationID identifies the invocation in logs (Lambda's request id).
	InvocationID string
}

// Engine runs rotation steps for one credential type.
type Engine struct {
	store   Store
	rotator rotators.Rotator
	info    rotators.Info
	cfg     Config
	allowed string // password characters: the rotator's, less the excluded
	exclude string // for GetRandomPassword: every character not allowed
	logger  *slog.Logger
	now     func() time.Time

	notifier Notifier              // nil: events off
	fp       *events.Fingerprinter // nil: events without fingerprints

	// What a warm container keeps between steps (cache.go).
	versions *valueCache // secret versions by ARN and id
	arns     *valueCache // the ARN of each secret id a step was sent
	secrets  *valueCache // AWSCURRENT of other secrets, by id
}

// New builds an engine. It checks the configuration against what the
// rotator's target accepts, so that a bad configuration fails at start and
// not in the middle of a rotation.
func New(store Store, rotator rotators.Rotator, cfg Config, logger *slog.Logger) (*Engine, error) {
	if store == nil || rotator == nil {
		return nil, errors.New("lifecycle: store and rotator are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	info := rotator.Info()
	allowed := password.Without(info.PasswordChars, cfg.ExcludeCharacters)
	if err := cfg.validate(info, allowed); err != nil {
		return nil, err
	}
	return &Engine{
		store: store, rotator: rotator, info: info, cfg: cfg, logger: logger, now: time.Now,
		allowed:  allowed,
		versions: newValueCache(), secrets: newValueCache(), arns: newValueCache(),
		// Exclude everything the target does not take, not only what the
		// configuration names.
		exclude: password.Without(password.Printable+password.Space, allowed),
	}, nil
}

// Info returns the rotator's description.
func (e *Engine) Info() rotators.Info { return e.info }

// Run runs one step. A step that finds its work done already returns nil.
// With events on ([Engine.WithEvents]), the step then publishes its event;
// a publish that fails is logged and does not fail the step.
func (e *Engine) Run(ctx context.Context, req Request) error {
	start := e.now()
	scrub := redact.New()
	log := slog.New(redact.NewHandler(e.logger.Handler(), scrub)).With(
		"secret_id", req.SecretID, "step", string(req.Step), "version", req.Token,
		"type", e.info.Type, "strategy", e.info.Strategy)
	if req.InvocationID != "" {
		log = log.With("request_id", req.InvocationID)
	}
	inv := &invocation{Engine: e, req: req, scrub: scrub, log: log}

	outcome, err := inv.run(ctx)
	end := e.now()
	durationMs := float64(end.Sub(start).Microseconds()) / 1000
	inv.notify(ctx, outcome, err, durationMs, end)
	err = scrub.Error(err)
	attrs := []any{"outcome", outcome, "duration_ms", durationMs}
	if err != nil {
		log.Error("rotation step failed", append(attrs, "error", err)...)
		return err
	}
	log.Info("rotation step finished", attrs...)
	return nil
}

// Outcomes of a step, as logged.
const (
	outcomeDone    = "done"
	outcomeSkipped = "skipped" // the work was done already
	outcomeFailed  = "failed"
)

// invocation is the state of one Run.
type invocation struct {
	*Engine
	req   Request
	scrub *redact.Scrubber
	log   *slog.Logger
	desc  secretstore.Description
	// described: desc is DescribeSecret's answer. Without it (runByReads)
	// desc holds only the ARN and name that GetSecretValue answered.
	described bool

	// What the step's event reports beyond the request: the version
	// AWSCURRENT held before the rotation, and the fingerprint of the
	// pending value when the step had it in hand.
	previous    string
	fingerprint string
	// noEvent: the step is not part of a rotation (the configuration test).
	noEvent bool
}

func (inv *invocation) fail(phase string, err error) (string, error) {
	return outcomeFailed, &StepError{Step: inv.req.Step, SecretID: inv.req.SecretID, Phase: phase, Err: err}
}

func (inv *invocation) run(ctx context.Context) (string, error) {
	if err := inv.req.validate(); err != nil {
		return inv.fail("event", err)
	}
	if (inv.req.Step == SetSecret || inv.req.Step == TestSecret) && !inv.warm() {
		return inv.runByReads(ctx)
	}
	return inv.runDescribed(ctx)
}

// runDescribed runs the step after DescribeSecret: createSecret and
// finishSecret always (the rotation-enabled check, the labels of a pending
// version that has no value yet, the version AWSCURRENT leaves), setSecret
// and testSecret when this container holds the values they need (a warm
// one), so that the description is the step's only read.
func (inv *invocation) runDescribed(ctx context.Context) (string, error) {
	desc, err := inv.store.Describe(ctx, inv.req.SecretID)
	if err != nil {
		return inv.fail("describe", err)
	}
	inv.desc, inv.described = desc, true
	inv.arns.put(inv.req.SecretID, []byte(desc.ARN))
	if !desc.RotationEnabled {
		return inv.fail("check", ErrRotationDisabled)
	}
	if _, ok := desc.Versions[inv.req.Token]; !ok {
		return inv.fail("check", ErrUnknownVersion)
	}
	if desc.HasStage(inv.req.Token, secretstore.Current) {
		if inv.req.Step == TestSecret {
			// No rotation tests the version that is current already:
			// this is a configuration test with AWSPENDING attached to
			// the current version (see configTest).
			return inv.configTest(ctx, "the token's version is AWSCURRENT")
		}
		// A finished rotation: AWS may leave AWSPENDING on it too. The
		// version it replaced is AWSPREVIOUS now.
		inv.previous, _ = desc.VersionWithStage(secretstore.Previous)
		inv.log.Info("version is already AWSCURRENT; nothing to do")
		return outcomeSkipped, nil
	}
	if !desc.HasStage(inv.req.Token, secretstore.Pending) {
		return inv.fail("check", ErrNotPending)
	}
	switch inv.req.Step {
	case CreateSecret:
		return inv.create(ctx)
	case SetSecret:
		return inv.set(ctx)
	case TestSecret:
		return inv.test(ctx)
	case FinishSecret:
		return inv.finish(ctx)
	}
	return inv.fail("event", fmt.Errorf("unknown step %q", inv.req.Step))
}

func (r Request) validate() error {
	switch {
	case r.SecretID == "":
		return &InputError{Field: "SecretId", Reason: "missing"}
	case r.Token == "":
		return &InputError{Field: "ClientRequestToken", Reason: "missing"}
	}
	if _, err := ParseStep(string(r.Step)); err != nil {
		return err
	}
	return nil
}

func (inv *invocation) currentVersion() (string, error) {
	id, ok := inv.desc.VersionWithStage(secretstore.Current)
	if !ok {
		return "", ErrNoCurrent
	}
	inv.previous = id
	return id, nil
}

// currentValue reads AWSCURRENT's value; phase names the failing part for
// [invocation.fail].
func (inv *invocation) currentValue(ctx context.Context) (value []byte, phase string, err error) {
	id, err := inv.currentVersion()
	if err != nil {
		return nil, "check", err
	}
	if value, err = inv.value(ctx, id); err != nil {
		return nil, "read current", err
	}
	return value, "", nil
}

// pendingValue reads the token's value; a version with no value yet is
// [ErrNoPendingValue].
func (inv *invocation) pendingValue(ctx context.Context) ([]byte, error) {
	v, err := inv.value(ctx, inv.req.Token)
	if errors.Is(err, secretstore.ErrVersionNotFound) {
		err = fmt.Errorf("%w: %w", ErrNoPendingValue, err)
	}
	return v, err
}

// create derives and stores the pending value. It does not ask the store
// whether the version has a value already: PutSecretValue under the token
// is idempotent, and refuses another value (see createdByDuplicate), so a
// repeated createSecret costs a Create, which changes nothing, instead of
// every createSecret costing a read. A version this engine stored already
// is known without asking.
func (inv *invocation) create(ctx context.Context) (string, error) {
	if pending, ok := inv.cachedValue(inv.req.Token); ok {
		inv.log.Info("pending version already has a value; nothing to do")
		_, _ = inv.currentVersion() // for the event only
		inv.fingerprintOf(pending)
		return outcomeSkipped, nil
	}
	current, phase, err := inv.currentValue(ctx)
	if err != nil {
		return inv.fail(phase, err)
	}
	pw, err := inv.newPassword(ctx)
	if err != nil {
		return inv.fail("generate password", err)
	}
	resp, err := withSecrets(inv, func(secrets rotators.SecretReader) (rotators.CreateResponse, error) {
		return inv.rotator.Create(ctx, rotators.CreateRequest{
			SecretID: inv.req.SecretID, Current: current, Password: pw, Secrets: secrets, Log: inv.log,
		})
	})
	if err != nil {
		return inv.fail("rotator create", err)
	}
	inv.scrub.AddSecretJSON(resp.Pending)
	inv.fingerprintOf(resp.Pending)
	err = inv.store.PutPending(ctx, secretstore.PendingValue{
		SecretID: inv.req.SecretID, VersionID: inv.req.Token, Value: resp.Pending, RotationToken: inv.req.RotationToken,
	})
	if errors.Is(err, secretstore.ErrVersionExists) {
		return inv.createdByDuplicate(ctx, err)
	}
	if err != nil {
		return inv.fail("store pending", err)
	}
	inv.remember(inv.req.Token, resp.Pending)
	return outcomeDone, nil
}

// createdByDuplicate handles a PutSecretValue refused with ResourceExists:
// the token's version holds another value already. Secrets Manager
// delivers a step twice at times, and retries a createSecret whose answer
// was lost: an earlier or concurrent invocation of this step stored its
// pending value first. That value is as good as ours (Create changed
// nothing in the target), so the step's work is done: reported as skipped,
// not as a failed rotation. Only when the version still has no value is
// the refusal an error.
func (inv *invocation) createdByDuplicate(ctx context.Context, putErr error) (string, error) {
	stored, err := inv.value(ctx, inv.req.Token)
	if err != nil {
		return inv.fail("store pending", putErr)
	}
	inv.log.Info("another invocation of createSecret stored the pending value first; keeping it")
	inv.fingerprintOf(stored)
	return outcomeSkipped, nil
}

// pair reads the current and the pending value. When only the pending read
// fails, current is returned with the error.
func (inv *invocation) pair(ctx context.Context) (current, pending []byte, phase string, err error) {
	if current, phase, err = inv.currentValue(ctx); err != nil {
		return nil, nil, phase, err
	}
	if pending, err = inv.pendingValue(ctx); err != nil {
		return current, nil, "read pending", err
	}
	inv.fingerprintOf(pending)
	return current, pending, "", nil
}

// set and test hand the current and the pending value to the rotator.
func (inv *invocation) set(ctx context.Context) (string, error) {
	current, pending, phase, err := inv.pair(ctx)
	if err != nil {
		return inv.fail(phase, err)
	}
	return inv.setValues(ctx, current, pending)
}

func (inv *invocation) setValues(ctx context.Context, current, pending []byte) (string, error) {
	req := rotators.SetRequest{
		SecretID: inv.req.SecretID, Current: current, Pending: pending, Log: inv.log,
		LastRotated: inv.desc.LastRotated,
	}
	if !inv.described {
		// Not described (runByReads): the date costs a DescribeSecret,
		// made only if the rotator asks for it.
		req.LastRotatedFunc = inv.lastRotated
	}
	_, err := withSecrets(inv, func(secrets rotators.SecretReader) (rotators.SetResponse, error) {
		req.Secrets = secrets
		return inv.rotator.Set(ctx, req)
	})
	if err != nil {
		return inv.fail("rotator set", err)
	}
	return outcomeDone, nil
}

// lastRotated describes the secret for its LastRotatedDate.
func (inv *invocation) lastRotated(ctx context.Context) (time.Time, error) {
	desc, err := inv.store.Describe(ctx, inv.req.SecretID)
	if err != nil {
		return time.Time{}, err
	}
	return desc.LastRotated, nil
}

// test runs the rotator's test of the pending value, or the configuration
// test when the pending version is not a rotation's (see configTest).
func (inv *invocation) test(ctx context.Context) (string, error) {
	current, pending, phase, err := inv.pair(ctx)
	return inv.testValues(ctx, current, pending, phase, err)
}

func (inv *invocation) testValues(ctx context.Context, current, pending []byte, phase string, err error) (string, error) {
	switch {
	case errors.Is(err, ErrNoPendingValue) && current != nil:
		return inv.configTestOf(ctx, current, "the pending version has no value")
	case err != nil:
		return inv.fail(phase, err)
	case bytes.Equal(pending, current):
		return inv.configTestOf(ctx, current, "the pending value is the current value")
	}
	_, err = withSecrets(inv, func(secrets rotators.SecretReader) (rotators.TestResponse, error) {
		return inv.rotator.Test(ctx, rotators.TestRequest{
			SecretID: inv.req.SecretID, Current: current, Pending: pending, Secrets: secrets, Log: inv.log,
		})
	})
	if err != nil {
		return inv.fail("rotator test", err)
	}
	return outcomeDone, nil
}

// configTest runs the rotator's configuration test: RotateSecret with
// RotateImmediately=false makes Secrets Manager run testSecret alone, to
// check the rotation configuration before the first rotation. AWS
// documents only that "the test creates an AWSPENDING version of the
// secret and then removes it"; what that version holds is not documented,
// so the engine recognises every shape it may take (see README, "The
// configuration test"):
//
//   - a new AWSPENDING version holding a copy of the current value (the
//     local endpoint's reading, and moto's): no rotation's pending value
//     equals the current one, since createSecret makes a new password;
//   - a new AWSPENDING version with no value: no rotation reaches
//     testSecret before createSecret stored its value;
//   - AWSPENDING attached to the AWSCURRENT version itself: no rotation
//     tests a version that is current already.
//
// The current credential is not handed to Test as if it were pending
// (with alternating users that names the wrong user); the rotator checks
// the configuration instead. Nothing is written, the labels are left to
// the service, and no rotation event is published: it is not a rotation.
func (inv *invocation) configTest(ctx context.Context, why string) (string, error) {
	current, phase, err := inv.currentValue(ctx)
	if err != nil {
		return inv.fail(phase, err)
	}
	return inv.configTestOf(ctx, current, why)
}

func (inv *invocation) configTestOf(ctx context.Context, current []byte, why string) (string, error) {
	inv.noEvent = true
	inv.log.Info("rotation configuration test: " + why + "; testing the configuration, changing nothing; no event is published")
	_, err := withSecrets(inv, func(secrets rotators.SecretReader) (rotators.ConfigTestResponse, error) {
		return inv.rotator.TestConfiguration(ctx, rotators.ConfigTestRequest{
			SecretID: inv.req.SecretID, Current: current, Secrets: secrets, Log: inv.log,
		})
	})
	if err != nil {
		return inv.fail("rotator configuration test", err)
	}
	return outcomeDone, nil
}

// finish moves AWSCURRENT to the pending version. A version with no value
// is never promoted: that would leave the secret with no current value,
// and every consumer with nothing to log in with (a finishSecret sent
// without the steps before it, or after createSecret failed).
func (inv *invocation) finish(ctx context.Context) (string, error) {
	currentID, err := inv.currentVersion()
	if err != nil {
		return inv.fail("check", err)
	}
	if _, err := inv.pendingValue(ctx); err != nil {
		return inv.fail("read pending", err)
	}
	err = inv.store.MoveStage(ctx, secretstore.StageMove{
		SecretID: inv.req.SecretID, Stage: secretstore.Current, ToVersion: inv.req.Token, FromVersion: currentID,
	})
	if err != nil {
		return inv.fail("move AWSCURRENT", err)
	}
	inv.log.Info("AWSCURRENT moved", "previous_version", currentID)
	return outcomeDone, nil
}

// errPasswordChars: the store's password ignored the exclusions.
var errPasswordChars = errors.New("the generated password holds characters the target does not accept")

func (inv *invocation) newPassword(ctx context.Context) (string, error) {
	var (
		pw  string
		err error
	)
	switch inv.cfg.PasswordSource {
	case PasswordFromStore:
		pw, err = inv.store.RandomPassword(ctx, secretstore.PasswordSpec{
			Length:                  inv.cfg.PasswordLength,
			ExcludeCharacters:       inv.exclude,
			RequireEachIncludedType: inv.cfg.RequireEachIncludedType,
		})
	default:
		pw, err = password.Generate(password.Spec{
			Length: inv.cfg.PasswordLength, Allowed: inv.allowed, RequireEachClass: inv.cfg.RequireEachIncludedType,
		})
	}
	if err != nil {
		return "", err
	}
	inv.scrub.Add(pw)
	if got := password.Without(pw, inv.allowed); got != "" {
		// A store that ignores the exclusions must not reach the target.
		return "", errPasswordChars
	}
	return pw, nil
}

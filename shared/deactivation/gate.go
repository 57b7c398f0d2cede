package deactivation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/metrics"
	"github.com/rotorhq/rotor/shared/redact"
	"github.com/rotorhq/rotor/shared/secretstore"
)

// Store is what the gate needs of a secret store, in the store-neutral
// types of shared/secretstore, so that one gate serves every cloud;
// *awssm.Store has it.
type Store interface {
	// Details describes the secret: versions, tags, last rotation (AWS:
	// DescribeSecret).
	Details(ctx context.Context, secretID string) (secretstore.Details, error)
	// Value reads a version (GetSecretValue by VersionId).
	Value(ctx context.Context, secretID, versionID string) ([]byte, error)
	// CurrentValue reads another secret's AWSCURRENT (the master secret).
	CurrentValue(ctx context.Context, secretID string) ([]byte, error)
	// Tag adds or changes tags (TagResource).
	Tag(ctx context.Context, secretID string, tags map[string]string) error
	// ListTagged lists the secrets with a tag key starting with the
	// prefix (ListSecrets, filter tag-key), with their rotation function.
	ListTagged(ctx context.Context, keyPrefix string) ([]secretstore.TaggedSecret, error)
	// Rotate starts a rotation with the secret's rotation function and
	// returns the new version (RotateSecret); an emergency rotation uses it.
	Rotate(ctx context.Context, secretID string) (string, error)
}

// Publisher publishes rotor events; events/publish's Publisher has this
// method.
type Publisher interface {
	Publish(ctx context.Context, evs ...events.Event) error
}

// Metric name and dimension.
const (
	MetricUnacknowledged = "UnacknowledgedConsumers"
	DimensionSecretName  = "SecretName"
)

// DefaultGracePeriod is how long after a rotation the gate waits for
// acknowledgements before it deactivates anyway.
const DefaultGracePeriod = 24 * time.Hour

// LongestCacheLifetime is the longest a consumer may keep using a
// credential from its cache without looking again: AWS's Secrets Manager
// agent caches for 300 s by default, rotor's consumer cache polls every
// 5 minutes plus up to 10% jitter (events/consumer DefaultTTL). The grace
// period is the policy under which the gate revokes a credential still in
// use, so it must be longer: a shorter one would revoke a credential that a
// correctly working consumer has had no chance to replace.
const LongestCacheLifetime = 330 * time.Second

// checkGracePeriod refuses a grace period that is not longer than
// [LongestCacheLifetime]; the error names field.
func checkGracePeriod(field string, d time.Duration) error {
	if d <= LongestCacheLifetime {
		return &FieldError{Field: field, Reason: fmt.Sprintf("%s is not longer than the longest consumer cache lifetime (%s: AWS's Secrets Manager agent caches 300s, rotor's consumer cache 5m+10%%)", d, LongestCacheLifetime)}
	}
	return nil
}

// Config configures a [Gate].
type Config struct {
	Store     Store
	Publisher Publisher
	// Deactivator revokes previous credentials; nil means the rotator has
	// nothing to revoke (single user), and the gate only records
	// acknowledgements and reports the metric.
	Deactivator rotators.Deactivator
	// Info is the rotator's, for the events' credentialType and strategy.
	Info rotators.Info
	// GracePeriod after LastRotatedDate; 0 means [DefaultGracePeriod].
	// Once it has passed the gate revokes the previous credential even if
	// consumers have not acknowledged and the target shows sessions of it:
	// it must be longer than [LongestCacheLifetime].
	GracePeriod time.Duration
	// Secrets lists the secrets a scheduled sweep evaluates; empty means
	// every secret with a registration (ListSecrets, tag-key
	// [ConsumerTagPrefix]) that FunctionName rotates.
	Secrets []string
	// FunctionName is the gate's own function (AWS_LAMBDA_FUNCTION_NAME).
	// A sweep by tag evaluates only the secrets whose rotation function it
	// is: another rotator's secrets are not this role's to describe, and a
	// sweep that tried would fail every hour. Empty: every tagged secret.
	FunctionName string
	// Metrics receives the UnacknowledgedConsumers metric; nil discards.
	Metrics *metrics.Emitter
	// Logger; nil discards. Secret values are masked before it sees them.
	Logger *slog.Logger
	// Now is the gate's clock; nil means time.Now.
	Now func() time.Time
}

// Settings are the gate's environment settings.
type Settings struct {
	GracePeriod time.Duration
	// GracePeriodSet: ROTOR_GRACE_PERIOD is in the environment, so the
	// deployment chose a grace policy rather than took the default.
	GracePeriodSet bool
	Secrets        []string
}

// Environment variables of [SettingsFromEnv].
const (
	EnvGracePeriod = "ROTOR_GRACE_PERIOD"
	EnvSecrets     = "ROTOR_GATE_SECRETS"
)

// SettingsFromEnv reads ROTOR_GRACE_PERIOD (a Go duration such as "24h" or
// "90m", longer than [LongestCacheLifetime]; default 24h) and ROTOR_GATE_SECRETS (comma-separated secret ARNs or
// names; default: every secret with a registration). An error names the
// variable.
func SettingsFromEnv(lookup func(string) (string, bool)) (Settings, error) {
	s := Settings{GracePeriod: DefaultGracePeriod}
	v, ok := lookup(EnvGracePeriod)
	s.GracePeriodSet = ok
	if ok && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Settings{}, &FieldError{Field: EnvGracePeriod, Reason: fmt.Sprintf("%q is not a positive duration such as 24h", v)}
		}
		if err := checkGracePeriod(EnvGracePeriod, d); err != nil {
			return Settings{}, err
		}
		s.GracePeriod = d
	}
	if v, ok := lookup(EnvSecrets); ok {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				s.Secrets = append(s.Secrets, id)
			}
		}
	}
	return s, nil
}

// Gate decides when a previous credential may be revoked, and revokes it.
// It is safe for concurrent use.
type Gate struct {
	cfg Config
	log *slog.Logger
}

// New returns a gate; Store and Publisher are required.
func New(cfg Config) (*Gate, error) {
	switch {
	case cfg.Store == nil:
		return nil, &FieldError{Field: "Store", Reason: "missing"}
	case cfg.Publisher == nil:
		return nil, &FieldError{Field: "Publisher", Reason: "missing"}
	case cfg.GracePeriod < 0:
		return nil, &FieldError{Field: "GracePeriod", Reason: "negative"}
	}
	if cfg.GracePeriod == 0 {
		cfg.GracePeriod = DefaultGracePeriod
	}
	if err := checkGracePeriod("GracePeriod", cfg.GracePeriod); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.Discard()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gate{cfg: cfg, log: log.With("component", "deactivation-gate")}, nil
}

// Action is what an evaluation did or is waiting for.
type Action string

// Actions.
const (
	// ActionNone: the secret has no AWSPREVIOUS version.
	ActionNone Action = "none"
	// ActionAlreadyDone: AWSPREVIOUS was deactivated already.
	ActionAlreadyDone Action = "already-deactivated"
	// ActionRotationInProgress: AWSPENDING is on another version than
	// AWSCURRENT; the gate waits for the rotation to end (its Rotation
	// Completed event evaluates again).
	ActionRotationInProgress Action = "rotation-in-progress"
	// ActionWaiting: consumers have not all acknowledged and the grace
	// period runs.
	ActionWaiting Action = "waiting"
	// ActionDeactivated: every registered consumer acknowledged; the
	// previous credential was revoked.
	ActionDeactivated Action = "deactivated"
	// ActionGraceExpired: the grace period ran out; the previous credential
	// was revoked before every consumer acknowledged.
	ActionGraceExpired Action = "grace-expired"
	// ActionNothingToRevoke: the gate revokes nothing (no Deactivator, or
	// previous and current name the same principal); it records
	// [NotRevokedTag], never [DeactivatedTag].
	ActionNothingToRevoke Action = "nothing-to-revoke"
	// ActionInUse: the consumers have acknowledged, but the target shows
	// open sessions of the previous credential and the grace period runs;
	// the gate waits for them to end, or for the grace period.
	ActionInUse Action = "in-use"
	// ActionEmergency: an operator's emergency rotation made the leaked
	// credential AWSPREVIOUS; it was revoked at once and its open sessions
	// ended.
	ActionEmergency Action = "emergency"
	// ActionEmergencyRotating: an emergency rotation was asked for a
	// credential that is AWSCURRENT; a rotation runs, and the revocation
	// follows its Rotation Completed.
	ActionEmergencyRotating Action = "emergency-rotating"
)

// Decision is the result of an evaluation. It names versions and
// consumers, never a value.
type Decision struct {
	SecretARN       string
	SecretName      string
	CurrentVersion  string
	PreviousVersion string
	Action          Action
	// Registered and Unacknowledged are sorted consumer names.
	Registered     []string
	Unacknowledged []string
	// GraceEnds is when the grace period ends; zero when the secret has no
	// LastRotatedDate.
	GraceEnds time.Time
	// Sessions is the target's evidence of the previous credential's open
	// sessions, when the Deactivator looked.
	Sessions rotators.Sessions
	// Reason is the operator's reason of an emergency rotation.
	Reason string
}

// Evaluate decides for one secret and acts on the decision: it deactivates
// the AWSPREVIOUS credential when every registered consumer has
// acknowledged AWSCURRENT, or when the grace period since LastRotatedDate
// has passed. Every evaluation emits the UnacknowledgedConsumers metric.
// Evaluate is idempotent and safe to crash anywhere: it revokes before it
// records, so a crash in between repeats an idempotent revocation.
func (g *Gate) Evaluate(ctx context.Context, secretID string) (Decision, error) {
	d, err := g.cfg.Store.Details(ctx, secretID)
	if err != nil {
		return Decision{}, &EvaluateError{SecretID: secretID, Phase: "describe", Err: err}
	}
	return g.evaluate(ctx, secretID, d)
}

func (g *Gate) evaluate(ctx context.Context, secretID string, d secretstore.Details) (Decision, error) {
	scrub := redact.New()
	log := slog.New(redact.NewHandler(g.log.Handler(), scrub)).With("secret", d.Name)
	fail := func(phase string, err error) (Decision, error) {
		return Decision{}, scrub.Error(&EvaluateError{SecretID: secretID, Phase: phase, Err: err})
	}
	cur, ok := d.VersionWithStage(secretstore.Current)
	if !ok {
		return fail("describe", ErrNoCurrent)
	}
	registered, invalid := Registered(d.Tags)
	if len(invalid) > 0 {
		log.WarnContext(ctx, "tags that are not valid registrations are ignored", "tags", invalid)
	}
	dec := Decision{
		SecretARN: d.ARN, SecretName: d.Name, CurrentVersion: cur,
		Registered: registered, Unacknowledged: unacknowledged(d.Tags, registered, cur),
	}
	if !d.LastRotated.IsZero() {
		dec.GraceEnds = d.LastRotated.Add(g.cfg.GracePeriod)
	}
	// The grace period is the policy under which a credential still in use
	// is revoked: acknowledgements or not, open sessions or not.
	graceOver := !dec.GraceEnds.IsZero() && !g.cfg.Now().Before(dec.GraceEnds)
	if err := g.cfg.Metrics.Emit(MetricUnacknowledged, float64(len(dec.Unacknowledged)), metrics.Count,
		map[string]string{DimensionSecretName: d.Name}); err != nil {
		log.WarnContext(ctx, "could not emit the metric", "metric", MetricUnacknowledged, "error", err)
	}
	prev, ok := d.VersionWithStage(secretstore.Previous)
	dec.PreviousVersion = prev
	log = log.With("current_version", cur, "previous_version", prev)
	switch {
	case !ok:
		dec.Action = ActionNone
	case d.Tags[EmergencyTag] == prev && g.cfg.Deactivator != nil && !g.rotating(d, cur):
		// Before "already done": a credential the gate locked earlier may
		// still have open sessions, which an emergency ends.
		dec.Action, dec.Reason = ActionEmergency, d.Tags[EmergencyReasonTag]
	case d.Tags[DeactivatedTag] == prev:
		dec.Action = ActionAlreadyDone
	case g.rotating(d, cur):
		dec.Action = ActionRotationInProgress
	case g.cfg.Deactivator == nil:
		dec.Action = ActionNothingToRevoke
	case len(registered) > 0 && len(dec.Unacknowledged) == 0:
		dec.Action = ActionDeactivated
	case graceOver:
		dec.Action = ActionGraceExpired
	default:
		dec.Action = ActionWaiting
	}
	attrs := []any{"action", string(dec.Action), "registered", len(registered), "unacknowledged", dec.Unacknowledged}
	switch dec.Action {
	case ActionNone, ActionAlreadyDone:
		log.DebugContext(ctx, "nothing to deactivate", attrs...)
		return dec, nil
	case ActionRotationInProgress:
		log.InfoContext(ctx, "a rotation is in progress; deactivation waits for it to complete", attrs...)
		return dec, nil
	case ActionWaiting:
		if len(registered) == 0 {
			log.InfoContext(ctx, "no consumer is registered; waiting for the grace period", append(attrs, "grace_ends", dec.GraceEnds)...)
		} else {
			log.InfoContext(ctx, "waiting for acknowledgements", append(attrs, "grace_ends", dec.GraceEnds)...)
		}
		return dec, nil
	case ActionNothingToRevoke:
		return g.notRevoked(ctx, log, secretID, d, dec, prev, fail,
			"the gate revokes nothing: this function has no deactivator, so the previous credential is not revoked here; it works until a rotation changes its password (with a single user, the rotation that made it previous has done so; with alternating users, the next rotation will)",
			append(attrs, "strategy", g.cfg.Info.Strategy)...)
	}

	// Deactivate, then publish, then record: a crash before the record
	// repeats the (idempotent) revocation and the event, never loses them.
	curValue, err := g.cfg.Store.Value(ctx, secretID, cur)
	if err != nil {
		return fail("read", err)
	}
	scrub.AddSecretJSON(curValue)
	prevValue, err := g.cfg.Store.Value(ctx, secretID, prev)
	if err != nil {
		return fail("read", err)
	}
	scrub.AddSecretJSON(prevValue)
	allowInUse := graceOver || dec.Action == ActionEmergency
	resp, err := g.cfg.Deactivator.Deactivate(ctx, rotators.DeactivateRequest{
		SecretID: secretID, Current: curValue, Previous: prevValue,
		Secrets: secretstore.Reader{Store: g.cfg.Store, Scrub: scrub}, Log: log,
		Recheck:    g.recheck(secretID, cur, prev),
		AllowInUse: allowInUse, EndSessions: dec.Action == ActionEmergency,
	})
	if errors.Is(err, ErrStagingChanged) {
		// Set may have run since the decision: the next Rotation Completed
		// (or sweep) decides again.
		dec.Action = ActionRotationInProgress
		log.InfoContext(ctx, "the staging labels changed since the decision; nothing revoked, the next evaluation decides again", append(attrs, "error", err)...)
		return dec, nil
	}
	if err != nil {
		return fail("deactivate", err)
	}
	dec.Sessions = resp.Sessions
	evidence := []any{"sessions", resp.Sessions.Count, "client_addresses", resp.Sessions.ClientAddresses,
		"application_names", resp.Sessions.ApplicationNames, "sessions_ended", resp.Sessions.Ended}
	switch resp.Outcome {
	case rotators.InUse:
		dec.Action = ActionInUse
		log.InfoContext(ctx, "every consumer acknowledged, but the target shows open sessions of the previous credential; waiting for them to end or for the grace period",
			append(append(attrs, "grace_ends", dec.GraceEnds), evidence...)...)
		return dec, nil
	case rotators.NothingToRevoke:
		dec.Action = ActionNothingToRevoke
		return g.notRevoked(ctx, log, secretID, d, dec, prev, fail, "nothing to revoke: the previous and the current secret name the same principal", attrs...)
	}
	if dec.Action == ActionDeactivated && resp.Sessions.Count > 0 {
		// Acknowledged, but revoked in use: under the grace policy.
		dec.Action = ActionGraceExpired
	}
	outcome := events.OutcomeSucceeded
	switch dec.Action {
	case ActionGraceExpired:
		outcome = events.OutcomeGraceExpired
		log.WarnContext(ctx, "grace period expired: deactivating before every consumer acknowledged or stopped using it",
			append(append(attrs, "grace_ends", dec.GraceEnds, "missing_consumers", dec.Unacknowledged), evidence...)...)
	case ActionEmergency:
		outcome = events.OutcomeEmergency
		log.WarnContext(ctx, "emergency rotation: the leaked previous credential was revoked at once and its open sessions ended",
			append(append(attrs, "reason", dec.Reason), evidence...)...)
	}
	if err := g.cfg.Publisher.Publish(ctx, g.event(d, dec, outcome)); err != nil {
		return fail("publish", err)
	}
	record := map[string]string{DeactivatedTag: prev}
	if dec.Action == ActionEmergency {
		record[EmergencyTag] = EmergencyDonePrefix + prev
	}
	if err := g.cfg.Store.Tag(ctx, secretID, record); err != nil {
		return fail("tag", err)
	}
	log.InfoContext(ctx, "previous credential deactivated", append(append(attrs, "rotator_outcome", string(resp.Outcome)), evidence...)...)
	return dec, nil
}

// notRevoked records that the gate revokes nothing for prev: the tag
// [NotRevokedTag], so that later evaluations stay quiet, and one log line
// that says what is true. It never claims a revocation.
func (g *Gate) notRevoked(ctx context.Context, log *slog.Logger, secretID string, d secretstore.Details, dec Decision, prev string,
	fail func(string, error) (Decision, error), msg string, attrs ...any) (Decision, error) {
	if d.Tags[NotRevokedTag] == prev {
		log.DebugContext(ctx, msg, attrs...)
		return dec, nil
	}
	log.InfoContext(ctx, msg, attrs...)
	if err := g.cfg.Store.Tag(ctx, secretID, map[string]string{NotRevokedTag: prev}); err != nil {
		return fail("tag", err)
	}
	return dec, nil
}

// ErrStagingChanged is the refusal of the gate's Recheck: since the
// decision, the staging labels moved (the previous version became current
// or pending, AWSCURRENT or AWSPREVIOUS moved, or a rotation began).
var ErrStagingChanged = errors.New("deactivation: the staging labels changed since the decision")

// recheck is the [rotators.DeactivateRequest] Recheck: the Deactivator
// calls it under the target's serialisation with Set, right before it
// revokes, and it describes the secret again. A Set can only run while a
// version holds AWSPENDING, so a Set that committed since the decision is
// seen here, and one that has not yet taken the target's lock will find
// the revocation committed and give the user its login back.
func (g *Gate) recheck(secretID, cur, prev string) func(context.Context) error {
	return func(ctx context.Context) error {
		d, err := g.cfg.Store.Details(ctx, secretID)
		if err != nil {
			return fmt.Errorf("deactivation: recheck: %w", err)
		}
		switch {
		case d.HasStage(prev, secretstore.Current), d.HasStage(prev, secretstore.Pending):
			return fmt.Errorf("%w: version %s is %v now", ErrStagingChanged, prev, d.Versions[prev])
		case !d.HasStage(cur, secretstore.Current):
			return fmt.Errorf("%w: AWSCURRENT left version %s", ErrStagingChanged, cur)
		case !d.HasStage(prev, secretstore.Previous):
			return fmt.Errorf("%w: AWSPREVIOUS left version %s", ErrStagingChanged, prev)
		case g.rotating(d, cur):
			return fmt.Errorf("%w: a rotation is in progress", ErrStagingChanged)
		}
		return nil
	}
}

// rotating reports whether a rotation is under way: AWSPENDING on a
// version other than AWSCURRENT. Revoking then could lock the user the
// rotation is about to make current.
func (g *Gate) rotating(d secretstore.Details, cur string) bool {
	pending, ok := d.VersionWithStage(secretstore.Pending)
	return ok && pending != cur
}

// event builds the Credential Deactivated event.
func (g *Gate) event(d secretstore.Details, dec Decision, outcome events.Outcome) events.Event {
	account, region := arnParts(d.ARN)
	now := g.cfg.Now().UTC()
	detail := events.Detail{
		SchemaVersion: events.SchemaVersion,
		SecretArn:     d.ARN, SecretName: d.Name, Account: account, Region: region,
		CredentialType: g.cfg.Info.Type, Strategy: g.cfg.Info.Strategy,
		Phase:     events.PhaseDeactivate,
		VersionID: dec.CurrentVersion, PreviousVersionID: dec.PreviousVersion,
		Outcome: outcome, Time: now,
	}
	if outcome == events.OutcomeGraceExpired || outcome == events.OutcomeEmergency {
		detail.Unacknowledged = dec.Unacknowledged
	}
	if s := dec.Sessions; s.Count > 0 || s.Ended > 0 {
		detail.Sessions = &events.Sessions{Count: s.Count, ClientAddresses: s.ClientAddresses, ApplicationNames: s.ApplicationNames, Ended: s.Ended}
	}
	if outcome == events.OutcomeEmergency {
		detail.Reason = dec.Reason
	}
	return events.Event{DetailType: events.CredentialDeactivated, Account: account, Region: region, Time: now, Detail: detail}
}

// arnParts returns the account and region of an ARN
// (arn:partition:service:region:account:...).
func arnParts(arn string) (account, region string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "", ""
	}
	return parts[4], parts[3]
}

package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/shared/redact"
)

// Staging labels.
const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
	stagePending  = "AWSPENDING"
)

// historyLen is how many superseded AWSCURRENT version ids the cache
// remembers, to recognise stale "Rotation Completed" events.
const historyLen = 16

// Cache holds the AWSCURRENT version of one secret (and AWSPREVIOUS) and
// keeps it fresh: see the package doc.
type Cache struct {
	api  SecretsManagerAPI
	opts Options

	// state is replaced, never modified: readers load it without locks.
	state atomic.Pointer[state]
	// writeMu serializes the writers of state: a refresh and AuthFailed's
	// preference.
	writeMu sync.Mutex

	scrubber atomic.Pointer[redact.Scrubber]
	logger   atomic.Pointer[slog.Logger]

	mu       sync.Mutex
	inflight *flight
	lastOK   time.Time // start of the last successful refresh (monotonic)
	hooks    []swapHook
	hookSeq  uint64
	auth     map[string]*authEntry // by failed version id
	failedAt map[string]time.Time  // versions whose login failed, by id
	lastPoll time.Time
	stats    counters
}

// state is what the cache knows, as of one DescribeSecret.
type state struct {
	arn, name string
	current   Version
	previous  Version
	hasPrev   bool
	// pendingID is the version AWSPENDING labelled at the last describe.
	pendingID string
	// preferred is the pending version Current hands out after a login
	// with current failed, until preferredUntil or until AWSCURRENT moves.
	preferred      *Version
	preferredUntil time.Time
	// history holds the ids AWSCURRENT held before current, oldest first.
	history []string
}

// flight is one refresh that callers share.
type flight struct {
	started time.Time
	done    chan struct{}
	swapped bool
	err     error
}

// New builds a cache and loads the secret's AWSCURRENT version (and
// AWSPREVIOUS, if any) before it returns.
func New(ctx context.Context, api SecretsManagerAPI, opts Options) (*Cache, error) {
	if api == nil {
		return nil, &OptionError{Field: "api", Reason: "nil Secrets Manager client"}
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cache{api: api, opts: opts, auth: map[string]*authEntry{}, failedAt: map[string]time.Time{}}
	c.state.Store(&state{})
	c.setRedaction(&state{})
	if _, err := c.refreshAfter(ctx, time.Time{}); err != nil {
		return nil, err
	}
	if opts.Publisher != nil && !opts.SkipAcknowledgeOnStart {
		s := c.state.Load()
		prev := Version{}
		if s.hasPrev {
			prev = s.previous
		}
		c.acknowledge(ctx, s, prev, s.current)
	}
	return c, nil
}

// Current returns the version to use: AWSCURRENT, or the pending version
// while [Cache.AuthFailed] prefers it. It never blocks and never calls
// AWS. The Value is shared: do not modify it.
func (c *Cache) Current() Version {
	s := c.state.Load()
	if s.preferred != nil && c.opts.Now().Before(s.preferredUntil) {
		return *s.preferred
	}
	return s.current
}

// Previous returns the version AWSPREVIOUS held at the last refresh.
func (c *Cache) Previous() (Version, bool) {
	s := c.state.Load()
	return s.previous, s.hasPrev
}

// SecretARN is the secret's ARN, as DescribeSecret reported it.
func (c *Cache) SecretARN() string { return c.state.Load().arn }

// OnSwap registers a hook run after each swap (AWSCURRENT moved and the
// new value is loaded), before the acknowledgement is published. Hooks
// run in the order registered, one swap at a time, on the goroutine of the
// refresh; a hook that blocks delays later refreshes, and a hook must not
// call Refresh, AuthFailed or HandleEvent (it would wait for the refresh
// that runs it). A panic in a hook is logged (without its value) and the
// next hook runs. The returned function unregisters the hook (a closed
// pool must not stay reachable from a cache that outlives it).
func (c *Cache) OnSwap(fn func(old, new Version)) (remove func()) {
	if fn == nil {
		return func() {}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookSeq++
	id := c.hookSeq
	c.hooks = append(c.hooks, swapHook{id: id, fn: fn})
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.hooks = slices.DeleteFunc(c.hooks, func(h swapHook) bool { return h.id == id })
	}
}

// swapHook is a registered [Cache.OnSwap] hook.
type swapHook struct {
	id uint64
	fn func(old, new Version)
}

// Refresh describes the secret and, if AWSCURRENT moved, loads the new
// version and swaps. Concurrent callers share the refresh in flight. A
// refresh that finds no change makes exactly one DescribeSecret call.
func (c *Cache) Refresh(ctx context.Context) (swapped bool, err error) {
	return c.refreshAfter(ctx, time.Time{})
}

// refreshAfter returns the result of a refresh that started at or after
// since (monotonic time); a zero since accepts the refresh in flight. A
// caller that learnt of a change at since must not trust a DescribeSecret
// sent before it, so it waits for the one in flight and starts another.
func (c *Cache) refreshAfter(ctx context.Context, since time.Time) (bool, error) {
	for {
		c.mu.Lock()
		if !since.IsZero() && !c.lastOK.IsZero() && !c.lastOK.Before(since) {
			c.mu.Unlock()
			return false, nil // a refresh that started after since succeeded already
		}
		f := c.inflight
		if f == nil {
			f = &flight{started: time.Now(), done: make(chan struct{})}
			c.inflight = f
			go c.fly(ctx, f)
		} else {
			c.stats.refreshesJoined.Add(1)
		}
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if since.IsZero() || !f.started.Before(since) {
			return f.swapped, f.err
		}
	}
}

// fly runs one shared refresh, detached from the first caller's
// cancellation, within RefreshTimeout.
func (c *Cache) fly(ctx context.Context, f *flight) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.RefreshTimeout)
	defer cancel()
	f.swapped, f.err = c.refresh(rctx)
	c.mu.Lock()
	c.inflight = nil
	if f.err == nil {
		c.lastOK = f.started
		c.stats.refreshes.Add(1)
	} else {
		c.stats.refreshErrors.Add(1)
	}
	c.mu.Unlock()
	close(f.done)
}

// refresh is one refresh; fly runs at most one at a time.
func (c *Cache) refresh(ctx context.Context) (bool, error) {
	c.writeMu.Lock()
	old := c.state.Load()
	next, swapped, err := c.describe(ctx, old)
	if err != nil {
		c.writeMu.Unlock()
		c.log().Warn("secret not refreshed", "secret", c.opts.SecretID, "error", c.scrub(err).Error())
		return false, c.scrub(err)
	}
	if next != old {
		c.state.Store(next)
		c.setRedaction(next)
	}
	c.writeMu.Unlock()
	if swapped {
		c.stats.swaps.Add(1)
		c.log().Info("secret swapped", "secret", next.arn, "versionId", next.current.ID, "previousVersionId", old.current.ID)
		c.runHooks(old.current, next.current)
		c.acknowledge(ctx, next, old.current, next.current)
	}
	return swapped, nil
}

// describe calls DescribeSecret and works out the next state: old itself
// when nothing that matters moved. GetSecretValue is called only for a
// version whose value the cache does not hold. c.writeMu is held.
func (c *Cache) describe(ctx context.Context, old *state) (next *state, swapped bool, err error) {
	c.stats.describeCalls.Add(1)
	d, err := c.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(c.opts.SecretID)})
	if err != nil {
		return nil, false, c.awsError("DescribeSecret", err)
	}
	byStage := map[string]string{}
	for id, stages := range d.VersionIdsToStages {
		for _, st := range stages {
			byStage[st] = id
		}
	}
	curID, prevID, pendID := byStage[stageCurrent], byStage[stagePrevious], byStage[stagePending]
	if curID == "" {
		return nil, false, fmt.Errorf("%w: %s", ErrNoCurrentVersion, c.opts.SecretID)
	}
	stagesOf := func(id string) []string { return slices.Clone(d.VersionIdsToStages[id]) }

	n := *old
	n.arn, n.name, n.pendingID = aws.ToString(d.ARN), aws.ToString(d.Name), pendID
	changed := n.arn != old.arn || n.name != old.name || n.pendingID != old.pendingID
	if curID != old.current.ID {
		v, err := c.version(ctx, old, curID, stagesOf(curID))
		if err != nil {
			return nil, false, err
		}
		n.current, changed = v, true
		swapped = old.current.ID != ""
		if swapped {
			n.history = append(slices.Clone(old.history), old.current.ID)
			if len(n.history) > historyLen {
				n.history = n.history[len(n.history)-historyLen:]
			}
		}
	}
	switch {
	case prevID == "":
		n.previous, n.hasPrev = Version{}, false
	case !old.hasPrev || prevID != old.previous.ID:
		v, err := c.version(ctx, old, prevID, stagesOf(prevID))
		if err != nil {
			// AWSPREVIOUS is a convenience: a refresh that has the current
			// version does not fail for it.
			c.log().Warn("previous version not loaded", "secret", n.arn, "versionId", prevID, "error", c.scrub(err).Error())
			n.previous, n.hasPrev = Version{}, false
		} else {
			n.previous, n.hasPrev = v, true
		}
	}
	changed = changed || n.hasPrev != old.hasPrev || n.previous.ID != old.previous.ID
	// The preference ends when AWSCURRENT moves (to the preferred version,
	// normally), when the version is no longer pending (the rotation was
	// abandoned), or when it expires.
	if p := old.preferred; p != nil && (curID != old.current.ID || pendID != p.ID || !c.opts.Now().Before(old.preferredUntil)) {
		n.preferred, n.preferredUntil, changed = nil, time.Time{}, true
	}
	if !changed {
		return old, false, nil
	}
	return &n, swapped, nil
}

// version returns version id, from what the cache holds when it can (a
// version's value never changes), else by GetSecretValue.
func (c *Cache) version(ctx context.Context, old *state, id string, stages []string) (Version, error) {
	for _, v := range []*Version{&old.current, &old.previous, old.preferred} {
		if v != nil && v.ID == id {
			return Version{ID: id, Value: v.Value, Stages: stages}, nil
		}
	}
	c.stats.getValueCalls.Add(1)
	out, err := c.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.opts.SecretID), VersionId: aws.String(id)})
	if err != nil {
		return Version{}, c.awsError("GetSecretValue", err)
	}
	v := Version{ID: id, Stages: stages}
	switch {
	case out.SecretString != nil:
		v.Value = []byte(*out.SecretString)
	case out.SecretBinary != nil:
		v.Value = slices.Clone(out.SecretBinary)
	default:
		return Version{}, fmt.Errorf("%w: %s version %s", ErrNoValue, c.opts.SecretID, id)
	}
	return v, nil
}

// awsError wraps an SDK error, with ErrSecretNotFound for a missing
// secret or version.
func (c *Cache) awsError(op string, err error) error {
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: %s: %s: %w", ErrSecretNotFound, op, c.opts.SecretID, err)
	}
	return fmt.Errorf("consumer: %s %s: %w", op, c.opts.SecretID, err)
}

func (c *Cache) runHooks(old, new Version) {
	c.mu.Lock()
	hooks := slices.Clone(c.hooks)
	c.mu.Unlock()
	for i, h := range hooks {
		func() {
			defer func() {
				if r := recover(); r != nil {
					// The panic value is not logged: it could quote a value.
					c.log().Error("OnSwap hook panicked", "hook", i, "panicType", fmt.Sprintf("%T", r))
				}
			}()
			h.fn(old, new)
		}()
	}
}

// acknowledge publishes "Consumer Acknowledged" for version new. A failure
// is logged, not returned: the swap has happened whatever the bus says.
func (c *Cache) acknowledge(ctx context.Context, s *state, old, new Version) {
	if c.opts.Publisher == nil {
		return
	}
	account, region := arnAccountRegion(s.arn)
	now := c.opts.Now().UTC()
	ev := events.Event{
		ID: uuid.NewString(), Source: events.ConsumerSource(c.opts.Consumer), DetailType: events.ConsumerAcknowledged,
		Account: account, Region: region, Time: now,
		Detail: events.Detail{
			SchemaVersion: events.SchemaVersion, SecretArn: s.arn, SecretName: s.name,
			Account: account, Region: region, Phase: events.PhaseAcknowledge,
			VersionID: new.ID, PreviousVersionID: old.ID, Outcome: events.OutcomeSucceeded,
			Consumer: c.opts.Consumer, Instance: c.opts.Instance, Time: now,
		},
	}
	err := ev.Detail.Validate(ev.DetailType)
	if err == nil {
		err = c.opts.Publisher.Publish(ctx, ev)
	}
	if err != nil {
		c.stats.ackFailures.Add(1)
		c.log().Warn("acknowledgement not published", "secret", s.arn, "versionId", new.ID, "consumer", c.opts.Consumer, "instance", c.opts.Instance, "error", c.scrub(err).Error())
		return
	}
	c.stats.acks.Add(1)
}

// arnAccountRegion splits arn:partition:service:region:account:resource.
func arnAccountRegion(arn string) (account, region string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "", ""
	}
	return parts[4], parts[3]
}

// setRedaction rebuilds the scrubber from the values s holds, so that the
// scrubber forgets values the cache no longer holds.
func (c *Cache) setRedaction(s *state) {
	sc := redact.New()
	for _, v := range []*Version{&s.current, &s.previous, s.preferred} {
		if v != nil {
			sc.AddSecretJSON(v.Value)
		}
	}
	c.scrubber.Store(sc)
	c.logger.Store(slog.New(redact.NewHandler(c.opts.Logger.Handler(), sc)).With("component", "rotor-consumer"))
}

func (c *Cache) log() *slog.Logger { return c.logger.Load() }

func (c *Cache) scrub(err error) error { return c.scrubber.Load().Error(err) }

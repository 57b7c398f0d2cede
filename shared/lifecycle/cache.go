package lifecycle

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/redact"
	"github.com/rotorhq/rotor/shared/secretstore"
)

// Lambda runs the four steps of a rotation in one warm container as a
// rule, so an engine keeps what it read or wrote for the next step:
//
//   - secret versions by ARN and version id. A version's value never
//     changes (PutSecretValue refuses another value under an existing
//     version id), so a cached version is never stale; labels are not
//     cached: every step reads them fresh, from DescribeSecret or, in a
//     cold setSecret or testSecret, with the values (reads.go).
//   - the AWSCURRENT value of other secrets read through the
//     [rotators.SecretReader] (the master secret). That one can go stale
//     (RDS rotates the master's password), so a rotator call that fails
//     after it was served a cached value is run once more with fresh reads
//     (every rotator call may be repeated: the contract of
//     [rotators.Rotator]).
//
// Both live in the container's memory only, as the values do while a step
// runs, and are bounded: when full, a cache starts afresh.

// maxCached bounds each cache; a function rotates few secrets.
const maxCached = 64

// valueCache maps keys to secret values. It is safe for concurrent use.
type valueCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newValueCache() *valueCache { return &valueCache{m: map[string][]byte{}} }

func (c *valueCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return slices.Clone(v), ok
}

func (c *valueCache) put(key string, v []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[key] = slices.Clone(v)
}

func (c *valueCache) forget(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.m, k)
	}
}

func versionKey(arn, versionID string) string { return arn + "\x00" + versionID }

// cachedValue returns a version's value when this engine has read or
// written it, registered with the step's scrubber.
func (inv *invocation) cachedValue(versionID string) ([]byte, bool) {
	if inv.desc.ARN == "" {
		return nil, false
	}
	v, ok := inv.versions.get(versionKey(inv.desc.ARN, versionID))
	if ok {
		inv.scrub.AddSecretJSON(v)
	}
	return v, ok
}

// remember keeps a version's value for the next steps.
func (inv *invocation) remember(versionID string, v []byte) {
	if inv.desc.ARN != "" {
		inv.versions.put(versionKey(inv.desc.ARN, versionID), v)
	}
}

// value reads a version, from the cache or the store, and registers it
// with the scrubber before anything else can see it.
func (inv *invocation) value(ctx context.Context, versionID string) ([]byte, error) {
	if v, ok := inv.cachedValue(versionID); ok {
		return v, nil
	}
	v, err := inv.store.Value(ctx, inv.req.SecretID, versionID)
	if err != nil {
		return nil, err
	}
	inv.scrub.AddSecretJSON(v)
	inv.remember(versionID, v)
	return v, nil
}

// secretReader lets a rotator read other secrets (the master secret)
// through the store, with their values registered for scrubbing; it
// serves and keeps AWSCURRENT values in the cache, and records which it
// served from the cache.
type secretReader struct {
	store Store
	scrub *redact.Scrubber
	cache *valueCache

	mu     sync.Mutex
	served []string // secret ids served from the cache
}

func (r *secretReader) CurrentValue(ctx context.Context, secretID string) ([]byte, error) {
	if v, ok := r.cache.get(secretID); ok {
		r.scrub.AddSecretJSON(v)
		r.mu.Lock()
		r.served = append(r.served, secretID)
		r.mu.Unlock()
		return v, nil
	}
	v, err := secretstore.Reader{Store: r.store, Scrub: r.scrub}.CurrentValue(ctx, secretID)
	if err != nil {
		return nil, err
	}
	r.cache.put(secretID, v)
	return v, nil
}

// servedCached returns the secret ids served from the cache.
func (r *secretReader) servedCached() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.served)
}

// withSecrets runs a rotator call with a caching reader. When the call
// fails after the reader served a cached value, that value may be stale
// (a master secret rotated since): the call runs once more, with those
// secrets read afresh.
func withSecrets[T any](inv *invocation, call func(rotators.SecretReader) (T, error)) (T, error) {
	r := &secretReader{store: inv.store, scrub: inv.scrub, cache: inv.secrets}
	out, err := call(r)
	// A refusal by policy (the previous credential in use) or a step out
	// of time is no sign of a stale secret.
	retry := err != nil && !errors.Is(err, rotators.ErrInUse) &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
	if stale := r.servedCached(); retry && len(stale) > 0 {
		inv.log.Info("the rotator failed with a cached secret; reading it afresh and trying once more", "error", err)
		inv.secrets.forget(stale...)
		out, err = call(&secretReader{store: inv.store, scrub: inv.scrub, cache: inv.secrets})
	}
	return out, err
}

package consumer

import (
	"context"
	"fmt"
	"maps"
	"time"
)

// authEntry is the state of failures of one version: the refresh they
// share, and when they last caused one.
type authEntry struct {
	flight      *authFlight
	lastRefresh time.Time
}

type authFlight struct {
	done chan struct{}
	v    Version
	err  error
}

// AuthFailed tells the cache that a login with version failedVersionID was
// refused, and returns the version to retry with:
//
//   - the new AWSCURRENT, if it has moved away from the failed version;
//   - else the AWSPENDING version, if it has a value: with the single-user
//     strategy setSecret changes the password before finishSecret moves
//     AWSCURRENT, and in that window only the pending password logs in.
//     From then on [Cache.Current] prefers it, so that new connections stop
//     failing, until AWSCURRENT moves (to it) or TTL passes;
//   - else [ErrNoNewerCredential].
//
// Versions that failed in the last TTL are not offered again. If the cache
// already hands out another version than the failed one (a connection
// opened before a swap failed), that version is returned without a call.
// Concurrent calls for the same version share one refresh, and failures
// of the same version cause at most one refresh per AuthRetryInterval, so
// a consumer with a wrong password cannot hammer Secrets Manager.
func (c *Cache) AuthFailed(ctx context.Context, failedVersionID string) (Version, error) {
	if failedVersionID == "" {
		return Version{}, &OptionError{Field: "failedVersionID", Reason: "missing"}
	}
	c.stats.authFailures.Add(1)
	now := c.opts.Now()
	c.mu.Lock()
	c.failedAt[failedVersionID] = now
	maps.DeleteFunc(c.failedAt, func(_ string, at time.Time) bool { return now.Sub(at) > c.opts.TTL })
	c.mu.Unlock()
	if cur := c.Current(); cur.ID != failedVersionID && !c.failedRecently(cur.ID) {
		return cur, nil
	}

	c.mu.Lock()
	e := c.auth[failedVersionID]
	if e == nil {
		e = &authEntry{}
		c.auth[failedVersionID] = e
	}
	f := e.flight
	if f == nil {
		f = &authFlight{done: make(chan struct{})}
		e.flight = f
		refresh := e.lastRefresh.IsZero() || now.Sub(e.lastRefresh) >= c.opts.AuthRetryInterval
		if refresh {
			e.lastRefresh = now
		}
		go c.authFly(ctx, failedVersionID, f, refresh, time.Now())
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.v, f.err
	case <-ctx.Done():
		return Version{}, ctx.Err()
	}
}

// authFly refreshes (unless rate-limited) and decides, for every caller
// waiting on f.
func (c *Cache) authFly(ctx context.Context, failedID string, f *authFlight, refresh bool, since time.Time) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.RefreshTimeout)
	defer cancel()
	if refresh {
		c.stats.authRefreshes.Add(1)
		_, f.err = c.refreshAfter(rctx, since)
	} else {
		c.stats.authRateLimited.Add(1)
	}
	if f.err == nil {
		f.v, f.err = c.retryVersion(rctx, failedID)
	}
	c.mu.Lock()
	now := c.opts.Now()
	e := c.auth[failedID]
	e.flight = nil
	maps.DeleteFunc(c.auth, func(_ string, e *authEntry) bool {
		return e.flight == nil && now.Sub(e.lastRefresh) > c.opts.TTL
	})
	c.mu.Unlock()
	close(f.done)
}

// retryVersion picks the version to retry with after failedID failed,
// from the cache's state, and records a preference for a pending version.
func (c *Cache) retryVersion(ctx context.Context, failedID string) (Version, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	s := c.state.Load()
	now := c.opts.Now()
	preferred := s.preferred
	if preferred != nil && (preferred.ID == failedID || !now.Before(s.preferredUntil)) {
		preferred = nil
	}
	if preferred != nil && !c.failedRecently(preferred.ID) {
		return *preferred, nil
	}
	if s.current.ID != failedID && !c.failedRecently(s.current.ID) {
		c.storePreference(s, nil, time.Time{})
		return s.current, nil
	}
	if id := s.pendingID; id != "" && id != failedID && id != s.current.ID && !c.failedRecently(id) {
		v, err := c.version(ctx, s, id, []string{stagePending})
		if err != nil {
			// A pending version without a value (createSecret has not run)
			// is no credential.
			c.log().Info("pending version not usable", "secret", s.arn, "versionId", id, "error", c.scrub(err).Error())
			c.storePreference(s, nil, time.Time{})
			return Version{}, fmt.Errorf("%w: %s: version %s failed", ErrNoNewerCredential, c.opts.SecretID, failedID)
		}
		c.storePreference(s, &v, now.Add(c.opts.TTL))
		c.log().Info("preferring the pending version after a login failure", "secret", s.arn, "versionId", id, "failedVersionId", failedID)
		return v, nil
	}
	c.storePreference(s, nil, time.Time{})
	return Version{}, fmt.Errorf("%w: %s: version %s failed", ErrNoNewerCredential, c.opts.SecretID, failedID)
}

// storePreference replaces s with a copy preferring v (none if nil).
// c.writeMu is held.
func (c *Cache) storePreference(s *state, v *Version, until time.Time) {
	if s.preferred == nil && v == nil {
		return
	}
	n := *s
	n.preferred, n.preferredUntil = v, until
	c.state.Store(&n)
	c.setRedaction(&n)
}

func (c *Cache) failedRecently(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.failedAt[id]
	return ok && c.opts.Now().Sub(at) <= c.opts.TTL
}

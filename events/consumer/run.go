package consumer

import (
	"context"
	"math/rand/v2"
	"time"
)

// Run is the poll fallback: it refreshes the cache every TTL ± Jitter·TTL
// until ctx ends, and returns ctx's error. A refresh that events caused
// in the meantime counts: the next poll is due a TTL after the last
// successful refresh or the last poll, whichever is later, so a cache
// that events keep fresh hardly polls. A failed poll is logged and tried
// again a TTL later (the cache keeps serving what it has).
func (c *Cache) Run(ctx context.Context) error {
	// Since Go 1.23 a stopped timer delivers nothing stale after Reset.
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	c.mu.Lock()
	if c.lastPoll.IsZero() {
		c.lastPoll = time.Now()
	}
	c.mu.Unlock()
	for {
		wait := c.jittered()
		c.mu.Lock()
		base := c.lastPoll
		if c.lastOK.After(base) {
			base = c.lastOK
		}
		c.mu.Unlock()
		if d := time.Until(base.Add(wait)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-timer.C:
			}
			// An event may have refreshed the cache meanwhile.
			c.mu.Lock()
			fresh := c.lastOK.After(base)
			c.mu.Unlock()
			if fresh {
				continue
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.mu.Lock()
		c.lastPoll = time.Now()
		c.mu.Unlock()
		// Errors are logged by the refresh.
		_, _ = c.refreshAfter(ctx, time.Time{})
	}
}

// jittered returns TTL ± Jitter·TTL, uniformly.
func (c *Cache) jittered() time.Duration {
	ttl := float64(c.opts.TTL)
	return time.Duration(ttl + (rand.Float64()*2-1)*c.opts.Jitter*ttl)
}

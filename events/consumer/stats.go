package consumer

import "sync/atomic"

// Stats counts what a cache has done since [New], for metrics and tests.
type Stats struct {
	// DescribeSecretCalls and GetSecretValueCalls count API calls, failed
	// ones included.
	DescribeSecretCalls int64
	GetSecretValueCalls int64
	// Refreshes and RefreshErrors count refreshes (shared ones once);
	// RefreshesJoined counts the callers that joined one in flight instead
	// of starting their own.
	Refreshes       int64
	RefreshErrors   int64
	RefreshesJoined int64
	// Swaps counts moves of AWSCURRENT the cache followed.
	Swaps int64
	// EventsHandled counts events that concerned the secret: those that
	// caused a refresh (EventsRefreshed) and those known to be duplicates
	// or stale, which cost no call (EventsDuplicate).
	EventsHandled   int64
	EventsRefreshed int64
	EventsDuplicate int64
	// EventsIgnored counts events of other secrets, sources or types.
	EventsIgnored int64
	// AuthFailures counts AuthFailed calls; AuthFailureRefreshes the
	// refreshes they caused; AuthFailureRateLimited the refreshes they did
	// not cause because the same version had failed less than
	// AuthRetryInterval before.
	AuthFailures           int64
	AuthFailureRefreshes   int64
	AuthFailureRateLimited int64
	// Acknowledgements and AcknowledgementFailures count published and
	// failed "Consumer Acknowledged" events.
	Acknowledgements        int64
	AcknowledgementFailures int64
}

type counters struct {
	describeCalls, getValueCalls                     atomic.Int64
	refreshes, refreshErrors, refreshesJoined, swaps atomic.Int64
	eventsRefreshed, eventsDuplicate, eventsIgnored  atomic.Int64
	authFailures, authRefreshes, authRateLimited     atomic.Int64
	acks, ackFailures                                atomic.Int64
}

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	s := &c.stats
	st := Stats{
		DescribeSecretCalls: s.describeCalls.Load(), GetSecretValueCalls: s.getValueCalls.Load(),
		Refreshes: s.refreshes.Load(), RefreshErrors: s.refreshErrors.Load(), RefreshesJoined: s.refreshesJoined.Load(), Swaps: s.swaps.Load(),
		EventsRefreshed: s.eventsRefreshed.Load(), EventsDuplicate: s.eventsDuplicate.Load(), EventsIgnored: s.eventsIgnored.Load(),
		AuthFailures: s.authFailures.Load(), AuthFailureRefreshes: s.authRefreshes.Load(), AuthFailureRateLimited: s.authRateLimited.Load(),
		Acknowledgements: s.acks.Load(), AcknowledgementFailures: s.ackFailures.Load(),
	}
	st.EventsHandled = st.EventsRefreshed + st.EventsDuplicate
	return st
}

package pgadapter

import "sync/atomic"

// Stats counts what an adapter has done since it was made, for metrics,
// tests and benchmarks.
type Stats struct {
	// Logins counts connections the adapter set a credential on (failed
	// ones included).
	Logins int64
	// AuthFailures counts logins the server refused, retries included.
	AuthFailures int64
	// Retries counts retries made after [Credentials.AuthFailed] returned a
	// version; RetryFailures those of them that were refused too.
	Retries       int64
	RetryFailures int64
	// Swaps counts swaps observed ([Credentials.OnSwap] calls).
	Swaps int64
	// StaleConnsDiscarded counts connections of an old credential the
	// adapter retired (see [WithRetireWindow]): a [Pool]'s when taken from
	// the pool or in a sweep of idle ones, a [Connector]'s when database/sql took them for
	// reuse.
	StaleConnsDiscarded int64
}

type counters struct {
	logins, authFailures, retries, retryFailures, swaps, stale atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Logins:              c.logins.Load(),
		AuthFailures:        c.authFailures.Load(),
		Retries:             c.retries.Load(),
		RetryFailures:       c.retryFailures.Load(),
		Swaps:               c.swaps.Load(),
		StaleConnsDiscarded: c.stale.Load(),
	}
}

package pgadapter

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Option configures [NewPool], [NewConnector] and [OpenDB].
type Option func(*options)

type options struct {
	logger       *slog.Logger
	retireWindow time.Duration
	clock        clock
	// database/sql only: a pool takes its hooks from its pgxpool.Config.
	beforeConnect func(context.Context, *pgx.ConnConfig) error
	resetSession  func(context.Context, *pgx.Conn) error
	stdlib        []stdlib.OptionOpenDB
	// sqlOnly names the database/sql options given, for NewPool's error.
	sqlOnly         []string
	retireWindowSet bool
}

// WithLogger sets the logger of retries and swaps (default slog.Default()).
// Lines carry version ids and driver errors, never a secret value.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithRetireWindow sets the window over which connections of an old
// credential are closed after a swap (default [DefaultRetireWindow]): each
// connection closes at its own moment in the window, when it is next
// taken from the pool or while it is idle, so that the instances of a
// fleet, which all swap on the same event, do not all log in again at
// once. A query in flight is never cut: a connection in use at its moment
// goes back to the pool and closes when it is next taken, or at a sweep
// soon after. Keep the
// window well under the deactivation gate's grace period, so that revoking
// the old credential never waits on an idle connection. Zero closes every
// old connection as soon as it is idle (at once for the idle ones, as
// [pgxpool.Pool.Reset] does); a negative window is refused by [NewPool]
// and [NewConnector].
//
// For database/sql, a connection is checked when database/sql takes it
// for reuse (ResetSession), and [OpenDB] sets the database's
// [sql.DB.SetConnMaxIdleTime] to the window (at least 1 s), so that an idle
// old connection lives at most about twice the window; with [NewConnector]
// set it yourself.
func WithRetireWindow(d time.Duration) Option {
	return func(o *options) {
		o.retireWindow = d
		o.retireWindowSet = true
	}
}

// WithBeforeConnect adds a hook that runs after the adapter set the
// credential on the copy of the connection config (database/sql only; a
// pool keeps the BeforeConnect of its pgxpool.Config).
func WithBeforeConnect(f func(context.Context, *pgx.ConnConfig) error) Option {
	return func(o *options) {
		o.beforeConnect = f
		o.sqlOnly = append(o.sqlOnly, "WithBeforeConnect")
	}
}

// WithResetSession adds a hook that runs before database/sql reuses a
// connection the adapter did not discard (database/sql only).
func WithResetSession(f func(context.Context, *pgx.Conn) error) Option {
	return func(o *options) {
		o.resetSession = f
		o.sqlOnly = append(o.sqlOnly, "WithResetSession")
	}
}

// WithStdlibOptions passes options to [stdlib.GetConnector] (database/sql
// only), such as [stdlib.OptionAfterConnect] or [stdlib.OptionShouldPing].
// The adapter's BeforeConnect and ResetSession are set after them: use
// [WithBeforeConnect] and [WithResetSession] for those hooks.
func WithStdlibOptions(opts ...stdlib.OptionOpenDB) Option {
	return func(o *options) {
		o.stdlib = append(o.stdlib, opts...)
		o.sqlOnly = append(o.sqlOnly, "WithStdlibOptions")
	}
}

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if !o.retireWindowSet {
		o.retireWindow = DefaultRetireWindow
	}
	if o.clock.now == nil {
		o.clock = realClock()
	}
	return o
}

// check returns an [*ArgumentError] for an option out of range.
func (o options) check() error {
	if o.retireWindow < 0 {
		return &ArgumentError{Field: "WithRetireWindow", Reason: "negative"}
	}
	return nil
}

// ArgumentError names the argument or option at fault.
type ArgumentError struct {
	Field  string
	Reason string
}

func (e *ArgumentError) Error() string {
	return fmt.Sprintf("pgadapter: %s: %s", e.Field, e.Reason)
}

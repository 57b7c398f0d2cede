package pgadapter

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Option configures [NewPool], [NewConnector] and [OpenDB].
type Option func(*options)

type options struct {
	logger *slog.Logger
	// database/sql only: a pool takes its hooks from its pgxpool.Config.
	beforeConnect func(context.Context, *pgx.ConnConfig) error
	resetSession  func(context.Context, *pgx.Conn) error
	stdlib        []stdlib.OptionOpenDB
	// sqlOnly names the database/sql options given, for NewPool's error.
	sqlOnly []string
}

// WithLogger sets the logger of retries and swaps (default slog.Default()).
// Lines carry version ids and driver errors, never a secret value.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
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
	return o
}

// ArgumentError names the argument or option at fault.
type ArgumentError struct {
	Field  string
	Reason string
}

func (e *ArgumentError) Error() string {
	return fmt.Sprintf("pgadapter: %s: %s", e.Field, e.Reason)
}

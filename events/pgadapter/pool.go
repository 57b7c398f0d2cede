package pgadapter

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotorhq/rotor/events/consumer"
)

// Pool is a [*pgxpool.Pool] whose connections log in with the current
// version of a secret. The methods below shadow the embedded pool's to
// retry after a refused login (see the package doc); every other
// method is pgxpool's own.
type Pool struct {
	*pgxpool.Pool
	core    *core
	unhook  func()
	sweeper *sweeper
}

// NewPool makes a pool on cfg (made by [pgxpool.ParseConfig]; NewPool
// works on a copy) whose BeforeConnect sets User and Password from
// creds.Current() and then calls cfg.BeforeConnect, if set. Host, port,
// database and TLS stay cfg's. It registers an OnSwap hook after which the
// connections of the old credential close one by one over the retire
// window ([WithRetireWindow]): one whose moment came is never handed out
// (the adapter's PrepareConn closes it before cfg.PrepareConn, or the
// deprecated BeforeAcquire, is asked), and a goroutine of the pool, until
// [Pool.Close], closes idle ones at their moments (taking them with
// [pgxpool.Pool.AcquireAllIdle], which, unlike pgxpool's own health check,
// runs cfg.PrepareConn on the connections that are not due and
// cfg.AfterRelease when they go back). cfg.AfterConnect and
// cfg.BeforeClose still run. creds should outlive the pool.
//
// NewPool parses creds.Current() first and returns a [*SecretError] naming
// the field if it is not a database secret; then nothing is made or
// registered. Like [pgxpool.NewWithConfig], it does not connect.
func NewPool(ctx context.Context, creds Credentials, cfg *pgxpool.Config, opts ...Option) (*Pool, error) {
	if creds == nil {
		return nil, &ArgumentError{Field: "creds", Reason: "missing"}
	}
	if cfg == nil {
		return nil, &ArgumentError{Field: "cfg", Reason: "missing"}
	}
	o := buildOptions(opts)
	if len(o.sqlOnly) > 0 {
		return nil, &ArgumentError{Field: o.sqlOnly[0], Reason: "applies to database/sql only; set the hook on pgxpool.Config"}
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	c := newCore(creds, o)
	if _, err := c.parse(creds.Current()); err != nil {
		return nil, err
	}
	cfg = cfg.Copy()
	userHook := cfg.BeforeConnect
	cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		if err := c.beforeConnect(ctx, cc); err != nil {
			return err
		}
		if userHook != nil {
			return userHook(ctx, cc)
		}
		return nil
	}
	sw := newSweeper(c)
	userAfterConnect := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		if userAfterConnect != nil {
			if err := userAfterConnect(ctx, conn); err != nil {
				return err
			}
		}
		sw.add(conn.PgConn())
		return nil
	}
	userBeforeClose := cfg.BeforeClose
	cfg.BeforeClose = func(conn *pgx.Conn) {
		sw.remove(conn.PgConn())
		if userBeforeClose != nil {
			userBeforeClose(conn)
		}
	}
	// A connection is checked when it is taken, so that none is handed out
	// after its moment, whether or not a sweep has come by yet. (Not on
	// release: pgxpool runs AfterRelease on a goroutine of its own and
	// returns the connection to the pool only after it, so a loop of
	// queries would find none idle and open more connections.)
	userPrepare := cfg.PrepareConn
	// pgx runs a deprecated BeforeAcquire when PrepareConn is nil; the
	// adapter sets PrepareConn, so it must run the caller's BeforeAcquire.
	//lint:ignore SA1019 honoured as pgx honours it
	if userPrepare == nil && cfg.BeforeAcquire != nil {
		//lint:ignore SA1019 honoured as pgx honours it
		before := cfg.BeforeAcquire
		userPrepare = func(ctx context.Context, conn *pgx.Conn) (bool, error) { return before(ctx, conn), nil }
	}
	cfg.PrepareConn = func(ctx context.Context, conn *pgx.Conn) (bool, error) {
		if now, _ := c.due(stampOf(conn.PgConn())); now {
			c.stats.stale.Add(1)
			return false, nil
		}
		if userPrepare != nil {
			return userPrepare(ctx, conn)
		}
		return true, nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	unhook := creds.OnSwap(func(old, new consumer.Version) {
		c.swapped(old, new)
		sw.swapped()
	})
	go sw.run(pool)
	return &Pool{Pool: pool, core: c, unhook: unhook, sweeper: sw}, nil
}

// Close unregisters the swap hook, stops the pool's sweeper, then closes
// the pool ([pgxpool.Pool.Close]).
func (p *Pool) Close() {
	p.unhook()
	p.sweeper.stop()
	p.Pool.Close()
}

// Stats returns the adapter's counters; [pgxpool.Pool.Stat] has the pool's.
func (p *Pool) Stats() Stats { return p.core.stats.snapshot() }

// Acquire is [pgxpool.Pool.Acquire], retried after a refused login.
func (p *Pool) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	var c *pgxpool.Conn
	err := p.core.do(ctx, func(ctx context.Context) error {
		var err error
		c, err = p.Pool.Acquire(ctx)
		return err
	})
	return c, err
}

// AcquireFunc is [pgxpool.Pool.AcquireFunc] with [Pool.Acquire]; f runs
// once.
func (p *Pool) AcquireFunc(ctx context.Context, f func(*pgxpool.Conn) error) error {
	c, err := p.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return f(c)
}

// Exec is [pgxpool.Pool.Exec], retried after a refused login.
func (p *Pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := p.core.do(ctx, func(ctx context.Context) error {
		var err error
		tag, err = p.Pool.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

// Query is [pgxpool.Pool.Query], retried after a refused login.
func (p *Pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	var rows pgx.Rows
	err := p.core.do(ctx, func(ctx context.Context) error {
		var err error
		rows, err = p.Pool.Query(ctx, sql, args...)
		return err
	})
	if err != nil {
		if rows != nil {
			rows.Close()
		}
		return errRows{err: err}, err
	}
	return rows, nil
}

// QueryRow is [pgxpool.Pool.QueryRow], retried after a refused
// login. The query is sent when Scan is called.
func (p *Pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return rowFunc(func(dest ...any) error {
		return p.core.do(ctx, func(ctx context.Context) error {
			return p.Pool.QueryRow(ctx, sql, args...).Scan(dest...)
		})
	})
}

// SendBatch is [pgxpool.Pool.SendBatch] after a login check: it acquires
// (and releases) a connection with [Pool.Acquire] first, so that a refused
// login is refreshed and retried before the batch is queued; the batch's
// own results report a connect error without a retry.
func (p *Pool) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	c, err := p.Acquire(ctx)
	if err != nil {
		return pgx.FailedBatchResults(b, err)
	}
	c.Release()
	return p.Pool.SendBatch(ctx, b)
}

// Begin is [pgxpool.Pool.Begin], retried after a refused login.
func (p *Pool) Begin(ctx context.Context) (pgx.Tx, error) {
	return p.BeginTx(ctx, pgx.TxOptions{})
}

// BeginTx is [pgxpool.Pool.BeginTx], retried after a refused login.
func (p *Pool) BeginTx(ctx context.Context, txOptions pgx.TxOptions) (pgx.Tx, error) {
	var tx pgx.Tx
	err := p.core.do(ctx, func(ctx context.Context) error {
		var err error
		tx, err = p.Pool.BeginTx(ctx, txOptions)
		return err
	})
	return tx, err
}

// CopyFrom is [pgxpool.Pool.CopyFrom], retried after a refused login.
func (p *Pool) CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error) {
	var n int64
	err := p.core.do(ctx, func(ctx context.Context) error {
		var err error
		n, err = p.Pool.CopyFrom(ctx, tableName, columnNames, rowSrc)
		return err
	})
	return n, err
}

// Ping is [pgxpool.Pool.Ping], retried after a refused login.
func (p *Pool) Ping(ctx context.Context) error {
	return p.core.do(ctx, p.Pool.Ping)
}

type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }

// errRows is the rows of a Query that could not acquire a connection.
type errRows struct{ err error }

func (errRows) Close()                                       {}
func (e errRows) Err() error                                 { return e.err }
func (errRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (errRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (errRows) Next() bool                                   { return false }
func (e errRows) Scan(...any) error                          { return e.err }
func (e errRows) Values() ([]any, error)                     { return nil, e.err }
func (errRows) RawValues() [][]byte                          { return nil }
func (errRows) Conn() *pgx.Conn                              { return nil }
func (errRows) TypeMap() *pgtype.Map                         { return nil }

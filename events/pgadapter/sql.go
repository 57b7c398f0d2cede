package pgadapter

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/rotorhq/rotor/events/consumer"
)

// Connector is a [driver.Connector] for database/sql whose connections log
// in with the current version of a secret (pgx's stdlib connector with the
// adapter's hooks). Open a database with sql.OpenDB(connector), or use
// [OpenDB].
type Connector struct {
	core   *core
	inner  driver.Connector
	reset  func(context.Context, *pgx.Conn) error
	unhook func()
}

var (
	_ driver.Connector = (*Connector)(nil)
	// sql.DB.Close calls a connector's Close.
	_ io.Closer = (*Connector)(nil)
)

// Close unregisters the swap hook; [sql.DB.Close] calls it.
func (c *Connector) Close() error {
	c.unhook()
	return nil
}

// NewConnector makes a connector on connConfig (made by [pgx.ParseConfig];
// the connector keeps a copy): its User and Password are replaced by those
// of creds.Current() for every connection, and its host, port, database
// and TLS are used as given. It registers an OnSwap hook after which
// database/sql discards each connection of the old version when it takes
// it for reuse once that connection's moment in the retire window
// ([WithRetireWindow]) came; a connection in use is left alone. Set
// [sql.DB.SetConnMaxIdleTime] to at most the window so that an idle one
// does not keep the old credential ([OpenDB] does).
//
// It parses creds.Current() first and returns a [*SecretError] naming the
// field if it is not a database secret; then nothing is made or registered.
func NewConnector(creds Credentials, connConfig *pgx.ConnConfig, opts ...Option) (*Connector, error) {
	if creds == nil {
		return nil, &ArgumentError{Field: "creds", Reason: "missing"}
	}
	if connConfig == nil {
		return nil, &ArgumentError{Field: "connConfig", Reason: "missing"}
	}
	o := buildOptions(opts)
	if err := o.check(); err != nil {
		return nil, err
	}
	c := &Connector{core: newCore(creds, o), reset: o.resetSession}
	if _, err := c.core.parse(creds.Current()); err != nil {
		return nil, err
	}
	userHook := o.beforeConnect
	sopts := append(o.stdlib[:len(o.stdlib):len(o.stdlib)],
		stdlib.OptionBeforeConnect(func(ctx context.Context, cc *pgx.ConnConfig) error {
			if err := c.core.beforeConnect(ctx, cc); err != nil {
				return err
			}
			if userHook != nil {
				return userHook(ctx, cc)
			}
			return nil
		}),
		stdlib.OptionResetSession(c.resetSession),
	)
	c.inner = stdlib.GetConnector(*connConfig.Copy(), sopts...)
	c.unhook = creds.OnSwap(func(old, new consumer.Version) { c.core.swapped(old, new) })
	return c, nil
}

// OpenDB opens a database on [NewConnector]. Like [sql.OpenDB] it does not
// connect and returns no error: an error of NewConnector is returned by
// every connection attempt instead. Use NewConnector to see it at once and
// to read [Connector.Stats].
//
// It sets [sql.DB.SetConnMaxIdleTime] to the retire window (at least
// 1 s): database/sql has no hook on an idle connection, and
// without an idle limit one that is never taken again would keep the old
// credential, and a session of it, forever. Call SetConnMaxIdleTime
// afterwards to change it.
func OpenDB(creds Credentials, connConfig *pgx.ConnConfig, opts ...Option) *sql.DB {
	c, err := NewConnector(creds, connConfig, opts...)
	if err != nil {
		return sql.OpenDB(failedConnector{err: err})
	}
	db := sql.OpenDB(c)
	db.SetConnMaxIdleTime(max(c.core.retire.window, minIdleTime))
	return db
}

// minIdleTime is the shortest idle limit OpenDB sets (with a zero retire
// window): database/sql's cleaner wakes at most once a second anyway.
const minIdleTime = time.Second

// Connect opens a connection with the current credential; when the server
// refuses the login, it asks the credentials for another version and tries
// again with it (see the package doc).
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	var conn driver.Conn
	err := c.core.do(ctx, func(ctx context.Context) error {
		var err error
		conn, err = c.inner.Connect(ctx)
		return err
	})
	return conn, err
}

// Driver returns pgx's stdlib driver.
func (c *Connector) Driver() driver.Driver { return c.inner.Driver() }

// Stats returns the adapter's counters; [sql.DB.Stats] has the pool's.
func (c *Connector) Stats() Stats { return c.core.stats.snapshot() }

// resetSession runs before database/sql reuses a connection: one of an old
// credential whose moment in the retire window came is discarded
// (database/sql then takes or opens another). database/sql checks a
// released connection with the driver's IsValid, which is pgx's own
// [stdlib.Conn] method: wrapping the connection to answer there would
// break callers that reach *stdlib.Conn through [sql.Conn.Raw], so the
// check is made here, when the connection is next taken.
func (c *Connector) resetSession(ctx context.Context, conn *pgx.Conn) error {
	if due, _ := c.core.due(stampOf(conn.PgConn())); due {
		c.core.stats.stale.Add(1)
		return driver.ErrBadConn
	}
	if c.reset != nil {
		return c.reset(ctx, conn)
	}
	return nil
}

// failedConnector is OpenDB's connector when NewConnector failed.
type failedConnector struct{ err error }

func (f failedConnector) Connect(context.Context) (driver.Conn, error) { return nil, f.err }
func (f failedConnector) Driver() driver.Driver                        { return stdlib.GetDefaultDriver() }

package pgadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotorhq/rotor/events/consumer"
	"github.com/rotorhq/rotor/rotators/dbsecret"
)

// Credentials is the part of the consumer SDK's cache the adapters use;
// [*consumer.Cache] satisfies it.
type Credentials interface {
	// Current returns the version to log in with. It must not block: it is
	// called for every new connection.
	Current() consumer.Version
	// AuthFailed reports that a login with version failedVersionID was
	// refused, and returns the version to retry with, or an error when
	// there is none newer. After it returns a version, Current should
	// return that version (or a newer one), so that later connections do
	// not fail in turn.
	AuthFailed(ctx context.Context, failedVersionID string) (consumer.Version, error)
	// OnSwap registers a hook run after Current moved to a new version.
	OnSwap(fn func(old, new consumer.Version)) (remove func())
}

var _ Credentials = (*consumer.Cache)(nil)

// SQLSTATE codes of a refused login, as PostgreSQL reports them
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	codeInvalidPassword                   = "28P01"
	codeInvalidAuthorizationSpecification = "28000"
)

// ErrLoginRefused matches (errors.Is) every [*AuthError].
var ErrLoginRefused = errors.New("pgadapter: login refused")

// AuthError reports a login the server refused, after the refreshes and
// the retries the adapter made (or could not make).
type AuthError struct {
	// VersionID is the version of the last refused login.
	VersionID string
	// Retried says the refused login was a retry, made after
	// [Credentials.AuthFailed] returned VersionID.
	Retried bool
	// Refresh is why there was no (further) retry: the error of AuthFailed
	// (such as [consumer.ErrNoNewerCredential]), [ErrNoNewerVersion] or
	// [ErrTooManyRetries].
	Refresh error
	// Err is the driver's error, a [*pgconn.ConnectError].
	Err error
}

// ErrNoNewerVersion: [Credentials.AuthFailed] returned the version that
// had just failed, or one this call had tried already.
var ErrNoNewerVersion = errors.New("pgadapter: the credentials returned a version that failed")

// ErrTooManyRetries: a call's retries were all refused, although the
// credentials kept offering newer versions.
var ErrTooManyRetries = errors.New("pgadapter: every retry was refused")

func (e *AuthError) Error() string {
	if e.Retried {
		return fmt.Sprintf("pgadapter: login refused with version %s, the retry after a refresh (%v): %v", e.VersionID, e.Refresh, e.Err)
	}
	return fmt.Sprintf("pgadapter: login refused with version %s, no retry (%v): %v", e.VersionID, e.Refresh, e.Err)
}

// Unwrap returns the driver's error and the refresh error, so that
// errors.As finds the [*pgconn.PgError] and errors.Is the cache's sentinel.
func (e *AuthError) Unwrap() []error {
	if e.Refresh == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Refresh}
}

// Is makes every AuthError match [ErrLoginRefused].
func (e *AuthError) Is(target error) bool { return target == ErrLoginRefused }

// SecretError reports a version whose value is not a usable database
// secret. Err is a [*github.com/rotorhq/rotor/rotators.InputError] naming
// the field; neither carries a value.
type SecretError struct {
	VersionID string
	Err       error
}

func (e *SecretError) Error() string {
	return fmt.Sprintf("pgadapter: version %s: %v", e.VersionID, e.Err)
}

func (e *SecretError) Unwrap() error { return e.Err }

// rules reads the consumer's side of a PostgreSQL secret: only username
// and password are used, but the secret must still be one AWS's rotation
// functions would accept.
var rules = dbsecret.Rules{
	Engines:           []string{"postgres"},
	DefaultPort:       5432,
	DefaultDBName:     "postgres",
	MaxUsernameLength: 63, // NAMEDATALEN-1
}

// IsAuthFailure reports whether err is a login the server refused: a
// [*pgconn.ConnectError] wrapping a [*pgconn.PgError] with SQLSTATE 28P01
// or 28000.
func IsAuthFailure(err error) bool {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		return false
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeInvalidPassword || pe.Code == codeInvalidAuthorizationSpecification)
}

// login is a parsed version: what BeforeConnect needs.
type login struct {
	versionID string
	user      string
	password  string
}

// stamp is what a connection carries in pgconn's CustomData.
type stamp struct {
	versionID  string
	generation uint64
	// jitter is the connection's place in the retire window, in [0, 1).
	jitter float64
}

// customDataKey is the key of the stamp in [pgconn.PgConn.CustomData].
const customDataKey = "rotor/pgadapter"

// VersionOf returns the id of the version conn logged in with, if the
// adapter made it.
func VersionOf(conn *pgx.Conn) (string, bool) {
	s, ok := stampOf(conn.PgConn())
	return s.versionID, ok
}

func stampOf(c *pgconn.PgConn) (stamp, bool) {
	s, ok := c.CustomData()[customDataKey].(stamp)
	return s, ok
}

// attempt travels in the context of one call from the retrying caller to
// BeforeConnect: which version to use, and which one was used.
type attempt struct {
	// use is the version to retry with; generation is the swap generation
	// when AuthFailed returned it (after a swap, Current wins).
	use        *consumer.Version
	generation uint64
	// used is the id of the version BeforeConnect used last.
	used atomic.Pointer[string]
}

type attemptKey struct{}

// core is what the pool and the database/sql adapters share.
type core struct {
	creds Credentials
	log   *slog.Logger
	// last is the last version parsed; a version's value never changes, so
	// its id identifies it.
	last atomic.Pointer[login]
	// generation counts swaps.
	generation atomic.Uint64
	retire     retirement
	stats      counters
}

func newCore(creds Credentials, o options) *core {
	return &core{creds: creds, log: o.logger, retire: retirement{window: o.retireWindow, clock: o.clock}}
}

// due reports whether the connection stamped s is to be retired now (see
// [retirement]), or else, if it is of an old credential, when it will be.
func (c *core) due(s stamp, ok bool) (now bool, at time.Time) {
	if !ok {
		return true, time.Time{} // not made by the adapter: its credential is unknown
	}
	// The generation before Current, as in beforeConnect: a swap in between
	// makes the connection look current for this one check, not stale for
	// good.
	gen := c.generation.Load()
	return c.retire.due(s, gen, c.creds.Current().ID)
}

// parse returns v's login, parsing it only when v is not the last version
// parsed.
func (c *core) parse(v consumer.Version) (*login, error) {
	if l := c.last.Load(); l != nil && l.versionID == v.ID {
		return l, nil
	}
	s, err := dbsecret.Parse(v.Value, rules)
	if err != nil {
		return nil, &SecretError{VersionID: v.ID, Err: err}
	}
	l := &login{versionID: v.ID, user: s.Username, password: s.Password}
	c.last.Store(l)
	return l, nil
}

// beforeConnect sets the credential on cfg, a copy of the connection
// config, and makes the connection record its version and generation.
func (c *core) beforeConnect(ctx context.Context, cfg *pgx.ConnConfig) error {
	// Read the generation before the version: a connection that logs in
	// with a version older than the generation says is drained once for
	// nothing; the other way round it would survive a swap.
	gen := c.generation.Load()
	v := c.creds.Current()
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	if a != nil && a.use != nil && a.generation == gen {
		v = *a.use
	}
	l, err := c.parse(v)
	if err != nil {
		return err
	}
	cfg.User, cfg.Password = l.user, l.password
	if a != nil {
		a.used.Store(&l.versionID)
	}
	c.stats.logins.Add(1)
	st := stamp{versionID: l.versionID, generation: gen, jitter: c.retire.clock.jitter()}
	next := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, pc *pgconn.PgConn) error {
		pc.CustomData()[customDataKey] = st
		if next != nil {
			return next(ctx, pc)
		}
		return nil
	}
	return nil
}

// maxRetries bounds the retries of one call after refused logins.
const maxRetries = 2

// do runs f, which makes at most one connection through beforeConnect, and
// when the server refuses the login, asks the credentials for another
// version and runs f again with it. f must be safe to run again when its
// last run failed with a connect error (nothing was sent then).
//
// A refused retry is reported too, and retried once more if the
// credentials now offer a version this call has not tried: in the
// single-user window the retry logs in with AWSPENDING, and if the next
// rotation's setSecret changes the password before that login completes
// (a login on a busy host takes long; rotations in the load benchmark
// follow each other at once), the retry is refused while the credentials
// already know the version after it. Every retry uses a version not tried
// before, and the cache rate-limits refreshes per version, so a wrong
// password still ends in an [*AuthError] after one refresh.
func (c *core) do(ctx context.Context, f func(context.Context) error) error {
	a := &attempt{}
	err := f(context.WithValue(ctx, attemptKey{}, a))
	tried := map[string]bool{}
	for retries := 0; ; retries++ {
		if err == nil || !IsAuthFailure(err) {
			return err
		}
		c.stats.authFailures.Add(1)
		if retries > 0 {
			c.stats.retryFailures.Add(1)
		}
		failed := a.used.Load()
		if failed == nil {
			// The refused connection was not made by this call's
			// BeforeConnect (cannot happen with pgxpool or stdlib): nothing
			// to report.
			return err
		}
		tried[*failed] = true
		v, rerr := c.creds.AuthFailed(ctx, *failed)
		// Read after AuthFailed, whose refresh may swap: a swap after this
		// point makes BeforeConnect prefer Current.
		gen := c.generation.Load()
		switch {
		case rerr != nil:
		case tried[v.ID]: // the version that just failed, or an earlier one
			rerr = ErrNoNewerVersion
		case retries == maxRetries:
			rerr = ErrTooManyRetries
		}
		if rerr != nil {
			if retries > 0 {
				c.log.WarnContext(ctx, "pgadapter: login refused again after a refresh", "version", *failed, "retries", retries, "reason", rerr.Error(), "error", err.Error())
			} else {
				c.log.WarnContext(ctx, "pgadapter: login refused, no newer credential", "version", *failed, "reason", rerr.Error(), "error", err.Error())
			}
			return &AuthError{VersionID: *failed, Retried: retries > 0, Refresh: rerr, Err: err}
		}
		c.stats.retries.Add(1)
		c.log.InfoContext(ctx, "pgadapter: login refused, retrying with a refreshed credential", "failedVersion", *failed, "version", v.ID, "retry", retries+1)
		a = &attempt{use: &v, generation: gen}
		err = f(context.WithValue(ctx, attemptKey{}, a))
	}
}

// swapped is the OnSwap hook's common part. The swap's time is recorded
// before the generation moves, so that a connection seen as old always
// finds it.
func (c *core) swapped(old, new consumer.Version) {
	c.retire.swapped(c.generation.Load()+1, old.ID)
	c.generation.Add(1)
	c.stats.swaps.Add(1)
	c.log.Info("pgadapter: credential swapped, retiring old connections", "oldVersion", old.ID, "version", new.ID, "window", c.retire.window.String())
}

// Package pgadapter connects PostgreSQL pools to the consumer SDK's cache
// ([github.com/rotorhq/rotor/events/consumer]): connections log in with the
// credential the cache holds now, a rotation drains the old connections
// gradually without cutting a query, and a refused login refreshes the
// cache and is retried.
//
// It builds on pgx v5's own hooks rather than on a reconnect loop (STYLE.md,
// habit 10):
//
//   - [NewPool] wraps a [pgxpool.Pool]. The pool's BeforeConnect hook, which
//     pgxpool calls with a copy of the connection config for every new
//     connection, sets User and Password from [Credentials.Current] (and
//     then calls the caller's own BeforeConnect, if any). Each connection
//     carries (in [pgconn.PgConn.CustomData]) the version it logged in
//     with, the swap generation, and its own place in the retire window.
//   - [NewConnector] and [OpenDB] do the same for database/sql through
//     pgx's stdlib connector ([stdlib.GetConnector] with
//     [stdlib.OptionBeforeConnect]).
//
// # Swaps: old connections retire gradually
//
// After a swap ([Credentials.OnSwap]) the connections of the old
// credential are closed one by one over a window ([WithRetireWindow],
// default [DefaultRetireWindow]), each at the moment it drew when it logged
// in, never all at once: every instance of every consumer swaps on the
// same event, and [pgxpool.Pool.Reset], which this adapter used to call,
// made the whole fleet log in again (TLS and SCRAM, CPU on the server) at
// the same moment. A query in flight is never cut.
//
//   - A [Pool] checks a connection when it is released (AfterRelease) and
//     when it is taken (PrepareConn): one whose moment came is closed, so
//     none is handed out after it. A goroutine of the pool closes idle
//     ones at their moments, so that an idle connection does not hold the
//     old credential (and a session the deactivation gate waits for)
//     beyond the window.
//   - database/sql checks a connection before it reuses it
//     ([stdlib.OptionResetSession]; the adapter answers [driver.ErrBadConn]
//     for one whose moment came, and database/sql opens another). It has
//     no hook on an idle connection, so [OpenDB] limits idle time to the
//     window ([sql.DB.SetConnMaxIdleTime]).
//
// A connection counts as old when a swap happened since it logged in and
// its version is not the one Current hands out: one made with AWSPENDING
// in the single-user window keeps serving once that version is current.
// The window must be shorter than the gate's grace period (longer than
// the longest consumer cache lifetime, 330 s); the default is 30 s.
//
// # Authentication failures
//
// With the single-user strategy the database password changes before
// AWSCURRENT moves, and for a moment only AWSPENDING's password logs in;
// with alternating users a pool may also connect with a version an
// instant before the cache learns of a rotation. When the server refuses a
// login (SQLSTATE 28P01 invalid_password or 28000
// invalid_authorization_specification, reported by pgconn as a
// [*pgconn.ConnectError] wrapping a [*pgconn.PgError]), the adapter calls
// [Credentials.AuthFailed] with the version that failed and retries with
// the version it returns. A refused retry is reported the same way and
// retried once more, with a version the call has not tried: the retry with
// AWSPENDING can lose a race with the next rotation's setSecret (seen in
// the load benchmark, whose rotations follow each other at once). No newer
// version, or a third refusal, surfaces as an [*AuthError] (errors.Is
// [ErrLoginRefused]). The cache single-flights and rate-limits AuthFailed,
// and the adapter makes at most two retries per call.
//
// No driver hook runs after a failed connect and can connect again (pgconn
// stops at an invalid password, and pgxpool returns a constructor's error
// to the acquirer), so the retry is made where the error surfaces: for
// database/sql inside [Connector.Connect]; for pgxpool in [Pool]'s Acquire,
// Exec, Query, QueryRow, SendBatch, Begin, BeginTx, CopyFrom and Ping,
// which shadow the embedded [*pgxpool.Pool]'s. Retrying a whole call is
// safe because a [*pgconn.ConnectError] comes only from establishing a
// connection, before anything was sent. The embedded pool (Pool.Pool)
// still logs in with the current credential and drains on swaps; it only
// lacks the retry.
//
// # Addresses come from the caller, credentials from the secret
//
// Secret values are AWS's database secret JSON
// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html),
// parsed by [github.com/rotorhq/rotor/rotators/dbsecret]. Only "username"
// and "password" are taken from it; host, port, database and TLS come from
// the config the caller gives. A rotation changes credentials, not
// addresses: a pool that followed "host" from the secret would move its
// connections (and its TLS server name) whenever someone edited a field
// that no rotation touches, and the caller's config often names a proxy,
// a replica or a Unix socket that the secret does not know. A secret that
// lacks a field or is not JSON gives a [*SecretError] wrapping a
// [*github.com/rotorhq/rotor/rotators.InputError] that names the field, never its value.
//
// Neither errors nor log lines carry a secret value: errors name version
// ids and fields, and pgconn's connect errors name the user and database,
// never the password.
//
// [Stats] counts logins, refusals, retries and swaps for metrics and
// benchmarks.
package pgadapter

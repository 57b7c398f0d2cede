// Package pgadapter connects PostgreSQL pools to the consumer SDK's cache
// ([github.com/rotorhq/rotor/events/consumer]): connections log in with the
// credential the cache holds now, a rotation drains the old connections
// without cutting a query, and a refused login refreshes the cache and is
// retried once.
//
// It builds on pgx v5's own hooks rather than on a reconnect loop (STYLE.md,
// habit 10):
//
//   - [NewPool] wraps a [pgxpool.Pool]. The pool's BeforeConnect hook, which
//     pgxpool calls with a copy of the connection config for every new
//     connection, sets User and Password from [Credentials.Current] (and
//     then calls the caller's own BeforeConnect, if any). On a swap
//     ([Credentials.OnSwap]) the adapter calls [pgxpool.Pool.Reset]: idle
//     connections close at once and acquired ones are destroyed when they
//     are released, so a query in flight completes on its old connection.
//     (pgxpool's pool stamps each connection with the pool's reset count
//     before its BeforeConnect runs and destroys, on release, any
//     connection whose stamp is older; the cache moves Current before it
//     calls the hooks, so no connection made with the old credential
//     survives its release.)
//   - [NewConnector] and [OpenDB] do the same for database/sql through
//     pgx's stdlib connector ([stdlib.GetConnector] with
//     [stdlib.OptionBeforeConnect]). database/sql has no Reset, so each
//     connection carries the swap generation it was made in (in
//     [pgconn.PgConn.CustomData]), and [stdlib.OptionResetSession], which
//     database/sql runs before it reuses a connection, answers
//     [driver.ErrBadConn] for a connection of an older generation:
//     database/sql closes it and takes or opens another. A connection in
//     use is never touched, so a query in flight completes.
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
// [Credentials.AuthFailed] with the version that failed and retries once
// with the version it returns. A second refusal, or no newer version,
// surfaces as an [*AuthError] (errors.Is [ErrLoginRefused]). There is no
// further retry: the cache single-flights and rate-limits AuthFailed, and
// the adapter makes at most one retry per failed connect.
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

// Package pgserver starts throwaway PostgreSQL servers for tests.
//
// A server runs Debian's PostgreSQL binaries (the highest version found under
// /usr/lib/postgresql/*/bin) on a fresh data directory in a temporary
// directory, listening on a random port of 127.0.0.1, with password
// authentication switched on: every line of pg_hba.conf says scram-sha-256,
// because a server with trust authentication proves nothing about a
// password. The superuser gets a random password.
//
// By default the server speaks TLS with a certificate for "localhost" and
// 127.0.0.1 issued by a certificate authority generated at start ([Server.RootCAs],
// [Server.CAFile]), so clients can use full verification against it.
// [Options.RequireTLS] refuses plain connections; [Options.NoTLS] switches TLS
// off.
//
// The server logs every statement (log_statement = 'all') to a file
// ([Server.Log]), so tests can check that no password reached the server in
// plain text. Durability is switched off (fsync = off) for speed.
//
// initdb refuses to run as root: when the test runs as root, the server runs
// as the system user "postgres", which owns the temporary directory.
//
// [Stop] (or the test cleanup of [StartT]) shuts the server down at once and
// removes the directory. If the test binary dies, the kernel kills the
// server (Pdeathsig) and its processes follow, so no server outlives a test
// run. There is no skip: a machine without the binaries fails the test with
// a message that says what to install.
package pgserver

// Package postgres rotates PostgreSQL passwords: the rotator behind rotor's
// PostgreSQL rotation function, in place of AWS's rotation function
// templates SecretsManagerRDSPostgreSQLRotationSingleUser and
// SecretsManagerRDSPostgreSQLRotationMultiUser
// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_available-rotation-templates.html).
// It reads and writes the same secret JSON ([dbsecret]), so a secret moves
// from AWS's function to rotor's unchanged.
//
// Two strategies:
//
//   - [SingleUser]: the user changes its own password
//     (ALTER ROLE CURRENT_USER). Consumers holding the old password fail
//     until they refresh.
//   - [AlternatingUsers]: the master secret named by "masterarn" creates
//     or updates the other user of the pair ("app" and "app_clone") and, in
//     the same transaction, re-anchors the pair on the base user "app": the
//     clone is a member of the base and its sessions act as the base
//     (ALTER ROLE app_clone SET role = app), so it can use everything the
//     base owns or was granted and what it creates belongs to the base; the
//     base's memberships, per-role settings and attributes are copied to a
//     pending clone; what the clone owns is reassigned to the base
//     (privileges.go says why each). The current user keeps working until
//     the next rotation. Test proves the pending user holds every privilege
//     the current one holds, in one catalog query ([PrivilegeError] names
//     what is missing).
//
// # Deactivation
//
// With [Options.LockIdleUser], [Rotator.Deactivator] returns the
// [rotators.Deactivator] the deactivation gate (shared/deactivation) calls
// once consumers have moved on: it locks the idle user of the pair with
// ALTER ROLE ... NOLOGIN through the master secret. NOLOGIN stops new
// logins; sessions already open are not terminated (they drain on their
// own) unless the request asks it (an emergency rotation:
// pg_terminate_backend, which needs the master in pg_signal_backend, ends
// every session of the user but the backend of the rotator's own login
// probe). It
// does nothing when the previous and current secrets name the same user,
// leaves alone a user whose password a later rotation has changed already,
// and never touches the current user. The next rotation's Set re-enables
// the user (its ALTER ROLE says WITH LOGIN). A locked user's login fails
// with SQLSTATE 28000, matched by [ErrLoginRefused]. A single user has
// nothing to revoke: its old password stopped working at Set, so it has no
// Deactivator.
//
// # Set and Deactivate are serialised
//
// The idle user is both the credential the gate revokes and the next
// rotation's pending user. Set and Deactivate each take the pair's
// transaction-level advisory lock (pg_advisory_xact_lock) in the secret's
// own database before they touch the role, and Deactivate calls the gate's
// Recheck under it, so a revocation never lands on a user that a rotation
// has made pending (see serialize.go for why this lock, and how it behaves
// with crashes and poolers).
//
// Under the lock both read the evidence of use, pg_stat_activity:
// Deactivate revokes a user with open sessions only when the gate allows it
// (the grace period has passed, or an emergency), and Set, which ends the
// previous credential by changing its password, refuses with
// [rotators.ErrInUse] while that user has sessions within
// [Options.GracePeriod] since the last rotation (the step is retried).
// Sessions named rotor (application_name) are the rotator's own and are no
// evidence. The master sees every role's sessions, but their client addresses only as a
// member of pg_read_all_stats; it sees nothing of replicas, nor the clients
// behind a proxy or pooler.
//
// # Configuration test and undo
//
// [Rotator.TestConfiguration] is the check of RotateSecret with
// RotateImmediately=false: reads only (see configtest.go). [Rotator.Undo]
// undoes Set when an operator drops a pending version before finishSecret:
// a single user gets its current password back; with alternating users the
// pending user, whose new password no live version holds, is locked.
//
// # Passwords never travel in plain text
//
// ALTER ROLE and CREATE ROLE cannot take bind parameters, so a password in
// them is part of the statement text, which the server may log
// (log_statement = 'all', pgaudit, RDS's log exports). The rotator therefore
// computes the SCRAM-SHA-256 verifier on the client
// (SCRAM-SHA-256$4096:salt$StoredKey:ServerKey, a fresh 16-byte salt each
// time) and sends only that: the server stores it as is, and a statement
// log shows a verifier, never the password. Logging in uses SCRAM too, so the
// password never reaches the server at all.
//
// # Connections
//
// Each step opens its own connections with [pgx.ConnectConfig] (no pool; a
// rotation function is short-lived). The configuration is built field by
// field, never from a connection string holding the password. A secret
// without "ssl" (or with "ssl": true) gets TLS with full verification
// against [Options.Roots] (or [Options.RootCAs]) and no fallback to plain; only "ssl": false
// connects in plain. The master logs in with its own secret's "ssl", never
// the application secret's. A failed login is matched by [ErrLoginFailed].
package postgres

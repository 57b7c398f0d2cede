// Package rotation holds the end-to-end tests of rotations: the lifecycle
// engine, the in-memory store with Secrets Manager's staging semantics, and
// the real PostgreSQL rotator against a throwaway PostgreSQL server with
// password authentication and TLS. Failures are injected into the store and
// the database (test/faults) at every call of a rotation.
package rotation

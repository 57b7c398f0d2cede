// Package events is rotor's rotation event schema: the detail types and the
// detail every rotor event carries on EventBridge, one per phase of a
// rotation (DESIGN.md, "The rotation workflow"), and the fingerprint that
// ties an event to a secret version without revealing its value.
//
// The schema is versioned ([SchemaVersion]); the JSON Schema in
// schema/rotation-event.v1.json describes the same detail for consumers not
// written in Go. An event never carries a secret value.
//
// Subpackages:
//   - [github.com/rotorhq/rotor/events/publish] puts events on a bus;
//   - [github.com/rotorhq/rotor/events/consumer] is the consumer SDK: a
//     cache of one secret that swaps credentials when events arrive;
//   - [github.com/rotorhq/rotor/events/pgadapter] gives pgx pools and
//     database/sql the cache's credentials;
//   - [github.com/rotorhq/rotor/events/audit] keeps every event as a
//     JSON line (the local stand-in for the audit bus's log group).
//
// The detail types and field names are mirrored in infra/rotor/events.go
// (the CDK module imports nothing of rotor's); a test keeps both in step.
package events

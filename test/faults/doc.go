// Package faults injects failures into rotations, to test that every step
// is safe to crash anywhere: an [Injector] counts every secret-store call
// and every database round trip of a rotation and fails the k-th, before
// the call is made or (for store calls) after it took effect with its
// answer lost, the way a Lambda that times out or a dropped connection
// would.
//
// [Store] wraps the engine's store; [Tracer] plugs into pgx as its query and
// connect tracer, failing a database call by handing pgx a cancelled
// context, so the real driver and the real server see a real failure.
package faults

// Package rotatortest is the conformance suite of the [rotators.Rotator]
// contract. Every rotator runs it against a real target system:
//
//	func TestConformance(t *testing.T) {
//		rotatortest.Run(t, rotatortest.Harness{
//			Rotator:  r,
//			Current:  secret,
//			Secrets:  reader,
//			CanLogin: func(ctx context.Context, s []byte) error { ... },
//		})
//	}
//
// [Run] walks two full rotations and checks what the contract promises:
// Create is deterministic given the password and does not touch the target;
// Test fails before Set and passes after it; Set makes the pending
// credential log in, keeps the current one working unless the strategy is
// "single-user", and leaves the same state when called twice; Test changes
// nothing; no error carries a password. A [Harness.State] hook lets the
// suite compare the target's state before and after each step, and a
// [Harness.CanUse] hook checks that the pending credential can use what the
// current one uses (the application's objects), not only log in.
//
// It also checks TestConfiguration (the check of RotateSecret with
// RotateImmediately=false: it passes for a working secret and changes
// nothing) before and after the first rotation, and, for a rotator that
// is a [rotators.Undoer], a rotation dropped after Set: Undo before Set
// and a second Undo change nothing; after Undo the dropped pending secret
// no longer logs in and the current one still does.
//
// A rotator whose strategy revokes the previous credential explicitly sets
// [Harness.Deactivator]; the suite then deactivates after each rotation and
// checks the [rotators.Deactivator] contract: a Recheck that refuses
// revokes nothing, Recheck is called before a revocation, idempotent, the
// previous credential stops logging in, the current one keeps working,
// nothing happens when previous and current name the same principal, and
// the next rotation brings the deactivated principal back with its new
// credential. Its requests allow revoking in use (AllowInUse): evidence of
// sessions is the target's own test's business.
package rotatortest

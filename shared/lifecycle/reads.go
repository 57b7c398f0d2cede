package lifecycle

import (
	"context"
	"errors"

	"github.com/rotorhq/rotor/shared/secretstore"
)

// setSecret and testSecret need the pending and the current value, and
// the labels that say the token is a rotation's pending version. In a cold
// container (no value cached) DescribeSecret would be a third call beside
// the two reads, so these steps read instead (runByReads): GetSecretValue
// by the token's VersionId answers the version's labels with its value,
// and GetSecretValue by AWSCURRENT answers the current version's id with
// its value. Two calls where three were, under the same rules:
//
//   - a token that is not AWSPENDING, is AWSCURRENT (a finished rotation,
//     or the configuration test's AWSPENDING on the current version), is
//     unknown or has no value (a configuration test, a step out of order)
//     is no rotation's ordinary state: the step then describes the secret
//     and runs exactly as a warm one does (runDescribed), so every refusal
//     and the configuration test are decided by the same code;
//   - the rotation-enabled flag is only in DescribeSecret: these two steps
//     do not check it when they run by reads. createSecret (the start) and
//     finishSecret (the promotion, the step that makes a rotation visible)
//     always describe and check it; a rotation disabled in between is
//     stopped at finishSecret, before AWSCURRENT moves;
//   - LastRotatedDate, which Set's grace policy needs when the previous
//     user has sessions, is read by a DescribeSecret made only then
//     ([rotators.SetRequest.LastRotatedFunc]).
//
// A warm container, which holds the token's value, describes: one call.

// warm reports whether this engine holds the token's value: then the
// description is the step's only call.
func (inv *invocation) warm() bool {
	arn, ok := inv.arns.get(inv.req.SecretID)
	if !ok {
		return false
	}
	_, ok = inv.versions.get(versionKey(string(arn), inv.req.Token))
	return ok
}

// runByReads runs setSecret or testSecret from two reads (see above).
func (inv *invocation) runByReads(ctx context.Context) (string, error) {
	tok, err := inv.store.Version(ctx, inv.req.SecretID, inv.req.Token)
	if errors.Is(err, secretstore.ErrVersionNotFound) {
		// Unknown, or no value yet: the description tells which.
		return inv.runDescribed(ctx)
	}
	if err != nil {
		return inv.fail("read pending", err)
	}
	inv.scrub.AddSecretJSON(tok.Value)
	inv.desc.ARN, inv.desc.Name = tok.ARN, tok.Name
	inv.arns.put(inv.req.SecretID, []byte(tok.ARN))
	inv.remember(inv.req.Token, tok.Value)
	if !tok.HasStage(secretstore.Pending) || tok.HasStage(secretstore.Current) {
		return inv.runDescribed(ctx)
	}
	cur, err := inv.store.Current(ctx, inv.req.SecretID)
	if err != nil {
		return inv.fail("read current", err)
	}
	inv.scrub.AddSecretJSON(cur.Value)
	if cur.ID == inv.req.Token {
		// Promoted between the two reads.
		return inv.runDescribed(ctx)
	}
	inv.remember(cur.ID, cur.Value)
	inv.previous = cur.ID
	inv.fingerprintOf(tok.Value)
	if inv.req.Step == SetSecret {
		return inv.setValues(ctx, cur.Value, tok.Value)
	}
	return inv.testValues(ctx, cur.Value, tok.Value, "", nil)
}

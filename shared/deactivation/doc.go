// Package deactivation is the deactivation gate: the last phase of a
// rotation (DESIGN.md, "The rotation workflow"). After finishSecret, the
// previous credential (AWSPREVIOUS) still works, so that no consumer breaks
// while it moves to the new one. The gate revokes it only when every
// registered consumer has acknowledged the new version, or when a grace
// period has passed since the rotation, whichever comes first. Revoking is
// the only irreversible step, so it is last, and it is done by the
// rotator's optional [rotators.Deactivator] (PostgreSQL alternating users:
// ALTER ROLE <idle user> NOLOGIN, see rotators/postgres).
//
// # Registrations are tags
//
// A consumer registers on the secret with a tag "rotor:consumer:<name>"
// ([ConsumerTagPrefix]); the value is free (the queue, "lambda"). Tags and
// not the gate's configuration, because tags
//
//   - travel with the secret, across accounts, and come back in
//     DescribeSecret, which the gate calls anyway: no extra call;
//   - are added by the team that owns the consumer, next to the consumer's
//     own infrastructure, without redeploying the rotator;
//   - are visible to auditors in the console and in CloudTrail.
//
// The limit: a secret carries at most 50 tags ([MaxTags]), and each
// consumer takes two (its registration and its acknowledgement), shared
// with every other tag of the secret; so about 20 consumers per secret in
// practice. A secret with more consumers than that needs the alternative:
// registrations in the gate's configuration or in a DynamoDB table keyed by
// secret ARN, with acknowledgements as conditional writes to it. That costs
// a table, its IAM and an extra call per evaluation, which is why it is not
// the default.
//
// Consumer names follow the tag rules of Secrets Manager's TagResource
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_TagResource.html,
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Tag.html):
// keys of 1 to 128 characters, "aws:" reserved, characters letters, digits
// and + - = . _ : / @ (narrowed here to ASCII and no space, which is what
// ListSecrets' filter values accept too), so a name is at most
// [MaxConsumerNameLen] characters. [ValidateConsumerName] checks them; an
// acknowledgement with a bad name is a [*FieldError] naming "consumer".
//
// # Acknowledgements are tags too
//
// A consumer acknowledges with a rotor "Consumer Acknowledged" event (the
// consumer SDK sends it once it uses the new version). The gate records it
// as the tag "rotor:ack:<name>" = versionId ([AckTagPrefix]). TagResource
// sets one key and leaves the others, so concurrent acknowledgements of two
// consumers never overwrite each other, and setting the same value twice
// is harmless. An acknowledgement for a version that is not AWSCURRENT is
// stale (an old or out-of-order event) and ignored; one from a consumer
// that is not registered is logged and ignored.
//
// # The decision
//
// [Gate.Evaluate] describes the secret: AWSCURRENT is C, AWSPREVIOUS is P.
//
//   - No P, or P deactivated already (tag "rotor:deactivated" = P,
//     [DeactivatedTag]): nothing to do.
//   - AWSPENDING on a version other than C: a rotation is under way; the
//     gate waits for its "Rotation Completed" (revoking now could lock the
//     user the rotation is about to make current).
//   - No Deactivator (single user): nothing to revoke, the old password
//     stopped working when setSecret changed it; the gate records
//     "rotor:deactivated" = P and says so in its log.
//   - Every registered consumer's acknowledgement is C: deactivate P,
//     publish "Credential Deactivated" with outcome "succeeded", record
//     "rotor:deactivated" = P.
//   - Else, once the grace period (ROTOR_GRACE_PERIOD, default 24h) has passed
//     since LastRotatedDate: deactivate anyway, publish with outcome
//     "grace-expired" and the missing consumers in "unacknowledged", and log
//     them. A secret with no registration at all is deactivated only by the
//     grace period: the absence of registrations is no promise that nobody
//     uses the secret. A secret without LastRotatedDate (never rotated by
//     Secrets Manager) waits for acknowledgements only.
//   - Else: nothing yet.
//
// Every evaluation emits the metric UnacknowledgedConsumers (namespace
// "Rotor", dimension SecretName) as an EMF line through shared/metrics, so
// an alarm can watch consumers that lag.
//
// Crash safety: the gate revokes, then publishes, then records the tag. A
// crash (or a failed TagResource) after the revocation leaves the tag
// unset, so the next evaluation calls the idempotent Deactivate again
// (it answers "already inactive") and publishes again: the event is
// delivered at least once, never lost, as EventBridge delivers anyway.
//
// # Inputs
//
// [Gate.Handle] takes EventBridge events: "Consumer Acknowledged" (record,
// then evaluate), "Rotation Completed" (evaluate: the metric then counts
// every consumer), and "Scheduled Event" from an EventBridge schedule,
// which is what makes the grace period expire when no event arrives: the
// sweep evaluates every secret listed in ROTOR_GATE_SECRETS, or, when that is
// empty, every secret that has a registration (ListSecrets with the filter
// tag-key "rotor:consumer:", a case-sensitive prefix match,
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html)
// and whose rotation function is the gate's own ([Config.FunctionName]).
// Finding the secrets by tag is the default because it needs no
// configuration to stay in step with registrations; a configured list is
// for deployments whose role may not call ListSecrets, and it also covers
// secrets with no registration (which only the grace period deactivates).
//
// Permissions: secretsmanager:DescribeSecret, GetSecretValue (the current,
// previous and master secrets), TagResource, ListSecrets (sweep without a
// list), and events:PutEvents through the publisher.
//
// No secret value ever reaches a log line, an error, an event or a
// metric: the values the gate reads are registered with a redact.Scrubber
// that masks them in its logs and errors, events carry version ids, and the
// metric carries the secret's name.
package deactivation

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
//     [DeactivatedTag]): nothing to do (but see the emergency below).
//   - AWSPENDING on a version other than C: a rotation is under way; the
//     gate waits for its "Rotation Completed" (revoking now could lock the
//     user the rotation is about to make current).
//   - No Deactivator (single user, or alternating users without
//     ROTOR_LOCK_IDLE_USER): the gate revokes nothing, so it claims
//     nothing: no "rotor:deactivated", no event, no log line saying the old
//     password stopped working (with alternating users it still works). It
//     records "rotor:not-revoked" = P ([NotRevokedTag]) and says once, at
//     info, that the previous credential works until a rotation changes its
//     password.
//   - Every registered consumer's acknowledgement is C: deactivate P,
//     unless the target shows open sessions of it ([ActionInUse]: wait for
//     them, or for the grace period); publish "Credential Deactivated" with
//     outcome "succeeded", record "rotor:deactivated" = P.
//   - Else, once the grace period (ROTOR_GRACE_PERIOD, default 24h) has passed
//     since LastRotatedDate: deactivate anyway, sessions or not, publish with
//     outcome "grace-expired", the missing consumers in "unacknowledged" and
//     the sessions seen in "sessions", and log them. A secret with no
//     registration at all is deactivated only by the grace period: the
//     absence of registrations is no promise that nobody uses the secret. A
//     secret without LastRotatedDate (never rotated by Secrets Manager)
//     waits for acknowledgements only.
//   - Else: nothing yet.
//
// # The grace period is the policy
//
// The grace period is the explicit policy under which a credential still in
// use is revoked. It must be longer than the longest time a correctly
// working consumer keeps a credential without looking again
// ([LongestCacheLifetime], 330 s: AWS's Secrets Manager agent caches 300 s,
// rotor's consumer cache polls every 5 minutes + 10%); [New] and
// [SettingsFromEnv] refuse a shorter one, naming the field. With
// alternating users the next rotation's setSecret ends the previous
// credential too (it changes that user's password): the function passes
// the same setting to the rotator, which refuses Set, retryably, while that
// user has sessions within the grace period since LastRotatedDate (which
// the engine passes in the SetRequest: the time the user became previous).
//
// # Never a current or pending credential
//
// The decision comes from one DescribeSecret; the revocation happens later,
// on the target. In between, a rotation may begin, and its setSecret
// changes the very user the gate is about to lock (the previous user is the
// next pending user). So the Deactivator serialises the revocation with Set
// on the target (PostgreSQL: a transaction-level advisory lock of the user
// pair, taken by both, in the secret's database) and, holding it, calls the
// gate's Recheck, which describes the secret again and refuses
// ([ErrStagingChanged]) if P became AWSCURRENT or AWSPENDING, if AWSCURRENT
// or AWSPREVIOUS moved, or if a rotation is in progress. The gate then
// revokes nothing and reports [ActionRotationInProgress]. A Set that comes
// after the Recheck waits for the lock and gives the user LOGIN back.
//
// # Evidence from the target
//
// Before it revokes, the Deactivator reads the open sessions of the
// previous user (PostgreSQL: pg_stat_activity; the master sees client
// addresses only as a member of pg_read_all_stats, and nothing of replicas
// or of clients behind a proxy or pooler). The count, client addresses and
// application names, never a value, go to the log and to the event's
// "sessions".
//
// # Emergency rotation
//
// [Gate.Emergency] (the function's payload {"Action":"emergency-rotation",
// "SecretId", "VersionId", "Confirm":"revoke-now", "Reason"}) answers a
// leaked credential: it is refused without the confirmation and a reason;
// it records the request as tags ([EmergencyTag], [EmergencyReasonTag]),
// rotates when the leaked version is AWSCURRENT, and revokes the leaked
// version once it is AWSPREVIOUS at once, without waiting for
// acknowledgements, sessions or the grace period, ending its open sessions,
// with outcome "emergency" and the reason in the event. A pending version
// is refused, and the serialisation and Recheck above apply as always.
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

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
// ([ConsumerTagPrefix]). Its value is free words (the queue, "sqs",
// "lambda") and two settings the gate reads ([ParseRegistration]):
// "account=<12 digits>", the account the consumer acknowledges from when
// it is not the secret's, and "instances=<n>", how many instances of the
// consumer must acknowledge (default 1). A value that does not parse
// leaves the consumer registered and never acknowledged: only the grace
// period revokes. Tags and not the gate's configuration, because tags
//
//   - travel with the secret, across accounts, and come back in
//     DescribeSecret, which the gate calls anyway: no extra call;
//   - are added by the team that owns the consumer, next to the consumer's
//     own infrastructure, without redeploying the rotator;
//   - are visible to auditors in the console and in CloudTrail.
//
// The limit: a secret carries at most 50 tags ([MaxTags]), and each
// consumer takes one for its registration and one per instance for its
// acknowledgements, shared with every other tag of the secret; so a few
// dozen instances per secret in practice. When the secret is full, the
// gate removes the acknowledgements of older versions to make room, and
// refuses the acknowledgement ("no-room") when that is not enough. A
// secret with more consumers than that needs the alternative:
// registrations and acknowledgements in a DynamoDB table keyed by secret
// ARN, with conditional writes. That costs a table, its IAM and an extra
// call per evaluation, which is why it is not the default.
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
// # Who may acknowledge
//
// An acknowledgement is what lets the gate revoke a credential early, so
// it must come from the consumer it names. IAM can scope events:PutEvents
// by the condition keys events:source and events:detail-type, never by a
// field of the detail
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html),
// so a consumer name in the detail proves nothing by itself. Each consumer
// therefore sends from its own source, "rotor.consumer.<name>"
// ([events.ConsumerSource]); the CDK constructs (infra/rotor,
// ConsumerSubscription.Grant) give the consumer's role PutEvents with the
// conditions events:source = its source and events:detail-type =
// "Consumer Acknowledged", and a bus policy that admits another account
// does the same for that account. EventBridge sets an event's account
// from the sender's credentials. The gate ([Gate.Acknowledge]) then
// refuses:
//
//   - forged: the source is not "rotor.consumer.<consumer in the
//     detail>" (another consumer's source, or rotor's own);
//   - foreign: the event's account is not the registration's "account=",
//     or the secret's own when the registration names none;
//   - stale: the version is not AWSCURRENT (an old or out-of-order event);
//   - unregistered, bad-registration, no-room (above).
//
// A refusal writes nothing, logs a line with its reason, and counts in the
// metric RefusedAcknowledgements (dimensions SecretName and Reason): an
// alarm on forged and foreign finds a misconfigured or hostile sender.
// The limit: the gate trusts the IAM policies of the accounts that may
// put events on the bus. Whoever may put events of source
// "rotor.consumer.orders-api" (an administrator of the account, or a role
// granted it by hand) can acknowledge for orders-api.
//
// # Instances
//
// One queue per service means that one replica receives "Rotation
// Completed", swaps and acknowledges; the others swap when they poll
// (events/consumer, TTL) and acknowledge then. Replicas share a role, so
// IAM cannot tell them apart: every acknowledgement names its instance
// (events.Detail.Instance; the consumer SDK sends the host name and process
// id, or its Options.Instance) and the gate records it per instance
// as the tag [InstanceAckTag]: "rotor:ack:<hash of consumer and instance>"
// = "<version> <consumer> <instance>". One key per instance, so
// concurrent acknowledgements never overwrite each other. A consumer is
// acknowledged when as many distinct instances as its registration's
// "instances=" acknowledged AWSCURRENT.
//
// What this does not know, and why the gate also looks at the target:
//
//   - the count is declared, not observed: a registration that says 3 for
//     a service scaled to 5 lets the gate revoke after 3. Keep it at the
//     service's maximum (the CDK construct's Instances).
//   - an instance that acknowledged and then died still counts, and its
//     replacement counts again under a new id: with stable ids (a pod or
//     task name, Options.Instance) a restart does not inflate the count.
//   - leases (instances that register with an expiry and renew it) would
//     answer both, but need a store with conditional writes and expiry
//     (a DynamoDB table with TTL keyed by secret and instance); tags can
//     hold neither, and the gate does not have such a table today.
//
// The target's own evidence is the backstop for all three: the open
// sessions of the previous user ("Evidence from the target" below), which
// hold the revocation until the grace period whatever the acknowledgements
// say (within what the master can see: not replicas, not clients behind a
// pooler).
//
// # Concurrent acknowledgements
//
// TagResource sets one key and leaves the others, and [Gate.Acknowledge]
// evaluates after reading the secret again once its own tag is written:
// of two acknowledgements that arrive together, the later to read sees
// both, so the last one revokes at once, not at the next hourly sweep.
// Both may decide to revoke; revocation is idempotent. (The limit: this
// relies on DescribeSecret reflecting a TagResource that returned; if it
// lagged, the hourly sweep catches up.) A duplicate acknowledgement
// changes nothing.
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
//   - Every registered consumer has as many instances acknowledging C as
//     its registration declares: deactivate P, unless the target shows open sessions of it ([ActionInUse]: wait for
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
// [Gate.Handle] takes EventBridge events: "Consumer Acknowledged" of a
// consumer's source (check, record, then evaluate), "Rotation Completed" (evaluate: the metric then counts
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
// previous and master secrets), TagResource, UntagResource (to remove old
// acknowledgements from a full secret), ListSecrets (sweep without a
// list), and events:PutEvents through the publisher.
//
// No secret value ever reaches a log line, an error, an event or a
// metric: the values the gate reads are registered with a redact.Scrubber
// that masks them in its logs and errors, events carry version ids, and the
// metric carries the secret's name.
package deactivation

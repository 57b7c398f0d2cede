// Package consumer is rotor's consumer SDK: an in-process cache of one
// secret that follows rotations without restarts, told by rotation events
// and backed by a poll.
//
// # What it improves on
//
// AWS's caching client (github.com/aws/aws-secretsmanager-caching-go,
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_cache-go.html)
// keeps a DescribeSecret result for a TTL (one hour by default, drawn from
// [TTL/2, TTL)), refreshes it synchronously, under a lock, in the read
// that finds it stale, and calls GetSecretValue only for a version id it
// has not cached. Its consumers therefore learn of a rotation up to an hour
// late, a read may block on AWS, and nothing reacts when a login fails.
// This cache keeps the cheap part (DescribeSecret first; GetSecretValue
// only for a version id whose value it does not hold, since a version's
// value never changes) and adds:
//
//   - reads that never block: [Cache.Current] loads an atomic pointer;
//   - push: rotor's "Rotation Completed" and Secrets Manager's own events
//     refresh the cache within seconds ([Cache.HandleEvent], [ListenSQS],
//     [LambdaHandler], [SQSLambdaHandler]);
//   - a poll ([Cache.Run], every TTL ± jitter, 5 minutes by default) for the
//     events that are lost;
//   - single-flight refreshes: concurrent callers share one;
//   - a path for refused logins ([Cache.AuthFailed]) that closes the
//     single-user window (below) and is rate-limited;
//   - hooks that run on a swap ([Cache.OnSwap]: a pool drains its old
//     connections), then an acknowledgement ("Consumer Acknowledged") that
//     the deactivation gate counts before it revokes the old credential.
//     Its source is the consumer's own, "rotor.consumer.<Consumer>"
//     ([events.ConsumerSource]), which the consumer's IAM role is limited
//     to, so that it proves who sent it; its detail names the instance
//     ([Options.Instance]), so that one replica does not speak for the
//     others.
//
// # Events are hints; DescribeSecret is the truth
//
// EventBridge delivers at least once, in no particular order, sometimes
// late, sometimes not at all. So an event only ever causes a
// DescribeSecret, and the cache follows AWSCURRENT as DescribeSecret
// reports it (a rollback included); an out-of-order event cannot move it
// backwards. Events known to change nothing cost no call:
//
//   - rotor "Rotation Completed" (detail.secretArn / secretName) whose
//     versionId is the cached AWSCURRENT (a duplicate) or one the cache
//     held before it (late: a move back would be a rollback, which has its
//     own event): no call; otherwise a refresh.
//   - rotor "Rotation Rolled Back": a refresh.
//   - rotor "Rotation Started", "Pending Set", "Tested": ignored. AWSCURRENT
//     has not moved; prefetching AWSPENDING would cost a GetSecretValue per
//     consumer per rotation for the rare single-user consumer that needs it,
//     and AuthFailed fetches it when one does. "Consumer Acknowledged"
//     (including the cache's own), "Credential Deactivated" and
//     "Rotation Failed" do not move AWSCURRENT: ignored.
//   - aws.secretsmanager "AWS Service Event via CloudTrail" with eventName
//     RotationSucceeded (detail.additionalEventData.SecretId): a refresh;
//     RotationStarted, RotationFailed and RotationAbandoned are ignored.
//   - aws.secretsmanager "AWS API Call via CloudTrail" for PutSecretValue,
//     UpdateSecret, UpdateSecretVersionStage, RestoreSecret
//     (detail.requestParameters.secretId): a refresh.
//   - aws.secretsmanager "Secret Label Updated" for AWSCURRENT (detail.name,
//     resources): none if its versionId is the cached one, else a refresh
//     (an older version here may be a real rollback).
//   - anything else, or another secret: ignored, no call.
//
// A refresh caused by an event is one that started after the event was
// received: joining a DescribeSecret already in flight could return the
// state from before the rotation the event reports. So a burst of events
// costs at most two DescribeSecrets, and events of one SQS batch share one.
// See https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-eventbridge.html.
//
// # The single-user window
//
// With the single-user strategy, setSecret changes the database password
// before finishSecret moves AWSCURRENT
// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html):
// for a moment only AWSPENDING's password logs in. A consumer whose login
// is refused calls [Cache.AuthFailed] with the version it used; the cache
// refreshes once for all the callers of that version, and returns the new
// AWSCURRENT if it moved, else the AWSPENDING version if it has a value,
// which [Cache.Current] then prefers until AWSCURRENT moves to it (the
// swap then needs no GetSecretValue) or TTL passes. Failures of the same
// version refresh at most once per [Options.AuthRetryInterval] (1 s), and
// a version that failed is not offered again for a TTL, so a consumer with
// a wrong password cannot hammer Secrets Manager.
//
// # Secret values
//
// A [Version]'s Value is never logged, put in an error or in an event: the
// cache's log lines and errors pass through a shared/redact scrubber that
// knows the values the cache holds, acknowledgements carry version ids,
// and [Stats] counts calls.
//
// # Permissions
//
// secretsmanager:DescribeSecret and secretsmanager:GetSecretValue on the
// secret; sqs:ReceiveMessage and sqs:DeleteMessage for [ListenSQS];
// events:PutEvents through the [Publisher] for acknowledgements, with the
// conditions events:source = "rotor.consumer.<Consumer>" and
// events:detail-type = "Consumer Acknowledged" (infra/rotor's
// ConsumerSubscription.Grant writes them).
package consumer

// Package lifecycle is the rotation engine: it runs the four steps of a
// Secrets Manager rotation (createSecret, setSecret, testSecret,
// finishSecret) with the service's staging rules, and hands the work on the
// target system to a [rotators.Rotator]. It knows nothing of databases; a
// rotator knows nothing of the secret store.
//
// The rules are those of AWS's rotation functions:
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html
//
//   - every step refuses a token that is not one of the secret's versions
//     and a version that is neither AWSCURRENT nor AWSPENDING. createSecret
//     and finishSecret describe the secret for it, and refuse a secret whose
//     rotation is disabled: the start, and the promotion, which is what
//     makes a rotation visible. setSecret and testSecret, in a cold
//     container, learn the labels from the two values they read anyway
//     (GetSecretValue answers a version's VersionStages, and AWSCURRENT's
//     VersionId) and do not check the flag, which only DescribeSecret
//     answers; in a warm one, which holds both values, they describe the
//     secret (one call) and check it (reads.go);
//   - a token whose version is already AWSCURRENT is a finished rotation:
//     every step succeeds at once, but testSecret, which is then the
//     configuration test (below);
//   - createSecret stores the pending value under the token only when the
//     version has none yet, so a retried step does not change it; a
//     duplicate delivery whose PutSecretValue loses the race
//     (ResourceExists) keeps the value the other one stored and succeeds;
//   - finishSecret moves AWSCURRENT, which is a no-op the second time, and
//     never to a version with no value.
//
// RotateSecret with RotateImmediately=false runs testSecret alone: the
// engine recognises it (a pending value equal to the current one, a
// pending version with no value, or a token that is AWSCURRENT) and runs
// the rotator's configuration test, which changes nothing.
//
// [Engine.Rollback] is the operator's rollback, per phase: before
// finishSecret it drops the pending version (after the rotator's
// [rotators.Undoer], if it is one), after it moves AWSCURRENT back; it
// leaves no AWSPENDING behind, so the next rotation can start.
//
// Each step is idempotent, so Secrets Manager may retry or repeat it after a
// crash anywhere. Secret values never reach a log line or an error: every
// value read or generated is registered with a [redact.Scrubber] that
// filters both.
//
// # Events
//
// An engine built with [Engine.WithEvents] publishes one rotor event
// (package events) at the end of every step, through a [Notifier] such as
// events/publish's Publisher: Rotation Started (createSecret), Rotation
// Pending Set (setSecret), Rotation Tested (testSecret), Rotation Completed
// (finishSecret), or Rotation Failed with the class of the error (never its
// text). A step that finds its work done publishes its event too, with
// outcome "skipped", so that a crash between the work and the publish loses
// no event (consumers dedupe on the version id). The events name the
// versions (previousVersionId is the version AWSCURRENT held before the
// rotation) and carry the pending value's fingerprint where the step read
// that value anyway; no value is read for an event. The configuration test
// of RotateImmediately=false is no rotation and is logged only. A rollback
// publishes Rotation Rolled Back. A publish that fails is logged and never
// fails the step; it is bounded by [PublishTimeout].
package lifecycle

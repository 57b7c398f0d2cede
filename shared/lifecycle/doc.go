// Package lifecycle is the rotation engine: it runs the four steps of a
// Secrets Manager rotation (createSecret, setSecret, testSecret,
// finishSecret) with the service's staging rules, and hands the work on the
// target system to a [rotators.Rotator]. It knows nothing of databases; a
// rotator knows nothing of the secret store.
//
// The rules are those of AWS's rotation functions:
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html
//
//   - every invocation describes the secret once and refuses a secret whose
//     rotation is disabled, a token that is not one of its versions, and a
//     version that is neither AWSCURRENT nor AWSPENDING;
//   - a token whose version is already AWSCURRENT is a finished rotation:
//     every step succeeds at once;
//   - createSecret stores the pending value under the token only when the
//     version has none yet, so a retried step does not change it;
//   - finishSecret moves AWSCURRENT, which is a no-op the second time.
//
// Each step is idempotent, so Secrets Manager may retry or repeat it after a
// crash anywhere. Secret values never reach a log line or an error: every
// value read or generated is registered with a [redact.Scrubber] that
// filters both.
package lifecycle

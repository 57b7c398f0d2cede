// Package memstore is an in-memory secret store with AWS Secrets Manager's
// versions and staging labels. Tests use it in place of Secrets Manager, and
// the local stack serves it over the AWS JSON protocol, so its operations are
// shaped like Secrets Manager's (one request and one response struct per
// operation, [Store.PutSecretValue], [Store.UpdateSecretVersionStage], ...)
// and its rules are those of the API reference, not of any emulator:
//
//   - PutSecretValue:
//     https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
//   - UpdateSecretVersionStage:
//     https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html
//   - GetSecretValue, DescribeSecret, ListSecretVersionIds, CreateSecret,
//     DeleteSecret, RestoreSecret:
//     https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Operations.html
//   - RotateSecret (the start of a rotation only: [Store.StartRotation], and
//     of the configuration test of RotateImmediately=false:
//     [Store.StartConfigurationTest]):
//     https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
//   - GetRandomPassword:
//     https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html
//
// [Store] also implements the engine's view of a store ([Store.Describe],
// [Store.Value], [Store.CurrentValue], [Store.PutPending], [Store.MoveStage],
// [Store.RandomPassword]) with the same contract as the awssm adapter.
//
// Every error is an [*APIError] that carries the name of the exception
// Secrets Manager would return and wraps one of the sentinels of package
// secretstore, so callers match it with [errors.Is] and the local endpoint
// can answer with the right exception type. No error carries a secret value.
//
// The store is safe for concurrent use. Its clock, version ids and ARN
// suffixes are injectable ([WithClock], [WithVersionIDs], [WithARNSuffixes])
// so that tests are deterministic. [Store.Snapshot] returns a deep copy of the
// whole state for "nothing changed" assertions; [Store.Save] and [Store.Load]
// persist it as JSON (secret values included, in clear: the file is the local
// stack's state, never a production store's).
package memstore

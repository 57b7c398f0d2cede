// Package secretstore holds what the secret-store adapters share: the staging
// labels, the description of a secret's versions, the requests the lifecycle
// engine makes, and the sentinel errors every adapter maps its cloud's errors
// to, so that callers match them with [errors.Is] whatever the cloud.
//
// The semantics are those of AWS Secrets Manager's versions and staging labels:
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html#term_version
//
// Adapters live in subpackages: awssm (AWS Secrets Manager over
// aws-sdk-go-v2) and memstore (an in-memory store with the same semantics,
// for tests and the local endpoint).
package secretstore

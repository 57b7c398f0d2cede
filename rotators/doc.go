// Package rotators holds the contract every credential type implements: the
// [Rotator] interface with one request/response pair per rotation step that
// touches the target system, and [InputError], the error a rotator returns for
// a secret it cannot act on.
//
// A rotator knows its target system (a database, an API) and nothing of the
// secret store: the lifecycle engine in shared/lifecycle reads and writes
// versions and staging labels, and hands the rotator the values it needs.
// Packages under rotators/ therefore never import a cloud SDK.
//
// The contracts follow the steps of a Secrets Manager rotation function:
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html
package rotators

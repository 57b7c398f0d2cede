// Package awssm is the secret-store adapter for AWS Secrets Manager, over
// aws-sdk-go-v2. It makes exactly the calls a rotation function needs
// (DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage,
// GetRandomPassword), through the narrow [API] interface that
// *secretsmanager.Client satisfies, and turns Secrets Manager's modelled
// errors into the sentinels of package secretstore at this edge, keeping the
// SDK error in the chain for [errors.As].
//
// The calls and their errors are those of the API reference:
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Operations.html
// and the staging rules those of a rotation function:
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html
//
// [NewFromEnv] configures the client as AWS's own rotation functions do:
// the SDK's default chain (which honours AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_SECRETS_MANAGER), then SECRETS_MANAGER_ENDPOINT, the
// variable AWS's rotation templates read, which wins when set.
//
// No secret value is ever part of an error or a log line of this package.
package awssm

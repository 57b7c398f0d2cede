// Package secretsmanager is the local endpoint's AWS Secrets Manager: the API
// on AWS's JSON 1.1 protocol over [memstore], one store per account and
// region, and rotation as AWS runs it.
//
// RotateSecret attaches AWSPENDING to a new version with no value, returns,
// and then invokes the rotation function for createSecret, setSecret,
// testSecret and finishSecret in turn, synchronously, with SecretId (the
// ARN), ClientRequestToken, Step and RotationToken. Before each step the
// service looks at the secret again: the attempt stops when the version has
// lost AWSPENDING (RotationAbandoned), when rotation was cancelled or the
// secret deleted, and a version already AWSCURRENT is done. A failed step
// stops the attempt and leaves AWSPENDING where it is; the service tries
// the whole rotation again, with the same token, [Options.Retries] times
// with exponential backoff from [Options.RetryBackoff] on the service's
// clock. A later RotateSecret is refused ("A previous rotation isn't
// complete") until the pending version is finished or its label removed;
// one naming the pending version's token retries it at once. Rotations of
// a secret never overlap: after AWS's documented recovery (AWSPENDING
// removed from the failed version, then RotateSecret) the new rotation
// begins as soon as the failed one has stopped, which it does at once
// instead of waiting for its next retry.
//
// With RotateImmediately=false only testSecret runs ("The test creates an
// AWSPENDING version of the secret and then removes it"): its token is a new
// version, AWSPENDING, holding a copy of the AWSCURRENT value, so that a
// function reading the AWSPENDING version of its token, as AWS's own
// functions do, tests the credential in use; the label is removed
// afterwards and a failed test is RotateSecret's InvalidRequestException.
// Rotation rules (AutomaticallyAfterDays, rate() and cron() schedules,
// Duration) drive a scheduler on the service's clock, which may run fast.
//
// Events go to the account's default event bus, in AWS's shapes: "Secret
// Label Updated" when a label other than AWSPENDING and AWSPREVIOUS moves, and
// "AWS Service Event via CloudTrail" with eventName RotationStarted,
// RotationSucceeded, RotationFailed or RotationAbandoned.
//
// API reference: https://docs.aws.amazon.com/secretsmanager/latest/apireference/;
// rotation: https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html;
// events: https://docs.aws.amazon.com/secretsmanager/latest/userguide/secret-event-notifications.html.
package secretsmanager

// Package secretsmanager is the local endpoint's AWS Secrets Manager: the API
// on AWS's JSON 1.1 protocol over [memstore], one store per account and
// region, and rotation as AWS runs it.
//
// RotateSecret attaches AWSPENDING to a new version with no value, returns,
// and then invokes the rotation function for createSecret, setSecret,
// testSecret and finishSecret in turn, synchronously, with SecretId (the
// ARN), ClientRequestToken, Step and RotationToken. A failed step stops the
// attempt and leaves AWSPENDING where it is; the service tries the whole
// rotation again, with the same token, [Options.Retries] times with
// exponential backoff from [Options.RetryBackoff] on the service's clock; a
// later RotateSecret is refused ("A previous rotation isn't complete") until
// the pending version is finished or its label removed. With
// RotateImmediately=false only testSecret runs, on an empty AWSPENDING
// version whose label is removed afterwards. Rotation rules
// (AutomaticallyAfterDays, rate() and cron() schedules, Duration) drive a
// scheduler on the service's clock, which may run fast.
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

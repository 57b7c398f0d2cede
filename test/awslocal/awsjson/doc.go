// Package awsjson serves AWS's JSON protocols (awsJson1_0 and awsJson1_1) and
// the REST routes the local endpoint needs, for rotor's local AWS endpoint.
//
// A request names its operation in the X-Amz-Target header
// ("secretsmanager.CreateSecret", "AWSEvents.PutEvents", "AmazonSQS.SendMessage");
// the body is the operation's JSON input; an error is a 4xx/5xx status with a
// body of {"__type": "<ErrorCode>", "message": "..."} and the code repeated in
// the X-Amzn-Errortype header. The caller's account and region come from the
// SigV4 Authorization header's credential scope, so SDKs, the AWS CLI and boto3
// work unchanged against an endpoint URL, and one endpoint serves several
// accounts.
//
// See https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html.
package awsjson

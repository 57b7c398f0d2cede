// Package awslocal is rotor's local AWS: one endpoint on loopback that
// serves Secrets Manager, EventBridge and SQS on AWS's JSON protocols and
// Lambda's Invoke API, so that aws-sdk-go-v2, the AWS CLI and boto3 work
// against it with only an endpoint URL, and that rotates secrets as AWS
// does, running the real rotation function binaries under AWS's Lambda
// Runtime Interface Emulator.
//
// The services live in subpackages ([secretsmanager], [eventbridge], [sqs],
// [lambda]); [Server] wires them together: Secrets Manager invokes rotation
// functions through the Lambda registry and sends its events to the
// account's default EventBridge bus; EventBridge delivers to Lambda
// functions, SQS queues and other buses. Every request's account is its
// access key's (a twelve-digit access key id is taken as the account id),
// so one endpoint hosts several accounts. State is in memory and is saved
// to [Options.StatePath], when set, on [Server.Close], and loaded at start.
//
// cmd/rotor-local runs it as a program.
package awslocal

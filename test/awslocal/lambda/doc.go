// Package lambda is the Lambda part of rotor's local AWS endpoint: a
// [Registry] from function ARN to something that runs, the Lambda Invoke
// REST API over it ([Registry.Routes]), and three kinds of function:
//
//   - [RIE]: a real Lambda bootstrap (a functions/<name> binary built with
//     -tags lambda.norpc) under AWS's Lambda Runtime Interface Emulator,
//     aws-lambda-rie, pinned as [RIEModule]@[RIEVersion] and found or
//     installed by [EnsureRIE]. The binary is the one `make build` ships, so
//     a rotation run locally exercises the same main, configuration and
//     runtime loop as in AWS.
//   - [Cold]: the same, with a new aws-lambda-rie and bootstrap process for
//     every invocation (a cold start each time), reporting the function
//     process's CPU time and the invocation's wall time, for benchmarks.
//   - [Handler]: an aws-lambda-go handler called in process, for unit tests
//     that need a function but not a process.
//
// All report what the function itself reported (a returned error, a
// panic, a crash, a timeout) as a [*FunctionError], the errorType and
// errorMessage Lambda puts in a response with X-Amz-Function-Error:
// Unhandled. Any other error means the function could not be run at all.
// Secrets Manager treats the two the same (the step failed), but a test
// that expects a step to fail must know it failed for its own reason.
//
// What aws-lambda-rie does, which this package works around (checked
// against its source at [RIEVersion]):
//
//   - It serves one invocation at a time and crashes (nil dereference) on a
//     second concurrent one, so [RIE] serializes invocations, and holds the
//     slot until an abandoned invocation has really ended.
//   - It reports a handled function error as 200 with the runtime's body
//     {"errorMessage","errorType"} and no header; a crash or a panic (the Go
//     runtime exits after one) as 502 with that shape; a crash during init
//     as 502 with no body; a timeout as 200 with the text "Task timed out
//     after N.00 seconds". [RIE] maps each to the [*FunctionError] Lambda
//     reports (errorType, Runtime.ExitError, Sandbox.Timedout). A
//     successful response that has exactly the error shape is taken for an
//     error (AWS SAM CLI draws the same line); rotation functions return
//     null.
//   - After a crash, a panic or a timeout it starts a new process on the
//     next invocation, as Lambda starts a new execution environment.
//   - It passes its whole environment to the function and reads some of it
//     itself (LOG_LEVEL, AWS_LAMBDA_FUNCTION_TIMEOUT in whole seconds,
//     AWS_LAMBDA_MAX_CONCURRENCY, which switches it to another mode), so
//     [StartRIE] builds the environment from nothing and refuses the
//     variables Lambda reserves.
//   - It starts the function in a process group of its own, so [RIE.Close]
//     also ends the function's group when aws-lambda-rie did not.
//   - It reports the function ARN as arn:aws:lambda:us-east-1:012345678912
//     whatever the function's real ARN: lambdacontext's InvokedFunctionArn
//     is not the registered one under RIE (it is in process).
//
// See https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html and
// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html.
package lambda

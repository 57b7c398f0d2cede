// Package awstest holds the SDK steps that tests of the local endpoint
// ([awslocal]) share: a client configuration for it, a count of its API
// calls, a queue subscribed to a bus by a rule, and the messages that
// reached a queue once EventBridge has delivered what was in flight.
//
// The test forms fail the test on error; [CreateQueue] and [PutRoute]
// return it, for programs such as cmd/rotor-demo.
package awstest

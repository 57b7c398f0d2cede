// Package rotor holds rotor's CDK constructs, for rotor's own app and for
// anyone's CDK app in Go:
//
//   - [NewFingerprintKey]: an environment's HMAC key of event fingerprints;
//   - [NewRotatorFunction]: a rotation function (arm64, provided.al2023) with its
//     own role, log group, optional VPC placement and service endpoints; it is
//     also the deactivation gate of its secrets (a rule for their
//     acknowledgements and completed rotations, an hourly schedule);
//   - [NewRotatedSecret]: a secret, its KMS encryption, its staggered rotation
//     schedule and its resource policy, wired to a rotator;
//   - [NewRotationEvents]: the environment's event bus, its archive and the
//     rules that bring Secrets Manager's events in and send everything to audit;
//   - [NewAuditBus]: the security account's bus, open to the listed accounts,
//     and its CloudWatch Logs sink;
//   - [NewConsumerSubscription]: a consumer's queue, function or other account,
//     with a dead-letter queue, a rule on its secrets and its registration
//     tag on them; [ConsumerSubscription.Grant] gives the consumer's own role
//     what acknowledging takes;
//   - [NewMonitoring]: alarms and a dashboard.
//
// Each constructor takes (scope, id, *Props), creates its own child scope and
// returns a struct whose methods expose what callers wire, in the style of the
// AWS CDK Go examples. Least privilege is a property of the constructs, not of
// the app: a rotator's role gains access to a secret only when a RotatedSecret
// names that rotator, and then only to that secret's ARN and key.
//
// Event names in events.go mirror the events/ package (rotor's event schema):
// they are the contract between the functions that publish and the rules here.
package rotor

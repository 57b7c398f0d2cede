package rotor

// The names below mirror rotor's events/ package (the event schema of the
// rotation events issue). They are repeated here, not imported, because infra
// is its own module that imports CDK only; a change on either side must be
// made on both.

// EventSource is the "source" of every event rotor publishes, but the
// consumers' acknowledgements.
const EventSource = "rotor"

// ConsumerSourcePrefix starts the source of a consumer's acknowledgements,
// "rotor.consumer.<name>": IAM's events:source condition lets each
// consumer's role send its own acknowledgements and no other consumer's
// (a name inside the detail is beyond IAM's conditions).
const ConsumerSourcePrefix = "rotor.consumer."

// ConsumerSource is the source of consumer name's acknowledgements.
func ConsumerSource(name string) string { return ConsumerSourcePrefix + name }

// Detail types of rotor's events, one per phase of a rotation.
const (
	DetailRotationStarted       = "Rotation Started"
	DetailRotationPendingSet    = "Rotation Pending Set"
	DetailRotationTested        = "Rotation Tested"
	DetailRotationCompleted     = "Rotation Completed"
	DetailConsumerAcknowledged  = "Consumer Acknowledged"
	DetailCredentialDeactivated = "Credential Deactivated"
	DetailRotationFailed        = "Rotation Failed"
	DetailRotationRolledBack    = "Rotation Rolled Back"
)

// DetailTypes lists every detail type rotor publishes.
var DetailTypes = []string{
	DetailRotationStarted, DetailRotationPendingSet, DetailRotationTested,
	DetailRotationCompleted, DetailConsumerAcknowledged, DetailCredentialDeactivated,
	DetailRotationFailed, DetailRotationRolledBack,
}

// Fields of an event's "detail". Values of secrets never appear in events.
const (
	FieldSchemaVersion     = "schemaVersion"
	FieldSecretArn         = "secretArn"
	FieldSecretName        = "secretName"
	FieldAccount           = "account"
	FieldRegion            = "region"
	FieldPhase             = "phase"
	FieldVersionID         = "versionId"
	FieldPreviousVersionID = "previousVersionId"
	FieldOutcome           = "outcome"
	FieldErrorClass        = "errorClass"
	FieldFingerprint       = "fingerprint"
	FieldConsumer          = "consumer" // Consumer Acknowledged only
	FieldInstance          = "instance" // Consumer Acknowledged only
)

// Secrets Manager's own events, as EventBridge delivers them on the default bus.
const (
	SecretsManagerSource       = "aws.secretsmanager"
	DetailCloudTrailService    = "AWS Service Event via CloudTrail"
	EventNameRotationFailed    = "RotationFailed"
	EventNameRotationAbandoned = "RotationAbandoned"
	EventNameRotationSucceeded = "RotationSucceeded"
)

// AWS Config's compliance events, for the rotation window check.
const (
	ConfigSource             = "aws.config"
	DetailComplianceChange   = "Config Rules Compliance Change"
	ComplianceNonCompliant   = "NON_COMPLIANT"
	RotationWindowConfigRule = "SECRETSMANAGER_SCHEDULED_ROTATION_SUCCESS_CHECK"
)

// Metrics. Rotor's functions publish MetricUnacknowledgedConsumers (the
// deactivation gate: how many registered consumers have not acknowledged the
// current version, per secret); the stack derives the others from events, in
// a namespace per environment so that two environments sharing an account
// keep apart.
const (
	MetricNamespace               = "Rotor"
	MetricUnacknowledgedConsumers = "UnacknowledgedConsumers"
	DimensionSecretName           = "SecretName"
	MetricRotationFailures        = "RotationFailures"
	MetricSecretsPastWindow       = "SecretsPastRotationWindow"
)

// EnvironmentNamespace is the namespace of the metrics the stack derives from
// events for one environment: "Rotor/<environment>".
func EnvironmentNamespace(environment string) string {
	return MetricNamespace + "/" + environment
}

// Environment variables of the rotation functions.
const (
	EnvRotationStrategy  = "ROTATION_STRATEGY"
	EnvPasswordLength    = "PASSWORD_LENGTH"
	EnvExcludeCharacters = "EXCLUDE_CHARACTERS"
	EnvPasswordSource    = "PASSWORD_SOURCE"
	EnvLogLevel          = "LOG_LEVEL"
	EnvEventBus          = "ROTOR_EVENT_BUS"
	// EnvFingerprintKeySecret names the secret whose AWSCURRENT value is
	// the HMAC-SHA-256 key of the events' fingerprints.
	EnvFingerprintKeySecret = "ROTOR_FINGERPRINT_KEY_SECRET"
	// EnvGracePeriod is the deactivation gate's grace period (a Go duration).
	EnvGracePeriod = "ROTOR_GRACE_PERIOD"
	// EnvLockIdleUser is "true" when the gate locks the idle user of
	// alternating users (PostgreSQL: ALTER ROLE ... NOLOGIN).
	EnvLockIdleUser = "ROTOR_LOCK_IDLE_USER"
	// EnvGateSecrets lists, comma-separated, the secrets the gate's hourly
	// sweep evaluates; unset, the gate lists every secret with a
	// registration tag (ListSecrets).
	EnvGateSecrets = "ROTOR_GATE_SECRETS"
)

// DefaultGracePeriod is ROTOR_GRACE_PERIOD's default, the gate's own.
const DefaultGracePeriod = "24h"

// Tags on a secret: a consumer's registration ("rotor:consumer:<name>",
// written by [NewConsumerSubscription]; its value the kind, then
// "account=<id>" and "instances=<n>" when they are not the defaults), and
// what the deactivation gate records ("rotor:ack:<hash>" = "<version id>
// <consumer> <instance>" per instance, "rotor:deactivated" and
// "rotor:not-revoked" = version id, and an operator's emergency rotation:
// "rotor:emergency" = version id, "rotor:emergency-reason"). The names
// mirror shared/deactivation.
const (
	ConsumerTagPrefix     = "rotor:consumer:"
	AckTagPrefix          = "rotor:ack:"
	DeactivatedTag        = "rotor:deactivated"
	NotRevokedTag         = "rotor:not-revoked"
	EmergencyTag          = "rotor:emergency"
	EmergencyReasonTag    = "rotor:emergency-reason"
	RegistrationAccount   = "account"
	RegistrationInstances = "instances"
)

// MaxInstances is the most instances a registration may declare: each
// takes a tag of the secret's 50.
const MaxInstances = 50

// Consumer kinds, the values of the registration tags.
const (
	ConsumerKindSQS    = "sqs"
	ConsumerKindLambda = "lambda"
	ConsumerKindBus    = "bus"
)

// ScheduledEventSource is the source of EventBridge's scheduled events,
// which wake the deactivation gate so that grace periods expire without new
// events.
const ScheduledEventSource = "aws.events"

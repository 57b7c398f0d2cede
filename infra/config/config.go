package config

// File is the whole environments file. The JSON names below are the schema;
// README.md ("The environments file") documents each field.
type File struct {
	// Audit is the security account that receives every environment's rotation
	// events. Optional: without it, events stay in each environment's bus.
	Audit *Audit `json:"audit,omitempty"`
	// Environments are deployed one stage each, in the order given.
	Environments []Environment `json:"environments"`
	// Pipeline, when set, adds a CDK Pipelines pipeline in a tooling account
	// that deploys the audit stage, then each environment in file order.
	// Optional: without it, stages are deployed by hand (cdk deploy).
	Pipeline *Pipeline `json:"pipeline,omitempty"`
}

// Pipeline is the CDK Pipelines pipeline: where it lives and what it watches.
type Pipeline struct {
	// Account and Region are the tooling account's, where the pipeline stack
	// (rotor-pipeline) is deployed and from which every stage is deployed.
	Account string `json:"account"`
	Region  string `json:"region"`
	// ConnectionArn is an AWS CodeConnections (formerly CodeStar Connections)
	// connection to the source provider, in the tooling account.
	ConnectionArn string `json:"connectionArn"`
	// Repository is the repository's full name, "owner/name".
	Repository string `json:"repository"`
	// Branch is the branch whose pushes deploy; default "main".
	Branch string `json:"branch,omitempty"`
}

// Audit is the central audit account and region.
type Audit struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	// BusName is the audit event bus; default "rotor-audit".
	BusName string `json:"busName,omitempty"`
	// LogRetentionDays is how long the audit log group keeps events; default
	// 3653 (ten years). It must be one of CloudWatch Logs' retention values.
	LogRetentionDays *int `json:"logRetentionDays,omitempty"`
}

// Environment is one deployment target: one CDK stage, one stack.
type Environment struct {
	// Name is lower case letters, digits and dashes, starting with a letter,
	// at most 20 characters; it is part of resource names.
	Name    string `json:"name"`
	Account string `json:"account"`
	Region  string `json:"region"`
	// Production marks the environments that need a manual approval in the
	// pipeline. It changes nothing else.
	Production bool `json:"production,omitempty"`
	// AlarmTopicArn, when set, is an existing SNS topic that every alarm notifies.
	AlarmTopicArn string `json:"alarmTopicArn,omitempty"`
	// EventArchiveDays is how long the bus archive keeps events for replay;
	// default 30, 0 keeps them forever.
	EventArchiveDays *int `json:"eventArchiveDays,omitempty"`
	// RotationWindowCheck deploys the AWS Config managed rule
	// SECRETSMANAGER_SCHEDULED_ROTATION_SUCCESS_CHECK and an alarm on its
	// NON_COMPLIANT results. It needs an AWS Config recorder in the account.
	RotationWindowCheck bool `json:"rotationWindowCheck,omitempty"`

	Rotators  []Rotator  `json:"rotators"`
	Secrets   []Secret   `json:"secrets"`
	Consumers []Consumer `json:"consumers,omitempty"`
}

// Rotator is one rotation function (one Lambda function, one role).
type Rotator struct {
	// Name is unique in the environment; secrets name their rotator by it.
	Name string `json:"name"`
	// Function is the folder under functions/ and dist/ ("postgres").
	Function string `json:"function"`
	// Strategy is "alternating-users" (default) or "single-user".
	Strategy string `json:"strategy,omitempty"`
	// PasswordLength is 16 to 128; default 32.
	PasswordLength *int `json:"passwordLength,omitempty"`
	// ExcludeCharacters are never used in passwords; default: the function's own.
	ExcludeCharacters *string `json:"excludeCharacters,omitempty"`
	// PasswordSource is "local" (default) or "secretsmanager" (GetRandomPassword).
	PasswordSource string `json:"passwordSource,omitempty"`
	// LogLevel is "debug", "info" (default), "warn" or "error".
	LogLevel string `json:"logLevel,omitempty"`
	// LogRetentionDays is a CloudWatch Logs retention value; default 90.
	LogRetentionDays *int `json:"logRetentionDays,omitempty"`
	// ReservedConcurrency is 1 to 1000; default 5.
	ReservedConcurrency *int `json:"reservedConcurrency,omitempty"`
	// TimeoutSeconds is 5 to 900; default 30.
	TimeoutSeconds *int `json:"timeoutSeconds,omitempty"`
	// Tracing turns on AWS X-Ray active tracing.
	Tracing bool `json:"tracing,omitempty"`
	// GracePeriod is how long after a rotation the deactivation gate waits
	// for every consumer's acknowledgement before it deactivates the previous
	// credential anyway: a Go duration from 5m to 720h; default "24h".
	GracePeriod string `json:"gracePeriod,omitempty"`
	// LockIdleUser makes the gate lock the idle user of alternating users
	// (ALTER ROLE ... NOLOGIN) once every consumer has acknowledged, or the
	// grace period has passed. Only with strategy alternating-users.
	LockIdleUser bool `json:"lockIdleUser,omitempty"`
	// VPC places the function in the database's VPC. Optional.
	VPC *VPC `json:"vpc,omitempty"`
}

// VPC is an existing VPC, given by its identifiers so that synth needs no
// lookup (and so no AWS credentials).
type VPC struct {
	VpcID             string   `json:"vpcId"`
	AvailabilityZones []string `json:"availabilityZones"`
	// SubnetIDs are the function's subnets, one per availability zone, in the
	// same order.
	SubnetIDs []string `json:"subnetIds"`
	// DatabaseSecurityGroupID gets an ingress rule from the function's security
	// group on DatabasePort. Give it, or DatabaseCidr, not both.
	DatabaseSecurityGroupID string `json:"databaseSecurityGroupId,omitempty"`
	// DatabaseCidr is where the function's security group may connect to on
	// DatabasePort, when the database's security group is not managed here.
	DatabaseCidr string `json:"databaseCidr,omitempty"`
	DatabasePort int    `json:"databasePort"`
	// HasNat says the subnets reach AWS's public endpoints through a NAT. When
	// false, the stack creates interface endpoints for Secrets Manager and
	// EventBridge in the subnets.
	HasNat bool `json:"hasNat,omitempty"`
}

// Secret is one rotated secret.
type Secret struct {
	// Name is the Secrets Manager name, e.g. "app/orders/postgres".
	Name string `json:"name"`
	// Rotator is the name of the environment's rotator that rotates it.
	Rotator string `json:"rotator"`
	// Database is the connection part of the secret's initial value; the
	// password is generated by Secrets Manager at creation.
	Database Database `json:"database"`
	// MasterSecretArn is the complete ARN (with its six-character suffix) of
	// the secret whose user changes the alternating users' passwords. Required
	// when the rotator's strategy is alternating-users.
	MasterSecretArn string `json:"masterSecretArn,omitempty"`
	// MasterSecretKmsKeyArn is the customer managed key of the master secret,
	// when it has one (for example an RDS-managed master secret with a CMK).
	MasterSecretKmsKeyArn string   `json:"masterSecretKmsKeyArn,omitempty"`
	Rotation              Rotation `json:"rotation"`
	// Readers are the IAM role or user ARNs that may read the secret's value
	// besides its rotator; everyone else is denied by the resource policy.
	Readers []string `json:"readers,omitempty"`
}

// Database is the connection in a database secret, in the JSON AWS's own
// rotation functions use.
type Database struct {
	// Engine is "postgres".
	Engine   string `json:"engine"`
	Host     string `json:"host"`
	Port     int    `json:"port,omitempty"`
	Username string `json:"username"`
	DBName   string `json:"dbname,omitempty"`
	// SSL defaults to true.
	SSL *bool `json:"ssl,omitempty"`
}

// Rotation is when a secret rotates: exactly one of Days, Months and
// ScheduleExpression, and a window.
type Rotation struct {
	// Days (1 to 28): windows open every Days days from the first of each month.
	Days int `json:"days,omitempty"`
	// Months (1 to 12): windows open every Months months, on a day of the
	// month chosen from the secret's name.
	Months int `json:"months,omitempty"`
	// ScheduleExpression is a Secrets Manager rate() or cron() expression, used
	// as it is (not staggered).
	ScheduleExpression string `json:"scheduleExpression,omitempty"`
	// WindowHours is the rotation window, 1 to 24; default 2.
	WindowHours int `json:"windowHours,omitempty"`
}

// Consumer types.
const (
	ConsumerSQS     = "sqs"
	ConsumerLambda  = "lambda"
	ConsumerAccount = "account"
)

// Consumer is a service told about rotations of some secrets.
type Consumer struct {
	// Name is unique in the environment; it is part of queue names.
	Name string `json:"name"`
	// Type is "sqs" (a queue is created for it), "lambda" (an existing
	// function is invoked) or "account" (events go to another account's bus).
	Type string `json:"type"`
	// Secrets are names of the environment's secrets.
	Secrets []string `json:"secrets"`
	// FunctionArn is the Lambda consumer's function (type "lambda").
	FunctionArn string `json:"functionArn,omitempty"`
	// Account, Region and BusName are the other account's event bus (type
	// "account"); Region defaults to the environment's, BusName to "default".
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
	BusName string `json:"busName,omitempty"`
	// Instances is how many replicas of the consumer run at most; the
	// deactivation gate waits for that many to acknowledge (default 1,
	// at most 50: each takes a tag of the secret).
	Instances *int `json:"instances,omitempty"`
}

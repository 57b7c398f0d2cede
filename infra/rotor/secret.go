package rotor

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// DatabaseConnection is the initial value of a database secret, without the
// password, in the JSON AWS's own rotation functions use (engine, host, port,
// username, dbname, ssl; masterarn comes from MasterSecret).
type DatabaseConnection struct {
	Engine   string
	Host     string
	Port     int
	Username string
	DBName   string
	SSL      bool
}

// RotatedSecretProps configure a rotated secret.
type RotatedSecretProps struct {
	// SecretName is the secret's name in Secrets Manager. Required.
	SecretName string
	// EncryptionKey encrypts the secret: the environment's key. Required.
	EncryptionKey awskms.IKey
	// Rotator rotates the secret; its role gains access to this secret only. Required.
	Rotator *RotatorFunction
	// Connection is the secret's initial value; Secrets Manager generates the
	// password. Required.
	Connection DatabaseConnection
	// ExcludeCharacters are left out of the generated initial password.
	ExcludeCharacters *string
	// MasterSecret is the secret whose user changes the alternating users'
	// passwords (masterarn); the rotator may read it. Optional.
	MasterSecret awssecretsmanager.ISecret
	// MasterSecretKey is MasterSecret's customer managed key, if it has one.
	MasterSecretKey awskms.IKey
	// Rotation is the schedule and window.
	Rotation Rotation
	// RotateImmediately rotates when the schedule is created or changed. Right
	// for alternating users, whose first rotation makes the secret valid; wrong
	// for a single user, whose current password must be put in the secret first.
	RotateImmediately bool
	// ReaderArns are the IAM roles and users that may read the secret's value
	// besides the rotator; the resource policy denies everyone else.
	ReaderArns []string
}

// RotatedSecret is a secret with its rotation schedule and resource policy.
type RotatedSecret struct {
	secret   awssecretsmanager.Secret
	schedule awssecretsmanager.CfnRotationSchedule
	policy   awssecretsmanager.ResourcePolicy
	expr     string
	duration string
}

// NewRotatedSecret creates the secret, wires it to its rotator and schedules
// its rotation.
func NewRotatedSecret(scope constructs.Construct, id string, props *RotatedSecretProps) *RotatedSecret {
	if props == nil || props.SecretName == "" || props.EncryptionKey == nil || props.Rotator == nil {
		panic("rotor: NewRotatedSecret: SecretName, EncryptionKey and Rotator are required")
	}
	s := constructs.NewConstruct(scope, jsii.String(id))
	r := &RotatedSecret{}
	r.expr, r.duration = props.Rotation.Expression(props.SecretName)

	conn := props.Connection
	template := map[string]any{
		"engine":   conn.Engine,
		"host":     conn.Host,
		"port":     conn.Port,
		"username": conn.Username,
		"ssl":      conn.SSL,
	}
	if conn.DBName != "" {
		template["dbname"] = conn.DBName
	}
	if props.MasterSecret != nil {
		// ToJsonString, not encoding/json: the ARN may be a token.
		template["masterarn"] = props.MasterSecret.SecretArn()
	}
	r.secret = awssecretsmanager.NewSecret(s, jsii.String("Secret"), &awssecretsmanager.SecretProps{
		SecretName:    jsii.String(props.SecretName),
		Description:   jsii.String("rotated by rotor"),
		EncryptionKey: props.EncryptionKey,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: awscdk.Stack_Of(s).ToJsonString(template, nil),
			GenerateStringKey:    jsii.String("password"),
			ExcludeCharacters:    props.ExcludeCharacters,
			PasswordLength:       jsii.Number(32),
		},
		// A deleted stack must not take the credentials with it.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	fn := props.Rotator
	fn.AllowRotation(r.secret, props.EncryptionKey)
	// The rotator is also the secret's deactivation gate.
	fn.gate(props.SecretName, r.secret)
	if props.MasterSecret != nil {
		fn.AllowMasterSecret(props.MasterSecret, props.MasterSecretKey)
	}

	r.schedule = awssecretsmanager.NewCfnRotationSchedule(s, jsii.String("RotationSchedule"), &awssecretsmanager.CfnRotationScheduleProps{
		SecretId:          r.secret.SecretArn(),
		RotationLambdaArn: fn.Function().FunctionArn(),
		RotationRules: &awssecretsmanager.CfnRotationSchedule_RotationRulesProperty{
			ScheduleExpression: jsii.String(r.expr),
			Duration:           jsii.String(r.duration),
		},
		RotateImmediatelyOnUpdate: jsii.Bool(props.RotateImmediately),
	})
	// Secrets Manager checks it may invoke the function, and a first rotation
	// may start at once: the permission and the role's policies come first.
	r.schedule.Node().AddDependency(fn.InvokePermission(), fn.Role())

	// Deny reading the value to every principal but the rotator and the readers.
	readers := []string{*fn.Role().RoleArn()}
	readers = append(readers, props.ReaderArns...)
	// Through the secret, so that a later AddToResourcePolicy by a caller adds
	// to this policy instead of creating a second one, which Secrets Manager
	// would refuse.
	r.secret.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("DenyReadExceptRotatorAndReaders"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("secretsmanager:GetSecretValue"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{
			"StringNotEquals": map[string]any{"aws:PrincipalArn": jsii.Strings(readers...)},
		},
	}))
	r.policy = r.secret.Node().FindChild(jsii.String("Policy")).(awssecretsmanager.ResourcePolicy)
	return r
}

// Secret is the secret.
func (r *RotatedSecret) Secret() awssecretsmanager.Secret { return r.secret }

// Schedule is the rotation schedule.
func (r *RotatedSecret) Schedule() awssecretsmanager.CfnRotationSchedule { return r.schedule }

// ResourcePolicy is the secret's resource policy.
func (r *RotatedSecret) ResourcePolicy() awssecretsmanager.ResourcePolicy { return r.policy }

// ScheduleExpression is the (staggered) schedule expression.
func (r *RotatedSecret) ScheduleExpression() string { return r.expr }

// Window is the rotation window, as Secrets Manager's Duration ("2h").
func (r *RotatedSecret) Window() string { return r.duration }

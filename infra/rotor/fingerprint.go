package rotor

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// FingerprintKeyLength is the length of the generated key: 64 letters and
// digits, about 380 bits, well above the 32 bytes the functions require of
// an HMAC-SHA-256 key.
const FingerprintKeyLength = 64

// FingerprintKeyProps configure an environment's fingerprint key.
type FingerprintKeyProps struct {
	// SecretName is the key's secret's name. Required.
	SecretName string
	// EncryptionKey encrypts the secret: the environment's key. Required.
	EncryptionKey awskms.IKey
}

// FingerprintKey is the secret whose AWSCURRENT SecretString is the
// deployment's HMAC-SHA-256 key for event fingerprints
// (ROTOR_FINGERPRINT_KEY_SECRET). Secrets Manager generates it at creation;
// rotor never rotates it, since a new key changes every fingerprint and
// events from before and after could no longer be compared. Its resource
// policy denies reading it to every principal but the rotators given to
// [FingerprintKey.AllowRead].
type FingerprintKey struct {
	secret  awssecretsmanager.Secret
	key     awskms.IKey
	deny    awsiam.PolicyStatement
	readers []*string
}

// NewFingerprintKey creates the key's secret, retained when the stack goes.
func NewFingerprintKey(scope constructs.Construct, id string, props *FingerprintKeyProps) *FingerprintKey {
	if props == nil || props.SecretName == "" || props.EncryptionKey == nil {
		panic("rotor: NewFingerprintKey: SecretName and EncryptionKey are required")
	}
	s := constructs.NewConstruct(scope, jsii.String(id))
	k := &FingerprintKey{key: props.EncryptionKey}
	k.secret = awssecretsmanager.NewSecret(s, jsii.String("Secret"), &awssecretsmanager.SecretProps{
		SecretName:    jsii.String(props.SecretName),
		Description:   jsii.String("rotor: HMAC-SHA-256 key of event fingerprints; not rotated"),
		EncryptionKey: props.EncryptionKey,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(FingerprintKeyLength),
			ExcludePunctuation: jsii.Bool(true),
		},
		// Fingerprints in archived events were made with this key.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	suppress(k.secret, "AwsSolutions-SMG4",
		"the fingerprint key is deliberately never rotated: a new key would change every event fingerprint, "+
			"so that events before and after the change could no longer be matched; it signs, it grants no access")
	k.deny = awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("DenyReadExceptRotors"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("secretsmanager:GetSecretValue"),
		Resources:  jsii.Strings("*"),
	})
	k.secret.AddToResourcePolicy(k.deny)
	k.setReaders()
	return k
}

// setReaders writes the deny statement's exceptions: AddCondition replaces
// the key's value, so the whole list each time. With no reader yet the list
// holds the account root, which no role matches, so nobody reads.
func (k *FingerprintKey) setReaders() {
	readers := k.readers
	if len(readers) == 0 {
		stack := awscdk.Stack_Of(k.secret)
		readers = []*string{stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("iam"), Region: jsii.String(""), Resource: jsii.String("root"),
		})}
	}
	k.deny.AddCondition(jsii.String("StringNotEquals"), map[string]any{"aws:PrincipalArn": readers})
}

// AllowRead lets role read the key (GetSecretValue on its ARN only, and
// kms:Decrypt through Secrets Manager) and adds it to the resource policy's
// exceptions.
func (k *FingerprintKey) AllowRead(role awsiam.IRole) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: jsii.Strings(*k.secret.SecretArn()),
	}))
	k.readers = append(k.readers, role.RoleArn())
	k.setReaders()
}

// Secret is the key's secret.
func (k *FingerprintKey) Secret() awssecretsmanager.Secret { return k.secret }

// EncryptionKey is the KMS key that encrypts the secret.
func (k *FingerprintKey) EncryptionKey() awskms.IKey { return k.key }

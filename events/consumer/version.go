package consumer

// Version is one version of a secret as the cache holds it.
type Version struct {
	// ID is the version id (ClientRequestToken of the rotation that made it).
	ID string
	// Value is the secret value (SecretString bytes). Never log it.
	Value []byte
	// Stages are the staging labels the version carried when it was read.
	Stages []string
}

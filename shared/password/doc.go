// Package password generates passwords locally with crypto/rand, within the
// characters a target accepts, so that no target ever receives a password it
// rejects. Its character classes are those of Secrets Manager's
// GetRandomPassword, so that the local generator and the store's generator
// mean the same thing by a [Spec]:
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html
package password

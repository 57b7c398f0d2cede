// Package storetest is a table of Secrets Manager scenarios (create, put
// with stages, move stages, describe, get by version and by stage,
// idempotent and conflicting puts, unknown secrets and versions,
// GetRandomPassword's constraints) that runs against any implementation:
// memstore, and the real SDK against moto_server through awssm. Running the
// same table on both, and comparing their outcomes step by step, is how the
// fake is checked against a second, independent implementation.
//
// Every step states what AWS's API reference says should happen
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/). Where
// moto does otherwise, the step says so in [Step.MotoDiffers], and only
// that step's expectation is not checked against moto.
package storetest

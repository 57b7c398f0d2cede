// Package config reads and validates the environments file (environments.json)
// that tells the CDK app which environments exist, in which account and region,
// and which rotators, secrets and consumers live in each.
//
// The file is decoded strictly: an unknown field, a value of the wrong JSON type
// and a rule broken by a value are all errors, and every error names the field
// by its path in the file (environments[1].secrets[0].rotation.scheduleExpression),
// so that a mistake in a fleet of environments is found without reading code.
// Nothing here imports CDK or jsii: the file is checked in plain Go, before a
// node process starts, and its tests run in milliseconds.
package config

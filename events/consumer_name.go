package events

import (
	"errors"
	"fmt"
	"strings"
)

// Consumers register on a secret with a tag "rotor:consumer:<name>" and
// are acknowledged with "rotor:ack:<name>" (shared/deactivation), so a
// consumer name obeys Secrets Manager's tag rules (API reference: Tag,
// TagResource): keys of at most 128 characters, no "aws:" prefix.

// ConsumerTagPrefix starts the tag key of a consumer's registration.
const ConsumerTagPrefix = "rotor:consumer:"

// MaxConsumerNameLen keeps "rotor:consumer:<name>", the longer of the keys
// a name makes, within the 128 characters of a tag key.
const MaxConsumerNameLen = 128 - len(ConsumerTagPrefix)

// consumerNameChars are the characters allowed in a consumer name: those
// Secrets Manager allows in tags everywhere ("letters, spaces, and numbers
// representable in UTF-8, plus + - = . _ : / @"), narrowed to ASCII, which
// ListSecrets' filter values also require, and without the space, which
// would read badly in logs, metrics and events.
const consumerNameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-=._:/@"

// CheckConsumerName checks a consumer name. The error says what is wrong;
// callers wrap it with the name of their field.
func CheckConsumerName(name string) error {
	switch {
	case name == "":
		return errors.New("missing")
	case len(name) > MaxConsumerNameLen:
		return fmt.Errorf("longer than %d characters", MaxConsumerNameLen)
	case strings.HasPrefix(strings.ToLower(name), "aws:"):
		return errors.New(`starts with "aws:", which AWS reserves`)
	}
	return CheckTagChars(name)
}

// CheckTagChars checks that s holds only characters allowed in a consumer
// name (and in the version ids the gate writes as tag values).
func CheckTagChars(s string) error {
	if i := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune(consumerNameChars, r) }); i >= 0 {
		return fmt.Errorf("character %d is not a letter, a digit or one of + - = . _ : / @", i+1)
	}
	return nil
}

// ConsumerSourcePrefix starts the EventBridge "source" of a consumer's
// acknowledgements: "rotor.consumer.<name>". IAM conditions on
// events:PutEvents can name a source (events:source) and a detail-type,
// never a field of the detail, so the source is where a consumer's name
// can be proved: the CDK constructs let each consumer's role put events of
// its own source only, and the deactivation gate refuses an
// acknowledgement whose detail names another consumer than its source.
const ConsumerSourcePrefix = Source + ".consumer."

// ConsumerSource is the source of consumer name's acknowledgements.
func ConsumerSource(name string) string { return ConsumerSourcePrefix + name }

// ConsumerOfSource returns the consumer a source of [ConsumerSource] names.
func ConsumerOfSource(source string) (string, bool) {
	name, ok := strings.CutPrefix(source, ConsumerSourcePrefix)
	return name, ok && name != ""
}

// MaxInstanceLen is the longest instance id: a consumer instance's
// acknowledgement is recorded as a tag whose value holds the version id (at
// most 64 characters), the consumer name and the instance id, within the
// 256 characters of a tag value.
const MaxInstanceLen = 64

// CheckInstance checks the id of a consumer instance (a process, a task, a
// pod): 1 to [MaxInstanceLen] characters of a consumer name's set.
func CheckInstance(id string) error {
	switch {
	case id == "":
		return errors.New("missing")
	case len(id) > MaxInstanceLen:
		return fmt.Errorf("longer than %d characters", MaxInstanceLen)
	}
	return CheckTagChars(id)
}

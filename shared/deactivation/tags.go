package deactivation

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rotorhq/rotor/events"
)

// Tag keys the gate reads and writes on a secret.
const (
	// ConsumerTagPrefix starts the key of a registration:
	// "rotor:consumer:<name>"; the value is free (the queue, "lambda").
	ConsumerTagPrefix = events.ConsumerTagPrefix
	// AckTagPrefix starts the key of an acknowledgement:
	// "rotor:ack:<name>" = the version id the consumer uses.
	AckTagPrefix = "rotor:ack:"
	// DeactivatedTag holds the version id whose credential the gate has
	// deactivated last.
	DeactivatedTag = "rotor:deactivated"
	// NotRevokedTag holds the version id whose credential the gate has
	// seen become AWSPREVIOUS and does not revoke (no Deactivator, or the
	// same principal as AWSCURRENT): that credential may still work.
	NotRevokedTag = "rotor:not-revoked"
	// EmergencyTag holds the version id of a leaked credential an operator
	// asked to revoke at once ([Gate.Emergency]); EmergencyReasonTag the
	// operator's reason.
	// Once the revocation is done, EmergencyTag holds EmergencyDonePrefix
	// and the version, so that later evaluations do not end sessions again.
	EmergencyTag        = "rotor:emergency"
	EmergencyReasonTag  = "rotor:emergency-reason"
	EmergencyDonePrefix = "done:"
)

// Limits of Secrets Manager's tags (TagResource, API reference: Tag).
const (
	// MaxTags is the number of tags a secret may carry; registrations and
	// acknowledgements share it with every other tag of the secret.
	MaxTags = 50
	// maxTagKeyLen and maxTagValueLen are the key and value lengths the API
	// accepts, in Unicode characters.
	maxTagKeyLen   = 128
	maxTagValueLen = 256
	// MaxConsumerNameLen keeps "rotor:consumer:<name>", the longer of the
	// two keys a name makes, within maxTagKeyLen.
	MaxConsumerNameLen = events.MaxConsumerNameLen
)

// ValidateConsumerName checks a consumer name against the tag rules
// ([events.CheckConsumerName]). The error names the field (field is
// "consumer" for an event's detail).
func ValidateConsumerName(field, name string) error {
	if err := events.CheckConsumerName(name); err != nil {
		return &FieldError{Field: field, Reason: err.Error()}
	}
	return nil
}

// validateVersionID checks a version id that becomes a tag value.
func validateVersionID(field, id string) error {
	switch {
	case id == "":
		return &FieldError{Field: field, Reason: "missing"}
	case len(id) > maxTagValueLen:
		return &FieldError{Field: field, Reason: fmt.Sprintf("longer than %d characters", maxTagValueLen)}
	}
	if err := events.CheckTagChars(id); err != nil {
		return &FieldError{Field: field, Reason: err.Error()}
	}
	return nil
}

// Registered returns the names of the consumers registered in tags, sorted.
// A tag whose name breaks the rules is not a registration; it is returned
// in invalid so the caller can log it.
func Registered(tags map[string]string) (names, invalid []string) {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		name, ok := strings.CutPrefix(k, ConsumerTagPrefix)
		if !ok {
			continue
		}
		if ValidateConsumerName("tag", name) != nil {
			invalid = append(invalid, k)
			continue
		}
		names = append(names, name)
	}
	return names, invalid
}

// unacknowledged returns the registered consumers whose acknowledgement is
// not version.
func unacknowledged(tags map[string]string, registered []string, version string) []string {
	var out []string
	for _, n := range registered {
		if tags[AckTagPrefix+n] != version {
			out = append(out, n)
		}
	}
	return out
}

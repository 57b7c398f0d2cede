package deactivation

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rotorhq/rotor/events"
)

// Tag keys the gate reads and writes on a secret.
const (
	// ConsumerTagPrefix starts the key of a registration:
	// "rotor:consumer:<name>"; the value is free (the queue, "lambda").
	ConsumerTagPrefix = events.ConsumerTagPrefix
	// AckTagPrefix starts the key of an instance's acknowledgement:
	// "rotor:ack:<16 hex digits of SHA-256 of consumer and instance>" =
	// "<version id> <consumer> <instance>" ([InstanceAckTag]). One key per
	// instance, so that concurrent acknowledgements never overwrite each
	// other (TagResource sets its keys and leaves the others).
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
	// MaxConsumerNameLen keeps "rotor:consumer:<name>" within
	// maxTagKeyLen.
	MaxConsumerNameLen = events.MaxConsumerNameLen
)

// An instance's acknowledgement, "<version> <consumer> <instance>", fits
// a tag value (this fails to compile if it did not).
const _ = uint(maxTagValueLen - (maxVersionIDLen + 1 + MaxConsumerNameLen + 1 + events.MaxInstanceLen))

// ValidateConsumerName checks a consumer name against the tag rules
// ([events.CheckConsumerName]). The error names the field (field is
// "consumer" for an event's detail).
func ValidateConsumerName(field, name string) error {
	if err := events.CheckConsumerName(name); err != nil {
		return &FieldError{Field: field, Reason: err.Error()}
	}
	return nil
}

// maxVersionIDLen is the longest version id Secrets Manager makes (a
// ClientRequestToken: 32 to 64 characters): with a consumer name and an
// instance id it fits a tag value.
const maxVersionIDLen = 64

// validateVersionID checks a version id that becomes part of a tag value.
func validateVersionID(field, id string) error {
	switch {
	case id == "":
		return &FieldError{Field: field, Reason: "missing"}
	case len(id) > maxVersionIDLen:
		return &FieldError{Field: field, Reason: fmt.Sprintf("longer than %d characters", maxVersionIDLen)}
	}
	if err := events.CheckTagChars(id); err != nil {
		return &FieldError{Field: field, Reason: err.Error()}
	}
	return nil
}

// validateInstance checks an instance id.
func validateInstance(field, id string) error {
	if err := events.CheckInstance(id); err != nil {
		return &FieldError{Field: field, Reason: err.Error()}
	}
	return nil
}

// Registration is a consumer's registration tag, read. Its value is words
// separated by spaces: "key=value" words the gate reads, and free words
// (the kind of consumer: "sqs", "lambda", a queue's name):
//
//   - account=<12 digits>: the account the consumer acknowledges from
//     (a consumer behind another account's bus); without it, the
//     secret's own account;
//   - instances=<n>: how many instances of the consumer must acknowledge
//     a version (1 to [MaxTags]); without it, 1.
//
// An unknown key, a repeated key or a bad value makes the registration
// invalid ([Registration.Err]): the consumer is still counted, and never
// acknowledged, so only the grace period revokes (a typo must not make
// the gate revoke earlier than the consumer's owner meant).
type Registration struct {
	Name      string
	Account   string
	Instances int
	Err       error
}

// Registration value keys.
const (
	RegistrationAccount   = "account"
	RegistrationInstances = "instances"
)

// ParseRegistration reads the value of consumer name's registration tag.
func ParseRegistration(name, value string) Registration {
	r := Registration{Name: name, Instances: 1}
	seen := map[string]bool{}
	for _, w := range strings.Fields(value) {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			continue
		}
		if seen[k] {
			r.Err = fmt.Errorf("registration of %s: %q given twice", name, k)
			return r
		}
		seen[k] = true
		switch k {
		case RegistrationAccount:
			if len(v) != 12 || strings.Trim(v, "0123456789") != "" {
				r.Err = fmt.Errorf("registration of %s: %s is not 12 digits", name, RegistrationAccount)
				return r
			}
			r.Account = v
		case RegistrationInstances:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxTags {
				r.Err = fmt.Errorf("registration of %s: %s is not a number from 1 to %d", name, RegistrationInstances, MaxTags)
				return r
			}
			r.Instances = n
		default:
			r.Err = fmt.Errorf("registration of %s: unknown key %q (want %s= or %s=)", name, k, RegistrationAccount, RegistrationInstances)
			return r
		}
	}
	return r
}

// InstanceAckTag is the tag that records that instance of consumer uses
// version: the key is AckTagPrefix and a hash of consumer and instance (a
// consumer name and an instance id together are too long for a key), the
// value says in words what the key hides.
func InstanceAckTag(consumer, instance, version string) (key, value string) {
	h := sha256.Sum256([]byte(consumer + "\n" + instance))
	return AckTagPrefix + hex.EncodeToString(h[:8]), version + " " + consumer + " " + instance
}

// instanceAck is an acknowledgement tag, read.
type instanceAck struct {
	key, version, consumer, instance string
}

// instanceAcks returns the acknowledgement tags of tags. A tag of the
// prefix whose value is not "<version> <consumer> <instance>" (such as a
// consumer-wide "rotor:ack:<name>" = version of rotor before instances) is
// returned with only its key: it counts for nobody.
func instanceAcks(tags map[string]string) []instanceAck {
	var out []instanceAck
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if !strings.HasPrefix(k, AckTagPrefix) {
			continue
		}
		a := instanceAck{key: k}
		if f := strings.Fields(tags[k]); len(f) == 3 {
			if want, _ := InstanceAckTag(f[1], f[2], f[0]); want == k {
				a.version, a.consumer, a.instance = f[0], f[1], f[2]
			}
		}
		out = append(out, a)
	}
	return out
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

// unacknowledged returns the registered consumers of which fewer
// instances than their registration declares have acknowledged version,
// and those whose registration is invalid.
func unacknowledged(tags map[string]string, registered []string, version string) []string {
	acked := map[string]int{}
	for _, a := range instanceAcks(tags) {
		if a.version == version {
			acked[a.consumer]++
		}
	}
	var out []string
	for _, n := range registered {
		r := ParseRegistration(n, tags[ConsumerTagPrefix+n])
		if r.Err != nil || acked[n] < r.Instances {
			out = append(out, n)
		}
	}
	return out
}

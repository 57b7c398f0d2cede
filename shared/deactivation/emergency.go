package deactivation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rotorhq/rotor/shared/secretstore"
)

// Emergency rotation: an operator's answer to a leaked credential.
//
// The payload names the leaked version and must carry the confirmation
// and a reason:
//
//	{"Action": "emergency-rotation", "SecretId": "<arn or name>",
//	 "VersionId": "<the leaked version>", "Confirm": "revoke-now",
//	 "Reason": "INC-4711: password pasted in a public channel"}
//
// The gate records the request on the secret first (tags [EmergencyTag] =
// the version, [EmergencyReasonTag] = the reason), so that a crash loses
// nothing and a repeated request changes nothing. Then:
//
//   - the leaked version is AWSCURRENT: the gate starts a rotation
//     (RotateSecret; unless one is in progress already, which will make it
//     AWSPREVIOUS too). When that rotation's Rotation Completed reaches the
//     gate (or the sweep, or the same request again), the leaked version is
//     AWSPREVIOUS and is revoked at once;
//   - the leaked version is AWSPREVIOUS: it is revoked now.
//
// "Revoked at once" means without waiting for acknowledgements, for open
// sessions to end or for the grace period, and its open sessions are ended
// (PostgreSQL: pg_terminate_backend, which needs the master to be a member
// of pg_signal_backend). The Credential Deactivated event has outcome
// "emergency" and carries the reason and the evidence of sessions. The
// rules of every revocation still hold: the Deactivator acts under the
// target's lock after the gate's Recheck, so it never touches a credential
// that is AWSCURRENT or AWSPENDING; a request naming the pending version,
// or one that is neither current nor previous, is refused.

// Emergency payload constants.
const (
	// EmergencyAction is the Action of an emergency rotation payload.
	EmergencyAction = "emergency-rotation"
	// EmergencyConfirm is the Confirm the payload must carry: an emergency
	// revocation ends sessions and waits for no one, so it is never the
	// result of a typo.
	EmergencyConfirm = "revoke-now"
	// maxReasonLen is a tag value's length.
	maxReasonLen = maxTagValueLen
)

// EmergencyEvent is the Lambda payload of an emergency rotation.
type EmergencyEvent struct {
	Action    string `json:"Action"`
	SecretID  string `json:"SecretId"`
	VersionID string `json:"VersionId"`
	Confirm   string `json:"Confirm"`
	Reason    string `json:"Reason"`
}

// ErrEmergencyRefused matches the refusals of [Gate.Emergency] that are
// about the secret's state, not the payload (those are [*FieldError]s).
var ErrEmergencyRefused = errors.New("deactivation: emergency rotation refused")

// HandleEmergency is the Lambda handler of an emergency payload.
func (g *Gate) HandleEmergency(ctx context.Context, ev EmergencyEvent) error {
	_, err := g.Emergency(ctx, ev)
	return err
}

// Emergency rotates the secret if the leaked version is AWSCURRENT and
// revokes the leaked credential at once, ending its sessions, once it is
// AWSPREVIOUS (see the package comment above). Bad input is a
// [*FieldError] naming the field, and changes nothing.
func (g *Gate) Emergency(ctx context.Context, ev EmergencyEvent) (Decision, error) {
	if err := checkEmergency(ev); err != nil {
		return Decision{}, err
	}
	if g.cfg.Deactivator == nil {
		return Decision{}, fmt.Errorf("%w: this function has no deactivator, so it can neither revoke the credential nor end its sessions (a single user's rotation replaces the password: use rotate-secret)", ErrEmergencyRefused)
	}
	d, err := g.cfg.Store.Details(ctx, ev.SecretID)
	if err != nil {
		return Decision{}, &EvaluateError{SecretID: ev.SecretID, Phase: "describe", Err: err}
	}
	log := g.log.With("secret", d.Name, "version", ev.VersionID, "reason", ev.Reason)
	cur, _ := d.VersionWithStage(secretstore.Current)
	current := d.HasStage(ev.VersionID, secretstore.Current)
	switch {
	case d.HasStage(ev.VersionID, secretstore.Pending) && !current:
		return Decision{}, fmt.Errorf("%w: version %s is AWSPENDING; a pending credential is never revoked (roll the rotation back instead)", ErrEmergencyRefused, ev.VersionID)
	case !current && !d.HasStage(ev.VersionID, secretstore.Previous):
		return Decision{}, &FieldError{Field: "VersionId", Reason: "is neither the AWSCURRENT nor the AWSPREVIOUS version of the secret"}
	case !current && g.rotating(d, cur):
		// The rotation under way moves AWSPREVIOUS off the leaked version
		// (with alternating users its setSecret changes the leaked user's
		// password), after which the gate could no longer name it.
		return Decision{}, fmt.Errorf("%w: a rotation is in progress and will move AWSPREVIOUS off version %s; let it complete or roll it back, then end the leaked user's sessions on the target", ErrEmergencyRefused, ev.VersionID)
	}
	tags := map[string]string{EmergencyTag: ev.VersionID, EmergencyReasonTag: ev.Reason}
	if d.Tags[EmergencyTag] != ev.VersionID || d.Tags[EmergencyReasonTag] != ev.Reason {
		if err := g.cfg.Store.Tag(ctx, ev.SecretID, tags); err != nil {
			return Decision{}, &EvaluateError{SecretID: ev.SecretID, Phase: "tag", Err: err}
		}
		if d.Tags == nil {
			d.Tags = map[string]string{}
		}
		for k, v := range tags {
			d.Tags[k] = v
		}
	}
	log.WarnContext(ctx, "emergency rotation requested by an operator")
	if !current {
		return g.evaluate(ctx, ev.SecretID, d)
	}
	dec := Decision{SecretARN: d.ARN, SecretName: d.Name, CurrentVersion: cur, Action: ActionEmergencyRotating, Reason: ev.Reason}
	if g.rotating(d, cur) {
		log.WarnContext(ctx, "a rotation is in progress already; the leaked credential is revoked once it completes")
		return dec, nil
	}
	version, err := g.cfg.Store.Rotate(ctx, ev.SecretID)
	if err != nil {
		return Decision{}, &EvaluateError{SecretID: ev.SecretID, Phase: "rotate", Err: err}
	}
	log.WarnContext(ctx, "emergency rotation started; the leaked credential is revoked once it completes", "new_version", version)
	return dec, nil
}

// checkEmergency checks the payload; the error names the field.
func checkEmergency(ev EmergencyEvent) error {
	switch {
	case ev.Action != EmergencyAction:
		return &FieldError{Field: "Action", Reason: fmt.Sprintf("want %q", EmergencyAction)}
	case ev.SecretID == "":
		return &FieldError{Field: "SecretId", Reason: "missing"}
	case ev.Confirm != EmergencyConfirm:
		return &FieldError{Field: "Confirm", Reason: fmt.Sprintf("an emergency rotation revokes at once and ends open sessions: confirm it with %q", EmergencyConfirm)}
	}
	if err := validateVersionID("VersionId", ev.VersionID); err != nil {
		return err
	}
	reason := strings.TrimSpace(ev.Reason)
	switch {
	case reason == "":
		return &FieldError{Field: "Reason", Reason: "missing: say why (an incident, a ticket), for the audit record"}
	case reason != ev.Reason:
		return &FieldError{Field: "Reason", Reason: "has leading or trailing white space"}
	case utf8.RuneCountInString(reason) > maxReasonLen:
		return &FieldError{Field: "Reason", Reason: fmt.Sprintf("longer than %d characters", maxReasonLen)}
	}
	// A tag value's characters: letters, digits, spaces and _ . : / = + - @.
	for i, r := range reason {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != ' ' && !strings.ContainsRune("_.:/=+-@", r) {
			return &FieldError{Field: "Reason", Reason: fmt.Sprintf("character at byte %d is not a letter, a digit, a space or one of _ . : / = + - @", i)}
		}
	}
	return nil
}

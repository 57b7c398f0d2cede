package lifecycle

import (
	"errors"
	"fmt"
)

// Reasons a step is refused before anything changes. They are matched with
// errors.Is through a [*StepError].
var (
	ErrRotationDisabled = errors.New("rotation is not enabled on the secret")
	ErrUnknownVersion   = errors.New("the token is not a version of the secret")
	ErrNotPending       = errors.New("the token's version is not staged AWSPENDING")
	ErrNoCurrent        = errors.New("the secret has no AWSCURRENT version")
	ErrNoPendingValue   = errors.New("the pending version has no value; createSecret has not completed")
)

// StepError is what a failed step returns. Lambda reports its type name,
// StepError, as errorType; Phase says where in the step it failed
// ("describe", "read current", "rotator create", ...).
type StepError struct {
	Step     Step
	SecretID string
	Phase    string
	Err      error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s %s: %s: %v", e.Step, e.SecretID, e.Phase, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// InputError reports a rotation event the engine cannot act on: it names
// the event field.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("invalid rotation event: field %q: %s", e.Field, e.Reason)
}

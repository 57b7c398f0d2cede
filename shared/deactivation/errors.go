package deactivation

import (
	"errors"
	"fmt"
)

// FieldError reports bad input (an event field, a setting, a tag) by name,
// never by value.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("deactivation: field %q: %s", e.Field, e.Reason)
}

// Sentinels, matched with errors.Is.
var (
	// ErrNoCurrent: the secret has no AWSCURRENT version.
	ErrNoCurrent = errors.New("deactivation: the secret has no AWSCURRENT version")
	// ErrUnsupportedEvent: Handle got an event of neither rotor nor
	// EventBridge Scheduler's "Scheduled Event".
	ErrUnsupportedEvent = errors.New("deactivation: unsupported event")
)

// EvaluateError wraps a failed evaluation with the secret it was for.
type EvaluateError struct {
	SecretID string
	// Phase is what failed: "describe", "read", "deactivate", "publish", "tag".
	Phase string
	Err   error
}

func (e *EvaluateError) Error() string {
	return fmt.Sprintf("deactivation: secret %s: %s: %v", e.SecretID, e.Phase, e.Err)
}

func (e *EvaluateError) Unwrap() error { return e.Err }

package eventbridge

import (
	"fmt"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
)

// EventBridge's modelled exceptions, as its API reference names them.
const (
	CodeResourceNotFound      = "ResourceNotFoundException"
	CodeResourceAlreadyExists = "ResourceAlreadyExistsException"
	CodeValidation            = "ValidationException"
	CodeInvalidEventPattern   = "InvalidEventPatternException"
	CodeLimitExceeded         = "LimitExceededException"
)

func validation(format string, args ...any) error {
	return awsjson.ClientError(CodeValidation, format, args...)
}

// required is AWS's message for a missing required member.
func required(member string) error {
	return validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

// constraint is AWS's message for a member that breaks its model's
// constraint (length, pattern, enum).
func constraint(value any, member, rule string) error {
	return validation("1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, member, rule)
}

func busNotFound(name string) error {
	return awsjson.ClientError(CodeResourceNotFound, "Event bus %s does not exist.", name)
}

func ruleNotFound(name, busName string) error {
	return awsjson.ClientError(CodeResourceNotFound, "Rule %s does not exist on EventBus %s.", name, busName)
}

func limitExceeded(what string) error {
	return awsjson.ClientError(CodeLimitExceeded, "The requested resource exceeds the maximum number allowed (%s).", what)
}

// permanentError is a delivery failure that a retry cannot fix (no
// invoker configured, a target type that is not emulated).
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func permanent(format string, args ...any) error {
	return &permanentError{msg: fmt.Sprintf(format, args...)}
}

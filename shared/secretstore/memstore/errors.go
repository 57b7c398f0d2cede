package memstore

import (
	"errors"
	"fmt"

	"github.com/rotorhq/rotor/shared/secretstore"
)

// Exception names, as Secrets Manager returns them in an error's type.
const (
	CodeResourceNotFound = "ResourceNotFoundException"
	CodeResourceExists   = "ResourceExistsException"
	CodeInvalidRequest   = "InvalidRequestException"
	CodeInvalidParameter = "InvalidParameterException"
	CodeValidation       = "ValidationException"
	CodeInternal         = "InternalServiceError"
)

// ErrSecretExists: CreateSecret named a secret that exists already. It is
// memstore's own: the engine never creates secrets.
var ErrSecretExists = errors.New("secret exists")

// APIError is every error of [Store]: the exception Secrets Manager would
// return, with a message like AWS's, wrapping one of the sentinels of package
// secretstore (or [ErrSecretExists]). Messages name secrets, versions and
// labels, never a value.
type APIError struct {
	// Code is the exception name, such as [CodeResourceNotFound].
	Code    string
	Message string
	// Err is the sentinel the error matches with [errors.Is].
	Err error
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the sentinel.
func (e *APIError) Unwrap() error { return e.Err }

// Messages AWS uses, as far as its documentation and SDK errors show them.
const (
	msgSecretNotFound    = "Secrets Manager can't find the specified secret."
	msgValueNotFound     = "Secrets Manager can't find the specified secret value for %s: %s"
	msgMarkedDeleted     = "You can't perform this operation on the secret because it was marked for deletion."
	msgTokenInUse        = "You can't use ClientRequestToken %s because that value is already in use for a version of secret %s."
	msgSecretExists      = "The operation failed because the secret %s already exists."
	msgScheduledDeletion = "You can't create this secret because a secret with this name is already scheduled for deletion."
	msgStageMismatch     = "You provided a VersionStage that is not associated to the provided VersionId."
	msgRemoveFromNeeded  = "The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId."
	msgRotationPending   = "A previous rotation isn't complete. That rotation will be reattempted."
	msgBothValues        = "You can't specify both a binary secret value and a string secret value in the same secret."
	msgNoValue           = "You must provide either SecretString or SecretBinary."
	msgPasswordTooShort  = "Password length is too short based on the required types."
)

func errSecretNotFound() error {
	return &APIError{Code: CodeResourceNotFound, Message: msgSecretNotFound, Err: secretstore.ErrNotFound}
}

// errValueNotFound: kind is "VersionId" or "staging label".
func errValueNotFound(kind, id string) error {
	return &APIError{Code: CodeResourceNotFound, Message: fmt.Sprintf(msgValueNotFound, kind, id), Err: secretstore.ErrVersionNotFound}
}

func errMarkedDeleted() error {
	return &APIError{Code: CodeInvalidRequest, Message: msgMarkedDeleted, Err: secretstore.ErrInvalidRequest}
}

func errTokenInUse(token, arn string) error {
	return &APIError{Code: CodeResourceExists, Message: fmt.Sprintf(msgTokenInUse, token, arn), Err: secretstore.ErrVersionExists}
}

func errInvalidRequest(format string, args ...any) error {
	return &APIError{Code: CodeInvalidRequest, Message: fmt.Sprintf(format, args...), Err: secretstore.ErrInvalidRequest}
}

func errInvalidParameter(format string, args ...any) error {
	return &APIError{Code: CodeInvalidParameter, Message: fmt.Sprintf(format, args...), Err: secretstore.ErrInvalidRequest}
}

func errValidation(format string, args ...any) error {
	return &APIError{Code: CodeValidation, Message: "1 validation error detected: " + fmt.Sprintf(format, args...), Err: secretstore.ErrInvalidRequest}
}

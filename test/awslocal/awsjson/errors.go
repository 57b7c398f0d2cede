package awsjson

import (
	"fmt"
	"net/http"
)

// Error is a modelled AWS error: the HTTP status, the error code clients
// match on (ResourceNotFoundException), and a message.
type Error struct {
	Status  int
	Code    string
	Message string
	// QueryCode, when set, is sent in the x-amzn-query-error header as
	// "<QueryCode>;Sender|Receiver": SQS's JSON protocol carries its legacy
	// query-protocol code there, and the SDKs prefer it.
	QueryCode string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an error with the given status and code.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ClientError returns a 400 error with the given code.
func ClientError(code, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, code, format, args...)
}

// Errors every JSON service shares.
var (
	errUnknownOperation = func(target string) *Error {
		return ClientError("UnknownOperationException", "Unknown operation %s", target)
	}
	errSerialization = func(msg string) *Error {
		return ClientError("SerializationException", "%s", msg)
	}
	errMissingAuth = ClientError("MissingAuthenticationTokenException",
		"Missing Authentication Token")
	errInternal = Errorf(http.StatusInternalServerError, "InternalFailure",
		"The request processing has failed because of an unknown error, exception or failure.")
)

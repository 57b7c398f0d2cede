package secretsmanager

import (
	"context"
	"errors"
	"net/http"

	"github.com/rotorhq/rotor/shared/secretstore/memstore"
	"github.com/rotorhq/rotor/test/awslocal/awsjson"
)

func errInvalidParameter(format string, args ...any) *awsjson.Error {
	return awsjson.ClientError(memstore.CodeInvalidParameter, format, args...)
}

func errInvalidRequest(format string, args ...any) *awsjson.Error {
	return awsjson.ClientError(memstore.CodeInvalidRequest, format, args...)
}

// apiError turns a store error into the wire error: its exception name and
// message as memstore computed them.
func apiError(err error) error {
	var e *memstore.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return awsjson.ClientError(e.Code, "%s", e.Message)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return awsjson.Errorf(http.StatusServiceUnavailable, "ServiceUnavailable", "the request was cancelled")
	}
	return awsjson.Errorf(http.StatusInternalServerError, memstore.CodeInternal, "internal error")
}

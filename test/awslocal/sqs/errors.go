package sqs

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
)

// ErrQueueNotFound is what [Service.SendFromService] returns, wrapped, for a
// queue that does not exist, so that EventBridge can report a failed
// delivery without parsing an API error.
var ErrQueueNotFound = errors.New("sqs: queue does not exist")

// namespace prefixes every __type, as SQS's JSON protocol sends it; clients
// strip it.
const namespace = "com.amazonaws.sqs#"

// An errorKind is one exception of SQS's JSON protocol: the shape name sent
// in __type, the legacy query code sent in x-amzn-query-error (the SDKs and
// botocore report that one as the error code), and the HTTP status of the
// service model.
type errorKind struct {
	shape  string
	query  string
	status int
}

// The exceptions the endpoint returns. Shapes, query codes and statuses are
// those of the SQS service model (aws-sdk-go-v2/service/sqs/schemas);
// InvalidParameterValue and MissingParameter are not modelled, and their
// shape names are those AWS sends (botocore reports them as QueryErrorCode).
var (
	kindQueueDoesNotExist        = errorKind{"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", http.StatusBadRequest}
	kindQueueNameExists          = errorKind{"QueueNameExists", "QueueAlreadyExists", http.StatusBadRequest}
	kindQueueDeletedRecently     = errorKind{"QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently", http.StatusBadRequest}
	kindInvalidParameterValue    = errorKind{"InvalidParameterValueException", "InvalidParameterValue", http.StatusBadRequest}
	kindMissingParameter         = errorKind{"MissingRequiredParameterException", "MissingParameter", http.StatusBadRequest}
	kindInvalidAttributeName     = errorKind{"InvalidAttributeName", "InvalidAttributeName", http.StatusBadRequest}
	kindInvalidAttributeValue    = errorKind{"InvalidAttributeValue", "InvalidAttributeValue", http.StatusBadRequest}
	kindInvalidMessageContents   = errorKind{"InvalidMessageContents", "InvalidMessageContents", http.StatusBadRequest}
	kindReceiptHandleIsInvalid   = errorKind{"ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", http.StatusNotFound}
	kindEmptyBatchRequest        = errorKind{"EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", http.StatusBadRequest}
	kindTooManyEntries           = errorKind{"TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", http.StatusBadRequest}
	kindBatchEntryIdsNotDistinct = errorKind{"BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", http.StatusBadRequest}
	kindInvalidBatchEntryId      = errorKind{"InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", http.StatusBadRequest}
	kindBatchRequestTooLong      = errorKind{"BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", http.StatusBadRequest}
	kindPurgeQueueInProgress     = errorKind{"PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", http.StatusForbidden}
	kindInvalidAddress           = errorKind{"InvalidAddress", "InvalidAddress", http.StatusNotFound}
	kindUnsupportedOperation     = errorKind{"UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", http.StatusBadRequest}
)

func (k errorKind) errorf(format string, args ...any) *awsjson.Error {
	return &awsjson.Error{
		Status:    k.status,
		Code:      namespace + k.shape,
		Message:   fmt.Sprintf(format, args...),
		QueryCode: k.query,
	}
}

// The messages below are AWS's own where AWS's wording is known (recorded
// responses of the real service); the others follow its style.

func errQueueDoesNotExist() *awsjson.Error {
	return kindQueueDoesNotExist.errorf("The specified queue does not exist.")
}

func errMissing(param string) *awsjson.Error {
	return kindMissingParameter.errorf("The request must contain the parameter %s.", param)
}

func errInvalidValue(value any, param, reason string) *awsjson.Error {
	return kindInvalidParameterValue.errorf("Value %v for parameter %s is invalid. Reason: %s", value, param, reason)
}

func errUnknownAttribute(name string) *awsjson.Error {
	return kindInvalidAttributeName.errorf("Unknown Attribute %s.", name)
}

func errInvalidAttributeValue(name string) *awsjson.Error {
	return kindInvalidAttributeValue.errorf("Invalid value for the parameter %s.", name)
}

func errReceiptHandle(handle string) *awsjson.Error {
	return kindReceiptHandleIsInvalid.errorf("The input receipt handle %q is not a valid receipt handle.", handle)
}

func errInvalidAddress(queueURL string) *awsjson.Error {
	return kindInvalidAddress.errorf("The address %s is not valid for this endpoint.", queueURL)
}

func errTooLong(limit int) *awsjson.Error {
	return kindInvalidParameterValue.errorf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", limit)
}

const invalidCharacters = "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"

// batchFailure is a batch entry's failure as SQS reports it: the query code,
// not the JSON shape.
func batchFailure(id string, err *awsjson.Error) BatchResultErrorEntry {
	code := err.QueryCode
	if code == "" {
		code = err.Code
	}
	return BatchResultErrorEntry{Id: id, SenderFault: err.Status < 500, Code: code, Message: err.Message}
}

package storage

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error answered by a storage service (or by a backend in its place): a code
// as S3 and COS spell it and a human message. The recording job puts both into its 308
// callback. Errors that are not the service's answer (a refused connection, a full disk)
// are plain errors, or *Error with CodeNetworkError when an uploader could not reach the
// service at all.
type Error struct {
	Code    string
	Message string
	// Status is the HTTP status of the service's answer (uploaders set it; 0 when none is
	// known). Permanent tells refusals apart from failures worth retrying.
	Status int
}

// Permanent reports whether the service refused the request in a way retrying will not
// change: a 4xx answer other than a timeout (408), throttling (429, SlowDown, …) or a
// skewed clock. Network errors, 5xx and answers without a status are not permanent.
func (e *Error) Permanent() bool {
	switch e.Code {
	case CodeSlowDown, CodeRequestTimeout, "Throttling", "ThrottlingException", "TooManyRequests",
		"RequestTimeTooSkewed", "RequestLimitExceeded", CodeNetworkError:
		return false
	}
	return e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 429
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is makes errors.Is(err, &Error{Code: c}) true for any *Error with code c.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Codes, as S3 and COS return them.
const (
	CodeAccessDenied         = "AccessDenied"
	CodeBadDigest            = "BadDigest"
	CodeBucketNotEmpty       = "BucketNotEmpty"
	CodeEntityTooLarge       = "EntityTooLarge"
	CodeEntityTooSmall       = "EntityTooSmall"
	CodeIncompleteBody       = "IncompleteBody"
	CodeInternalError        = "InternalError"
	CodeInvalidArgument      = "InvalidArgument"
	CodeInvalidBucketName    = "InvalidBucketName"
	CodeInvalidDigest        = "InvalidDigest"
	CodeInvalidObjectName    = "InvalidObjectName"
	CodeInvalidPart          = "InvalidPart"
	CodeInvalidPartOrder     = "InvalidPartOrder"
	CodeInvalidRange         = "InvalidRange"
	CodeInvalidRequest       = "InvalidRequest"
	CodeKeyTooLong           = "KeyTooLongError"
	CodeMalformedXML         = "MalformedXML"
	CodeMethodNotAllowed     = "MethodNotAllowed"
	CodeMissingContentLength = "MissingContentLength"
	CodeNoSuchBucket         = "NoSuchBucket"
	CodeNoSuchKey            = "NoSuchKey"
	CodeNoSuchUpload         = "NoSuchUpload"
	CodeNotImplemented       = "NotImplemented"
	CodePreconditionFailed   = "PreconditionFailed"
	CodeRequestTimeout       = "RequestTimeout"
	CodeSHA256Mismatch       = "XAmzContentSHA256Mismatch"
	CodeServiceUnavailable   = "ServiceUnavailable"
	CodeSlowDown             = "SlowDown"

	// CodeNetworkError is ours: the uploader never got an answer from the service
	// (connection refused, DNS, timeout). Message carries the transport's error.
	CodeNetworkError = "NetworkError"
)

// CodeOfStatus is the error code an uploader reports when the service answered only an
// HTTP status (no error document): the S3 code for the usual ones, else the status text.
func CodeOfStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return CodeNoSuchKey
	case http.StatusForbidden:
		return CodeAccessDenied
	case http.StatusServiceUnavailable:
		return CodeServiceUnavailable
	case http.StatusBadRequest:
		return CodeInvalidRequest
	}
	if status >= 500 {
		return CodeInternalError
	}
	return http.StatusText(status)
}

// New returns an error with the given code and a formatted message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// As reports whether err is (or wraps) an *Error, and returns it.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsCode reports whether err is (or wraps) an *Error with the given code.
func IsCode(err error, code string) bool {
	e, ok := As(err)
	return ok && e.Code == code
}

// The errors every backend answers alike; messages are S3's.

func ErrNoSuchBucket() *Error {
	return New(CodeNoSuchBucket, "The specified bucket does not exist")
}

func ErrNoSuchKey() *Error {
	return New(CodeNoSuchKey, "The specified key does not exist.")
}

func ErrNoSuchUpload() *Error {
	return New(CodeNoSuchUpload, "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.")
}

func ErrIncompleteBody() *Error {
	return New(CodeIncompleteBody, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
}

func ErrEntityTooLarge() *Error {
	return New(CodeEntityTooLarge, "Your proposed upload exceeds the maximum allowed size")
}

// Package tcerr is the Tencent Cloud API error value: a code such as
// "FailedOperation.RoomNotExist" and a message that names the field or reason.
// models and cam return these errors; handlers render them. It imports nothing of ours.
package tcerr

import (
	"errors"
	"fmt"
)

// Error is an API error with a Tencent Cloud error code.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

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

// Is reports whether err carries the given code.
func Is(err error, code string) bool {
	e, ok := As(err)
	return ok && e.Code == code
}

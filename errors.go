package crmhub

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// Error codes. They are the values of `extensions.code` in GraphQL errors, so
// the API contract fixes their spelling.
const (
	EUNAUTHENTICATED = "UNAUTHENTICATED"
	EFORBIDDEN       = "FORBIDDEN"
	ENOTFOUND        = "NOT_FOUND"
	ECONFLICT        = "CONFLICT"
	EINVALID         = "VALIDATION_ERROR"
	ETOOMANY         = "TOO_MANY_ENTITIES"
	ERATELIMITED     = "RATE_LIMITED"
	EOUTSIDEWINDOW   = "OUTSIDE_SERVICE_WINDOW"
	ESUPPRESSED      = "SUPPRESSED"
	// EBADREQUEST: the HTTP request is not a GraphQL request (malformed
	// JSON, a batch, a media type or size the server does not take).
	EBADREQUEST = "BAD_REQUEST"
	// EIDEMPOTENCYREUSED: an Idempotency-Key came back with another request.
	EIDEMPOTENCYREUSED = "IDEMPOTENCY_KEY_REUSED"
	EINTERNAL          = "INTERNAL"
)

// Error is an error a caller is meant to see: its Code and Message are safe to
// show to a client. Any other error is internal and is masked at the edge.
type Error struct {
	Code    string
	Message string
	// Field is the input path of the offending value for EINVALID errors,
	// for example "input.identifiers[0].value".
	Field string
	// Extensions carries extra, client-safe facts (the ids in a conflict,
	// the limit that was exceeded).
	Extensions map[string]any
	// ContactIDs names, in a CONFLICT over identifiers, the contacts they
	// belong to (Extensions shows them to clients as global ids), so that
	// callers in Go need not parse them back.
	ContactIDs []uuid.UUID
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("crmhub error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("crmhub error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming the offending input field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// WithField returns a copy of e whose Field is prefixed by prefix; it lets a
// caller place a nested validation error within its own input path.
func (e *Error) WithField(prefix string) *Error {
	c := *e
	switch {
	case c.Field == "":
		c.Field = prefix
	case prefix != "" && c.Field[0] == '[':
		c.Field = prefix + c.Field
	case prefix != "":
		c.Field = prefix + "." + c.Field
	}
	return &c
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the message of its
// *Error, or a generic text for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// TooMany is the ETOOMANY error of a bulk call given n items where limit
// is the most it takes; it writes nothing.
func TooMany(n, limit int) *Error {
	return &Error{Code: ETOOMANY, Message: fmt.Sprintf("at most %d items per call, got %d", limit, n),
		Extensions: map[string]any{"count": n, "limit": limit}}
}

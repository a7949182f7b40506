package wazelo

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/crmhub/crmhub/connectors"
)

// Error codes of the document's table, and the one its example shows for a
// missing contact. RequestError.Code carries the remote's code; a body
// without one gets the table's code for its status.
const (
	CodeBadRequest      = "BAD_REQUEST"
	CodeUnauthorized    = "UNAUTHORIZED"
	CodeForbidden       = "FORBIDDEN"
	CodeNotFound        = "NOT_FOUND"
	CodeContactNotFound = "CONTACT_NOT_FOUND"
	CodeConflict        = "CONFLICT"
	CodeValidation      = "VALIDATION_ERROR"
	CodeRateLimited     = "RATE_LIMITED"
	CodeInternal        = "INTERNAL_ERROR"
)

// codeForStatus is the table's code for a status, "" for one it lacks.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusConflict:
		return CodeConflict
	case http.StatusUnprocessableEntity:
		return CodeValidation
	}
	return ""
}

// ValidationError is a refusal that names the fields at fault (a 422
// VALIDATION_ERROR with its errors array). errors.As also finds the
// *connectors.RequestError it carries.
type ValidationError struct {
	*connectors.RequestError
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return fmt.Sprintf("%s (%s)", e.RequestError.Error(), strings.Join(parts, "; "))
}

// Unwrap returns the RequestError.
func (e *ValidationError) Unwrap() error { return e.RequestError }

// FieldNames returns the names of the fields at fault, in order.
func (e *ValidationError) FieldNames() []string {
	out := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		out[i] = f.Field
	}
	return out
}

// IsNotFound reports whether err is the remote's 404 for a missing record.
func IsNotFound(err error) bool { return connectors.HasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is the remote's 409, such as a duplicate
// phone number.
func IsConflict(err error) bool { return connectors.HasStatus(err, http.StatusConflict) }

// itemError turns the refusal of record i into the connectors.ItemError
// the sync engine counts; ok is false when err concerns more than the
// record (auth, rate limit, transient, or no HTTP answer at all).
// The client already gave a code-less body the table's code
// (codeForStatus), so a code still empty stays empty.
func itemError(i int, id string, err error) (connectors.ItemError, bool) {
	return connectors.RecordError(i, id, err, codeForStatus)
}

package wazera

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/crmhub/crmhub/connectors"
)

// Error codes. The document shows only VALIDATION_ERROR; the others are
// the codes this package assumes for the statuses it lists, compared
// only where noted.
const (
	CodeValidation   = "VALIDATION_ERROR"
	CodeBadRequest   = "BAD_REQUEST"
	CodeUnauthorized = "UNAUTHORIZED"
	CodeForbidden    = "FORBIDDEN"
	CodeNotFound     = "NOT_FOUND"
	CodeRateLimited  = "RATE_LIMITED"
	CodeServerError  = "SERVER_ERROR"
)

// RemoteError is a 4xx answer other than 401, 403 and 429: the documented
// error body, with the field names its "details" object gives (for a 422,
// Laravel-style {"phone": ["The phone field is required."]}). errors.As
// finds the *connectors.RequestError inside it.
type RemoteError struct {
	*connectors.RequestError
	// Fields are the keys of "details", sorted; nil when it has none.
	Fields []string
}

// Unwrap returns the connectors.RequestError the engine branches on.
func (e *RemoteError) Unwrap() error { return e.RequestError }

// FieldNames returns the keys of "details".
func (e *RemoteError) FieldNames() []string { return e.Fields }

// detailFields returns the sorted keys of a "details" object.
func detailFields(raw json.RawMessage) []string {
	var details map[string]json.RawMessage
	if json.Unmarshal(raw, &details) != nil || len(details) == 0 {
		return nil
	}
	fields := make([]string, 0, len(details))
	for k := range details {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	return fields
}

// IsNotFound reports whether err is the remote's 404 for a missing record.
func IsNotFound(err error) bool { return connectors.HasStatus(err, http.StatusNotFound) }

// itemError turns a request-level refusal of one record into the
// connectors.ItemError of that record, or returns nil when err concerns
// more than the record (auth, rate limit, outage, transport).
func itemError(err error, index int, id string) error {
	var re *RemoteError
	if !errors.As(err, &re) {
		return nil
	}
	ie, _ := connectors.RecordError(index, id, re, http.StatusText)
	return ie
}

package wazapin

import (
	"net/http"

	"github.com/crmhub/crmhub/connectors"
)

// Error codes. The document names not_found and conflict; the others
// are this package's reading of what the remote answers.
const (
	CodeNotFound   = "not_found"
	CodeConflict   = "conflict"
	CodeValidation = "validation_error"

	// CodeIdentityConflict is the connectors.ItemError code of a record
	// whose identifiers resolve to different Wazapin contacts (resolve
	// answered 409). The sync engine records it as an identity conflict.
	CodeIdentityConflict = connectors.CodeIdentityConflict
)

// RequestError is a 4xx answer other than 401, 403 and 429: a
// connectors.RequestError (errors.As finds it) with the invalid fields
// the remote named, if any.
type RequestError struct {
	connectors.RequestError
	Fields []string
}

// Unwrap exposes the connectors.RequestError to errors.As.
func (e *RequestError) Unwrap() error { return &e.RequestError }

// FieldNames returns the invalid fields the remote named.
func (e *RequestError) FieldNames() []string { return e.Fields }

// IsNotFound reports whether err is the remote's 404.
func IsNotFound(err error) bool { return connectors.HasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is the remote's 409.
func IsConflict(err error) bool { return connectors.HasStatus(err, http.StatusConflict) }

// itemError turns the failure of a request made for one record into the
// ItemError of record i. ok is false for errors that concern
// the whole call (rate limit, refused key, unreachable remote, ...).
func itemError(i int, id string, err error) (connectors.ItemError, bool) {
	return connectors.RecordError(i, id, err, http.StatusText)
}

package connectors

import (
	"fmt"
	"strings"
	"time"
)

// RateLimitError is returned by a connector when the remote answered 429.
// The sync engine waits RetryAfter (or backs off when it is zero) and tries
// again without failing the run.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("connectors: rate limited by remote, retry after %s", e.RetryAfter)
}

// AuthError is returned when the remote refuses the credentials (401/403).
// It fails the run with a message naming the cause.
type AuthError struct {
	Status  int
	Message string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("connectors: remote refused the API key (HTTP %d): %s", e.Status, e.Message)
}

// TransientError is a failure worth retrying with backoff: a 5xx answer, a
// timeout, a dropped connection.
type TransientError struct {
	Status int // 0 when no HTTP answer arrived
	// Code is the remote's error code when its answer named one (Wazzup's
	// MESSAGES_CAN_NOT_ADD), so a connector can tell its causes apart.
	Code string
	Err  error
}

func (e *TransientError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("connectors: remote unreachable: %v", e.Err)
	}
	return fmt.Sprintf("connectors: remote answered HTTP %d: %v", e.Status, e.Err)
}

func (e *TransientError) Unwrap() error { return e.Err }

// RequestError is a 4xx answer other than 401/403/429 that concerns the
// whole request: retrying it unchanged will not help.
type RequestError struct {
	Status  int
	Code    string // the remote's error code, e.g. "TOO_MACH_ENTITIES"
	Message string
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("connectors: remote rejected the request (HTTP %d %s): %s", e.Status, e.Code, e.Message)
}

// CodeIdentityConflict is the ItemError code of a pushed record whose
// identifiers the remote holds on different remote records (Wazapin's 409
// on resolve). The engine records it as an identity conflict instead of a
// failure; it never merges.
const CodeIdentityConflict = "IDENTITY_CONFLICT"

// ItemError reports one record of a batch that the remote rejected (for
// Wazzup, INVALID_CONTACTS_DATA names the index and fields). Only that
// record fails; the others of the batch go on.
type ItemError struct {
	Index   int
	ID      string // the record's id, when known
	Code    string
	Fields  []string
	Message string
}

// Detail is the remote's own account of the refusal, for a sync run's
// errors: its message and the fields it named, e.g. "One or more of
// provided contacts data are not valid. (fields: responsibleUserId)".
func (e ItemError) Detail() string {
	msg := e.Message
	if msg == "" {
		msg = "rejected by the remote"
	}
	if len(e.Fields) > 0 {
		msg += " (fields: " + strings.Join(e.Fields, ", ") + ")"
	}
	return msg
}

func (e ItemError) Error() string {
	return fmt.Sprintf("connectors: record %d (%s) rejected: %s %v %s", e.Index, e.ID, e.Code, e.Fields, e.Message)
}

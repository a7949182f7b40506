package connectors

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"errors"
	"github.com/crmhub/crmhub/internal/safehttp"
)

// The helpers below are the part of every connector's wire client that
// does not depend on the CRM: reading Retry-After and classifying the
// answers the sync engine branches on. Each client still decodes its own
// error body and builds its own RequestError for the other 4xx answers.

// BodyMessage is the message of an error answer: the one its body gave,
// else the raw body, else the status text.
func BodyMessage(msg string, raw []byte, status int) string {
	if msg == "" {
		msg = strings.TrimSpace(string(raw))
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return msg
}

// StatusError classifies an error answer the same way for every CRM: 429
// is a RateLimitError (with Retry-After), 401 and 403 an AuthError, 5xx a
// TransientError. It returns nil for any other status, which the client
// maps to its own RequestError. name is the client's ("wazzup"), what the
// call, code and msg those of the body; now (nil: time.Now) dates an HTTP
// date in Retry-After.
func StatusError(name, what string, resp *http.Response, code, msg string, now func() time.Time) error {
	status := resp.StatusCode
	if code != "" {
		msg = code + ": " + msg
	}
	switch {
	case status == http.StatusTooManyRequests:
		if now == nil {
			now = time.Now
		}
		wait, _ := safehttp.ParseRetryAfter(resp.Header.Get("Retry-After"), now()) // 0 when absent or unreadable
		return &RateLimitError{RetryAfter: wait}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &AuthError{Status: status, Message: msg}
	case status >= 500:
		return &TransientError{Status: status, Code: code, Err: fmt.Errorf("%s: %s: %s", name, what, msg)}
	}
	return nil
}

// HasStatus reports whether err carries the RequestError of an answer
// with status, such as a remote's 404 for a missing record.
func HasStatus(err error, status int) bool {
	var re *RequestError
	return errors.As(err, &re) && re.Status == status
}

// FieldNamer is a client's refusal that names the fields at fault.
type FieldNamer interface {
	FieldNames() []string
}

// RecordError turns the refusal of one record (index i, id) into the
// ItemError the sync engine counts; ok is false when err concerns more than
// the record (auth, rate limit, transient, or no HTTP answer at all). The
// code is the remote's, else defaultCode of the status when not nil; the
// fields are those of a FieldNamer in err's chain.
func RecordError(i int, id string, err error, defaultCode func(status int) string) (ie ItemError, ok bool) {
	var re *RequestError
	if !errors.As(err, &re) {
		return ItemError{}, false
	}
	ie = ItemError{Index: i, ID: id, Code: re.Code, Message: re.Message}
	if ie.Code == "" && defaultCode != nil {
		ie.Code = defaultCode(re.Status)
	}
	var fn FieldNamer
	if errors.As(err, &fn) {
		ie.Fields = fn.FieldNames()
	}
	return ie, true
}

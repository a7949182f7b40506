package connectors

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The helpers below are the part of every connector's wire client that
// does not depend on the CRM: reading Retry-After and classifying the
// answers the sync engine branches on. Each client still decodes its own
// error body and builds its own RequestError for the other 4xx answers.

// ParseRetryAfter reads a Retry-After value as delay-seconds or an HTTP
// date; it returns 0 when the header is absent, unreadable or in the past,
// leaving the back-off to the engine.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(max(secs, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

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
		return &RateLimitError{RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), now())}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &AuthError{Status: status, Message: msg}
	case status >= 500:
		return &TransientError{Status: status, Err: fmt.Errorf("%s: %s: %s", name, what, msg)}
	}
	return nil
}

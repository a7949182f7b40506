package wazelotest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/mail"
	"strconv"
	"unicode/utf8"
)

// maxBody bounds the request bodies the fake reads.
const maxBody = 1 << 20

// readBody reads r's body for the request log and the handlers.
func readBody(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	return b
}

// withBody gives r a fresh reader over body.
func withBody(r *http.Request, body []byte) *http.Request {
	r.Body = io.NopCloser(bytes.NewReader(body))
	return r
}

// object is a request body with its fields kept raw, so their JSON types
// are checked strictly.
type object map[string]json.RawMessage

// readObject reads a body that must be a JSON object; nil when it is not.
func readObject(r *http.Request) object {
	b, _ := io.ReadAll(r.Body)
	b = bytes.TrimSpace(b)
	var o object
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &o) != nil {
		return nil
	}
	return o
}

// has reports whether key is given, null included.
func (o object) has(key string) bool { _, ok := o[key]; return ok }

// null reports whether key is given as null.
func (o object) null(key string) bool { return string(o[key]) == "null" }

// checker collects the fields at fault of one body.
type checker struct{ errs []FieldError }

func (c *checker) fail(field, msg string) {
	c.errs = append(c.errs, FieldError{Field: field, Message: msg})
}

// str reads key as a string of at most max characters; nil when absent or
// null. A value of another type fails.
func (c *checker) str(o object, key string, max int) *string {
	if !o.has(key) || o.null(key) {
		return nil
	}
	var s string
	if json.Unmarshal(o[key], &s) != nil {
		c.fail(key, "must be a string")
		return nil
	}
	if utf8.RuneCountInString(s) > max {
		c.fail(key, "must be at most "+strconv.Itoa(max)+" characters")
		return nil
	}
	return &s
}

// phone checks a phone number: an optional "+" and minPhone to maxPhone
// digits. It returns the digits.
func (c *checker) phone(field, s string) string {
	d := s
	if len(d) > 0 && d[0] == '+' {
		d = d[1:]
	}
	if len(d) < minPhone || len(d) > maxPhone || !allDigits(d) {
		c.fail(field, "must be a phone number with country code, "+strconv.Itoa(minPhone)+" to "+strconv.Itoa(maxPhone)+" digits")
		return ""
	}
	return d
}

// email checks an email address.
func (c *checker) email(field, s string) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > maxEmail {
		c.fail(field, "must be a valid email address")
	}
}

func allDigits(s string) bool {
	for _, r := range []byte(s) {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// intParam reads a query parameter as an integer in [lo, hi], def when
// absent.
func intParam(r *http.Request, key string, def, lo, hi int) (int, bool) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= lo && n <= hi
}

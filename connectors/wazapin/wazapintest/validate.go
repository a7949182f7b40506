package wazapintest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits the fake enforces. The document gives none; these are the
// fake's reading, named so tests and the client can refer to them.
const (
	MaxBody            = 1 << 20
	MaxNameLength      = 255
	MaxEmailLength     = 254
	MaxExternalSource  = 100
	MaxExternalID      = 255
	MaxCustomFields    = 50
	MaxCustomFieldKey  = 64
	MaxIdentifiers     = 20
	MaxIdentifierValue = 255
	MaxTagLength       = 64
	MaxNoteLength      = 5000
	MaxConsentSource   = 200
	MaxConsentEvidence = 2000
	MaxReason          = 500
)

// readBody reads a request body of at most MaxBody bytes.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBody {
		return b[:MaxBody], fmt.Errorf("request body larger than %d bytes", MaxBody)
	}
	return b, nil
}

// object is a request body with its fields kept raw, so presence, null
// and JSON types can be told apart.
type object map[string]json.RawMessage

// errMalformed is answered 400 invalid_request.
var errMalformed = errors.New("request body is not a JSON object")

func decodeObject(r *http.Request) (object, error) {
	var o object
	b, _ := io.ReadAll(r.Body)
	if len(b) == 0 {
		return object{}, nil
	}
	if err := json.Unmarshal(b, &o); err != nil || o == nil {
		return nil, errMalformed
	}
	return o, nil
}

// present reports whether key is given with a value other than null.
func (o object) present(key string) bool {
	v, ok := o[key]
	return ok && string(v) != "null"
}

// given reports whether key appears at all, null included.
func (o object) given(key string) bool {
	_, ok := o[key]
	return ok
}

// problems collects invalid field names, once each.
type problems []string

func (p *problems) add(field string) {
	for _, f := range *p {
		if f == field {
			return
		}
	}
	*p = append(*p, field)
}

// str reads key as a string of at most max characters, trimmed; a
// required one must be present and not empty. A bad value is added to p.
func (o object) str(p *problems, key string, max int, required bool) string {
	if !o.present(key) {
		if required {
			p.add(key)
		}
		return ""
	}
	var s string
	if json.Unmarshal(o[key], &s) != nil {
		p.add(key)
		return ""
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); (required && n == 0) || n > max {
		p.add(key)
	}
	return s
}

// timestamp reads key as an RFC 3339 time, nil when absent.
func (o object) timestamp(p *problems, key string) *time.Time {
	if !o.present(key) {
		return nil
	}
	var t time.Time
	if json.Unmarshal(o[key], &t) != nil {
		p.add(key)
		return nil
	}
	return &t
}

// phoneDigits returns the digits of an E.164 number ("+" and 7 to 15
// digits; spaces, dashes and parentheses ignored), ok false otherwise.
func phoneDigits(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "+") {
		return "", false
	}
	var b strings.Builder
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	d := b.String()
	return d, len(d) >= 7 && len(d) <= 15 && d[0] != '0'
}

// validEmail reports whether s is a bare address.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && utf8.RuneCountInString(s) <= MaxEmailLength
}

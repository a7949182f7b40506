package wazeratest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxBody bounds the request bodies the fake reads.
const maxBody = 1 << 20

// maxString is the length limit of the fake's string fields (Laravel's
// usual "max:255").
const maxString = 255

// e164 is the phone form the document's examples use.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func readBody(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	return b
}

func bodyReader(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// object is a request body with its fields kept raw, so their JSON types
// can be checked.
type object map[string]json.RawMessage

// readObject decodes a body that must be a JSON object; nil otherwise.
func readObject(r *http.Request) object {
	var o object
	if json.Unmarshal(readBody(r), &o) != nil {
		return nil
	}
	return o
}

// has reports whether key is given (null included).
func (o object) has(key string) bool { _, ok := o[key]; return ok }

// null reports whether key is absent or null.
func (o object) null(key string) bool {
	v, ok := o[key]
	return !ok || string(v) == "null"
}

// invalid collects validation messages by field, in the order found.
type invalid struct {
	fields []string
	msgs   map[string][]string
	// prefix names the object being read ("content." inside a message);
	// fields are reported under it.
	prefix string
}

func (v *invalid) add(field, msg string) {
	field = v.prefix + field
	if v.msgs == nil {
		v.msgs = map[string][]string{}
	}
	if _, ok := v.msgs[field]; !ok {
		v.fields = append(v.fields, field)
	}
	v.msgs[field] = append(v.msgs[field], msg)
}

func (v *invalid) ok() bool { return len(v.fields) == 0 }

// write answers 422 VALIDATION_ERROR with the first message as "message"
// and every message in "details", as the document's example shows.
func (v *invalid) write(w http.ResponseWriter) {
	writeError(w, http.StatusUnprocessableEntity, "VALIDATION_ERROR", v.msgs[v.fields[0]][0], v.msgs)
}

// label is the field's name as Laravel writes it in messages.
func label(field string) string { return strings.ReplaceAll(field, "_", " ") }

// fail records that field breaks a rule, with Laravel's wording
// "The <field> field <rule>."
func (v *invalid) fail(field, rule string) {
	v.add(field, "The "+label(v.prefix+field)+" field "+rule+".")
}

// str reads a string field of at most maxString characters; set is false
// when it is absent or null.
func (v *invalid) str(o object, field string, required bool) (s string, set bool) {
	return v.strMax(o, field, maxString, required)
}

// strMax is str with another length limit.
func (v *invalid) strMax(o object, field string, limit int, required bool) (s string, set bool) {
	if o.null(field) {
		if required {
			v.fail(field, "is required")
		}
		return "", false
	}
	if json.Unmarshal(o[field], &s) != nil {
		v.fail(field, "must be a string")
		return "", false
	}
	switch {
	case required && strings.TrimSpace(s) == "":
		v.fail(field, "is required")
	case utf8.RuneCountInString(s) > limit:
		v.fail(field, "must not be greater than "+strconv.Itoa(limit)+" characters")
	}
	return s, true
}

// phone reads an E.164 phone field.
func (v *invalid) phone(o object, field string, required bool) (string, bool) {
	n := len(v.fields)
	s, set := v.str(o, field, required)
	if set && len(v.fields) == n && !e164.MatchString(s) {
		v.fail(field, "format is invalid")
	}
	return s, set
}

// email reads an optional email field.
func (v *invalid) email(o object, field string) (string, bool) {
	n := len(v.fields)
	s, set := v.str(o, field, false)
	if set && len(v.fields) == n {
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
			v.fail(field, "must be a valid email address")
		}
	}
	return s, set
}

package crmhub

import (
	"strings"
	"unicode/utf8"
)

// Storable reports whether s can be stored as text: valid UTF-8 holding no
// NUL, which PostgreSQL refuses in text and JSONB (and which broke the
// statement's text, so such a write failed as an internal error).
func Storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// VisibleASCII reports whether s is 1 to max visible ASCII characters (no
// space or control character), as a token a client sends in a header must
// be so it cannot forge a header or a log line.
func VisibleASCII(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// unstorable is the EINVALID error for text that Storable refuses.
func unstorable(field string) *Error {
	return Invalid(field, "%s holds a character that cannot be stored (NUL or invalid UTF-8)", field)
}

// OptionalText trims free text and checks it: at most max characters and
// Storable. Empty text becomes nil, "not given".
func OptionalText(s *string, field string, max int) (*string, error) {
	if s == nil {
		return nil, nil
	}
	v := strings.TrimSpace(*s)
	if !Storable(v) {
		return nil, unstorable(field)
	}
	if utf8.RuneCountInString(v) > max {
		return nil, Invalid(field, "%s is longer than %d characters", field, max)
	}
	if v == "" {
		return nil, nil
	}
	return &v, nil
}

package wazzuptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxBody bounds the request bodies the fake reads.
const maxBody = 16 << 20

// object is one record of a request body with its fields kept raw, so
// their JSON types can be checked as strictly as the documents say.
type object map[string]json.RawMessage

// present reports whether key is given with a value other than null.
func (o object) present(key string) bool {
	v, ok := o[key]
	return ok && string(v) != "null"
}

// str reads key as a string of at most max characters (0: no limit);
// a required one must be present and not empty. ok is false when the
// value breaks those rules.
func (o object) str(key string, max int, required bool) (s string, ok bool) {
	if !o.present(key) {
		return "", !required
	}
	if json.Unmarshal(o[key], &s) != nil {
		return "", false
	}
	n := utf8.RuneCountInString(s)
	if (required && n == 0) || (max > 0 && n > max) {
		return "", false
	}
	return s, true
}

// anyID reads key as the v2 document's "string or number": a string of at
// most max characters or an integer, returned as text.
func (o object) anyID(key string, max int, required bool) (string, bool) {
	if !o.present(key) {
		return "", !required
	}
	if raw := o[key]; raw[0] != '"' {
		n, err := strconv.ParseInt(string(raw), 10, 64)
		return strconv.FormatInt(n, 10), err == nil
	}
	return o.str(key, max, required)
}

// problems collects the invalid field names of one record, once each.
type problems []string

func (p *problems) add(field string) {
	if !slices.Contains(*p, field) {
		*p = append(*p, field)
	}
}

// invalidEntry is one element of the documented "data" array of
// INVALID_CONTACTS_DATA.
type invalidEntry struct {
	Index  int      `json:"index"`
	Fields []string `json:"fields"`
}

var errNotArray = errors.New("the body is not a JSON array")

// readArray reads a request body that must be a JSON array.
func readArray(r *http.Request) ([]json.RawMessage, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		return nil, errNotArray
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, err
	}
	return items, nil
}

// readObject decodes one array element; nil when it is not an object.
func readObject(raw json.RawMessage) object {
	var o object
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &o) != nil {
		return nil
	}
	return o
}

// validateBatch parses every element of items with parse and collects the
// invalid ones as documented {index, fields} entries.
func validateBatch[T any](items []json.RawMessage, parse func(object) (T, problems)) ([]T, []invalidEntry) {
	recs := make([]T, 0, len(items))
	var bad []invalidEntry
	for i, raw := range items {
		rec, p := parse(readObject(raw))
		if len(p) > 0 {
			bad = append(bad, invalidEntry{Index: i, Fields: p})
			continue
		}
		recs = append(recs, rec)
	}
	return recs, bad
}

// isDigits reports whether s is made of ASCII digits only, with a length
// between min and max.
func isDigits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// offsetParam reads the documented "offset" query parameter: a
// non-negative integer, 0 when absent or empty.
func offsetParam(r *http.Request) (int, bool) {
	v := r.URL.Query().Get("offset")
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0
}

// page returns the slice of recs that starts at offset, at most pageSize long.
func page[T any](recs []T, offset int) []T {
	if offset >= len(recs) {
		return []T{}
	}
	return recs[offset:min(offset+pageSize, len(recs))]
}

// pageSize is the documented maximum of records per list request.
const pageSize = 100

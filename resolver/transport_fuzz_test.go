package resolver

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzCheckJSON: what the transport's cheap checks let through is valid
// JSON nesting at most maxJSONDepth, so decoding it costs what its size
// says; jsonDepth never panics on any input.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"query":"{ viewer { scopes } }","variables":{"a":[1,{"b":"c"}]}}`, `[{"query":"x"}]`,
		`{"a":"\\"}"}`, `{"a":"[[[["}`, strings.Repeat("[", 40) + strings.Repeat("]", 40), `{"a":`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		depth := jsonDepth(b)
		if checkJSON(b, "body") != nil {
			return
		}
		if !json.Valid(b) || depth > maxJSONDepth {
			t.Fatalf("accepted %q (depth %d)", b, depth)
		}
		var v any
		if err := decodeJSON(b, &v); err != nil {
			t.Fatalf("accepted %q, which does not decode: %v", b, err)
		}
		if got := nesting(v); got != depth {
			t.Fatalf("%q: jsonDepth %d, decoded nesting %d", b, depth, got)
		}
	})
}

// nesting is the depth of arrays and objects of a decoded value.
func nesting(v any) int {
	deepest := 0
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			deepest = max(deepest, nesting(e))
		}
		return deepest + 1
	case []any:
		for _, e := range v {
			deepest = max(deepest, nesting(e))
		}
		return deepest + 1
	}
	return 0
}

package crmhub

import (
	"errors"
	"strings"
	"testing"
)

func TestOptionalText(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		in      *string
		want    *string
		invalid bool
	}{
		{nil, nil, false},
		{s("  "), nil, false},
		{s(" hi "), s("hi"), false},
		{s(strings.Repeat("é", 10)), s(strings.Repeat("é", 10)), false},
		{s(strings.Repeat("é", 11)), nil, true},
		{s("a\x00b"), nil, true},
		{s("bad \xff utf8"), nil, true},
	} {
		got, err := OptionalText(tc.in, "note", 10)
		if (err != nil) != tc.invalid || (err != nil && ErrorCode(err) != EINVALID) {
			t.Errorf("OptionalText(%q): err %v", deref(tc.in), err)
			continue
		}
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("OptionalText(%q) = %q, want %q", deref(tc.in), deref(got), deref(tc.want))
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestCustomFieldsRefuseUnstorableAndDeep: a NUL anywhere in a value or
// key, or nesting past MaxCustomFieldDepth, is EINVALID naming the field.
func TestCustomFieldsRefuseUnstorableAndDeep(t *testing.T) {
	nest := func(depth int) any {
		var v any = "leaf"
		for range depth {
			v = map[string]any{"k": v}
		}
		return v
	}
	for _, tc := range []struct {
		fields map[string]any
		field  string
	}{
		{map[string]any{"a": "x\x00"}, "customFields.a"},
		{map[string]any{"a": map[string]any{"b\x00": 1}}, "customFields.a"},
		{map[string]any{"a": []any{"ok", "n\x00"}}, "customFields.a[1]"},
		{map[string]any{"deep": nest(MaxCustomFieldDepth + 1)}, "customFields.deep.k.k.k.k.k"},
		{map[string]any{"deep": []any{[]any{[]any{[]any{[]any{[]any{1}}}}}}}, "customFields.deep[0][0][0][0][0]"},
	} {
		_, err := NormalizeCustomFields(tc.fields)
		var e *Error
		if err == nil || !errors.As(err, &e) || e.Code != EINVALID || e.Field != tc.field {
			t.Errorf("NormalizeCustomFields(%v) = %v, want EINVALID at %s", tc.fields, err, tc.field)
		}
	}
	if _, err := NormalizeCustomFields(map[string]any{"deep": nest(MaxCustomFieldDepth)}); err != nil {
		t.Errorf("depth %d refused: %v", MaxCustomFieldDepth, err)
	}
}

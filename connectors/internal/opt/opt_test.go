package opt

import "testing"

func TestNonEmpty(t *testing.T) {
	if got := NonEmpty(""); got != nil {
		t.Errorf("NonEmpty(\"\") = %q, want nil", *got)
	}
	if got := NonEmpty("a"); got == nil || *got != "a" {
		t.Errorf("NonEmpty(\"a\") = %v, want a pointer to \"a\"", got)
	}
}

func TestDeref(t *testing.T) {
	s := "a"
	n := 3
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"nil string", Deref[string](nil), ""},
		{"string", Deref(&s), "a"},
		{"nil int", Deref[int](nil), 0},
		{"int", Deref(&n), 3},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

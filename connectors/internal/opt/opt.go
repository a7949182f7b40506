// Package opt converts between the optional values of the wire, where an
// absent field and an empty one are the same, and Go pointers. The
// connectors, their fakes and their tests share it so that "empty means
// absent" is one rule.
package opt

// NonEmpty returns a pointer to s, or nil when s is empty: an empty
// string on the wire means no value.
func NonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Deref returns the value p points to, or the zero value when p is nil.
func Deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

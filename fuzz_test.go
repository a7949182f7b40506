package crmhub

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
)

// The parsers of outside input, fuzzed: each must refuse or accept without
// panicking, and what it accepts must be canonical (normalizing again
// changes nothing) and storable. `make fuzz` runs each for a few seconds;
// the seeds are the contract's and the CRM documents' examples.

func FuzzIdentifierNormalize(f *testing.F) {
	for _, s := range []string{"+7 999 111-44-33", "79991114433", "+1 (415) 555-2671", "Anna@Example.com", "@boris",
		"https://instagram.com/anna", "vk.com/id123", "ext-42", "contact_0192f1c4e8a07f6a9d1a2b3c4d5e6f70", "", " ", "+", "\x00"} {
		for _, typ := range IdentityTypes {
			f.Add(string(typ), s, "src")
		}
	}
	f.Fuzz(func(t *testing.T, typ, value, source string) {
		id, err := Identifier{Type: IdentityType(typ), Value: value, Source: source}.Normalize()
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if !Storable(id.Value) || !Storable(id.Source) {
			t.Fatalf("accepted unstorable %q / %q", id.Value, id.Source)
		}
		again, err := id.Normalize()
		if err != nil || again != id {
			t.Fatalf("not canonical: %+v normalizes to %+v, %v", id, again, err)
		}
		if id.Type.IsPhoneLike() && id.Value[0] != '+' {
			t.Fatalf("phone %q is not E.164", id.Value)
		}
	})
}

func FuzzParseID(f *testing.F) {
	f.Add(GlobalID(KindContact, uuid.Must(uuid.NewV7())))
	f.Add("contact_" + "zz")
	f.Add("deal_0192f1c4e8a07f6a9d1a2b3c4d5e6f70")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		k, id, err := ParseAnyID(s)
		if err != nil {
			if ErrorCode(err) != ENOTFOUND {
				t.Fatalf("error %v is not ENOTFOUND", err)
			}
			return
		}
		if again, err := ParseID(k, GlobalID(k, id)); err != nil || again != id {
			t.Fatalf("%q: round trip gave %v, %v", s, again, err)
		}
	})
}

func FuzzParseEventCursor(f *testing.F) {
	for _, s := range []string{"", "ev0", "ev42", "ev-1", "ev99999999999999999999", "xx1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseEventCursor(s, "after")
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("%q gave position %d", s, n)
		}
		if again, err := ParseEventCursor(EventCursor(n), "after"); err != nil || again != n {
			t.Fatalf("%q: round trip gave %d, %v", s, again, err)
		}
	})
}

func FuzzNormalizeCustomFields(f *testing.F) {
	for _, s := range []string{`{"city":"Kazan"}`, `{"a":{"b":[1,2,{"c":null}]}}`, `{"":1}`, `{"k":"\u0000"}`,
		`{"d":[[[[[[1]]]]]]}`, `{"n":1e308}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fields map[string]any
		if json.Unmarshal([]byte(s), &fields) != nil {
			return
		}
		out, err := NormalizeCustomFields(fields)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("accepted fields that do not encode back: %v", err)
		}
		if again, err := NormalizeCustomFields(out); err != nil || len(again) != len(out) {
			t.Fatalf("not canonical: %v", err)
		}
	})
}

package crmhub_test

import (
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

func TestIdentifierNormalize(t *testing.T) {
	contactID := crmhub.GlobalID(crmhub.KindContact, uuid.MustParse("0192f1c4-a2b8-7c3e-9d1f-00aa11bb22cc"))
	tests := []struct {
		in        crmhub.Identifier
		want      string
		wantField string // "" means no error
	}{
		{crmhub.Identifier{Type: "PHONE", Value: "+7 (999) 111-44-33"}, "+79991114433", ""},
		{crmhub.Identifier{Type: "WHATSAPP", Value: "79991114433"}, "+79991114433", ""},
		{crmhub.Identifier{Type: "WA_ID", Value: " 447700900123 "}, "+447700900123", ""},
		{crmhub.Identifier{Type: "PHONE", Value: "+12"}, "", "value"},
		{crmhub.Identifier{Type: "PHONE", Value: "abc"}, "", "value"},
		{crmhub.Identifier{Type: "PHONE", Value: "+7999111443x"}, "", "value"},
		{crmhub.Identifier{Type: "PHONE", Value: "0000000000"}, "", "value"},
		{crmhub.Identifier{Type: "EMAIL", Value: "  Ann.Lee@Example.COM "}, "ann.lee@example.com", ""},
		{crmhub.Identifier{Type: "EMAIL", Value: "not an email"}, "", "value"},
		{crmhub.Identifier{Type: "EMAIL", Value: "Ann <ann@x.io>"}, "", "value"},
		{crmhub.Identifier{Type: "TELEGRAM", Value: "@Durov"}, "durov", ""},
		{crmhub.Identifier{Type: "TELEGRAM", Value: "https://t.me/durov"}, "durov", ""},
		{crmhub.Identifier{Type: "TELEGRAM", Value: "123456789"}, "123456789", ""},
		{crmhub.Identifier{Type: "TELEGRAM", Value: "+79991114433"}, "+79991114433", ""},
		{crmhub.Identifier{Type: "INSTAGRAM", Value: "@Some.User_1"}, "some.user_1", ""},
		{crmhub.Identifier{Type: "INSTAGRAM", Value: "bad user"}, "", "value"},
		{crmhub.Identifier{Type: "VK", Value: "vk.com/id42"}, "id42", ""},
		{crmhub.Identifier{Type: "EXTERNAL_ID", Value: " 42 ", Source: " wazzup "}, "42", ""},
		{crmhub.Identifier{Type: "EXTERNAL_ID", Value: "42"}, "", "source"},
		{crmhub.Identifier{Type: "CONTACT_ID", Value: contactID}, contactID, ""},
		{crmhub.Identifier{Type: "CONTACT_ID", Value: "nt_0192f1c4a2b87c3e9d1f00aa11bb22cc"}, "", "value"},
		{crmhub.Identifier{Type: "FAX", Value: "1"}, "", "type"},
		{crmhub.Identifier{Type: "EMAIL", Value: "   "}, "", "value"},
		{crmhub.Identifier{Type: "EXTERNAL_ID", Value: string(make([]byte, 256)), Source: "s"}, "", "value"},
	}
	for _, tt := range tests {
		got, err := tt.in.Normalize()
		if tt.wantField != "" {
			e, ok := err.(*crmhub.Error)
			if !ok || e.Code != crmhub.EINVALID || e.Field != tt.wantField {
				t.Errorf("Normalize(%+v): err = %v, want VALIDATION_ERROR on %q", tt.in, err, tt.wantField)
			}
			continue
		}
		if err != nil || got.Value != tt.want {
			t.Errorf("Normalize(%+v) = %q, %v; want %q", tt.in, got.Value, err, tt.want)
		}
	}
}

func TestMatchKeys(t *testing.T) {
	norm := func(typ crmhub.IdentityType, v, src string) crmhub.MatchKey {
		id, err := crmhub.Identifier{Type: typ, Value: v, Source: src}.Normalize()
		if err != nil {
			t.Fatal(err)
		}
		return id.MatchKey()
	}
	if norm("PHONE", "+79991114433", "a") != norm("WHATSAPP", "79991114433", "b") {
		t.Error("PHONE and WHATSAPP with one number must match, whatever their source")
	}
	if norm("EXTERNAL_ID", "1", "wazzup") == norm("EXTERNAL_ID", "1", "wazelo") {
		t.Error("EXTERNAL_IDs of different sources must not match")
	}
	if norm("TELEGRAM", "ann", "") == norm("INSTAGRAM", "ann", "") {
		t.Error("different networks must not match")
	}
}

func TestNormalizeIdentifiersPaths(t *testing.T) {
	_, err := crmhub.NormalizeIdentifiers([]crmhub.Identifier{{Type: "EMAIL", Value: "a@x.io"}, {Type: "PHONE", Value: "x"}})
	if e, ok := err.(*crmhub.Error); !ok || e.WithField("identifiers").Field != "identifiers[1].value" {
		t.Fatalf("err = %v, want field identifiers[1].value", err)
	}
	if _, err := crmhub.NormalizeIdentifiers(nil); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("no identifiers: %v", err)
	}
	got, err := crmhub.NormalizeIdentifiers([]crmhub.Identifier{{Type: "EMAIL", Value: "A@x.io"}, {Type: "EMAIL", Value: "a@x.io"}})
	if err != nil || len(got) != 1 {
		t.Errorf("duplicates after normalization kept: %v %v", got, err)
	}
}

func TestGlobalIDs(t *testing.T) {
	id := uuid.New()
	gid := crmhub.GlobalID(crmhub.KindContact, id)
	if got, err := crmhub.ParseID(crmhub.KindContact, gid); err != nil || got != id {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for _, bad := range []string{"", "ct_", "ct_xyz", gid + "0", crmhub.GlobalID(crmhub.KindNote, id), "zz_" + gid[3:]} {
		if _, err := crmhub.ParseID(crmhub.KindContact, bad); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
			t.Errorf("ParseID(%q): %v, want NOT_FOUND", bad, err)
		}
	}
	if k, got, err := crmhub.ParseAnyID(gid); err != nil || k != crmhub.KindContact || got != id {
		t.Errorf("ParseAnyID: %v %v %v", k, got, err)
	}
}

func TestMergeCustomFields(t *testing.T) {
	stored := map[string]any{"a": 1.0, "b": "x"}
	out, changed := crmhub.MergeCustomFields(stored, map[string]any{"a": 1.0})
	if changed || len(out) != 2 {
		t.Errorf("same value reported as a change")
	}
	out, changed = crmhub.MergeCustomFields(stored, map[string]any{"a": nil, "c": []any{"y"}})
	if !changed || len(out) != 2 || out["c"] == nil || stored["a"] == nil {
		t.Errorf("merge = %v (changed %v); stored %v must stay untouched", out, changed, stored)
	}
}

package crmhub_test

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
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
	out, changed, err := crmhub.MergeCustomFields(stored, map[string]any{"a": 1.0})
	if changed || len(out) != 2 || err != nil {
		t.Errorf("same value reported as a change (%v)", err)
	}
	out, changed, err = crmhub.MergeCustomFields(stored, map[string]any{"a": nil, "c": []any{"y"}})
	if !changed || len(out) != 2 || out["c"] == nil || stored["a"] == nil || err != nil {
		t.Errorf("merge = %v (changed %v, %v); stored %v must stay untouched", out, changed, err, stored)
	}
}

// TestMergeCustomFieldsLimit: a patch that would leave more than
// MaxCustomFields keys is VALIDATION_ERROR naming the limit; one that
// removes as many keys as it adds is fine at the limit.
func TestMergeCustomFieldsLimit(t *testing.T) {
	full := map[string]any{}
	for i := range crmhub.MaxCustomFields {
		full[fmt.Sprintf("k%d", i)] = 1.0
	}
	out, changed, err := crmhub.MergeCustomFields(full, map[string]any{"one more": 1.0})
	if crmhub.ErrorCode(err) != crmhub.EINVALID || !strings.Contains(crmhub.ErrorMessage(err), "at most 100") || changed || len(out) != len(full) {
		t.Fatalf("past the limit: %v (changed %v, %d keys)", err, changed, len(out))
	}
	if e, ok := err.(*crmhub.Error); !ok || e.Field != "customFields" {
		t.Fatalf("error field: %#v", err)
	}
	out, changed, err = crmhub.MergeCustomFields(full, map[string]any{"one more": 1.0, "k0": nil})
	if err != nil || !changed || len(out) != crmhub.MaxCustomFields {
		t.Fatalf("swap at the limit: %v (changed %v, %d keys)", err, changed, len(out))
	}
}

func TestMatchContact(t *testing.T) {
	a, b, merged, gone := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	gid := func(id uuid.UUID) string { return crmhub.GlobalID(crmhub.KindContact, id) }
	ident := func(typ crmhub.IdentityType, v string) crmhub.Identifier {
		id, err := crmhub.Identifier{Type: typ, Value: v}.Normalize()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	phoneA, emailB, free := ident("PHONE", "+79991114433"), ident("EMAIL", "b@x.io"), ident("EMAIL", "free@x.io")
	waA := ident("WHATSAPP", "79991114433")
	idA, idMerged, idGone := ident("CONTACT_ID", gid(a)), ident("CONTACT_ID", gid(merged)), ident("CONTACT_ID", gid(gone))
	owners := crmhub.Owners{
		Keys: map[crmhub.MatchKey]uuid.UUID{phoneA.MatchKey(): a, emailB.MatchKey(): b},
		IDs:  map[uuid.UUID]uuid.UUID{a: a, b: b, merged: b},
	}
	tests := []struct {
		name   string
		mode   crmhub.MatchMode
		target uuid.UUID
		ids    []crmhub.Identifier
		want   uuid.UUID
		code   string // "" means no error
		field  string
		msg    string
		ext    map[string]any
		cands  []uuid.UUID
	}{
		{name: "resolve: nothing matches", mode: crmhub.MatchResolve, ids: []crmhub.Identifier{free}},
		{name: "resolve: a phone matches its WhatsApp", mode: crmhub.MatchResolve, ids: []crmhub.Identifier{waA}, want: a},
		{name: "resolve: two identifiers of one contact", mode: crmhub.MatchResolve, ids: []crmhub.Identifier{phoneA, idA}, want: a},
		{name: "resolve: a merged contact's id names its survivor", mode: crmhub.MatchResolve, ids: []crmhub.Identifier{idMerged}, want: b},
		{name: "resolve: an unknown id matches nothing", mode: crmhub.MatchResolve, ids: []crmhub.Identifier{idGone, emailB}, want: b},
		{name: "resolve: several contacts, in the identifiers' order", mode: crmhub.MatchResolve,
			ids: []crmhub.Identifier{emailB, free, phoneA, idMerged}, code: crmhub.ECONFLICT,
			msg: "the identifiers belong to different contacts", ext: map[string]any{"contactIds": []string{gid(b), gid(a)}},
			cands: []uuid.UUID{b, a}},
		{name: "upsert: nothing matches: create", mode: crmhub.MatchUpsert, ids: []crmhub.Identifier{free}},
		{name: "upsert: one contact", mode: crmhub.MatchUpsert, ids: []crmhub.Identifier{free, emailB}, want: b},
		{name: "upsert: an unknown id", mode: crmhub.MatchUpsert, ids: []crmhub.Identifier{free, idGone},
			code: crmhub.EINVALID, field: "identifiers[1].value", msg: "no contact with this CONTACT_ID"},
		{name: "upsert: several contacts", mode: crmhub.MatchUpsert, ids: []crmhub.Identifier{phoneA, emailB},
			code: crmhub.ECONFLICT, msg: "the identifiers belong to different contacts",
			ext: map[string]any{"contactIds": []string{gid(a), gid(b)}}, cands: []uuid.UUID{a, b}},
		{name: "create: nothing matches", mode: crmhub.MatchCreate, ids: []crmhub.Identifier{free}},
		{name: "create: an identifier is taken", mode: crmhub.MatchCreate, ids: []crmhub.Identifier{free, emailB, phoneA},
			code: crmhub.ECONFLICT, msg: "an identifier already belongs to a contact",
			ext: map[string]any{"contactId": gid(b)}, cands: []uuid.UUID{b}},
		{name: "update: the target's own identifiers", mode: crmhub.MatchUpdate, target: a, ids: []crmhub.Identifier{waA, free}, want: a},
		{name: "update: a merged target", mode: crmhub.MatchUpdate, target: merged, ids: []crmhub.Identifier{emailB}, want: b},
		{name: "update: no such target", mode: crmhub.MatchUpdate, target: gone, ids: []crmhub.Identifier{free},
			code: crmhub.ENOTFOUND, msg: "contact not found"},
		{name: "update: another contact's identifier", mode: crmhub.MatchUpdate, target: a, ids: []crmhub.Identifier{emailB},
			code: crmhub.ECONFLICT, msg: "an identifier already belongs to another contact",
			ext: map[string]any{"contactIds": []string{gid(a), gid(b)}}, cands: []uuid.UUID{a, b}},
	}
	for _, tt := range tests {
		got, err := crmhub.MatchContact(tt.mode, tt.target, tt.ids, owners)
		if tt.code == "" {
			if err != nil || got != tt.want {
				t.Errorf("%s: got %v, %v; want %v", tt.name, got, err, tt.want)
			}
			continue
		}
		if err == nil || got != uuid.Nil || err.Code != tt.code || err.Field != tt.field || err.Message != tt.msg ||
			!reflect.DeepEqual(err.Extensions, tt.ext) || !slices.Equal(err.ContactIDs, tt.cands) {
			t.Errorf("%s: got %v, %+v; want %s on %q (%s), extensions %v, contacts %v",
				tt.name, got, err, tt.code, tt.field, tt.msg, tt.ext, tt.cands)
		}
	}
}

// A number answered from the cache of parsed phones is answered as the
// parser answers it, errors included, and an error names the input of the
// call that got it, not of the call that filled the cache.
func TestNormalizePhoneCached(t *testing.T) {
	for _, tc := range []struct{ first, again, want, problem string }{
		{"+7 (999) 111-44-33", "79991114433", "+79991114433", ""},
		{"+44 20 7946 0958", "442079460958", "+442079460958", ""},
		{"+0000000000", "0000000000", "", "does not parse"},
		{"+1 555 00", "155500", "", "must have 7 to 15 digits"},
		{"+999 1234567", "9991234567", "", "does not parse"},
		{"+1 555 0000", "15550000", "", "is not a possible number"},
	} {
		for _, in := range []string{tc.first, tc.again, tc.first} {
			got, err := crmhub.NormalizePhone(in)
			if got != tc.want || (err == nil) != (tc.problem == "") ||
				err != nil && (!strings.Contains(err.Error(), tc.problem) || !strings.Contains(err.Error(), strconv.Quote(in))) {
				t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %q", in, got, err, tc.want, tc.problem)
			}
		}
	}
}

// BenchmarkNormalizePhone: a number seen before (the cache) against a new
// one each time (libphonenumber's parse).
func BenchmarkNormalizePhone(b *testing.B) {
	b.Run("seen", func(b *testing.B) {
		for b.Loop() {
			if _, err := crmhub.NormalizePhone("+7 999 111-44-33"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n++
			if _, err := crmhub.NormalizePhone(fmt.Sprintf("+4915%08d", n)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

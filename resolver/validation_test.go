package resolver_test

import (
	"fmt"
	"strings"
	"testing"
)

const (
	createMutation = `mutation($input: ContactInput!) { createContact(input: $input) { id } }`
	listTotal      = `query($filter: ContactFilter, $first: Int) { contacts(filter: $filter, first: $first) { totalCount } }`
)

// withIDs builds a ContactInput variable.
func withIDs(ids ...map[string]any) map[string]any {
	return map[string]any{"input": map[string]any{"name": "X", "identifiers": ids}}
}

// TestBadInputChangesNothing sends every kind of bad input the contract
// names and checks the error code, the input path in extensions.field, and
// that the workspace is exactly as it was.
func TestBadInputChangesNothing(t *testing.T) {
	c := newEnv(t).workspace()
	a := c.createContact("A", ident("EMAIL", "a@example.com"))
	note := c.addNote(a.ID, "a note")
	otherKind := map[string]any{"id": note, "input": map[string]any{"name": "renamed"}}

	cases := []struct {
		name  string
		query string
		vars  map[string]any
		code  string
		field string // "-" when the error names no field
	}{
		{"empty identifier value", createMutation, withIDs(ident("EMAIL", "  ")), "VALIDATION_ERROR", "input.identifiers[0].value"},
		{"malformed email", createMutation, withIDs(ident("PHONE", "+14155552671"), ident("EMAIL", "a@@b")), "VALIDATION_ERROR", "input.identifiers[1].value"},
		{"unparsable phone", createMutation, withIDs(ident("PHONE", "+12")), "VALIDATION_ERROR", "input.identifiers[0].value"},
		{"phone without country code", createMutation, withIDs(ident("PHONE", "(415) 555")), "VALIDATION_ERROR", "input.identifiers[0].value"},
		{"external id without source", createMutation, withIDs(ident("EXTERNAL_ID", "42")), "VALIDATION_ERROR", "input.identifiers[0].source"},
		{"unknown identity type (variables)", createMutation, withIDs(ident("FAX", "123")), "VALIDATION_ERROR", "input.identifiers[0].type"},
		{"unknown identity type (inline)", `mutation { createContact(input: {identifiers: [{type: FAX, value: "1"}]}) { id } }`, nil, "VALIDATION_ERROR", "-"},
		{"wrong scalar type (inline)", `{ contacts(first: "ten") { totalCount } }`, nil, "VALIDATION_ERROR", "-"},
		{"wrong scalar type (variables)", listTotal, map[string]any{"first": "ten"}, "VALIDATION_ERROR", "first"},
		{"custom fields not an object", createMutation, map[string]any{"input": map[string]any{
			"identifiers": []any{ident("EMAIL", "n@example.com")}, "customFields": "oops"}}, "VALIDATION_ERROR", "input.customFields"},
		{"bad time in filter", listTotal, map[string]any{"filter": map[string]any{"updatedSince": "yesterday"}}, "VALIDATION_ERROR", "filter.updatedSince"},
		{"no identifiers", createMutation, withIDs(), "VALIDATION_ERROR", "input.identifiers"},
		{"name over 200 characters", createMutation, map[string]any{"input": map[string]any{
			"name": strings.Repeat("n", 201), "identifiers": []any{ident("EMAIL", "n@example.com")}}}, "VALIDATION_ERROR", "input.name"},
		{"bad uri", createMutation, map[string]any{"input": map[string]any{
			"uri": "ftp://x", "identifiers": []any{ident("EMAIL", "n@example.com")}}}, "VALIDATION_ERROR", "input.uri"},
		{"update: name over 200 characters", updateQuery, map[string]any{"id": a.ID, "input": map[string]any{"name": strings.Repeat("n", 201)}},
			"VALIDATION_ERROR", "input.name"},
		{"update: empty tag", updateQuery, map[string]any{"id": a.ID, "input": map[string]any{"tags": []string{"ok", " "}}},
			"VALIDATION_ERROR", "input.tags[1]"},
		{"update: a note id", updateQuery, otherKind, "NOT_FOUND", "-"},
		{"update: malformed id", updateQuery, map[string]any{"id": "ct_nope", "input": map[string]any{"name": "x"}}, "NOT_FOUND", "-"},
		{"update: unknown id", updateQuery, map[string]any{"id": "ct_" + strings.Repeat("e", 32), "input": map[string]any{"name": "x"}}, "NOT_FOUND", "-"},
		{"delete: a note id", `mutation($id: ID!) { deleteContact(id: $id) }`, map[string]any{"id": note}, "NOT_FOUND", "-"},
		{"updateNote: a contact id", `mutation($id: ID!) { updateNote(id: $id, body: "x") { id } }`, map[string]any{"id": a.ID}, "NOT_FOUND", "-"},
		{"addNote: empty body", `mutation($id: ID!) { addNote(contactId: $id, body: " ") { id } }`, map[string]any{"id": a.ID}, "VALIDATION_ERROR", "body"},
		{"addTags: empty tag", `mutation($id: ID!) { addTags(contactId: $id, tags: [""]) { id } }`, map[string]any{"id": a.ID}, "VALIDATION_ERROR", "tags[0]"},
		{"addContactIdentities: bad phone", `mutation($id: ID!) { addContactIdentities(contactId: $id, identifiers: [{type: WHATSAPP, value: "12"}]) { id } }`,
			map[string]any{"id": a.ID}, "VALIDATION_ERROR", "identifiers[0].value"},
		{"removeContactIdentity: not linked", `mutation($id: ID!) { removeContactIdentity(contactId: $id, identifier: {type: EMAIL, value: "zz@example.com"}) { id } }`,
			map[string]any{"id": a.ID}, "NOT_FOUND", "-"},
		{"resolveContact: no identifiers", resolveQuery, map[string]any{"ids": []any{}}, "VALIDATION_ERROR", "identifiers"},
		{"resolveContact: bad email", resolveQuery, map[string]any{"ids": []any{ident("EMAIL", "x")}}, "VALIDATION_ERROR", "identifiers[0].value"},
		{"filter: bad identity", listTotal, map[string]any{"filter": map[string]any{"identity": ident("PHONE", "abc")}}, "VALIDATION_ERROR", "filter.identity.value"},
		{"first over 100", listTotal, map[string]any{"first": 101}, "VALIDATION_ERROR", "first"},
		{"merge into itself", mergeQuery, map[string]any{"t": a.ID, "s": []string{a.ID}}, "VALIDATION_ERROR", "-"},
	}

	before := c.snapshot()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := *c
			c.t = t
			e := c.fail(tc.query, tc.vars, tc.code)
			if tc.field != "-" && e.field() != tc.field {
				t.Errorf("extensions.field = %q, want %q (%s)", e.field(), tc.field, e.Message)
			}
			if e.Message == "" || strings.Contains(e.Message, "internal") {
				t.Errorf("message = %q", e.Message)
			}
			if after := c.snapshot(); after != before {
				t.Fatalf("the database changed:\n%s\n%s", before, after)
			}
		})
	}
}

// TestNULInTextIsAValidationError: PostgreSQL stores no NUL in text or
// JSONB, so text holding one is refused up front as VALIDATION_ERROR
// naming the input, whether sent in variables or inline, and changes
// nothing (each of these was INTERNAL).
func TestNULInTextIsAValidationError(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	a := c.createContact("Ann", ident("EMAIL", "ann@example.com"))
	before := c.snapshot()
	const nul = "a\x00b"
	for _, tc := range []struct {
		query string
		vars  map[string]any
		field string
	}{
		{`mutation($input: ContactInput!) { createContact(input: $input) { id } }`,
			map[string]any{"input": map[string]any{"name": nul, "identifiers": []any{ident("EMAIL", "x@example.com")}}}, "input.name"},
		{`mutation($input: ContactInput!) { createContact(input: $input) { id } }`,
			map[string]any{"input": map[string]any{"identifiers": []any{ident("EMAIL", "x\x00@example.com")}}}, "input.identifiers[0].value"},
		{`mutation($input: ContactInput!) { createContact(input: $input) { id } }`,
			map[string]any{"input": map[string]any{"identifiers": []any{ident("EMAIL", "y@example.com")}, "tags": []any{nul}}}, "input.tags[0]"},
		{`mutation($input: ContactInput!) { createContact(input: $input) { id } }`,
			map[string]any{"input": map[string]any{"identifiers": []any{ident("EMAIL", "z@example.com")}, "customFields": map[string]any{"k": nul}}}, "input.customFields.k"},
		{`mutation($id: ID!, $p: ContactPatch!) { updateContact(id: $id, input: $p) { id } }`,
			map[string]any{"id": a.ID, "p": map[string]any{"uri": nul}}, "p.uri"},
		{`mutation($id: ID!, $b: String!) { addNote(contactId: $id, body: $b) { id } }`,
			map[string]any{"id": a.ID, "b": nul}, "b"},
		{`mutation { createContact(input: {name: "a\u0000b", identifiers: [{type: EMAIL, value: "w@example.com"}]}) { id } }`,
			nil, "input.name"},
		{`mutation { upsertContacts(input: [{identifiers: [{type: EMAIL, value: "v@example.com"}], customFields: {k: "a\u0000"}}]) { results { status } } }`,
			nil, "input[0].customFields.k"},
	} {
		c.fail(tc.query, tc.vars, "VALIDATION_ERROR", tc.field)
	}
	if after := c.snapshot(); after != before {
		t.Fatalf("a refused call changed data:\n%s\n%s", before, after)
	}
}

// TestCustomFieldsNestingIsBounded: custom fields nested past five levels
// are refused naming the field; five levels are kept as given.
func TestCustomFieldsNestingIsBounded(t *testing.T) {
	c := newEnv(t).workspace()
	nest := func(depth int) any {
		var v any = "leaf"
		for range depth {
			v = map[string]any{"k": v}
		}
		return v
	}
	q := `mutation($input: ContactInput!) { createContact(input: $input) { customFields } }`
	in := func(email string, v any) map[string]any {
		return map[string]any{"input": map[string]any{"identifiers": []any{ident("EMAIL", email)}, "customFields": map[string]any{"deep": v}}}
	}
	c.fail(q, in("a@example.com", nest(6)), "VALIDATION_ERROR", "input.customFields.deep.k.k.k.k.k")
	var out struct {
		CreateContact struct{ CustomFields map[string]any }
	}
	c.do(q, in("b@example.com", nest(5)), &out)
	if fmt.Sprint(out.CreateContact.CustomFields["deep"]) != fmt.Sprint(nest(5)) {
		t.Fatalf("stored %v", out.CreateContact.CustomFields)
	}
}

// TestCustomFieldsPatchPastTheLimit: a patch that would leave a contact
// with more than 100 custom fields is VALIDATION_ERROR naming the limit,
// through updateContact and on an upsertContacts item, and saves nothing;
// a patch that removes as many keys as it adds is fine at the limit.
func TestCustomFieldsPatchPastTheLimit(t *testing.T) {
	c := newEnv(t).workspace()
	fields := func(prefix string, n int) map[string]any {
		m := map[string]any{}
		for i := range n {
			m[fmt.Sprintf("%s%d", prefix, i)] = i
		}
		return m
	}
	email := ident("EMAIL", "many@example.com")
	id := c.createContact("Many", email).ID
	c.update(id, map[string]any{"customFields": fields("a", 60)})
	c.update(id, map[string]any{"customFields": fields("b", 40)})

	e := c.fail(updateQuery, map[string]any{"id": id, "input": map[string]any{"customFields": map[string]any{"one more": 1}}},
		"VALIDATION_ERROR", "input.customFields")
	if !strings.Contains(e.Message, "at most 100 custom fields") {
		t.Fatalf("message %q does not name the limit", e.Message)
	}
	res := c.upsert([]map[string]any{
		{"identifiers": []any{email}, "customFields": map[string]any{"one more": 1}},
		{"identifiers": []any{ident("EMAIL", "other@example.com")}, "customFields": map[string]any{"x": 1}},
	})
	if got := statuses(res); got != "FAILED,CREATED" {
		t.Fatalf("statuses = %s", got)
	}
	if e := res[0].Errors; len(e) != 1 || e[0].Code != "VALIDATION_ERROR" || e[0].Field != "customFields" || !strings.Contains(e[0].Message, "at most 100") {
		t.Fatalf("item past the limit: %+v", res[0])
	}
	if got := c.getContact(id).CustomFields; len(got) != 100 || got["one more"] != nil {
		t.Fatalf("stored %d fields (one more: %v), want the 100 before", len(got), got["one more"])
	}

	swap := c.update(id, map[string]any{"customFields": map[string]any{"one more": 1, "a0": nil}})
	if len(swap.CustomFields) != 100 || swap.CustomFields["one more"] == nil || swap.CustomFields["a0"] != nil {
		t.Fatalf("swap at the limit: %d fields", len(swap.CustomFields))
	}
}

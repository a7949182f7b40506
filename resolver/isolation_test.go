package resolver_test

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestWorkspaceIsolation lets workspace B try every contact operation on
// workspace A's ids and identifiers. Each must behave as if the id did not
// exist, and A must be unchanged afterwards.
func TestWorkspaceIsolation(t *testing.T) {
	e := newEnv(t)
	a, b := e.workspace(), e.workspace()

	ca := a.createContact("Alice", ident("EMAIL", "alice@example.com"), ident("PHONE", "+14155552671"))
	a.do(`mutation($id: ID!) { addTags(contactId: $id, tags: ["secret"]) { id } }`, map[string]any{"id": ca.ID}, nil)
	na := a.addNote(ca.ID, "A's note")
	var av struct {
		Viewer struct {
			Workspace struct{ ID string }
			ApiKey    struct{ ID string }
		}
	}
	a.do(`{ viewer { workspace { id } apiKey { id } } }`, nil, &av)
	cb := b.createContact("Bob", ident("EMAIL", "bob@example.com"))
	before := a.snapshot()

	nullQueries := map[string]string{
		"contact":          `query($a: ID!) { contact(id: $a) { id } }`,
		"node contact":     `query($a: ID!) { node(id: $a) { id } }`,
		"node note":        `query($note: ID!) { node(id: $note) { id } }`,
		"resolve by email": `{ resolveContact(identifiers: [{type: EMAIL, value: "alice@example.com"}]) { id } }`,
		"resolve by phone": `{ resolveContact(identifiers: [{type: WHATSAPP, value: "14155552671"}]) { id } }`,
		"resolve by id":    `query($a: String!) { resolveContact(identifiers: [{type: CONTACT_ID, value: $a}]) { id } }`,
		"node workspace":   `query($ws: ID!) { node(id: $ws) { id } }`,
		"node api key":     `query($key: ID!) { node(id: $key) { id } }`,
	}
	vars := map[string]any{"a": ca.ID, "b": cb.ID, "note": na, "ws": av.Viewer.Workspace.ID, "key": av.Viewer.ApiKey.ID}
	expectNull(t, b, nullQueries, vars)

	notFound := map[string]string{
		"updateContact":         `mutation($a: ID!) { updateContact(id: $a, input: {name: "pwned"}) { id } }`,
		"deleteContact":         `mutation($a: ID!) { deleteContact(id: $a) }`,
		"merge A into B":        `mutation($a: ID!, $b: ID!) { mergeContacts(targetId: $b, sourceIds: [$a]) { id } }`,
		"merge B into A":        `mutation($a: ID!, $b: ID!) { mergeContacts(targetId: $a, sourceIds: [$b]) { id } }`,
		"merge dry run":         `mutation($a: ID!, $b: ID!) { mergeContacts(targetId: $b, sourceIds: [$a], dryRun: true) { id } }`,
		"addTags":               `mutation($a: ID!) { addTags(contactId: $a, tags: ["x"]) { id } }`,
		"removeTags":            `mutation($a: ID!) { removeTags(contactId: $a, tags: ["secret"]) { id } }`,
		"addNote":               `mutation($a: ID!) { addNote(contactId: $a, body: "hi") { id } }`,
		"updateNote":            `mutation($note: ID!) { updateNote(id: $note, body: "pwned") { id } }`,
		"deleteNote":            `mutation($note: ID!) { deleteNote(id: $note) }`,
		"addContactIdentities":  `mutation($a: ID!) { addContactIdentities(contactId: $a, identifiers: [{type: EMAIL, value: "evil@example.com"}]) { id } }`,
		"removeContactIdentity": `mutation($a: ID!) { removeContactIdentity(contactId: $a, identifier: {type: EMAIL, value: "alice@example.com"}) { id } }`,
		"revokeApiKey":          `mutation($key: ID!) { revokeApiKey(id: $key) { id } }`,
	}
	expectNotFound(t, b, notFound, vars)

	var del struct{ DeleteContacts []string }
	b.do(`mutation($ids: [ID!]!) { deleteContacts(ids: $ids) }`, map[string]any{"ids": []string{ca.ID}}, &del)
	if !slices.Equal(del.DeleteContacts, []string{ca.ID}) {
		t.Errorf("deleteContacts = %v, want A's id reported as not found", del.DeleteContacts)
	}

	for _, filter := range []map[string]any{
		{"identity": ident("EMAIL", "alice@example.com")},
		{"identity": map[string]any{"type": "CONTACT_ID", "value": ca.ID}},
		{"search": "alice"},
		{"tags": []string{"secret"}},
	} {
		if p := b.list(map[string]any{"filter": filter}); p.Contacts.TotalCount != 0 || len(p.Contacts.Edges) != 0 {
			t.Errorf("filter %v shows %v", filter, p.names())
		}
	}
	if p := b.list(nil); p.Contacts.TotalCount != 1 || p.Contacts.Edges[0].Node.ID != cb.ID {
		t.Errorf("B lists %v", p.names())
	}

	// Identities are unique per workspace, not across them: B may have its
	// own Alice with the same email, and it does not touch A's.
	b.createContact("B's Alice", ident("EMAIL", "alice@example.com"))

	if after := a.snapshot(); after != before {
		t.Fatalf("workspace A changed:\n%s\n%s", before, after)
	}
	if got := a.resolve(ident("EMAIL", "alice@example.com")); got == nil || got.ID != ca.ID {
		t.Fatalf("A resolves its email to %+v", got)
	}
	if n := a.count(); n != 1 {
		t.Fatalf("A has %d contacts", n)
	}
}

// usedVars keeps the variables a query declares, so one map can serve
// queries that use different subsets.
func usedVars(query string, vars map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range vars {
		if containsVar(query, k) {
			out[k] = v
		}
	}
	return out
}

func containsVar(query, name string) bool {
	for i := 0; i+len(name)+1 <= len(query); i++ {
		if query[i] == '$' && query[i+1:i+1+len(name)] == name {
			end := i + 1 + len(name)
			if end == len(query) || !isIdentChar(query[end]) {
				return true
			}
		}
	}
	return false
}

func isIdentChar(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// expectNull runs each named query as c, with the variables it declares,
// and checks that every root field answers null without errors.
func expectNull(t *testing.T, c *client, queries map[string]string, vars map[string]any) {
	t.Helper()
	for name, q := range queries {
		t.Run(name, func(t *testing.T) {
			res := c.post(q, usedVars(q, vars))
			if len(res.Errors) > 0 {
				t.Fatalf("errors: %s", res.Raw)
			}
			var data map[string]json.RawMessage
			json.Unmarshal(res.Data, &data)
			for k, v := range data {
				if string(v) != "null" {
					t.Fatalf("%s = %s, want null", k, v)
				}
			}
		})
	}
}

// expectNotFound runs each named operation as c and checks that it fails
// with NOT_FOUND.
func expectNotFound(t *testing.T, c *client, ops map[string]string, vars map[string]any) {
	t.Helper()
	for name, q := range ops {
		t.Run(name, func(t *testing.T) {
			c := *c
			c.t = t
			c.fail(q, usedVars(q, vars), "NOT_FOUND")
		})
	}
}

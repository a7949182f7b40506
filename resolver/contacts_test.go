package resolver_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIdentifiersAreNormalized(t *testing.T) {
	c := newEnv(t).workspace()
	got := c.createContact("Alice",
		ident("PHONE", " +7 (999) 111-44-33 "),
		ident("EMAIL", "  Alice@Example.COM "),
		ident("TELEGRAM", "@Alice_B"),
		ident("INSTAGRAM", "@Insta.Alice"),
		ident("WHATSAPP", "44 20 7946 0958"),
	)
	want := []string{"PHONE:+79991114433", "EMAIL:alice@example.com", "TELEGRAM:alice_b",
		"INSTAGRAM:insta.alice", "WHATSAPP:+442079460958"}
	have := got.identityValues()
	for _, w := range want {
		if !slices.Contains(have, w) {
			t.Errorf("identity %s missing from %v", w, have)
		}
	}
	if got.Email == nil || *got.Email != "alice@example.com" {
		t.Errorf("email = %v", got.Email)
	}
	if got.Phone == nil || (*got.Phone != "+79991114433" && *got.Phone != "+442079460958") {
		t.Errorf("phone = %v", got.Phone)
	}
	if !strings.HasPrefix(got.ID, "ct_") {
		t.Errorf("id %q is not a contact global id", got.ID)
	}

	// Any spelling of an identifier finds the contact; phone-like types
	// match one another.
	for _, id := range []map[string]any{
		ident("PHONE", "79991114433"),
		ident("WHATSAPP", "+7 999 111 44 33"),
		ident("WA_ID", "79991114433"),
		ident("PHONE", "+44 20 7946 0958"),
		ident("EMAIL", "ALICE@example.com"),
		ident("TELEGRAM", "alice_b"),
		ident("INSTAGRAM", "INSTA.ALICE"),
		{"type": "CONTACT_ID", "value": got.ID},
	} {
		if r := c.resolve(id); r == nil || r.ID != got.ID {
			t.Errorf("resolveContact(%v) = %v, want %s", id, r, got.ID)
		}
	}
}

const resolveQuery = `query($ids: [IdentifierInput!]!) { resolveContact(identifiers: $ids) { ` + contactFields + ` } }`

func (c *client) resolve(ids ...map[string]any) *contact {
	c.t.Helper()
	var out struct{ ResolveContact *contact }
	c.do(resolveQuery, map[string]any{"ids": ids}, &out)
	return out.ResolveContact
}

func TestResolveContact(t *testing.T) {
	c := newEnv(t).workspace()
	a := c.createContact("A", ident("EMAIL", "a@example.com"), ident("PHONE", "+14155552671"))
	b := c.createContact("B", ident("EMAIL", "b@example.com"))

	if r := c.resolve(ident("EMAIL", "nobody@example.com")); r != nil {
		t.Fatalf("no match resolved to %v", r)
	}
	// Matches that all point at one contact, plus one that matches nothing.
	if r := c.resolve(ident("EMAIL", "a@example.com"), ident("WHATSAPP", "14155552671"),
		ident("EMAIL", "new@example.com")); r == nil || r.ID != a.ID {
		t.Fatalf("resolved to %v, want %s", r, a.ID)
	}

	before := c.snapshot()
	e := c.fail(resolveQuery, map[string]any{"ids": []any{ident("PHONE", "+1 415 555 2671"), ident("EMAIL", "b@example.com")}},
		"CONFLICT")
	ids, _ := e.Extensions["contactIds"].([]any)
	if len(ids) != 2 || !slices.Contains(ids, any(a.ID)) || !slices.Contains(ids, any(b.ID)) {
		t.Fatalf("contactIds = %v, want %s and %s", e.Extensions["contactIds"], a.ID, b.ID)
	}
	if after := c.snapshot(); after != before {
		t.Fatal("resolveContact changed data")
	}
}

func TestCreateContact(t *testing.T) {
	c := newEnv(t).workspace()
	var out struct{ CreateContact contact }
	c.do(`mutation($input: ContactInput!) { createContact(input: $input) { `+contactFields+` } }`, map[string]any{"input": map[string]any{
		"name": "  Bob  ", "uri": "https://crm.example.com/bob", "tags": []string{"vip", "lead", "vip"},
		"customFields": map[string]any{"plan": "pro", "seats": 3},
		"identifiers":  []any{ident("EMAIL", "bob@example.com"), map[string]any{"type": "EXTERNAL_ID", "value": "42", "source": "amo"}},
	}}, &out)
	b := out.CreateContact
	if b.Name == nil || *b.Name != "Bob" || b.URI == nil || *b.URI != "https://crm.example.com/bob" {
		t.Fatalf("created %+v", b)
	}
	if strings.Join(b.Tags, ",") != "lead,vip" || b.CustomFields["plan"] != "pro" || b.CustomFields["seats"] != 3.0 {
		t.Fatalf("created %+v", b)
	}
	if !slices.ContainsFunc(b.Identities, func(i identity) bool {
		return i.Type == "EXTERNAL_ID" && i.Value == "42" && i.Source != nil && *i.Source == "amo"
	}) {
		t.Fatalf("identities = %+v", b.Identities)
	}

	// A contact without custom fields shows an empty object, never null.
	plain := c.createContact("", ident("EMAIL", "plain@example.com"))
	if plain.CustomFields == nil || len(plain.CustomFields) != 0 || plain.Name != nil || plain.Tags == nil {
		t.Fatalf("plain contact = %+v", plain)
	}

	before := c.snapshot()
	e := c.fail(`mutation { createContact(input: {name: "Bob 2", identifiers: [{type: EMAIL, value: "new@example.com"}, {type: EMAIL, value: "BOB@example.com"}]}) { id } }`,
		nil, "CONFLICT")
	if e.Extensions["contactId"] != b.ID {
		t.Fatalf("extensions = %v, want contactId %s", e.Extensions, b.ID)
	}
	if after := c.snapshot(); after != before {
		t.Fatalf("a conflicting create wrote something:\n%s\n%s", before, after)
	}
}

const updateQuery = `mutation($id: ID!, $input: ContactPatch!) { updateContact(id: $id, input: $input) { ` + contactFields + ` } }`

func (c *client) update(id string, patch map[string]any) contact {
	c.t.Helper()
	var out struct{ UpdateContact contact }
	c.do(updateQuery, map[string]any{"id": id, "input": patch}, &out)
	return out.UpdateContact
}

func TestUpdateContact(t *testing.T) {
	c := newEnv(t).workspace()
	var created struct{ CreateContact contact }
	c.do(`mutation { createContact(input: {name: "Carol", uri: "https://x.example/c", tags: ["a", "b"],
		customFields: {keep: 1, drop: "x", change: "old"}, identifiers: [{type: EMAIL, value: "carol@example.com"}]}) { id } }`, nil, &created)
	id := created.CreateContact.ID

	got := c.update(id, map[string]any{"customFields": map[string]any{"drop": nil, "change": "new", "add": true}})
	if got.Name == nil || *got.Name != "Carol" || got.URI == nil || strings.Join(got.Tags, ",") != "a,b" {
		t.Fatalf("fields left out changed: %+v", got)
	}
	wantCF := map[string]any{"keep": 1.0, "change": "new", "add": true}
	if fmt.Sprint(got.CustomFields) != fmt.Sprint(wantCF) {
		t.Fatalf("customFields = %v, want %v", got.CustomFields, wantCF)
	}

	got = c.update(id, map[string]any{"name": "Caroline", "tags": []string{}})
	if got.Name == nil || *got.Name != "Caroline" || len(got.Tags) != 0 || fmt.Sprint(got.CustomFields) != fmt.Sprint(wantCF) {
		t.Fatalf("after second update: %+v", got)
	}
	readBack, _ := json.Marshal(c.getContact(id))
	updated, _ := json.Marshal(got)
	if string(readBack) != string(updated) {
		t.Fatalf("read back %s, updated %s", readBack, updated)
	}
}

func TestDeleteContact(t *testing.T) {
	c := newEnv(t).workspace()
	a := c.createContact("A", ident("EMAIL", "a@example.com"))
	keep := c.createContact("Keep", ident("EMAIL", "keep@example.com"))
	c.addNote(a.ID, "gone with the contact")

	var out struct{ DeleteContact string }
	c.do(`mutation($id: ID!) { deleteContact(id: $id) }`, map[string]any{"id": a.ID}, &out)
	if out.DeleteContact != a.ID {
		t.Fatalf("deleteContact returned %q, want %s", out.DeleteContact, a.ID)
	}
	if got := c.getContact(a.ID); got != nil {
		t.Fatalf("deleted contact still readable: %+v", got)
	}
	if got := c.resolve(ident("EMAIL", "a@example.com")); got != nil {
		t.Fatalf("deleted contact's identity still resolves: %+v", got)
	}
	if c.count() != 1 || c.getContact(keep.ID) == nil {
		t.Fatal("the other contact was affected")
	}
	c.fail(`mutation($id: ID!) { deleteContact(id: $id) }`, map[string]any{"id": a.ID}, "NOT_FOUND")
	// The identity is free again.
	c.createContact("A again", ident("EMAIL", "a@example.com"))
}

const upsertQuery = `mutation($input: [ContactUpsertInput!]!) { upsertContacts(input: $input) {
	results { index status contact { id name tags updatedAt } errors { field code message contactIds } } } }`

type upsertResult struct {
	Index   int
	Status  string
	Contact *struct {
		ID        string
		Name      *string
		Tags      []string
		UpdatedAt string
	}
	Errors []struct {
		Field, Code, Message string
		ContactIDs           []string `json:"contactIds"`
	}
}

func (c *client) upsert(items []map[string]any) []upsertResult {
	c.t.Helper()
	var out struct {
		UpsertContacts struct{ Results []upsertResult }
	}
	c.do(upsertQuery, map[string]any{"input": items}, &out)
	return out.UpsertContacts.Results
}

func statuses(rs []upsertResult) string {
	return itemStatuses(rs, func(r upsertResult) (int, string) { return r.Index, r.Status })
}

func TestUpsertContacts(t *testing.T) {
	c := newEnv(t).workspace()
	items := []map[string]any{
		{"name": "One", "identifiers": []any{ident("EMAIL", "one@example.com")}, "tags": []string{"x"}},
		{"name": "Two", "identifiers": []any{ident("PHONE", "+14155552671")}},
		{"name": "Bad", "identifiers": []any{ident("EMAIL", "not an email")}},
		{"name": "Empty", "identifiers": []any{}},
	}
	first := c.upsert(items)
	if got := statuses(first); got != "CREATED,CREATED,FAILED,FAILED" {
		t.Fatalf("statuses = %s", got)
	}
	if e := first[2].Errors; len(e) != 1 || e[0].Code != "VALIDATION_ERROR" || e[0].Field != "identifiers[0].value" || first[2].Contact != nil {
		t.Fatalf("bad item = %+v", first[2])
	}
	if e := first[3].Errors; len(e) != 1 || e[0].Code != "VALIDATION_ERROR" {
		t.Fatalf("empty item = %+v", first[3])
	}
	if c.count() != 2 {
		t.Fatalf("count = %d, want the 2 good items", c.count())
	}

	again := c.upsert(items)
	if got := statuses(again); got != "UNCHANGED,UNCHANGED,FAILED,FAILED" {
		t.Fatalf("re-send statuses = %s", got)
	}
	for i := range 2 {
		if again[i].Contact.ID != first[i].Contact.ID || again[i].Contact.UpdatedAt != first[i].Contact.UpdatedAt {
			t.Fatalf("re-send touched item %d: %+v vs %+v", i, again[i].Contact, first[i].Contact)
		}
	}

	// Matched by another spelling of the identifier: an update. An item
	// whose identifiers match both contacts fails alone with CONFLICT.
	third := c.upsert([]map[string]any{
		{"name": "Two renamed", "identifiers": []any{ident("WHATSAPP", "14155552671")}},
		{"name": "Both", "identifiers": []any{ident("EMAIL", "one@example.com"), ident("PHONE", "+1 415 555 2671")}},
		{"name": "Three", "identifiers": []any{ident("EMAIL", "three@example.com")}},
	})
	if got := statuses(third); got != "UPDATED,FAILED,CREATED" {
		t.Fatalf("statuses = %s", got)
	}
	if third[0].Contact.ID != first[1].Contact.ID || *third[0].Contact.Name != "Two renamed" {
		t.Fatalf("update hit %+v", third[0].Contact)
	}
	if e := third[1].Errors; len(e) != 1 || e[0].Code != "CONFLICT" {
		t.Fatalf("conflicting item = %+v", third[1])
	}
	if first[2].Errors[0].ContactIDs != nil {
		t.Fatalf("a VALIDATION_ERROR names contacts: %+v", first[2].Errors)
	}
	if c.count() != 3 {
		t.Fatalf("count = %d", c.count())
	}

	// More than 100 items: the whole call fails and nothing is written.
	before := c.snapshot()
	many := make([]map[string]any, 101)
	for i := range many {
		many[i] = map[string]any{"identifiers": []any{ident("EMAIL", fmt.Sprintf("bulk%d@example.com", i))}}
	}
	e := c.fail(upsertQuery, map[string]any{"input": many}, "TOO_MANY_ENTITIES")
	if e.Extensions["count"] != 101.0 || e.Extensions["limit"] != 100.0 {
		t.Fatalf("extensions = %v", e.Extensions)
	}
	if after := c.snapshot(); after != before {
		t.Fatal("a refused batch wrote something")
	}
	// Exactly 100 is fine.
	if got := c.upsert(many[:100]); len(got) != 100 || got[99].Status != "CREATED" {
		t.Fatalf("100 items: %d results", len(got))
	}
}

// TestUpsertConflictNamesContacts: an item whose identifiers belong to
// several contacts names them in ItemError.contactIds, and only those of
// the caller's workspace, though another workspace holds the same
// identifiers.
func TestUpsertConflictNamesContacts(t *testing.T) {
	e := newEnv(t)
	a, b := e.workspace(), e.workspace()
	email, phone := ident("EMAIL", "ann@example.com"), ident("PHONE", "+14155552671")
	for _, c := range []*client{b, a} {
		c.createContact("Ann", email)
		c.createContact("Ann's phone", phone)
	}
	want := []string{a.resolve(email).ID, a.resolve(phone).ID}
	got := a.upsert([]map[string]any{{"identifiers": []any{email, phone}}})
	if len(got) != 1 || len(got[0].Errors) != 1 || got[0].Errors[0].Code != "CONFLICT" {
		t.Fatalf("conflicting item = %+v", got)
	}
	ids := got[0].Errors[0].ContactIDs
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("contactIds = %v, want this workspace's %v", ids, want)
	}
}

func TestDeleteContacts(t *testing.T) {
	c := newEnv(t).workspace()
	a := c.createContact("A", ident("EMAIL", "a@example.com"))
	b := c.createContact("B", ident("EMAIL", "b@example.com"))
	keep := c.createContact("Keep", ident("EMAIL", "keep@example.com"))
	note := c.addNote(keep.ID, "a note")
	ghost := "ct_" + strings.Repeat("0", 31) + "1"

	ids := []string{a.ID, ghost, "garbage", note, b.ID, ghost}
	var out struct{ DeleteContacts []string }
	c.do(`mutation($ids: [ID!]!) { deleteContacts(ids: $ids) }`, map[string]any{"ids": ids}, &out)
	if want := []string{ghost, "garbage", note}; !slices.Equal(out.DeleteContacts, want) {
		t.Fatalf("not found = %v, want %v", out.DeleteContacts, want)
	}
	if c.count() != 1 || c.getContact(keep.ID) == nil || c.getContact(a.ID) != nil {
		t.Fatal("wrong contacts deleted")
	}
	// Deleting them again: all are missing now.
	c.do(`mutation($ids: [ID!]!) { deleteContacts(ids: $ids) }`, map[string]any{"ids": []string{a.ID, b.ID}}, &out)
	if !slices.Equal(out.DeleteContacts, []string{a.ID, b.ID}) {
		t.Fatalf("second delete = %v", out.DeleteContacts)
	}

	before := c.snapshot()
	many := make([]string, 101)
	for i := range many {
		many[i] = keep.ID
	}
	c.fail(`mutation($ids: [ID!]!) { deleteContacts(ids: $ids) }`, map[string]any{"ids": many}, "TOO_MANY_ENTITIES")
	if c.snapshot() != before {
		t.Fatal("a refused delete deleted something")
	}
}

const mergeQuery = `mutation($t: ID!, $s: [ID!]!, $dry: Boolean) { mergeContacts(targetId: $t, sourceIds: $s, dryRun: $dry) {
	` + contactFields + ` notes(first: 10) { totalCount edges { node { body } } } } }`

type mergedContact struct {
	contact
	Notes struct {
		TotalCount int
		Edges      []struct{ Node struct{ Body string } }
	}
}

func TestMergeContacts(t *testing.T) {
	c := newEnv(t).workspace()
	target := c.createContact("Target", ident("EMAIL", "t@example.com"))
	source := c.createContact("Source", ident("PHONE", "+14155552671"), ident("TELEGRAM", "src"))
	c.do(`mutation($a: ID!, $b: ID!) { a: addTags(contactId: $a, tags: ["t"]) { id } b: addTags(contactId: $b, tags: ["s"]) { id } }`,
		map[string]any{"a": target.ID, "b": source.ID}, nil)
	c.addNote(target.ID, "target note")
	c.addNote(source.ID, "source note")

	before := c.snapshot()
	var dry struct{ MergeContacts mergedContact }
	c.do(mergeQuery, map[string]any{"t": target.ID, "s": []string{source.ID}, "dry": true}, &dry)
	if dry.MergeContacts.ID != target.ID {
		t.Fatalf("dry run returned %s", dry.MergeContacts.ID)
	}
	if after := c.snapshot(); after != before {
		t.Fatalf("dry run changed data:\n%s\n%s", before, after)
	}

	var out struct{ MergeContacts mergedContact }
	c.do(mergeQuery, map[string]any{"t": target.ID, "s": []string{source.ID}}, &out)
	m := out.MergeContacts
	if m.ID != target.ID || strings.Join(m.Tags, ",") != "s,t" || m.Notes.TotalCount != 2 {
		t.Fatalf("merged = %+v", m)
	}
	for _, want := range []string{"EMAIL:t@example.com", "PHONE:+14155552671", "TELEGRAM:src"} {
		if !slices.Contains(m.identityValues(), want) {
			t.Errorf("merged identities %v lack %s", m.identityValues(), want)
		}
	}
	if got := c.getContact(source.ID); got == nil || got.ID != target.ID {
		t.Fatalf("contact(source) = %+v, want the target", got)
	}
	if r := c.resolve(ident("WHATSAPP", "14155552671")); r == nil || r.ID != target.ID {
		t.Fatalf("source identity resolves to %+v", r)
	}
	if c.count() != 1 {
		t.Fatalf("count = %d after merge", c.count())
	}

	other := c.createContact("Other", ident("EMAIL", "o@example.com"))
	before = c.snapshot()
	c.fail(mergeQuery, map[string]any{"t": other.ID, "s": []string{other.ID}}, "VALIDATION_ERROR")
	c.fail(mergeQuery, map[string]any{"t": other.ID, "s": []string{"ct_" + strings.Repeat("f", 32)}}, "NOT_FOUND")
	c.fail(mergeQuery, map[string]any{"t": "nope", "s": []string{other.ID}}, "NOT_FOUND")
	if c.snapshot() != before {
		t.Fatal("a failed merge changed data")
	}
}

func TestContactIdentitiesTagsAndNotes(t *testing.T) {
	c := newEnv(t).workspace()
	a := c.createContact("A", ident("EMAIL", "a@example.com"))

	var added struct{ AddContactIdentities contact }
	c.do(`mutation($id: ID!) { addContactIdentities(contactId: $id, identifiers: [{type: PHONE, value: "14155552671"}, {type: VK, value: "@durov"}]) { `+contactFields+` } }`,
		map[string]any{"id": a.ID}, &added)
	if got := added.AddContactIdentities; got.Phone == nil || *got.Phone != "+14155552671" || !slices.Contains(got.identityValues(), "VK:durov") {
		t.Fatalf("after add: %+v", got)
	}
	var removed struct{ RemoveContactIdentity contact }
	c.do(`mutation($id: ID!) { removeContactIdentity(contactId: $id, identifier: {type: PHONE, value: "+1 415 555 2671"}) { `+contactFields+` } }`,
		map[string]any{"id": a.ID}, &removed)
	if got := removed.RemoveContactIdentity; got.Phone != nil || len(got.Identities) != 2 {
		t.Fatalf("after remove: %+v", got)
	}

	var tags struct {
		AddTags    contact
		RemoveTags contact
	}
	c.do(`mutation($id: ID!) { addTags(contactId: $id, tags: ["b", "a", " c "]) { tags } removeTags(contactId: $id, tags: ["b", "zzz"]) { tags } }`,
		map[string]any{"id": a.ID}, &tags)
	if strings.Join(tags.AddTags.Tags, ",") != "a,b,c" || strings.Join(tags.RemoveTags.Tags, ",") != "a,c" {
		t.Fatalf("tags: add %v, remove %v", tags.AddTags.Tags, tags.RemoveTags.Tags)
	}

	n1 := c.addNote(a.ID, "first")
	n2 := c.addNote(a.ID, "second")
	var upd struct {
		UpdateNote struct {
			ID, Body string
			Contact  struct{ ID string }
		}
	}
	c.do(`mutation($id: ID!) { updateNote(id: $id, body: "first, edited") { id body contact { id } } }`, map[string]any{"id": n1}, &upd)
	if upd.UpdateNote.ID != n1 || upd.UpdateNote.Body != "first, edited" || upd.UpdateNote.Contact.ID != a.ID {
		t.Fatalf("updateNote = %+v", upd.UpdateNote)
	}
	var del struct{ DeleteNote string }
	c.do(`mutation($id: ID!) { deleteNote(id: $id) }`, map[string]any{"id": n2}, &del)
	if del.DeleteNote != n2 {
		t.Fatalf("deleteNote = %q", del.DeleteNote)
	}
	var notes struct {
		Contact struct {
			Notes struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID, Body string } }
			}
		}
	}
	c.do(`query($id: ID!) { contact(id: $id) { notes { totalCount edges { node { id body } } } } }`, map[string]any{"id": a.ID}, &notes)
	if n := notes.Contact.Notes; n.TotalCount != 1 || len(n.Edges) != 1 || n.Edges[0].Node.ID != n1 {
		t.Fatalf("notes = %+v", n)
	}
}

func TestNotesArePaged(t *testing.T) {
	c := newEnv(t).workspace()
	a := c.createContact("A", ident("EMAIL", "a@example.com"))
	for i := range 5 {
		c.addNote(a.ID, fmt.Sprintf("note %d", i))
	}
	const q = `query($id: ID!, $after: String) { contact(id: $id) { notes(first: 2, after: $after) {
		totalCount pageInfo { hasNextPage endCursor } edges { node { body } } } } }`
	var bodies []string
	var after any
	for page := 0; ; page++ {
		var out struct {
			Contact struct {
				Notes struct {
					TotalCount int
					PageInfo   struct {
						HasNextPage bool
						EndCursor   string
					}
					Edges []struct{ Node struct{ Body string } }
				}
			}
		}
		c.do(q, map[string]any{"id": a.ID, "after": after}, &out)
		n := out.Contact.Notes
		for _, e := range n.Edges {
			bodies = append(bodies, e.Node.Body)
		}
		if n.TotalCount != 5 || page > 3 {
			t.Fatalf("page %d: %+v", page, n)
		}
		if !n.PageInfo.HasNextPage {
			break
		}
		after = n.PageInfo.EndCursor
	}
	// Newest first.
	if want := "note 4,note 3,note 2,note 1,note 0"; strings.Join(bodies, ",") != want {
		t.Fatalf("notes = %v", bodies)
	}
	c.fail(`query($id: ID!) { contact(id: $id) { notes(first: 101) { totalCount } } }`, map[string]any{"id": a.ID}, "VALIDATION_ERROR", "first")
}

// seed upserts n contacts named "Contact NN" with an email each; every
// third is tagged vip.
func seed(c *client, n int) []string {
	c.t.Helper()
	items := make([]map[string]any, n)
	for i := range items {
		tags := []string{"all"}
		if i%3 == 0 {
			tags = append(tags, "vip")
		}
		items[i] = map[string]any{"name": fmt.Sprintf("Contact %02d", i), "tags": tags,
			"identifiers": []any{ident("EMAIL", fmt.Sprintf("c%02d@example.com", i))}}
	}
	var ids []string
	for _, r := range c.upsert(items) {
		if r.Status != "CREATED" {
			c.t.Fatalf("seed: %+v", r)
		}
		ids = append(ids, r.Contact.ID)
	}
	return ids
}

type page struct {
	Contacts struct {
		TotalCount int
		PageInfo   struct {
			HasNextPage, HasPreviousPage bool
			EndCursor                    *string
		}
		Edges []struct {
			Cursor string
			Node   struct {
				ID   string
				Name string
			}
		}
	}
}

const listQuery = `query($first: Int, $after: String, $filter: ContactFilter, $order: ContactOrder) {
	contacts(first: $first, after: $after, filter: $filter, orderBy: $order) {
		totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id name } } } }`

func (c *client) list(vars map[string]any) page {
	c.t.Helper()
	var p page
	c.do(listQuery, vars, &p)
	return p
}

func (p page) names() []string {
	var out []string
	for _, e := range p.Contacts.Edges {
		out = append(out, e.Node.Name)
	}
	return out
}

func TestContactsPagination(t *testing.T) {
	c := newEnv(t).workspace()
	ids := seed(c, 45)

	for _, order := range []map[string]any{nil, {"field": "NAME", "direction": "DESC"}, {"field": "UPDATED_AT"}} {
		seen := map[string]bool{}
		var got []string
		var after any
		pages := 0
		for {
			p := c.list(map[string]any{"first": 10, "after": after, "order": order})
			pages++
			if p.Contacts.TotalCount != 45 || p.Contacts.PageInfo.HasPreviousPage != (after != nil) {
				t.Fatalf("order %v page %d: %+v", order, pages, p.Contacts.PageInfo)
			}
			for _, e := range p.Contacts.Edges {
				if seen[e.Node.ID] {
					t.Fatalf("order %v: %s seen twice", order, e.Node.Name)
				}
				seen[e.Node.ID] = true
				got = append(got, e.Node.Name)
			}
			wantNext := pages < 5
			if p.Contacts.PageInfo.HasNextPage != wantNext || len(p.Contacts.Edges) != min(10, 45-10*(pages-1)) {
				t.Fatalf("order %v page %d: %d edges, hasNextPage %v", order, pages, len(p.Contacts.Edges), p.Contacts.PageInfo.HasNextPage)
			}
			if !wantNext {
				break
			}
			after = *p.Contacts.PageInfo.EndCursor
		}
		if len(seen) != len(ids) {
			t.Fatalf("order %v: saw %d of %d contacts", order, len(seen), len(ids))
		}
		if order != nil && order["field"] == "NAME" {
			if !slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(b, a) }) {
				t.Fatalf("NAME DESC order broken: %v", got)
			}
		}
	}

	if p := c.list(nil); len(p.Contacts.Edges) != 20 {
		t.Fatalf("default page has %d edges, want 20", len(p.Contacts.Edges))
	}
	for _, first := range []int{101, -1, 0} {
		c.fail(listQuery, map[string]any{"first": first}, "VALIDATION_ERROR", "first")
	}
	c.fail(listQuery, map[string]any{"after": "not-a-cursor"}, "VALIDATION_ERROR", "after")
}

func TestContactsFilter(t *testing.T) {
	c := newEnv(t).workspace()
	ids := seed(c, 12)
	c.do(`mutation($id: ID!) { addContactIdentities(contactId: $id, identifiers: [{type: PHONE, value: "+7 999 111 44 33"}]) { id } }`,
		map[string]any{"id": ids[5]}, nil)
	var upd struct{ UpdateContact struct{ UpdatedAt string } }
	c.do(`mutation($id: ID!) { updateContact(id: $id, input: {customFields: {touched: true}}) { updatedAt } }`,
		map[string]any{"id": ids[5]}, &upd)

	for _, tc := range []struct {
		name   string
		filter map[string]any
		want   []string
	}{
		{"tags", map[string]any{"tags": []string{"vip"}}, []string{"Contact 00", "Contact 03", "Contact 06", "Contact 09"}},
		{"all tags", map[string]any{"tags": []string{"vip", "all"}}, []string{"Contact 00", "Contact 03", "Contact 06", "Contact 09"}},
		{"tag nobody has", map[string]any{"tags": []string{"vip", "nope"}}, nil},
		{"search name", map[string]any{"search": "contact 1"}, []string{"Contact 10", "Contact 11"}},
		{"search email", map[string]any{"search": "C07@EXAMPLE"}, []string{"Contact 07"}},
		{"search phone digits", map[string]any{"search": "9991114433"}, []string{"Contact 05"}},
		{"identity phone as whatsapp", map[string]any{"identity": ident("WHATSAPP", "79991114433")}, []string{"Contact 05"}},
		{"identity email", map[string]any{"identity": ident("EMAIL", " C02@example.com")}, []string{"Contact 02"}},
		{"identity contact id", map[string]any{"identity": map[string]any{"type": "CONTACT_ID", "value": ids[4]}}, []string{"Contact 04"}},
		{"updatedSince", map[string]any{"updatedSince": upd.UpdateContact.UpdatedAt}, []string{"Contact 05"}},
		{"combined", map[string]any{"tags": []string{"vip"}, "search": "contact 0"}, []string{"Contact 00", "Contact 03", "Contact 06", "Contact 09"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := c.list(map[string]any{"filter": tc.filter, "first": 100})
			if !slices.Equal(p.names(), tc.want) || p.Contacts.TotalCount != len(tc.want) {
				t.Fatalf("got %v (totalCount %d), want %v", p.names(), p.Contacts.TotalCount, tc.want)
			}
		})
	}
}

// TestCountAndSearchFollowWrites: totalCount without a filter and search
// read structures the database keeps beside the contacts (a count per
// workspace, a search document per contact; migration 0015). Renames,
// new identities, merges and deletes must show in both at once.
func TestCountAndSearchFollowWrites(t *testing.T) {
	e := newEnv(t)
	c, other := e.workspace(), e.workspace()
	a := c.createContact("Ivan", ident("EMAIL", "ivan@example.com"))
	b := c.createContact("Anna", ident("PHONE", "+44 7700 900123"))
	other.createContact("Ivan elsewhere", ident("EMAIL", "ivan@example.org"))
	search := func(s string) []string {
		t.Helper()
		return c.list(map[string]any{"filter": map[string]any{"search": s}}).names()
	}
	if c.count() != 2 || other.count() != 1 || !slices.Equal(search("ivan"), []string{"Ivan"}) {
		t.Fatalf("before: counts %d and %d, search %v", c.count(), other.count(), search("ivan"))
	}
	c.do(`mutation($id: ID!) { updateContact(id: $id, input: {name: "Ivanka"}) { id } }`, map[string]any{"id": b.ID}, nil)
	c.do(`mutation($id: ID!) { addContactIdentities(contactId: $id, identifiers: [{type: EMAIL, value: "anna@example.net"}]) { id } }`,
		map[string]any{"id": b.ID}, nil)
	if got := search("ivan"); !slices.Equal(got, []string{"Ivan", "Ivanka"}) {
		t.Fatalf("after the rename: %v", got)
	}
	if got := search("anna@"); !slices.Equal(got, []string{"Ivanka"}) {
		t.Fatalf("after the new email: %v", got)
	}
	c.do(`mutation($t: ID!, $s: [ID!]!) { mergeContacts(targetId: $t, sourceIds: $s) { id } }`,
		map[string]any{"t": a.ID, "s": []string{b.ID}}, nil)
	if got := search("7700 900"); c.count() != 1 || !slices.Equal(got, []string{"Ivan"}) {
		t.Fatalf("after the merge: count %d, the source's phone finds %v", c.count(), got)
	}
	c.do(`mutation($id: ID!) { deleteContact(id: $id) }`, map[string]any{"id": a.ID}, nil)
	if got := search("ivan"); c.count() != 0 || other.count() != 1 || len(got) != 0 {
		t.Fatalf("after the delete: counts %d and %d, search %v", c.count(), other.count(), got)
	}
}

func TestNode(t *testing.T) {
	c := newEnv(t).workspace()
	a := c.createContact("A", ident("EMAIL", "a@example.com"))
	note := c.addNote(a.ID, "hello")
	var v struct {
		Viewer struct{ Workspace struct{ ID string } }
	}
	c.do(`{ viewer { workspace { id } } }`, nil, &v)

	const q = `query($id: ID!) { node(id: $id) { __typename id ... on Contact { name } ... on Note { body contact { id } } ... on Workspace { wsName: name } } }`
	read := func(id string) json.RawMessage {
		var out struct{ Node json.RawMessage }
		c.do(q, map[string]any{"id": id}, &out)
		return out.Node
	}
	for id, want := range map[string]string{
		a.ID:                            `{"__typename":"Contact","id":"` + a.ID + `","name":"A"}`,
		note:                            `{"__typename":"Note","id":"` + note + `","body":"hello","contact":{"id":"` + a.ID + `"}}`,
		v.Viewer.Workspace.ID:           `{"__typename":"Workspace","id":"` + v.Viewer.Workspace.ID + `","wsName":"test ` + t.Name() + `"}`,
		"garbage":                       `null`,
		"ct_" + strings.Repeat("a", 32): `null`,
		"zz_" + strings.Repeat("a", 32): `null`,
		"ws_" + strings.Repeat("a", 32): `null`,
		"nt_" + a.ID[3:]:                `null`, // a contact's uuid under the note prefix
	} {
		if got := string(read(id)); got != want {
			t.Errorf("node(%s) = %s, want %s", id, got, want)
		}
	}
}

// TestIdentityChangesTouchUpdatedAt pins that a contact whose identities
// change counts as updated: contacts(filter: {updatedSince}) is how an
// incremental sync finds what changed, and a new phone number is a change.
func TestIdentityChangesTouchUpdatedAt(t *testing.T) {
	c := newEnv(t).workspace()
	a := c.createContact("A", ident("EMAIL", "a@example.com"))
	var before struct{ Contact struct{ UpdatedAt string } }
	c.do(`query($id: ID!) { contact(id: $id) { updatedAt } }`, map[string]any{"id": a.ID}, &before)

	for _, m := range []struct{ name, query string }{
		{"addContactIdentities", `mutation($id: ID!) { r: addContactIdentities(contactId: $id, identifiers: [{type: PHONE, value: "+14155552671"}]) { updatedAt } }`},
		{"removeContactIdentity", `mutation($id: ID!) { r: removeContactIdentity(contactId: $id, identifier: {type: PHONE, value: "+14155552671"}) { updatedAt } }`},
	} {
		var out struct{ R struct{ UpdatedAt string } }
		c.do(m.query, map[string]any{"id": a.ID}, &out)
		if !parseTime(t, out.R.UpdatedAt).After(parseTime(t, before.Contact.UpdatedAt)) {
			t.Errorf("%s: updatedAt %s, was %s", m.name, out.R.UpdatedAt, before.Contact.UpdatedAt)
		}
		before.Contact.UpdatedAt = out.R.UpdatedAt
	}
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

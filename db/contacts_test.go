package db_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
)

func phone(v string) crmhub.Identifier {
	return crmhub.Identifier{Type: crmhub.IdentityPhone, Value: v}
}
func email(v string) crmhub.Identifier {
	return crmhub.Identifier{Type: crmhub.IdentityEmail, Value: v}
}
func ptr[T any](v T) *T { return &v }

// countAllEvents counts all of the workspace's events.
func countAllEvents(t *testing.T, d *db.DB, ws uuid.UUID) int { return countEvents(t, d, ws, "") }

// countEvents counts the workspace's events of one type ("" for all).
func countEvents(t *testing.T, d *db.DB, ws uuid.UUID, typ string) int {
	t.Helper()
	var n int
	// The test connects as the service role, so set the tenant like the service does.
	tx, err := d.Pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(context.Background(), "SELECT set_config('app.workspace_id', $1, true)", ws.String()); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(context.Background(), "SELECT count(*) FROM events WHERE workspace_id = $1 AND ($2 = '' OR type = $2)", ws, typ).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUpsertContacts(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)

	items := []crmhub.ContactInput{
		{Name: ptr("Ann"), Identifiers: []crmhub.Identifier{phone("+7 999 111-44-33")}, Tags: []string{"vip", "b"}},
		{Name: ptr("Bob"), Identifiers: []crmhub.Identifier{email("Bob@Example.com")}, CustomFields: map[string]any{"n": 1}},
		// Matches item 0 by the same number written as a WhatsApp id.
		{Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityWAID, Value: "79991114433"}, email("ann@example.com")}},
		{Identifiers: []crmhub.Identifier{phone("+12")}},
	}
	res, err := svc.UpsertContacts(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	want := []crmhub.UpsertStatus{crmhub.UpsertCreated, crmhub.UpsertCreated, crmhub.UpsertUpdated, crmhub.UpsertFailed}
	for i, r := range res {
		if r.Status != want[i] || r.Index != i {
			t.Errorf("item %d: status %s index %d, want %s; errors %+v", i, r.Status, r.Index, want[i], r.Errors)
		}
	}
	if res[2].Contact.ID != res[0].Contact.ID {
		t.Errorf("WA_ID did not match the PHONE contact")
	}
	if e := res[3].Errors; len(e) != 1 || e[0].Code != crmhub.EINVALID || e[0].Field != "identifiers[0].value" {
		t.Errorf("bad phone: errors %+v", e)
	}
	events := countAllEvents(t, d, ws.ID)
	if n := countEvents(t, d, ws.ID, "identity.linked"); n != 2 {
		t.Errorf("identity.linked events = %d, want 2 (item 2 added a WA_ID and an email)", n)
	}

	// Re-sending the same input changes nothing and emits nothing.
	res, err = svc.UpsertContacts(ctx, items[:3])
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != crmhub.UpsertUnchanged {
			t.Errorf("re-send item %d: status %s, want UNCHANGED", i, r.Status)
		}
	}
	if got := countAllEvents(t, d, ws.ID); got != events {
		t.Errorf("re-send emitted %d events, want none", got-events)
	}

	// Two items that match different contacts: that item fails with CONFLICT.
	res, err = svc.UpsertContacts(ctx, []crmhub.ContactInput{
		{Identifiers: []crmhub.Identifier{phone("+79991114433"), email("bob@example.com")}, Name: ptr("X")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Status != crmhub.UpsertFailed || r.Errors[0].Code != crmhub.ECONFLICT ||
		len(r.Errors[0].Extensions["contactIds"].([]string)) != 2 {
		t.Errorf("conflict item: %+v", r)
	}

	// More than 100 items write nothing.
	many := make([]crmhub.ContactInput, 101)
	for i := range many {
		many[i] = crmhub.ContactInput{Identifiers: []crmhub.Identifier{email(fmt.Sprintf("m%d@x.io", i))}}
	}
	before, _ := svc.CountContacts(ctx, crmhub.ContactFilter{})
	if _, err := svc.UpsertContacts(ctx, many); crmhub.ErrorCode(err) != crmhub.ETOOMANY {
		t.Fatalf("101 items: err %v, want TOO_MANY_ENTITIES", err)
	}
	if after, _ := svc.CountContacts(ctx, crmhub.ContactFilter{}); after != before {
		t.Errorf("101 items wrote %d contacts", after-before)
	}
}

func TestResolveAndCreateConflicts(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)

	a, err := svc.CreateContact(ctx, crmhub.ContactInput{Name: ptr("A"), Identifiers: []crmhub.Identifier{phone("+447700900123")}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{
		{Type: crmhub.IdentityTelegram, Value: "@Bobby"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{
		{Type: crmhub.IdentityWhatsApp, Value: "447700900123"}}})
	if e, ok := err.(*crmhub.Error); !ok || e.Code != crmhub.ECONFLICT || e.Extensions["contactId"] != a.GlobalID() {
		t.Fatalf("create with a taken number: %v", err)
	}

	got, err := svc.ResolveContact(ctx, []crmhub.Identifier{{Type: crmhub.IdentityTelegram, Value: "bobby"}})
	if err != nil || got == nil || got.ID != b.ID {
		t.Fatalf("resolve telegram: %v %v", got, err)
	}
	got, err = svc.ResolveContact(ctx, []crmhub.Identifier{email("nobody@example.com")})
	if err != nil || got != nil {
		t.Fatalf("resolve unknown: %v %v", got, err)
	}
	_, err = svc.ResolveContact(ctx, []crmhub.Identifier{phone("+447700900123"), {Type: crmhub.IdentityTelegram, Value: "bobby"}})
	if e, ok := err.(*crmhub.Error); !ok || e.Code != crmhub.ECONFLICT ||
		!slices.Equal(e.Extensions["contactIds"].([]string), []string{a.GlobalID(), b.GlobalID()}) {
		t.Fatalf("resolve across contacts: %v", err)
	}
}

func TestUpdateContactMergesCustomFields(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	c, err := svc.CreateContact(ctx, crmhub.ContactInput{Name: ptr("A"), Identifiers: []crmhub.Identifier{email("a@x.io")},
		CustomFields: map[string]any{"keep": "k", "drop": 1, "change": "old"}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.UpdateContact(ctx, c.ID, crmhub.ContactPatch{CustomFields: map[string]any{"drop": nil, "change": "new", "add": true}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"keep": "k", "change": "new", "add": true}
	if fmt.Sprint(u.CustomFields) != fmt.Sprint(want) || u.Name == nil || *u.Name != "A" {
		t.Errorf("after patch: name %v fields %v, want A %v", u.Name, u.CustomFields, want)
	}
	// What was stored, read back: quotes, braces and unicode survive the
	// bulk update's array encoding, and an empty name clears it.
	tricky := map[string]any{"q": `a "quoted", {braced} \ value`, "ru": "Привет"}
	if _, err := svc.UpdateContact(ctx, c.ID, crmhub.ContactPatch{Name: ptr(""), URI: ptr("https://crm.example/c/1"), CustomFields: tricky}); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Contact(ctx, c.ID)
	if err != nil || got.Name != nil || got.URI == nil || *got.URI != "https://crm.example/c/1" ||
		got.CustomFields["q"] != tricky["q"] || got.CustomFields["ru"] != "Привет" || got.CustomFields["keep"] != "k" {
		t.Errorf("stored contact: %+v %v", got, err)
	}
	if _, err := svc.UpdateContact(ctx, uuid.New(), crmhub.ContactPatch{Name: ptr("x")}); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("update unknown contact: %v", err)
	}
	if _, err := svc.UpdateContact(ctx, c.ID, crmhub.ContactPatch{Name: ptr(string(slices.Repeat([]byte("x"), 201)))}); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("201-character name: %v", err)
	}
}

func TestMergeContacts(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)
	tgt, _ := svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{email("t@x.io")}, Tags: []string{"a"}})
	src, _ := svc.CreateContact(ctx, crmhub.ContactInput{Name: ptr("Src"), Identifiers: []crmhub.Identifier{phone("+15005550006")},
		Tags: []string{"a", "b"}, CustomFields: map[string]any{"k": "v"}})
	if _, err := svc.AddNote(ctx, src.ID, "hello"); err != nil {
		t.Fatal(err)
	}

	dry, err := svc.MergeContacts(ctx, tgt.ID, []uuid.UUID{src.ID}, true)
	if err != nil || dry.Contact.Name == nil || *dry.Contact.Name != "Src" || dry.MovedIdentities != 1 || dry.MovedNotes != 1 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if got, err := svc.Contact(ctx, src.ID); err != nil || got.ID != src.ID {
		t.Fatalf("dry run changed the source: %v %v", got, err)
	}
	if n := countEvents(t, d, ws.ID, "contact.merged"); n != 0 {
		t.Fatalf("dry run emitted %d merge events", n)
	}

	if _, err := svc.MergeContacts(ctx, tgt.ID, []uuid.UUID{src.ID}, false); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Contact(ctx, src.ID)
	if err != nil || got.ID != tgt.ID || got.CustomFields["k"] != "v" {
		t.Fatalf("source id after merge: %+v %v, want the target", got, err)
	}
	r, err := svc.ResolveContact(ctx, []crmhub.Identifier{phone("+15005550006")})
	if err != nil || r.ID != tgt.ID {
		t.Fatalf("source identity after merge resolves to %v (%v)", r, err)
	}
	// By the merged contact's id alone, and together with a phone: only
	// the id arms, then both kinds of arm, of the resolve statements.
	for _, ids := range [][]crmhub.Identifier{
		{{Type: crmhub.IdentityContactID, Value: src.GlobalID()}},
		{{Type: crmhub.IdentityContactID, Value: src.GlobalID()}, phone("+15005550006")},
	} {
		if r, err := svc.ResolveContact(ctx, ids); err != nil || r == nil || r.ID != tgt.ID {
			t.Fatalf("resolve %v after merge: %+v (%v), want the target", ids, r, err)
		}
	}
	tags, _ := svc.TagsByContact(ctx, []uuid.UUID{tgt.ID})
	if !slices.Equal(tags[tgt.ID], []string{"a", "b"}) {
		t.Errorf("tags after merge: %v", tags[tgt.ID])
	}
	notes, _ := svc.NotesByContact(ctx, []crmhub.NotesKey{{ContactID: tgt.ID, First: 10}})
	if len(notes[crmhub.NotesKey{ContactID: tgt.ID, First: 10}].Edges) != 1 {
		t.Errorf("note did not move")
	}
	// A chain: merging the target into a third contact keeps the old id working.
	third, _ := svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{email("third@x.io")}})
	if _, err := svc.MergeContacts(ctx, third.ID, []uuid.UUID{tgt.ID}, false); err != nil {
		t.Fatal(err)
	}
	if got, err := svc.Contact(ctx, src.ID); err != nil || got.ID != third.ID {
		t.Fatalf("twice-merged id leads to %v (%v), want %s", got, err, third.ID)
	}
	if _, err := svc.MergeContacts(ctx, third.ID, []uuid.UUID{third.ID}, false); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("merge into itself: %v", err)
	}
}

func TestContactsPagination(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	var items []crmhub.ContactInput
	for i := range 45 {
		items = append(items, crmhub.ContactInput{Name: ptr(fmt.Sprintf("n%02d", 44-i)),
			Identifiers: []crmhub.Identifier{email(fmt.Sprintf("p%d@x.io", i))}, Tags: []string{fmt.Sprint("t", i%3)}})
	}
	if _, err := svc.UpsertContacts(ctx, items); err != nil {
		t.Fatal(err)
	}
	for _, order := range []crmhub.ContactOrder{{}, {Field: crmhub.ContactOrderName, Desc: true}, {Field: crmhub.ContactOrderUpdatedAt}} {
		seen := map[uuid.UUID]bool{}
		after, pages := "", 0
		for {
			page, err := svc.Contacts(ctx, crmhub.ContactFilter{}, order, 10, after)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, e := range page.Edges {
				if seen[e.Node.ID] {
					t.Fatalf("order %v: %s seen twice", order, e.Node.ID)
				}
				seen[e.Node.ID] = true
			}
			if !page.PageInfo.HasNextPage {
				break
			}
			after = *page.PageInfo.EndCursor
		}
		if len(seen) != 45 || pages != 5 {
			t.Errorf("order %v: %d contacts in %d pages, want 45 in 5", order, len(seen), pages)
		}
	}
	page, err := svc.Contacts(ctx, crmhub.ContactFilter{}, crmhub.ContactOrder{Field: crmhub.ContactOrderName}, 2, "")
	if err != nil || *page.Edges[0].Node.Name != "n00" {
		t.Fatalf("name order: %v", err)
	}
	if _, err := svc.Contacts(ctx, crmhub.ContactFilter{}, crmhub.ContactOrder{}, 10, *page.PageInfo.EndCursor); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("cursor of another order: %v", err)
	}
	if _, err := svc.Contacts(ctx, crmhub.ContactFilter{}, crmhub.ContactOrder{}, 101, ""); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("first=101: %v", err)
	}
	for _, tc := range []struct {
		f    crmhub.ContactFilter
		want int
	}{
		{crmhub.ContactFilter{Tags: []string{"t1"}}, 15},
		{crmhub.ContactFilter{Search: "n4"}, 5},
		{crmhub.ContactFilter{Search: "P1"}, 11},
		{crmhub.ContactFilter{Search: "P1@X"}, 1},
		{crmhub.ContactFilter{Identity: ptr(email("p7@x.io"))}, 1},
	} {
		if n, err := svc.CountContacts(ctx, tc.f); err != nil || n != tc.want {
			t.Errorf("count %+v = %d (%v), want %d", tc.f, n, err, tc.want)
		}
	}
}

// TestRowLevelSecurity checks the second wall: even a query without a
// workspace filter sees only the transaction's tenant.
func TestRowLevelSecurity(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctxA, wsA, _ := dbtest.Workspace(t, d)
	_, wsB, _ := dbtest.Workspace(t, d)
	if _, err := svc.CreateContact(ctxA, crmhub.ContactInput{Identifiers: []crmhub.Identifier{email("rls@x.io")}}); err != nil {
		t.Fatal(err)
	}
	count := func(ws string) int {
		tx, err := d.Pool.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		if ws != "" {
			tx.Exec(context.Background(), "SELECT set_config('app.workspace_id', $1, true)", ws)
		}
		var n int
		if err := tx.QueryRow(context.Background(), "SELECT count(*) FROM contacts").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(wsA.ID.String()); n != 1 {
		t.Errorf("workspace A sees %d contacts, want 1", n)
	}
	if n := count(wsB.ID.String()); n != 0 {
		t.Errorf("workspace B sees %d of A's contacts", n)
	}
	if n := count(""); n != 0 {
		t.Errorf("no tenant set: sees %d contacts", n)
	}
	// Writing into another tenant is refused by the policy's WITH CHECK.
	tx, _ := d.Pool.Begin(context.Background())
	defer tx.Rollback(context.Background())
	tx.Exec(context.Background(), "SELECT set_config('app.workspace_id', $1, true)", wsB.ID.String())
	_, err := tx.Exec(context.Background(), "INSERT INTO contacts (workspace_id, id, created_at, updated_at) VALUES ($1, $2, now(), now())",
		wsA.ID, uuid.New())
	if err == nil {
		t.Error("inserting a row of workspace A while acting as B succeeded")
	}
}

// TestConcurrentUpsertsCreateOneContact races writers on one identity.
func TestConcurrentUpsertsCreateOneContact(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.UpsertContacts(ctx, []crmhub.ContactInput{
				{Identifiers: []crmhub.Identifier{phone("+79990000001"), email(fmt.Sprintf("r%d@x.io", i))}},
				{Identifiers: []crmhub.Identifier{email("shared@x.io")}},
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := svc.CountContacts(ctx, crmhub.ContactFilter{}); n != 2 {
		t.Errorf("8 concurrent upserts of 2 identities made %d contacts, want 2", n)
	}
}

// A contact holding one number under two types (WHATSAPP and PHONE share
// the phone match class, as a Wazapin pull leaves them) merges like any
// other: both identities move to the survivor. Moving them one row at a
// time had the exclusion constraint see the number on two contacts.
func TestMergeMovesOneNumberUnderTwoTypes(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	tgt, err := svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{email("t2@x.io")}})
	if err != nil {
		t.Fatal(err)
	}
	src, err := svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{
		{Type: crmhub.IdentityWhatsApp, Value: "+78880000002"}, phone("+78880000002")}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.MergeContacts(ctx, tgt.ID, []uuid.UUID{src.ID}, false)
	if err != nil || res.MovedIdentities != 2 {
		t.Fatalf("merge: %+v %v", res, err)
	}
	idents, err := svc.IdentitiesByContact(ctx, []uuid.UUID{tgt.ID})
	if err != nil || len(idents[tgt.ID]) != 3 {
		t.Fatalf("survivor's identities %+v %v, want its email and the number twice", idents[tgt.ID], err)
	}
	for _, id := range []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "+78880000002"}, phone("+78880000002")} {
		if r, err := svc.ResolveContact(ctx, []crmhub.Identifier{id}); err != nil || r == nil || r.ID != tgt.ID {
			t.Fatalf("resolve %v after the merge: %+v %v", id, r, err)
		}
	}
}

// TestIdentitiesAhead: within a read scope, a contact read by id or
// resolved keeps its identities for IdentitiesAhead, which never queries;
// a contact not read that way, and any read outside a scope, has none.
func TestIdentitiesAhead(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	a, err := svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{email("ahead@x.io"), phone("+78880000031")}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{phone("+78880000032")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := svc.IdentitiesAhead(ctx, a.ID); ok {
		t.Fatal("identities ahead without a read scope")
	}
	sctx, end, err := d.ReadScope(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer end()
	if _, err := svc.Contact(sctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ResolveContact(sctx, []crmhub.Identifier{phone("+78880000032")}); err != nil {
		t.Fatal(err)
	}
	want, err := svc.IdentitiesByContact(ctx, []uuid.UUID{a.ID, b.ID})
	if err != nil {
		t.Fatal(err)
	}
	before := d.QueryStats().Statements
	for _, c := range []*crmhub.Contact{a, b} {
		got, ok := svc.IdentitiesAhead(sctx, c.ID)
		if !ok || len(got) != len(want[c.ID]) || len(got) == 0 {
			t.Fatalf("contact %s: ahead %v %+v, want %+v", c.ID, ok, got, want[c.ID])
		}
		for i := range got {
			if got[i].Type != want[c.ID][i].Type || got[i].Value != want[c.ID][i].Value {
				t.Fatalf("contact %s: identity %d is %+v, want %+v", c.ID, i, got[i], want[c.ID][i])
			}
		}
	}
	if _, ok := svc.IdentitiesAhead(sctx, uuid.New()); ok {
		t.Fatal("identities ahead for a contact never read")
	}
	if n := d.QueryStats().Statements - before; n != 0 {
		t.Fatalf("IdentitiesAhead ran %d statements", n)
	}
}

// TestReadScopeHoldsOneConnection: a read scope holds one connection at
// most, whichever reads it serves: batched reads hold one straight from
// pgx's pool, a bun read after them trades it for the transaction's, and
// a batched read after that runs in the transaction. Each read answers as
// it does outside a scope, and a scope of batched reads only gives its
// connection back at its end.
func TestReadScopeHoldsOneConnection(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	a, err := svc.CreateContact(ctx, crmhub.ContactInput{Name: ptr("A"), Identifiers: []crmhub.Identifier{phone("+78880000041")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddNote(ctx, a.ID, "a note"); err != nil {
		t.Fatal(err)
	}
	held := func() int32 { return d.Pool.Stat().AcquiredConns() }

	base := held()
	sctx, end, err := d.ReadScope(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if c, err := svc.Contact(sctx, a.ID); err != nil || c.ID != a.ID || *c.Name != "A" {
			t.Fatalf("batched read in the scope: %+v %v", c, err)
		}
	}
	if n := held(); n != base+1 {
		t.Fatalf("%d connections held during batched reads, want %d", n, base+1)
	}
	end()
	if n := held(); n != base {
		t.Fatalf("%d connections held after the scope of batched reads, want %d", n, base)
	}

	base = held()
	sctx, end, err = d.ReadScope(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer end()
	steps := []func() error{
		func() error {
			c, err := svc.Contact(sctx, a.ID)
			if err == nil && c.ID != a.ID {
				err = fmt.Errorf("got contact %s", c.ID)
			}
			return err
		},
		func() error {
			n, err := svc.CountNotes(sctx, a.ID)
			if err == nil && n != 1 {
				err = fmt.Errorf("%d notes, want 1", n)
			}
			return err
		},
		func() error {
			c, err := svc.ResolveContact(sctx, []crmhub.Identifier{phone("+78880000041")})
			if err == nil && (c == nil || c.ID != a.ID) {
				err = fmt.Errorf("resolved %+v", c)
			}
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("read %d in the scope: %v", i, err)
		}
		if n := held(); n > base+1 {
			t.Fatalf("after read %d, %d connections held, want at most %d", i, n, base+1)
		}
	}
}

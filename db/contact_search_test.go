package db_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ownerConn connects as the schema's owner (a superuser in the tests), who
// reads every workspace.
func ownerConn(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// checkDerived compares what the triggers of migration 0015 keep with what
// it is derived from, recomputed here: each contact's search document (its
// lower-case name on one line, then its phone and email values in order,
// one per line)
// and the workspace's contact count.
func checkDerived(t *testing.T, conn *pgx.Conn, ws uuid.UUID, step string) {
	t.Helper()
	var wrongDocs, contacts, counted int
	err := conn.QueryRow(t.Context(), `
		WITH want AS (
			SELECT c.id, replace(lower(coalesce(c.name, '')), E'\n', ' ') || coalesce(string_agg(E'\n' || i.value, '' ORDER BY i.value), '') AS doc
			FROM contacts c LEFT JOIN contact_identities i ON i.workspace_id = c.workspace_id AND i.contact_id = c.id
				AND i.match_class IN ('phone', 'email')
			WHERE c.workspace_id = $1 GROUP BY c.id, c.name
		), got AS (SELECT contact_id AS id, doc FROM contact_search WHERE workspace_id = $1)
		SELECT (SELECT count(*) FROM want FULL JOIN got USING (id) WHERE want.doc IS DISTINCT FROM got.doc),
			(SELECT count(*) FROM contacts WHERE workspace_id = $1),
			(SELECT coalesce(sum(n), 0)::bigint FROM contact_counts WHERE workspace_id = $1)`, ws).Scan(&wrongDocs, &contacts, &counted)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	if wrongDocs != 0 {
		t.Errorf("after %s: %d contacts' search documents are wrong or missing", step, wrongDocs)
	}
	if counted != contacts {
		t.Errorf("after %s: workspace counts %d contacts, it has %d", step, counted, contacts)
	}
}

// TestSearchStructuresFollowWrites runs every write path that creates,
// renames or deletes contacts or changes their identities, and checks the
// search documents and the contact count after each.
func TestSearchStructuresFollowWrites(t *testing.T) {
	d := dbtest.OpenOwner(t, nil) // the seed analyzes as the owner
	svc := db.NewContactService(d)
	conn := ownerConn(t)
	ctx, ws, _ := dbtest.Workspace(t, d)
	must := func(c *crmhub.Contact, err error) *crmhub.Contact {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	checkDerived(t, conn, ws.ID, "creating the workspace")

	a := must(svc.CreateContact(ctx, crmhub.ContactInput{Name: ptr("Ivan Petrov"), Identifiers: []crmhub.Identifier{
		email("Ivan.P@Example.com"), phone("+7 916 123-45-67"), {Type: crmhub.IdentityTelegram, Value: "ivanp"}}}))
	b := must(svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{phone("+447700900123")}}))
	checkDerived(t, conn, ws.ID, "createContact")

	must(svc.UpdateContact(ctx, a.ID, crmhub.ContactPatch{Name: ptr("Ivan Sidorov")}))
	must(svc.UpdateContact(ctx, b.ID, crmhub.ContactPatch{Name: ptr("Anna"), Tags: &[]string{"vip"}}))
	must(svc.UpdateContact(ctx, b.ID, crmhub.ContactPatch{URI: ptr("https://crm.example.com/b")}))
	checkDerived(t, conn, ws.ID, "updateContact")

	must(svc.AddIdentities(ctx, b.ID, []crmhub.Identifier{email("anna@example.org"), phone("+447700900124")}))
	checkDerived(t, conn, ws.ID, "addIdentities")
	must(svc.RemoveIdentity(ctx, b.ID, phone("+447700900123")))
	checkDerived(t, conn, ws.ID, "removeIdentity")

	res, err := svc.UpsertContacts(ctx, []crmhub.ContactInput{
		{Name: ptr("New One"), Identifiers: []crmhub.Identifier{email("new1@example.com")}},
		{Name: ptr("Anna Smirnova"), Identifiers: []crmhub.Identifier{email("anna@example.org"), phone("+447700900125")}},
		{Name: ptr("Ivan Sidorov"), Identifiers: []crmhub.Identifier{email("ivan.p@example.com")}},
	})
	if err != nil || len(res) != 3 {
		t.Fatalf("upsert: %v %v", res, err)
	}
	checkDerived(t, conn, ws.ID, "upsertContacts")

	if _, err := svc.MergeContacts(ctx, a.ID, []uuid.UUID{b.ID}, false); err != nil {
		t.Fatal(err)
	}
	checkDerived(t, conn, ws.ID, "mergeContacts")

	c := must(svc.CreateContact(ctx, crmhub.ContactInput{Name: ptr("Gone"), Identifiers: []crmhub.Identifier{email("gone@example.com")}}))
	e := must(svc.CreateContact(ctx, crmhub.ContactInput{Name: ptr("Gone too"), Identifiers: []crmhub.Identifier{phone("+15005550009")}}))
	if err := svc.DeleteContact(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	checkDerived(t, conn, ws.ID, "deleteContact")
	if _, err := svc.DeleteContacts(ctx, []uuid.UUID{e.ID, a.ID}); err != nil {
		t.Fatal(err)
	}
	checkDerived(t, conn, ws.ID, "deleteContacts")

	// The bulk load writes with INSERT ... SELECT; the triggers see it too.
	seededCtx, seededWS, _ := seeded(t, d, db.SeedConfig{Contacts: 200, Users: 2, Seed: 3})
	checkDerived(t, conn, seededWS.ID, "seed")
	if n, err := svc.CountContacts(seededCtx, crmhub.ContactFilter{}); err != nil || n != 200 {
		t.Errorf("totalCount of the seeded workspace: %d (%v), want 200", n, err)
	}
	checkDerived(t, conn, ws.ID, "seeding another workspace")
}

// TestContactSearch checks what a search matches, the same whichever of
// its two plans runs: the ids from the trigram index (few matches) or a
// check of each contact's document in the listing's order (many).
func TestContactSearch(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	otherCtx, _, _ := dbtest.Workspace(t, d)
	create := func(ctx context.Context, name string, ids ...crmhub.Identifier) uuid.UUID {
		t.Helper()
		in := crmhub.ContactInput{Identifiers: ids}
		if name != "" {
			in.Name = &name
		}
		c, err := svc.CreateContact(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	ivan := create(ctx, "Ivan Petrov", email("ivan.p@example.com"), phone("+79161234567"))
	anna := create(ctx, "Anna Ivanova", email("anna@mail.example.org"), phone("+447700900123"),
		crmhub.Identifier{Type: crmhub.IdentityTelegram, Value: "secret_handle"})
	nameless := create(ctx, "", email("100%real@example.net"))
	twoLines := create(ctx, "Two\nLines", email("two@example.net"))
	create(otherCtx, "Ivan Other", email("ivan@other.example.com"))

	for _, tc := range []struct {
		search string
		want   []uuid.UUID
	}{
		{"ivan", []uuid.UUID{ivan, anna}},
		{"IVANOVA", []uuid.UUID{anna}},
		{"n Pe", []uuid.UUID{ivan}},
		{"mail.example", []uuid.UUID{anna}},
		{"+7 (916) 123", []uuid.UUID{ivan}},
		{"9161234567", []uuid.UUID{ivan}},
		{"0900", []uuid.UUID{anna}},
		{"secret", nil}, // a Telegram handle is not searched
		{"100%", []uuid.UUID{nameless}},
		{"0%r", []uuid.UUID{nameless}},
		{"1_0", nil}, // _ is a character, not a wildcard
		{"an", []uuid.UUID{ivan, anna}},
		{"other", nil},         // another workspace's
		{"petrov\n+7916", nil}, // not across the name and a phone
		{"two\nlines", []uuid.UUID{twoLines}},
		{"two lines", []uuid.UUID{twoLines}},
	} {
		// Both plans: the index's ids or the walk of the order (max), in
		// pages of 20 and of 1 (by name, descending).
		for _, max := range []int{1000, 0} {
			*db.SearchIDsMax = max
			for _, size := range []int{20, 1} {
				order := crmhub.ContactOrder{}
				if size == 1 {
					order = crmhub.ContactOrder{Field: crmhub.ContactOrderName, Desc: true}
				}
				var got []uuid.UUID
				after := ""
				for range 10 {
					page, err := svc.Contacts(ctx, crmhub.ContactFilter{Search: tc.search}, order, size, after)
					if err != nil {
						t.Fatalf("search %q: %v", tc.search, err)
					}
					for _, e := range page.Edges {
						got = append(got, e.Node.ID)
					}
					if !page.PageInfo.HasNextPage {
						break
					}
					after = *page.PageInfo.EndCursor
				}
				slices.SortFunc(got, uuidCompare)
				want := slices.SortedFunc(slices.Values(tc.want), uuidCompare)
				if !slices.Equal(got, want) {
					t.Errorf("search %q (at most %d ids from the index, pages of %d): %v, want %v",
						tc.search, max, size, got, want)
				}
			}
			n, err := svc.CountContacts(ctx, crmhub.ContactFilter{Search: tc.search})
			if err != nil || n != len(tc.want) {
				t.Errorf("count of search %q (at most %d ids from the index): %d (%v), want %d", tc.search, max, n, err, len(tc.want))
			}
		}
	}
	*db.SearchIDsMax = 5000
}

func uuidCompare(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) }

// TestContactCountSlots: writers on several connections create and delete
// contacts of one workspace at once, each counting in its connection's
// slot; the count stays exact. Transactions that created contacts and have
// not committed do not wait for each other (they did while the count was
// one row of workspaces).
func TestContactCountSlots(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	conn := ownerConn(t)
	ctx, ws, _ := dbtest.Workspace(t, d)

	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			var err error
			for i := range 10 {
				var c *crmhub.Contact
				c, err = svc.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{
					email(fmt.Sprintf("slot%d-%d@example.com", w, i))}})
				if err == nil && i%3 == 0 {
					err = svc.DeleteContact(ctx, c.ID)
				}
				if err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	checkDerived(t, conn, ws.ID, "concurrent creates and deletes")
	if n, err := svc.CountContacts(ctx, crmhub.ContactFilter{}); err != nil || n != 8*6 {
		t.Fatalf("totalCount %d (%v), want %d", n, err, 8*6)
	}

	// Four open transactions, on four connections, each inserting a
	// contact of the same workspace: none waits for another (2 s lock
	// timeout), whatever slots their process ids pick.
	open := func(i int) pgx.Tx {
		c, err := pgx.Connect(t.Context(), dbtest.ServiceURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		tx, err := c.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback(context.Background()) })
		if _, err := tx.Exec(t.Context(), "SELECT set_config('app.workspace_id', $1, true)", ws.ID.String()); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(t.Context(), "SET LOCAL lock_timeout = '2s'"); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(t.Context(), "SET LOCAL ROLE crmhub_app"); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(t.Context(), "INSERT INTO contacts (workspace_id, id, name, created_at, updated_at) VALUES ($1, $2, $3, now(), now())",
			ws.ID, uuid.New(), fmt.Sprintf("open %d", i)); err != nil {
			t.Fatalf("insert in open transaction %d: %v", i, err)
		}
		return tx
	}
	var txs []pgx.Tx
	for i := range 4 {
		txs = append(txs, open(i))
	}
	for _, tx := range slices.Backward(txs) {
		if err := tx.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	checkDerived(t, conn, ws.ID, "four open transactions")
}

package db_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// runs numbers batches across every benchmark run of the process, so that
// "create" batches always carry identities no earlier run stored.
var runs atomic.Int64

// batch returns n upsert items with identities unique to run.
func batch(run, n int) []crmhub.ContactInput {
	items := make([]crmhub.ContactInput, n)
	for i := range items {
		items[i] = crmhub.ContactInput{Name: ptr(fmt.Sprintf("Bench %d-%d", run, i)),
			Identifiers: []crmhub.Identifier{
				phone(fmt.Sprintf("+4477%08d", run*100+i)),
				{Type: crmhub.IdentityExternalID, Value: fmt.Sprintf("%d-%d", run, i), Source: "bench"},
			},
			Tags: []string{"bench", fmt.Sprint("t", i%5)}, CustomFields: map[string]any{"i": i}}
	}
	return items
}

// BenchmarkUpsert compares creating 100 contacts in one upsertContacts call,
// the same 100 one createContact call each, the benchmark workload's mix
// of new, changed and unchanged contacts, and re-sending an unchanged batch
// (what a sync with nothing new costs).
func BenchmarkUpsert(b *testing.B) {
	d := dbtest.Open(b, nil)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(b, d)
	if _, err := svc.UpsertContacts(ctx, batch(int(runs.Add(1)), 100)); err != nil {
		b.Fatal(err)
	}
	analyze(b)

	b.Run("batch100/create", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.UpsertContacts(ctx, batch(int(runs.Add(1)), 100)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("single100/create", func(b *testing.B) {
		for b.Loop() {
			for _, it := range batch(int(runs.Add(1)), 100) {
				if _, err := svc.CreateContact(ctx, it); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	// The benchmark workload's mix: 50 new, 40 changed, 10 unchanged.
	if _, err := svc.UpsertContacts(ctx, storedBatch()); err != nil {
		b.Fatal(err)
	}
	b.Run("batch100/mixed", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.UpsertContacts(ctx, mixedBatch(int(runs.Add(1)))); err != nil {
				b.Fatal(err)
			}
		}
	})
	same := batch(int(runs.Add(1)), 100)
	if _, err := svc.UpsertContacts(ctx, same); err != nil {
		b.Fatal(err)
	}
	b.Run("batch100/unchanged", func(b *testing.B) {
		for b.Loop() {
			res, err := svc.UpsertContacts(ctx, same)
			if err != nil || res[0].Status != crmhub.UpsertUnchanged {
				b.Fatal(err, res[0].Status)
			}
		}
	})
}

// analyze gives the planner statistics, as autovacuum soon would: on
// never-analyzed tables it guesses they are a few pages and scans them
// whole, with the row-level security check on every row, which measures
// the guess rather than the code.
func analyze(b *testing.B) {
	conn, err := pgx.Connect(context.Background(), dbtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkContactsPage measures one page of 100 contacts with their
// identities and tags, as the GraphQL dataloaders fetch them.
func BenchmarkContactsPage(b *testing.B) {
	d := dbtest.Open(b, nil)
	svc := db.NewContactService(d)
	ctx, _, _ := dbtest.Workspace(b, d)
	for range 10 {
		if _, err := svc.UpsertContacts(ctx, batch(int(runs.Add(1)), 100)); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		page, err := svc.Contacts(ctx, crmhub.ContactFilter{}, crmhub.ContactOrder{}, 100, "")
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]uuid.UUID, len(page.Edges))
		for i, e := range page.Edges {
			ids[i] = e.Node.ID
		}
		if _, err := svc.IdentitiesByContact(ctx, ids); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.TagsByContact(ctx, ids); err != nil {
			b.Fatal(err)
		}
	}
}

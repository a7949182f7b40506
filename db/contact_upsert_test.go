package db_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
)

// mixedBatch is the benchmark's upsert of 100: 50 new contacts, 40 of the
// 50 stored ones (stored[i] was created by storedBatch) with a new name and
// custom field, and 10 stored ones exactly as they are.
func mixedBatch(call int) []crmhub.ContactInput {
	items := make([]crmhub.ContactInput, 0, 100)
	for i := range 50 {
		items = append(items, crmhub.ContactInput{Name: ptr(fmt.Sprintf("New %d-%d", call, i)),
			Identifiers:  []crmhub.Identifier{phone(fmt.Sprintf("+4478%04d%04d", call, i))},
			CustomFields: map[string]any{"call": call}})
	}
	for i := range 40 {
		items = append(items, crmhub.ContactInput{Name: ptr(fmt.Sprintf("Changed %d-%d", call, i)),
			Identifiers:  []crmhub.Identifier{phone(fmt.Sprintf("+4479%08d", i))},
			CustomFields: map[string]any{"call": call}})
	}
	return append(items, storedBatch()[40:]...)
}

// storedBatch is the 50 contacts mixedBatch changes or leaves alone.
func storedBatch() []crmhub.ContactInput {
	items := make([]crmhub.ContactInput, 50)
	for i := range items {
		items[i] = crmhub.ContactInput{Name: ptr(fmt.Sprintf("Stored %d", i)),
			Identifiers: []crmhub.Identifier{phone(fmt.Sprintf("+4479%08d", i))}, Tags: []string{"stored"}}
	}
	return items
}

// TestUpsertRoundTrips: an upsert of 100 (50 new, 40 changed, 10
// unchanged) costs at most three round trips, BEGIN and COMMIT included.
// Nothing else uses the test's pool while it counts.
func TestUpsertRoundTrips(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewContactService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)
	if _, err := svc.UpsertContacts(ctx, storedBatch()); err != nil {
		t.Fatal(err)
	}
	events := countAllEvents(t, d, ws.ID)
	for call := range 3 { // the first call also prepares the statements
		before := d.QueryStats()
		res, err := svc.UpsertContacts(ctx, mixedBatch(call))
		after := d.QueryStats()
		if err != nil {
			t.Fatal(err)
		}
		count := map[crmhub.UpsertStatus]int{}
		for _, r := range res {
			count[r.Status]++
		}
		if count[crmhub.UpsertCreated] != 50 || count[crmhub.UpsertUpdated] != 40 || count[crmhub.UpsertUnchanged] != 10 {
			t.Fatalf("call %d: statuses %v, want 50 created, 40 updated, 10 unchanged", call, count)
		}
		trips, stmts := after.RoundTrips-before.RoundTrips, after.Statements-before.Statements
		t.Logf("call %d: %d round trips, %d statements", call, trips, stmts)
		if trips > 3 {
			t.Errorf("call %d: %d round trips, want <= 3", call, trips)
		}
	}
	if got := countAllEvents(t, d, ws.ID) - events; got != 3*90 {
		t.Errorf("3 calls emitted %d events, want 270 (50 created and 40 updated each)", got)
	}
}

// TestUnchangedUpsertWritesNothing: re-sending stored contacts as they are
// inserts, updates and deletes no tuple in any table, and leaves the
// contacts' row versions (xmin) alone.
func TestUnchangedUpsertWritesNothing(t *testing.T) {
	// One connection: the service's backend is the one whose statistics
	// the test flushes before reading them.
	d, err := db.Open(context.Background(), db.Config{URL: dbtest.URL(t), MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	svc := db.NewContactService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)
	stored := storedBatch()
	if _, err := svc.UpsertContacts(ctx, stored); err != nil {
		t.Fatal(err)
	}
	xminBefore := contactXmins(t, d, ws.ID)
	tuplesBefore := tuplesWritten(t, d)
	res, err := svc.UpsertContacts(ctx, stored)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != crmhub.UpsertUnchanged {
			t.Fatalf("item %d: %s, want UNCHANGED", i, r.Status)
		}
	}
	for table, n := range tuplesWritten(t, d) {
		if n != tuplesBefore[table] {
			t.Errorf("%s: %d tuples written by an unchanged upsert", table, n-tuplesBefore[table])
		}
	}
	xminAfter := contactXmins(t, d, ws.ID)
	if len(xminAfter) != 50 {
		t.Fatalf("%d contacts, want 50", len(xminAfter))
	}
	for id, x := range xminAfter {
		if xminBefore[id] != x {
			t.Errorf("contact %s: xmin %s -> %s: its row was rewritten", id, xminBefore[id], x)
		}
	}

	// The check can fail: a changed batch does show up.
	stored[0].Name = ptr("Renamed")
	if _, err := svc.UpsertContacts(ctx, stored); err != nil {
		t.Fatal(err)
	}
	if after := tuplesWritten(t, d); after["contacts"] == tuplesBefore["contacts"] || after["events"] == tuplesBefore["events"] {
		t.Errorf("renaming one contact wrote no contact or event tuple: %v -> %v", tuplesBefore, after)
	}
}

// contactXmins is the row version of each contact of ws.
func contactXmins(t *testing.T, d *db.DB, ws uuid.UUID) map[uuid.UUID]string {
	t.Helper()
	ctx := context.Background()
	tx, err := d.Bun.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT set_config('app.workspace_id', ?, true)", ws.String()); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		ID   uuid.UUID `bun:"id,type:uuid"`
		Xmin string    `bun:"xmin"`
	}
	if err := tx.NewRaw("SELECT id, xmin::text AS xmin FROM contacts WHERE workspace_id = ?", ws).Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	out := make(map[uuid.UUID]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Xmin
	}
	return out
}

// tuplesWritten is n_tup_ins + n_tup_upd + n_tup_del of each table. d has
// one connection, the one the service wrote on: forcing its statistics out
// (they are flushed when it is next idle) and then reading a fresh snapshot
// sees every write so far.
func tuplesWritten(t *testing.T, d *db.DB) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := d.Bun.ExecContext(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Bun.ExecContext(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Name string `bun:"relname"`
		N    int64  `bun:"n"`
	}
	if err := d.Bun.NewRaw("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS n FROM pg_stat_user_tables").Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Name] = r.N
	}
	return out
}

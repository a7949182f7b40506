package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/jackc/pgx/v5"
)

func TestEventRetention(t *testing.T) {
	clock := dbtest.NewClock()
	d := dbtest.Open(t, clock)
	svc := db.NewContactService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)
	createN(t, svc, ctx, "old", 3)
	clock.Advance(48 * time.Hour)
	createN(t, svc, ctx, "new", 2)

	if n, err := db.NewRetention(d, 0, time.Hour, nil).RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("retention 0 deleted %d (%v); it must keep everything", n, err)
	}
	// Retention prunes every workspace: events that other tests of this
	// package left, stamped by a test clock of their own, may go too, so
	// the count is at least this workspace's 3, and what is left of this
	// workspace is checked below.
	n, err := db.NewRetention(d, 24*time.Hour, time.Hour, nil).RunOnce(ctx)
	if err != nil || n < 3 {
		t.Fatalf("pruned %d (%v), want at least the 3 events older than a day", n, err)
	}
	if got := countAllEvents(t, d, ws.ID); got != 2 {
		t.Errorf("%d events left, want 2", got)
	}
	// Positions keep counting: new events never reuse pruned positions.
	page, err := db.NewEventService(d, nil).Events(ctx, crmhub.EventFilter{}, 10, "")
	if err != nil || len(page.Edges) != 2 || page.Edges[0].Node.Position != 4 {
		t.Fatalf("events after pruning: %+v %v", page, err)
	}
}

// The loop prunes at Start, and tells a test so through its Ran signal.
func TestEventRetentionLoop(t *testing.T) {
	clock := dbtest.NewClock()
	d := dbtest.Open(t, clock)
	ctx, ws, _ := dbtest.Workspace(t, d)
	createN(t, db.NewContactService(d), ctx, "old", 2)
	clock.Advance(48 * time.Hour)

	forgetMaintenance(t)
	r := db.NewRetention(d, 24*time.Hour, time.Hour, nil)
	r.Ran.Init()
	r.Start(ctx)
	defer r.Stop()
	if !r.Ran.Wait(30 * time.Second) {
		t.Fatal("the retention loop did not run at start")
	}
	if got := countAllEvents(t, d, ws.ID); got != 0 {
		t.Errorf("%d events left, want none", got)
	}
}

// forgetMaintenance deletes the record of when cluster-wide work last ran
// (as the owner: the service role may not delete it), so that a test
// starts as on a fresh database whatever ran before it in the package.
func forgetMaintenance(t *testing.T) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "DELETE FROM maintenance_runs"); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionOncePerPeriodAcrossProcesses: every process runs the
// retention loop; in each period only the first to claim it prunes. A
// second process's loop, started right after the first pruned, skips.
func TestRetentionOncePerPeriodAcrossProcesses(t *testing.T) {
	forgetMaintenance(t)
	ctx := context.Background()
	first := db.NewRetention(dbtest.Open(t, nil), 24*time.Hour, time.Hour, nil)
	second := db.NewRetention(dbtest.Open(t, nil), 24*time.Hour, time.Hour, nil)
	for _, r := range []*db.Retention{first, second} {
		r.Ran.Init()
		r.Skipped.Init()
	}
	first.Start(ctx)
	defer first.Stop()
	if !first.Ran.Wait(30 * time.Second) {
		t.Fatal("the first loop did not run at start")
	}
	if first.Skipped.Wait(0) {
		t.Fatal("the first loop skipped: nothing had claimed the period")
	}
	second.Start(ctx)
	defer second.Stop()
	if !second.Ran.Wait(30 * time.Second) {
		t.Fatal("the second loop did not run at start")
	}
	if !second.Skipped.Wait(5 * time.Second) { // signalled before Ran: at once
		t.Fatal("the second process pruned in the period the first had claimed")
	}
}

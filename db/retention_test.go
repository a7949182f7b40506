package db_test

import (
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
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
	n, err := db.NewRetention(d, 24*time.Hour, time.Hour, nil).RunOnce(ctx)
	if err != nil || n != 3 {
		t.Fatalf("pruned %d (%v), want the 3 events older than a day", n, err)
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

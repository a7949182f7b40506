package db_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

func newSyncs(t *testing.T, d *db.DB) *db.SyncService {
	t.Helper()
	s, err := db.NewSyncService(d, db.SyncConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRunSyncOneAtATime(t *testing.T) {
	d := dbtest.Open(t, nil)
	conns, syncs := newConnections(d, false), newSyncs(t, d)
	ctx, _, _ := dbtest.Workspace(t, d)
	c, err := conns.CreateConnection(ctx, wazzupInput("Sales", "k"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := syncs.RunSync(ctx, c.ID, crmhub.SyncFull, true)
	if err != nil || run.Status != crmhub.SyncQueued || run.Mode != crmhub.SyncFull || !run.DryRun || run.Trigger != "api" {
		t.Fatalf("runSync: %+v %v", run, err)
	}
	// Its River job was queued with it.
	pool, err := pgxpool.New(context.Background(), dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var jobs int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM river_job WHERE kind = 'crmhub.sync_run' AND args->>'run_id' = $1",
		run.ID.String()).Scan(&jobs); err != nil || jobs != 1 {
		t.Fatalf("%d jobs for the run, %v", jobs, err)
	}
	_, err = syncs.RunSync(ctx, c.ID, crmhub.SyncIncremental, false)
	if e, ok := err.(*crmhub.Error); !ok || e.Code != crmhub.ECONFLICT || e.Extensions["syncRunId"] != run.GlobalID() {
		t.Fatalf("second runSync: %v", err)
	}
	if _, err := syncs.RunSync(ctx, c.ID, "SOMETIMES", false); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("bad mode: %v", err)
	}
	off := false
	c2, _ := conns.CreateConnection(ctx, wazzupInput("Off", "k"))
	if _, err := conns.UpdateConnection(ctx, c2.ID, crmhub.ConnectionPatch{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := syncs.RunSync(ctx, c2.ID, crmhub.SyncFull, false); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("disabled connection: %v", err)
	}
	// Another workspace sees neither the connection nor the run.
	other, _, _ := dbtest.Workspace(t, d)
	if _, err := syncs.RunSync(other, c.ID, crmhub.SyncFull, false); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("runSync from another workspace: %v", err)
	}
	if _, err := syncs.SyncRun(other, run.ID); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("syncRun from another workspace: %v", err)
	}
	if page, err := syncs.SyncRuns(other, nil, 10, ""); err != nil || len(page.Edges) != 0 {
		t.Errorf("syncRuns from another workspace: %+v %v", page, err)
	}
	page, err := syncs.SyncRuns(ctx, &c.ID, 10, "")
	if err != nil || len(page.Edges) != 1 || page.Edges[0].Node.ID != run.ID {
		t.Fatalf("syncRuns: %+v %v", page, err)
	}
}

func TestSchedulerQueuesDueConnections(t *testing.T) {
	clock := dbtest.NewClock()
	d := dbtest.Open(t, clock)
	conns, syncs := newConnections(d, false), newSyncs(t, d)
	ctx, ws, _ := dbtest.Workspace(t, d)
	in := wazzupInput("Hourly", "k")
	in.Schedule = time.Hour
	c, err := conns.CreateConnection(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conns.CreateConnection(ctx, wazzupInput("On demand", "k")); err != nil {
		t.Fatal(err)
	}
	sched := db.NewSyncScheduler(syncs, time.Minute, nil)
	once := func() int {
		t.Helper()
		n, err := sched.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := once(); n != 1 {
		t.Fatalf("first pass queued %d runs, want 1", n)
	}
	if n := once(); n != 0 {
		t.Fatalf("a run is queued: the second pass queued %d", n)
	}
	page, _ := syncs.SyncRuns(ctx, &c.ID, 10, "")
	run, _, err := syncs.ClaimRun(context.Background(), ws.ID, page.Edges[0].Node.ID)
	if err != nil || run.Trigger != "schedule" {
		t.Fatalf("claim: %+v %v", run, err)
	}
	run.Status = crmhub.SyncSucceeded
	if err := syncs.FinishRun(context.Background(), ws.ID, run); err != nil {
		t.Fatal(err)
	}
	if got := syncs.FinishedRuns(); !maps.Equal(got, map[string]uint64{"succeeded": 1, "failed": 0, "cancelled": 0}) {
		t.Errorf("finished runs counted %v, want one succeeded", got)
	}
	clock.Advance(30 * time.Minute)
	if n := once(); n != 0 {
		t.Fatalf("half an hour later: %d runs", n)
	}
	clock.Advance(31 * time.Minute)
	if n := once(); n != 1 {
		t.Fatalf("an hour later: %d runs", n)
	}
}

// TestScheduledRunOncePerPeriodAcrossProcesses: every process's scheduler
// may list a connection as due at the same moment. When one has queued the
// run and it has already finished before another gets to queue its own,
// the other queues nothing: one scheduled run per period, not one per
// process.
func TestScheduledRunOncePerPeriodAcrossProcesses(t *testing.T) {
	clock := dbtest.NewClock()
	d := dbtest.Open(t, clock)
	conns, syncs := newConnections(d, false), newSyncs(t, d)
	other := newSyncs(t, dbtest.Open(t, clock)) // a second process
	ctx, ws, _ := dbtest.Workspace(t, d)
	in := wazzupInput("Hourly", "k")
	in.Schedule = time.Hour
	c, err := conns.CreateConnection(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	first, err := syncs.QueueScheduled(context.Background(), ws.ID, c.ID)
	if err != nil || first == nil {
		t.Fatalf("first process: %+v %v", first, err)
	}
	run, _, err := syncs.ClaimRun(context.Background(), ws.ID, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	run.Status = crmhub.SyncSucceeded
	if err := syncs.FinishRun(context.Background(), ws.ID, run); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if again, err := other.QueueScheduled(context.Background(), ws.ID, c.ID); err != nil || again != nil {
		t.Fatalf("the second process queued %+v (%v) in the same period", again, err)
	}
	clock.Advance(time.Hour)
	if next, err := other.QueueScheduled(context.Background(), ws.ID, c.ID); err != nil || next == nil {
		t.Fatalf("next period: %+v %v", next, err)
	}
}

package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// leaseEnv is a workspace with one connection, its sync service on a
// settable clock with a one-minute lease, and a pool to count River jobs.
type leaseEnv struct {
	ctx   context.Context
	clock *dbtest.Clock
	syncs *db.SyncService
	conn  *crmhub.Connection
	ws    *crmhub.Workspace
	pool  *pgxpool.Pool
}

func newLeaseEnv(t *testing.T) *leaseEnv {
	t.Helper()
	e := &leaseEnv{clock: dbtest.NewClock()}
	d := dbtest.Open(t, e.clock)
	var err error
	if e.syncs, err = db.NewSyncService(d, db.SyncConfig{Lease: time.Minute}); err != nil {
		t.Fatal(err)
	}
	e.ctx, e.ws, _ = dbtest.Workspace(t, d)
	if e.conn, err = newConnections(d, false).CreateConnection(e.ctx, wazzupInput("Sales", "k")); err != nil {
		t.Fatal(err)
	}
	if e.pool, err = pgxpool.New(context.Background(), dbtest.URL(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.pool.Close)
	return e
}

// jobs counts the River jobs of a run.
func (e *leaseEnv) jobs(t *testing.T, run *crmhub.SyncRun) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM river_job WHERE kind = 'crmhub.sync_run' AND args->>'run_id' = $1",
		run.ID.String()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// queue queues a run of the connection.
func (e *leaseEnv) queue(t *testing.T) *crmhub.SyncRun {
	t.Helper()
	run, err := e.syncs.RunSync(e.ctx, e.conn.ID, crmhub.SyncFull, false)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// claim claims a run, which must succeed.
func (e *leaseEnv) claim(t *testing.T, id *crmhub.SyncRun) *crmhub.SyncRun {
	t.Helper()
	run, _, err := e.syncs.ClaimRun(e.ctx, e.ws.ID, id.ID)
	if err != nil || run == nil || run.Status != crmhub.SyncRunning {
		t.Fatalf("claim: %+v %v", run, err)
	}
	return run
}

// A run whose holder stops heartbeating (its process died) is handed to a
// new job once its lease lapses, exactly once, and claimed under a new
// lease; the old holder's writes then match nothing.
func TestLeaseTakeover(t *testing.T) {
	e := newLeaseEnv(t)
	queued := e.queue(t)
	dead := e.claim(t, queued)
	if err := e.syncs.SaveRun(e.ctx, e.ws.ID, dead, []byte(`{"step":1,"cursor":"100"}`)); err != nil {
		t.Fatal(err)
	}
	takeover := db.NewSyncTakeover(e.syncs, nil)

	// While the claim holds (half a lease after its last renewal), nobody
	// else may claim it and nothing is handed over.
	e.clock.Advance(29 * time.Second)
	if _, _, err := e.syncs.ClaimRun(e.ctx, e.ws.ID, queued.ID); !errors.Is(err, crmhub.ErrSyncRunHeld) {
		t.Fatalf("claim of a held run: %v", err)
	}
	// (The sweep spans every workspace, so it may hand over other tests'
	// abandoned runs: count this run's jobs, not what a pass returns.)
	if _, err := takeover.RunOnce(e.ctx); err != nil || e.jobs(t, queued) != 1 {
		t.Fatalf("takeover of a live run: %d jobs, %v", e.jobs(t, queued), err)
	}

	// The lease lapses: one pass hands the run over with a new job; the
	// next pass does not hand it out again.
	e.clock.Advance(2 * time.Second)
	for range 2 {
		if _, err := takeover.RunOnce(e.ctx); err != nil {
			t.Fatalf("takeover: %v", err)
		}
	}
	if n := e.jobs(t, queued); n != 2 {
		t.Fatalf("%d jobs for the run, want the first and the takeover's", n)
	}

	// The new job's claim resumes from the saved page.
	live, progress, err := e.syncs.ClaimRun(e.ctx, e.ws.ID, queued.ID)
	if err != nil || live == nil || string(progress) != `{"step": 1, "cursor": "100"}` || live.Lease == dead.Lease {
		t.Fatalf("claim after takeover: %+v %s %v", live, progress, err)
	}
	for name, write := range map[string]func() error{
		"save":      func() error { return e.syncs.SaveRun(e.ctx, e.ws.ID, dead, []byte(`{"step":9}`)) },
		"heartbeat": func() error { return e.syncs.Heartbeat(e.ctx, e.ws.ID, dead) },
		"finish":    func() error { dead.Status = crmhub.SyncSucceeded; return e.syncs.FinishRun(e.ctx, e.ws.ID, dead) },
	} {
		if err := write(); !errors.Is(err, crmhub.ErrSyncLeaseLost) {
			t.Errorf("the old holder's %s: %v", name, err)
		}
	}

	// Heartbeats every quarter lease keep the new holder's claim for
	// longer than one lease.
	for range 6 {
		e.clock.Advance(15 * time.Second)
		if err := e.syncs.Heartbeat(e.ctx, e.ws.ID, live); err != nil {
			t.Fatal(err)
		}
		if _, err := takeover.RunOnce(e.ctx); err != nil || e.jobs(t, queued) != 2 {
			t.Fatalf("takeover of a beating run: %d jobs, %v", e.jobs(t, queued), err)
		}
	}
	live.Status = crmhub.SyncSucceeded
	if err := e.syncs.FinishRun(e.ctx, e.ws.ID, live); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.syncs.SyncRun(e.ctx, queued.ID); got.Status != crmhub.SyncSucceeded {
		t.Fatalf("finished run: %s", got.Status)
	}
	// The dead process's job, rescued by River hours later, finds nothing to do.
	if run, _, err := e.syncs.ClaimRun(e.ctx, e.ws.ID, queued.ID); run != nil || err != nil {
		t.Fatalf("claim of a finished run: %+v %v", run, err)
	}
}

// A job cut short (shutdown) releases its lease: the retry claims the run
// at once instead of waiting for the lease to lapse.
func TestReleasedRunIsClaimedAtOnce(t *testing.T) {
	e := newLeaseEnv(t)
	queued := e.queue(t)
	first := e.claim(t, queued)
	if err := e.syncs.ReleaseRun(e.ctx, e.ws.ID, first); err != nil {
		t.Fatal(err)
	}
	if again := e.claim(t, queued); again.Lease == first.Lease {
		t.Fatal("the retry's claim kept the old lease")
	}
}

// cancelSyncRun ends a running run at once and frees the connection; its
// worker learns it at its next heartbeat or save, stores its stats and
// gives the lease up, and until then a new run of the connection waits.
func TestCancelRunningRun(t *testing.T) {
	e := newLeaseEnv(t)
	queued := e.queue(t)
	run := e.claim(t, queued)
	cancelled, err := e.syncs.CancelSyncRun(e.ctx, queued.ID)
	if err != nil || cancelled.Status != crmhub.SyncCancelled || cancelled.FinishedAt == nil {
		t.Fatalf("cancel: %+v %v", cancelled, err)
	}
	if _, err := e.syncs.CancelSyncRun(e.ctx, queued.ID); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Fatalf("cancelling a cancelled run: %v", err)
	}
	next := e.queue(t) // the connection is free
	if _, _, err := e.syncs.ClaimRun(e.ctx, e.ws.ID, next.ID); !errors.Is(err, crmhub.ErrSyncConnectionBusy) {
		t.Fatalf("claim while the cancelled run's worker holds its lease: %v", err)
	}
	if err := e.syncs.Heartbeat(e.ctx, e.ws.ID, run); !errors.Is(err, crmhub.ErrSyncRunCancelled) {
		t.Fatalf("heartbeat of a cancelled run: %v", err)
	}
	run.Stats.Fetched = 100
	if err := e.syncs.SaveRun(e.ctx, e.ws.ID, run, []byte(`{"step":1}`)); !errors.Is(err, crmhub.ErrSyncRunCancelled) {
		t.Fatalf("save of a cancelled run: %v", err)
	}
	got, _ := e.syncs.SyncRun(e.ctx, queued.ID)
	if got.Status != crmhub.SyncCancelled || got.Stats.Fetched != 100 {
		t.Fatalf("cancelled run after its last save: %s %+v", got.Status, got.Stats)
	}
	e.claim(t, next)
	if got := e.syncs.FinishedRuns(); got["cancelled"] != 1 {
		t.Errorf("finished runs: %v", got)
	}
}

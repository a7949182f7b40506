package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"
)

// This file is the lifecycle of a run: the lease under which one process
// at a time works it, the heartbeats that keep the lease, the takeover of
// runs whose process died, and cancellation.
//
// A claim writes a fresh token into lease_owner and a deadline into
// lease_until; every write of the run's progress or end is conditional on
// that token, and renews the deadline. A RUNNING run whose deadline passed
// belongs to a dead (or stuck) process: SyncTakeover hands it to a new
// River job, and that job's claim wins it, so its former holder's later
// writes match nothing and it stops (crmhub.ErrSyncLeaseLost). The lease,
// not River, is what keeps a run on one process at a time: River's
// rescue of a job whose process died comes only after the sync worker's
// Timeout (hours), and when it finally retries that job its claim finds
// the run finished or held, and the job ends.

// DefaultSyncLease is how long a run's claim lasts without a heartbeat.
const DefaultSyncLease = time.Minute

// connectionBusySnooze is how long a run's job waits when another run of
// its connection (one just cancelled) still holds its lease.
const connectionBusySnooze = time.Second

// LeaseTerm is the lease setting (CRMHUB_SYNC_LEASE): the engine renews
// its claim (Heartbeat) every quarter of it.
func (s *SyncService) LeaseTerm() time.Duration { return s.cfg.Lease }

// leaseDeadline is when a claim renewed at now lapses: half a lease
// later. With heartbeats every quarter lease a live holder keeps a
// quarter lease of margin, and with takeover sweeps every quarter lease a
// dead holder's run is handed out at most three quarters of a lease after
// it died: within CRMHUB_SYNC_LEASE, as the contract promises.
func (s *SyncService) leaseDeadline(now time.Time) time.Time { return now.Add(s.cfg.Lease / 2) }

// ClaimRun claims a run for this caller: a QUEUED run, or a RUNNING one
// whose lease lapsed or was released, becomes RUNNING under a new lease
// (run.Lease) and is returned with its saved progress. It returns nil when
// the run has ended or is gone, crmhub.ErrSyncRunHeld when a live process
// works it, and crmhub.ErrSyncConnectionBusy when another run of the
// connection (one cancelled mid-page) still holds its lease.
func (s *SyncService) ClaimRun(ctx context.Context, ws, id uuid.UUID) (*crmhub.SyncRun, json.RawMessage, error) {
	var row syncRunRow
	lease := uuid.New()
	var claimErr error
	err := s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		err := t.NewRaw(`UPDATE sync_runs r SET status = ?, started_at = coalesce(r.started_at, ?), lease_owner = ?, lease_until = ?
			WHERE r.workspace_id = ? AND r.id = ?
			  AND (r.status = ? OR (r.status = ? AND (r.lease_owner IS NULL OR r.lease_until IS NULL OR r.lease_until < ?)))
			  AND NOT EXISTS (SELECT FROM sync_runs o WHERE o.workspace_id = r.workspace_id AND o.connection_id = r.connection_id
			                  AND o.id <> r.id AND o.lease_owner IS NOT NULL AND o.lease_until >= ?)
			RETURNING r.*`,
			string(crmhub.SyncRunning), t.now, lease, s.leaseDeadline(t.now), ws, id,
			string(crmhub.SyncQueued), string(crmhub.SyncRunning), t.now, t.now).Scan(ctx, &row)
		if !isNoRows(err) {
			return err
		}
		claimErr = whyUnclaimed(ctx, t, id)
		return nil
	})
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("db: claim sync run: %w", err)
	case claimErr != nil || row.ID == uuid.Nil:
		return nil, nil, claimErr
	}
	run := row.domain()
	run.Lease = lease
	return run, row.Progress, nil
}

// whyUnclaimed tells why a claim of run id matched nothing: nil when the
// run ended or is gone, else ErrSyncRunHeld or ErrSyncConnectionBusy.
func whyUnclaimed(ctx context.Context, t *tx, id uuid.UUID) error {
	var st struct {
		Status string `bun:"status"`
		Held   bool   `bun:"held"`
	}
	err := t.NewRaw(`SELECT status, (lease_owner IS NOT NULL AND lease_until >= ?) AS held
		FROM sync_runs WHERE workspace_id = ? AND id = ?`, t.now, t.ws, id).Scan(ctx, &st)
	switch {
	case isNoRows(err):
		return nil
	case err != nil:
		return err
	case st.Status != string(crmhub.SyncQueued) && st.Status != string(crmhub.SyncRunning):
		return nil
	case st.Held:
		return crmhub.ErrSyncRunHeld
	}
	return crmhub.ErrSyncConnectionBusy
}

// leaseError tells why a write under run.Lease matched nothing:
// ErrSyncRunCancelled when the claim still holds the run but
// cancelSyncRun ended it, else ErrSyncLeaseLost.
func leaseError(ctx context.Context, t *tx, run *crmhub.SyncRun) error {
	var status string
	err := t.NewRaw("SELECT status FROM sync_runs WHERE workspace_id = ? AND id = ? AND lease_owner = ?",
		t.ws, run.ID, run.Lease).Scan(ctx, &status)
	switch {
	case isNoRows(err):
		return crmhub.ErrSyncLeaseLost
	case err != nil:
		return err
	case status == string(crmhub.SyncCancelled):
		return crmhub.ErrSyncRunCancelled
	}
	return crmhub.ErrSyncLeaseLost
}

// underLease runs q, an update of run's row, only while the run is
// RUNNING under run.Lease; when that matched nothing it says why
// (leaseError).
func underLease(ctx context.Context, t *tx, run *crmhub.SyncRun, q *bun.UpdateQuery) error {
	res, err := q.Where("workspace_id = ? AND id = ? AND status = ? AND lease_owner = ?",
		t.ws, run.ID, string(crmhub.SyncRunning), run.Lease).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return leaseError(ctx, t, run)
	}
	return nil
}

// SaveRun stores the progress, stats, errors and plan so far of a run
// worked under run.Lease, and renews the lease: saving a page is a
// heartbeat. When cancelSyncRun ended the run, it still stores them (the
// progress and stats of a cancelled run stay), releases the lease and
// returns crmhub.ErrSyncRunCancelled; when another process took the run
// over it writes nothing and returns crmhub.ErrSyncLeaseLost.
func (s *SyncService) SaveRun(ctx context.Context, ws uuid.UUID, run *crmhub.SyncRun, progress json.RawMessage) error {
	var status string
	err := s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		err := t.NewRaw(`UPDATE sync_runs SET progress = ?, stats = ?, errors = ?, plan = ?, field_conflicts = ?,
				lease_owner = CASE WHEN status = ? THEN lease_owner END,
				lease_until = CASE WHEN status = ? THEN ?::timestamptz END
			WHERE workspace_id = ? AND id = ? AND lease_owner = ? RETURNING status`,
			progress, run.Stats, run.Errors, run.Plan, fieldConflicts(run), string(crmhub.SyncRunning), string(crmhub.SyncRunning),
			s.leaseDeadline(t.now), ws, run.ID, run.Lease).Scan(ctx, &status)
		if isNoRows(err) {
			return crmhub.ErrSyncLeaseLost
		}
		return err
	})
	switch {
	case errors.Is(err, crmhub.ErrSyncLeaseLost):
		return err
	case err != nil:
		return fmt.Errorf("db: save sync run: %w", err)
	case status != string(crmhub.SyncRunning):
		return crmhub.ErrSyncRunCancelled
	}
	return nil
}

// Heartbeat renews the lease of a run worked under run.Lease, between the
// saves of its pages (a page may wait long on a remote's rate limit). It
// returns crmhub.ErrSyncRunCancelled or crmhub.ErrSyncLeaseLost when the
// run is no longer this claim's to work.
func (s *SyncService) Heartbeat(ctx context.Context, ws uuid.UUID, run *crmhub.SyncRun) error {
	err := s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		return underLease(ctx, t, run, t.NewUpdate().Model((*syncRunRow)(nil)).Set("lease_until = ?", s.leaseDeadline(t.now)))
	})
	if err != nil && !errors.Is(err, crmhub.ErrSyncRunCancelled) && !errors.Is(err, crmhub.ErrSyncLeaseLost) {
		return fmt.Errorf("db: renew sync run lease: %w", err)
	}
	return err
}

// ReleaseRun gives up the lease of a run this process stops working
// without ending it (shutdown, a job timeout), so that the next claim,
// from River's retry or another process, need not wait for it to lapse.
// The run keeps its status and saved progress.
func (s *SyncService) ReleaseRun(ctx context.Context, ws uuid.UUID, run *crmhub.SyncRun) error {
	err := s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		_, err := t.NewUpdate().Model((*syncRunRow)(nil)).Set("lease_owner = NULL, lease_until = NULL").
			Where("workspace_id = ? AND id = ? AND lease_owner = ?", ws, run.ID, run.Lease).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("db: release sync run: %w", err)
	}
	return nil
}

// CancelSyncRun ends a QUEUED or RUNNING run as CANCELLED and emits
// sync.completed. The connection is free at once: a new run waits only
// for the cancelled one's worker to reach its next page (or its lease to
// lapse), which then stores its stats and stops.
func (s *SyncService) CancelSyncRun(ctx context.Context, id uuid.UUID) (*crmhub.SyncRun, error) {
	var row syncRunRow
	err := s.db.write(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		_, err := t.NewUpdate().Model(&row).Set("status = ?, finished_at = ?", string(crmhub.SyncCancelled), t.now).
			Where("workspace_id = ? AND id = ? AND status IN (?)", t.ws, id,
				bun.List([]string{string(crmhub.SyncQueued), string(crmhub.SyncRunning)})).
			Returning("*").Exec(ctx)
		if err != nil {
			return err
		}
		if row.ID == uuid.Nil {
			return whyNotCancelled(ctx, t, id)
		}
		emitCompleted(t, row.domain())
		return nil
	})
	if err != nil {
		return nil, passOrWrap(err, "cancel sync run")
	}
	s.finished.add(runStatusLabel(crmhub.SyncCancelled))
	return row.domain(), nil
}

// whyNotCancelled is the error of cancelling run id that is not QUEUED or
// RUNNING: ENOTFOUND, or EINVALID naming how it ended.
func whyNotCancelled(ctx context.Context, t *tx, id uuid.UUID) error {
	var status string
	err := t.NewSelect().Model((*syncRunRow)(nil)).Column("status").Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx, &status)
	if err != nil {
		return notFound(err, crmhub.KindSyncRun, "load sync run")
	}
	return crmhub.Invalid("id", "the run already ended (%s); only a QUEUED or RUNNING run can be cancelled", status)
}

// SyncTakeover hands the runs whose process died to live processes: a
// background loop (see loop) that, every quarter of the lease, finds the
// RUNNING runs whose lease lapsed, across workspaces, and queues a River
// job for each in the same transaction that marks them handed over, so
// each is handed out once and never lost. Every process may run it. A run
// is thus taken over within the lease and a quarter of it after its last
// heartbeat, and resumes from its saved page.
type SyncTakeover struct {
	loop
	s *SyncService
}

// NewSyncTakeover returns the takeover loop of s's runs.
func NewSyncTakeover(s *SyncService, log *slog.Logger) *SyncTakeover {
	c := &SyncTakeover{s: s}
	c.init("sync takeover", max(s.cfg.Lease/4, 10*time.Millisecond), log, func(ctx context.Context) (bool, error) {
		n, err := c.RunOnce(ctx)
		return n == takeoverBatch, err
	})
	return c
}

// takeoverBatch bounds the runs one pass hands over.
const takeoverBatch = 100

// RunOnce hands over the runs whose lease lapsed (at most 100) and
// returns how many.
func (c *SyncTakeover) RunOnce(ctx context.Context) (int, error) {
	s := c.s
	now := s.db.Now()
	n := 0
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, "SELECT workspace_id, id FROM sync_takeover($1, $2, $3)", now, now.Add(s.cfg.Lease), takeoverBatch)
		var args syncJobArgs
		var jobs []river.InsertManyParams
		_, err := pgx.ForEachRow(rows, []any{&args.WorkspaceID, &args.RunID}, func() error {
			jobs = append(jobs, river.InsertManyParams{Args: args, InsertOpts: s.jobOpts()})
			return nil
		})
		if err != nil || len(jobs) == 0 {
			return err
		}
		n = len(jobs)
		_, err = s.jobs.InsertManyTx(ctx, tx, jobs)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("db: take over sync runs: %w", err)
	}
	if n > 0 {
		c.log.Info("took over sync runs whose process stopped", "runs", n)
	}
	return n, nil
}

package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"
)

// DefaultSyncQueue is the River queue sync runs are worked in.
const DefaultSyncQueue = "sync"

// SyncRunner works one run; the sync engine (connectors/syncer) is one.
// It is given to the SyncService's River worker (Jobs) so that the worker
// can call it without this package knowing any connector.
type SyncRunner interface {
	Run(ctx context.Context, ws, runID uuid.UUID) error
}

// SyncConfig configures the SyncService.
type SyncConfig struct {
	// Queue is the River queue of runs (default DefaultSyncQueue).
	Queue string
	// Workers is how many runs this process works at once (default 4).
	Workers int
	// Timeout bounds one job of a run (default 6 h); a run cut short by it
	// releases its lease and River's retry resumes it. River rescues the
	// job of a dead process only after it, which is why the lease's
	// takeover (sync_lease.go) exists.
	Timeout time.Duration
	// Lease is how long a claim on a run lasts without a heartbeat
	// (default DefaultSyncLease): a run whose process died is taken over
	// about this long after its last heartbeat.
	Lease time.Duration
	Log   *slog.Logger
}

// SyncService implements crmhub.SyncService over the sync tables, and the
// store the engine keeps its state in (sync_store.go).
type SyncService struct {
	db       *DB
	cfg      SyncConfig
	jobs     *river.Client[pgx.Tx]
	contacts *ContactService
	// finished counts the runs this process ended; see FinishedRuns.
	finished tally
}

var _ crmhub.SyncService = (*SyncService)(nil)

// NewSyncService returns the sync service.
func NewSyncService(db *DB, cfg SyncConfig) (*SyncService, error) {
	if cfg.Queue == "" {
		cfg.Queue = DefaultSyncQueue
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 6 * time.Hour
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultSyncLease
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	jobs, err := newRiverInserter(db)
	if err != nil {
		return nil, err
	}
	return &SyncService{db: db, cfg: cfg, jobs: jobs, contacts: NewContactService(db),
		finished: newTally(runStatusLabel(crmhub.SyncSucceeded), runStatusLabel(crmhub.SyncFailed),
			runStatusLabel(crmhub.SyncCancelled))}, nil
}

// FinishedRuns counts the runs this process ended (FinishRun,
// CancelSyncRun) since it started, by final status: succeeded, failed,
// cancelled (zeros included).
// cmd/crmhub exports them as a Prometheus counter.
func (s *SyncService) FinishedRuns() map[string]uint64 { return s.finished.counts() }

// runStatusLabel names a status as FinishedRuns does: lower case.
func runStatusLabel(st crmhub.SyncRunStatus) string {
	return strings.ToLower(string(st))
}

type syncRunRow struct {
	bun.BaseModel `bun:"table:sync_runs"`

	WorkspaceID  uuid.UUID             `bun:"workspace_id,pk,type:uuid"`
	ID           uuid.UUID             `bun:"id,pk,type:uuid"`
	ConnectionID uuid.UUID             `bun:"connection_id,type:uuid"`
	Mode         string                `bun:"mode"`
	DryRun       bool                  `bun:"dry_run"`
	Status       string                `bun:"status"`
	Trigger      string                `bun:"trigger"`
	Progress     json.RawMessage       `bun:"progress,type:jsonb"`
	Stats        crmhub.SyncStats      `bun:"stats,type:jsonb"`
	Errors       []crmhub.SyncError    `bun:"errors,type:jsonb"`
	Plan         []crmhub.SyncPlanItem `bun:"plan,type:jsonb"`
	// FieldConflicts are the run's policy decisions (migration 0010).
	FieldConflicts []crmhub.FieldConflict `bun:"field_conflicts,type:jsonb"`
	CreatedAt      time.Time              `bun:"created_at"`
	StartedAt      *time.Time             `bun:"started_at"`
	FinishedAt     *time.Time             `bun:"finished_at"`
}

func (r *syncRunRow) domain() *crmhub.SyncRun {
	run := &crmhub.SyncRun{ID: r.ID, ConnectionID: r.ConnectionID, Mode: crmhub.SyncMode(r.Mode), DryRun: r.DryRun,
		Status: crmhub.SyncRunStatus(r.Status), Trigger: r.Trigger, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt,
		FinishedAt: r.FinishedAt, Stats: r.Stats, Errors: r.Errors, Plan: r.Plan, FieldConflicts: r.FieldConflicts}
	if run.Errors == nil {
		run.Errors = []crmhub.SyncError{}
	}
	if run.Plan == nil {
		run.Plan = []crmhub.SyncPlanItem{}
	}
	if run.FieldConflicts == nil {
		run.FieldConflicts = []crmhub.FieldConflict{}
	}
	return run
}

// syncJobArgs is the River job of one run.
type syncJobArgs struct {
	WorkspaceID uuid.UUID `json:"workspace_id"`
	RunID       uuid.UUID `json:"run_id"`
}

// Kind names the job in River.
func (syncJobArgs) Kind() string { return "crmhub.sync_run" }

// SyncJobs is the River component (give it to NewRiver) that works the
// queued runs of a SyncService with a runner. It is apart from the service
// so that the runner, the engine built over the service as its store, can
// come after the service.
type SyncJobs struct {
	s      *SyncService
	runner SyncRunner
}

// Jobs returns the component that works this service's queued runs with
// runner; a nil runner leaves the runs queued (this process only queues).
func (s *SyncService) Jobs(runner SyncRunner) *SyncJobs { return &SyncJobs{s: s, runner: runner} }

// RegisterJobs adds the run worker and its queue to a River set.
func (j *SyncJobs) RegisterJobs(workers *river.Workers, queues map[string]river.QueueConfig) {
	river.AddWorker(workers, &syncWorker{s: j.s, runner: j.runner})
	queues[j.s.cfg.Queue] = river.QueueConfig{MaxWorkers: j.s.cfg.Workers}
}

type syncWorker struct {
	river.WorkerDefaults[syncJobArgs]
	s      *SyncService
	runner SyncRunner
}

// Timeout lets a run take long: it saves its progress page by page.
func (w *syncWorker) Timeout(*river.Job[syncJobArgs]) time.Duration { return w.s.cfg.Timeout }

// Work runs the engine. A run that fails is FAILED in its row and the job
// ends; River retries only when the engine could not even record that
// (the database was unreachable), and the retry resumes from the saved
// progress. A run another process works (or took over), or that was
// cancelled, ends the job too; one whose connection is still held by a
// cancelled run waits a moment.
func (w *syncWorker) Work(ctx context.Context, job *river.Job[syncJobArgs]) error {
	if w.runner == nil {
		return river.JobSnooze(time.Minute)
	}
	err := w.runner.Run(ctx, job.Args.WorkspaceID, job.Args.RunID)
	var failed *crmhub.SyncRunFailure
	switch {
	case err == nil:
		return nil
	case errors.Is(err, crmhub.ErrSyncConnectionBusy):
		return river.JobSnooze(connectionBusySnooze)
	case ctx.Err() != nil:
		return err // cut short (shutdown, timeout): River works it again, and it resumes
	case errors.As(err, &failed), errors.Is(err, crmhub.ErrSyncRunCancelled),
		errors.Is(err, crmhub.ErrSyncRunHeld), errors.Is(err, crmhub.ErrSyncLeaseLost):
		return nil // ended, or another process's to work
	}
	return err
}

// jobOpts are the insert options of a run's job.
func (s *SyncService) jobOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: s.cfg.Queue, MaxAttempts: 5}
}

// RunSync queues a run.
func (s *SyncService) RunSync(ctx context.Context, connectionID uuid.UUID, mode crmhub.SyncMode, dryRun bool) (*crmhub.SyncRun, error) {
	p, err := crmhub.Require(ctx, crmhub.ScopeConnectorsManage)
	if err != nil {
		return nil, err
	}
	if mode == "" {
		mode = crmhub.SyncIncremental
	}
	if mode != crmhub.SyncIncremental && mode != crmhub.SyncFull {
		return nil, crmhub.Invalid("mode", "unknown sync mode %q", mode)
	}
	return s.queue(ctx, p.WorkspaceID, connectionID, mode, dryRun, "api", true)
}

// QueueScheduled queues a scheduled run of a connection, unless one is
// already queued or running (then it returns nil, nil).
func (s *SyncService) QueueScheduled(ctx context.Context, ws, connectionID uuid.UUID) (*crmhub.SyncRun, error) {
	run, err := s.queue(ctx, ws, connectionID, crmhub.SyncIncremental, false, "schedule", true)
	if crmhub.ErrorCode(err) == crmhub.ECONFLICT || errors.Is(err, errNotDue) {
		return nil, nil
	}
	return run, err
}

// CreateRun records a run that the caller works itself (the CLI's
// foreground sync): no River job is queued.
func (s *SyncService) CreateRun(ctx context.Context, ws, connectionID uuid.UUID, mode crmhub.SyncMode, dryRun bool) (*crmhub.SyncRun, error) {
	return s.queue(ctx, ws, connectionID, mode, dryRun, "cli", false)
}

func (s *SyncService) queue(ctx context.Context, ws, connectionID uuid.UUID, mode crmhub.SyncMode, dryRun bool,
	trigger string, job bool) (*crmhub.SyncRun, error) {
	row := &syncRunRow{WorkspaceID: ws, ID: newID(), ConnectionID: connectionID, Mode: string(mode), DryRun: dryRun,
		Status: string(crmhub.SyncQueued), Trigger: trigger, CreatedAt: s.db.Now()}
	err := s.db.inWorkspacePgx(ctx, ws, func(tx pgx.Tx) error {
		var enabled bool
		err := tx.QueryRow(ctx, "SELECT enabled FROM connections WHERE workspace_id = $1 AND id = $2 FOR SHARE",
			ws, connectionID).Scan(&enabled)
		if errors.Is(err, pgx.ErrNoRows) {
			return crmhub.Errorf(crmhub.ENOTFOUND, "no %s with id %q", crmhub.KindConnection.Name(),
				crmhub.GlobalID(crmhub.KindConnection, connectionID))
		} else if err != nil {
			return fmt.Errorf("db: load connection: %w", err)
		}
		if !enabled {
			return crmhub.Invalid("connectionId", "the connection is disabled")
		}
		var active uuid.UUID
		err = tx.QueryRow(ctx, "SELECT id FROM sync_runs WHERE workspace_id = $1 AND connection_id = $2 AND status IN ('QUEUED', 'RUNNING')",
			ws, connectionID).Scan(&active)
		if err == nil {
			return activeRunError(active)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("db: find active run: %w", err)
		}
		if trigger == "schedule" {
			if err := checkScheduleDue(ctx, tx, ws, connectionID, row.CreatedAt); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO sync_runs (workspace_id, id, connection_id, mode, dry_run, status, trigger, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, ws, row.ID, connectionID, row.Mode, dryRun, row.Status, trigger, row.CreatedAt)
		if pgCode(err) == "23505" { // a concurrent runSync won the race
			return crmhub.Errorf(crmhub.ECONFLICT, "a sync run of this connection is already queued or running")
		} else if err != nil {
			return fmt.Errorf("db: insert sync run: %w", err)
		}
		if !job {
			return nil
		}
		_, err = s.jobs.InsertTx(ctx, tx, syncJobArgs{WorkspaceID: ws, RunID: row.ID}, s.jobOpts())
		if err != nil {
			return fmt.Errorf("db: queue sync run: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, passOrWrap(err, "queue sync run")
	}
	return row.domain(), nil
}

// errNotDue says that a scheduled run was queued in this period already.
var errNotDue = errors.New("db: the connection's scheduled run is not due")

// checkScheduleDue fails with errNotDue when the connection had a
// scheduled run within its schedule before now. Every process's scheduler
// may list a connection as due at once; the one-active-run index stops
// two from queueing side by side, and this check stops the second from
// queueing again once the first run has already finished.
func checkScheduleDue(ctx context.Context, tx pgx.Tx, ws, connectionID uuid.UUID, now time.Time) error {
	var recent bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM sync_runs r JOIN connections c
			ON c.workspace_id = r.workspace_id AND c.id = r.connection_id
		WHERE r.workspace_id = $1 AND r.connection_id = $2 AND r.trigger = 'schedule'
		  AND r.created_at > $3::timestamptz - make_interval(secs => c.schedule_seconds))`, ws, connectionID, now).Scan(&recent)
	if err != nil {
		return fmt.Errorf("db: check schedule: %w", err)
	}
	if recent {
		return errNotDue
	}
	return nil
}

func activeRunError(id uuid.UUID) error {
	gid := crmhub.GlobalID(crmhub.KindSyncRun, id)
	return &crmhub.Error{Code: crmhub.ECONFLICT, Message: "a sync run of this connection is already queued or running",
		Extensions: map[string]any{"syncRunId": gid}}
}

// SyncRun returns one run.
func (s *SyncService) SyncRun(ctx context.Context, id uuid.UUID) (*crmhub.SyncRun, error) {
	var row syncRunRow
	err := s.db.read(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		err := t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx)
		return notFound(err, crmhub.KindSyncRun, "load sync run")
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

const syncRunOrder = "sync_runs"

// SyncRuns lists runs, newest first.
func (s *SyncService) SyncRuns(ctx context.Context, connectionID *uuid.UUID, first int, after string) (*crmhub.SyncRunConnection, error) {
	n, cur, err := pageArgs(first, after, syncRunOrder)
	if err != nil {
		return nil, err
	}
	var rows []syncRunRow
	err = s.db.read(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		q := t.NewSelect().Model(&rows).Where("workspace_id = ?", t.ws)
		if connectionID != nil {
			q.Where("connection_id = ?", *connectionID)
		}
		return byID(q, cur, n, true).Scan(ctx)
	})
	if err != nil {
		return nil, passOrWrap(err, "list sync runs")
	}
	es, info := edges(rows, n, cur != nil, idCursor(syncRunOrder, func(r *syncRunRow) uuid.UUID { return r.ID }),
		func(c string, r *syncRunRow) *crmhub.SyncRunEdge {
			return &crmhub.SyncRunEdge{Cursor: c, Node: r.domain()}
		})
	return &crmhub.SyncRunConnection{Edges: es, PageInfo: info}, nil
}

// CountSyncRuns counts runs, of one connection when connectionID is set.
func (s *SyncService) CountSyncRuns(ctx context.Context, connectionID *uuid.UUID) (int, error) {
	var n int
	err := s.db.read(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		q := t.NewSelect().Model((*syncRunRow)(nil)).Where("workspace_id = ?", t.ws)
		if connectionID != nil {
			q.Where("connection_id = ?", *connectionID)
		}
		c, err := q.Count(ctx)
		n = int(c)
		return err
	})
	return n, passOrWrap(err, "count sync runs")
}

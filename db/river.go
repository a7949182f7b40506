package db

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// RiverJobs is a component that runs River jobs: it adds its workers and
// the queues they are inserted into. WebhookService is one; SyncJobs (a
// SyncService's runs worked by the sync engine) is another.
type RiverJobs interface {
	RegisterJobs(workers *river.Workers, queues map[string]river.QueueConfig)
}

// RiverConfig tunes the job runner.
type RiverConfig struct {
	// Queues adds or overrides queues beside those the components ask for.
	Queues map[string]river.QueueConfig
	// FetchPollInterval is how often idle queues look for due jobs beside
	// River's own notifications (default 1 s; tests set it low).
	FetchPollInterval time.Duration
	// TestOnly skips River's production start-up jitter.
	TestOnly bool
	// Middleware wraps the insertion and the work of every job (the
	// OpenTelemetry middleware when tracing is on).
	Middleware []rivertype.Middleware
	Log        *slog.Logger
}

// Job timeouts and the rescue of jobs whose process died. River's default
// leaves a job that was running on a killed process "running" for an hour;
// here the leader's rescuer (which looks every 30 s) puts such a job back
// once it has run longer than both rescueStuckJobsAfter and its worker's
// timeout, so another process retries it within about a minute. A worker
// that may run longer (a sync run) says so with its own Timeout.
const (
	defaultJobTimeout    = 15 * time.Second
	rescueStuckJobsAfter = 20 * time.Second
)

// River runs the jobs of this process (webhook deliveries, sync runs) on
// the service's pool, so jobs are Postgres rows inserted in the same
// transactions as the data that caused them.
type River struct {
	// Client is the River client, for components that insert or watch jobs.
	Client *river.Client[pgx.Tx]
}

// NewRiver builds the job runner on db's pool with the workers and queues
// of the given components. River's periodic reindexing is off: the service
// role does not own River's tables (the operator may REINDEX them as owner).
func NewRiver(db *DB, cfg RiverConfig, jobs ...RiverJobs) (*River, error) {
	workers := river.NewWorkers()
	queues := map[string]river.QueueConfig{}
	for _, j := range jobs {
		j.RegisterJobs(workers, queues)
	}
	maps.Copy(queues, cfg.Queues)
	if len(queues) == 0 {
		queues[river.QueueDefault] = river.QueueConfig{MaxWorkers: 10}
	}
	client, err := river.NewClient(riverpgxv5.New(db.Session), &river.Config{
		Workers:              workers,
		Queues:               queues,
		FetchPollInterval:    cfg.FetchPollInterval,
		FetchCooldown:        min(cfg.FetchPollInterval, river.FetchCooldownDefault),
		JobTimeout:           defaultJobTimeout,
		RescueStuckJobsAfter: rescueStuckJobsAfter,
		ReindexerIndexNames:  []string{},
		TestOnly:             cfg.TestOnly,
		Middleware:           cfg.Middleware,
		Logger:               cfg.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("db: river client: %w", err)
	}
	return &River{Client: client}, nil
}

// Start starts working jobs; it returns once River runs.
func (r *River) Start(ctx context.Context) error {
	if err := r.Client.Start(ctx); err != nil {
		return fmt.Errorf("db: start river: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for those in flight until ctx ends;
// jobs cut short run again later (deliveries are at-least-once).
func (r *River) Stop(ctx context.Context) error {
	if err := r.Client.Stop(ctx); err != nil {
		return fmt.Errorf("db: stop river: %w", err)
	}
	return nil
}

// queuedJobStates are the states of River jobs that wait or run.
var queuedJobStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateScheduled,
	rivertype.JobStateRetryable, rivertype.JobStateRunning}

// JobCounts counts River's jobs that wait or run, by state: available,
// scheduled, retryable, running (zeros included). It is one indexed query,
// made at each scrape of the metrics.
func (db *DB) JobCounts(ctx context.Context) (map[string]int64, error) {
	counts := make(map[string]int64, len(queuedJobStates))
	for _, st := range queuedJobStates {
		counts[string(st)] = 0
	}
	rows, _ := db.Pool.Query(ctx, `SELECT state::text, count(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running') GROUP BY state`)
	var state string
	var n int64
	_, err := pgx.ForEachRow(rows, []any{&state, &n}, func() error {
		counts[state] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("db: count river jobs: %w", err)
	}
	return counts, nil
}

// newRiverInserter returns a client that only inserts jobs (it has no
// queues and is never started): services insert with it inside their own
// pgx transactions while the worker side is built later by NewRiver.
func newRiverInserter(db *DB) (*river.Client[pgx.Tx], error) {
	c, err := river.NewClient(riverpgxv5.New(db.Pool), &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("db: river inserter: %w", err)
	}
	return c, nil
}

// inWorkspacePgx runs fn in a pgx transaction of workspace ws, so that
// River jobs can be inserted with the rows that need them (bun's
// database/sql transactions cannot carry River inserts here). It does not
// check scopes and appends no events: callers do the first and need not
// the second.
func (db *DB) inWorkspacePgx(ctx context.Context, ws uuid.UUID, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.workspace_id', $1, true)", ws.String()); err != nil {
			return fmt.Errorf("db: set tenant: %w", err)
		}
		return fn(tx)
	})
}

// riverGrants lets the service role use River's tables and sequences; the
// migrating user owns them.
const riverGrants = `DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relname LIKE 'river\_%' AND c.relkind IN ('r', 'p', 'S') LOOP
    IF r.relkind = 'S' THEN
      EXECUTE format('GRANT USAGE, SELECT, UPDATE ON SEQUENCE %I TO crmhub_app', r.relname);
    ELSE
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %I TO crmhub_app', r.relname);
    END IF;
  END LOOP;
END $$`

// migrateRiver applies River's own migrations as the URL's user (after
// ours, under the same advisory lock) and grants the service role what
// River needs.
func migrateRiver(ctx context.Context, rawURL string) error {
	pool, err := pgxpool.New(ctx, rawURL)
	if err != nil {
		return fmt.Errorf("river: connect: %w", err)
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("river: migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river: migrate: %w", err)
	}
	if _, err := pool.Exec(ctx, riverGrants); err != nil {
		return fmt.Errorf("river: grant: %w", err)
	}
	return nil
}

package db

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/crmhub/crmhub"
)

// Retention deletes events older than a configured age (and idempotency
// keys past their day): a background
// loop (see loop) whose bounded RunOnce tests call directly; a full batch
// runs again at once. Every process runs the loop, but in each interval
// only the first to claim it (claimPeriod) prunes; the others skip.
type Retention struct {
	loop
	db       *DB
	keep     time.Duration
	batch    int
	interval time.Duration
	// continuing is set while a claimed run works through a backlog, batch
	// after batch, without claiming again.
	continuing bool
	// Skipped is signalled after a pass that another process's claim
	// left to it (tests).
	Skipped TestSignal
}

// retentionClaim names the retention task in maintenance_runs.
const retentionClaim = "event retention"

// NewRetention returns a loop keeping events for keep (0 keeps them
// forever: RunOnce then does nothing).
func NewRetention(db *DB, keep, interval time.Duration, log *slog.Logger) *Retention {
	r := &Retention{db: db, keep: keep, batch: 10000, interval: interval}
	r.init("event retention", interval, log, r.pass)
	return r
}

// pass prunes one batch if this process holds the period's claim. The
// claim lasts nine tenths of the interval, so that a ticker firing a
// little early does not skip a period.
func (r *Retention) pass(ctx context.Context) (bool, error) {
	if !r.continuing {
		claimed, err := r.db.claimPeriod(ctx, retentionClaim, r.interval*9/10)
		if err != nil {
			return false, err
		}
		if !claimed {
			r.Skipped.Signal()
			return false, nil
		}
	}
	n, err := r.RunOnce(ctx)
	r.continuing = err == nil && n >= int64(r.batch)
	return r.continuing, err
}

// RunOnce deletes up to one batch of expired events, and of idempotency
// keys older than crmhub.IdempotencyKeyTTL (whatever keep says), and
// returns the larger count.
func (r *Retention) RunOnce(ctx context.Context) (int64, error) {
	var keys int64
	if err := r.db.Bun.NewRaw("SELECT prune_idempotency_keys(?, ?)", r.db.Now().Add(-crmhub.IdempotencyKeyTTL), r.batch).
		Scan(ctx, &keys); err != nil {
		return 0, fmt.Errorf("db: prune idempotency keys: %w", err)
	}
	if r.keep <= 0 {
		return keys, nil
	}
	var n int64
	before := r.db.Now().Add(-r.keep)
	if err := r.db.Bun.NewRaw("SELECT prune_events(?, ?)", before, r.batch).Scan(ctx, &n); err != nil {
		return 0, fmt.Errorf("db: prune events: %w", err)
	}
	return max(n, keys), nil
}

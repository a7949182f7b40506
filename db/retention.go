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
// runs again at once.
type Retention struct {
	loop
	db    *DB
	keep  time.Duration
	batch int
}

// NewRetention returns a loop keeping events for keep (0 keeps them
// forever: RunOnce then does nothing).
func NewRetention(db *DB, keep, interval time.Duration, log *slog.Logger) *Retention {
	r := &Retention{db: db, keep: keep, batch: 10000}
	r.init("event retention", interval, log, func(ctx context.Context) (bool, error) {
		n, err := r.RunOnce(ctx)
		return n >= int64(r.batch), err
	})
	return r
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

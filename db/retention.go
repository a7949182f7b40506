package db

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Retention deletes events older than a configured age. It has the shape of
// the other background loops: Start, Stop and a bounded RunOnce.
type Retention struct {
	db       *DB
	keep     time.Duration
	interval time.Duration
	batch    int
	log      *slog.Logger
	stop     chan struct{}
	done     chan struct{}
}

// NewRetention returns a loop keeping events for keep (0 keeps them
// forever: RunOnce then does nothing).
func NewRetention(db *DB, keep, interval time.Duration, log *slog.Logger) *Retention {
	if log == nil {
		log = slog.Default()
	}
	return &Retention{db: db, keep: keep, interval: interval, batch: 10000, log: log}
}

// RunOnce deletes up to one batch of expired events and returns how many.
func (r *Retention) RunOnce(ctx context.Context) (int64, error) {
	if r.keep <= 0 {
		return 0, nil
	}
	var n int64
	before := r.db.Now().Add(-r.keep)
	if err := r.db.Bun.NewRaw("SELECT prune_events(?, ?)", before, r.batch).Scan(ctx, &n); err != nil {
		return 0, fmt.Errorf("db: prune events: %w", err)
	}
	return n, nil
}

// Start runs the loop until Stop or ctx ends; a full batch runs again at once.
func (r *Retention) Start(ctx context.Context) {
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.done)
		for {
			n, err := r.RunOnce(ctx)
			if err != nil {
				r.log.Error("event retention", "err", err)
			}
			wait := r.interval
			if n >= int64(r.batch) {
				wait = 0
			}
			select {
			case <-ctx.Done():
				return
			case <-r.stop:
				return
			case <-time.After(wait):
			}
		}
	}()
}

// Stop ends the loop and waits for it.
func (r *Retention) Stop() {
	if r.stop == nil {
		return
	}
	close(r.stop)
	<-r.done
}

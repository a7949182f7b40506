package db

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// SyncScheduler queues the scheduled runs of connections whose schedule
// is due. Same shape as the other loops: Start, Stop and RunOnce. Several
// processes may run it: the one-active-run index lets only one queue a
// given connection's run.
type SyncScheduler struct {
	s        *SyncService
	interval time.Duration
	log      *slog.Logger
	stop     chan struct{}
	done     chan struct{}
}

// NewSyncScheduler returns a scheduler looking for due connections every
// interval.
func NewSyncScheduler(s *SyncService, interval time.Duration, log *slog.Logger) *SyncScheduler {
	if log == nil {
		log = slog.Default()
	}
	return &SyncScheduler{s: s, interval: interval, log: log}
}

// RunOnce queues the runs due now (at most 100) and returns how many.
func (c *SyncScheduler) RunOnce(ctx context.Context) (int, error) {
	var due []struct {
		WorkspaceID  uuid.UUID `bun:"workspace_id"`
		ConnectionID uuid.UUID `bun:"connection_id"`
	}
	if err := c.s.db.Bun.NewRaw("SELECT * FROM sync_due(?, ?)", c.s.db.Now(), 100).Scan(ctx, &due); err != nil {
		return 0, fmt.Errorf("db: find due syncs: %w", err)
	}
	n := 0
	for _, d := range due {
		run, err := c.s.QueueScheduled(ctx, d.WorkspaceID, d.ConnectionID)
		if err != nil {
			c.log.Error("queue scheduled sync", "workspace", d.WorkspaceID, "connection", d.ConnectionID, "err", err)
			continue
		}
		if run != nil {
			n++
		}
	}
	return n, nil
}

// Start runs the loop until Stop or ctx ends.
func (c *SyncScheduler) Start(ctx context.Context) {
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.done)
		for {
			if _, err := c.RunOnce(ctx); err != nil {
				c.log.Error("sync scheduler", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-c.stop:
				return
			case <-time.After(c.interval):
			}
		}
	}()
}

// Stop ends the loop and waits for it.
func (c *SyncScheduler) Stop() {
	if c.stop == nil {
		return
	}
	close(c.stop)
	<-c.done
}

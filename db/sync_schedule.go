package db

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// SyncScheduler queues the scheduled runs of connections whose schedule
// is due: a background loop (see loop) whose bounded RunOnce tests call
// directly. Several processes may run it: the one-active-run index lets
// only one queue a given connection's run.
type SyncScheduler struct {
	loop
	s *SyncService
}

// NewSyncScheduler returns a scheduler looking for due connections every
// interval.
func NewSyncScheduler(s *SyncService, interval time.Duration, log *slog.Logger) *SyncScheduler {
	c := &SyncScheduler{s: s}
	c.init("sync scheduler", interval, log, func(ctx context.Context) (bool, error) {
		_, err := c.RunOnce(ctx)
		return false, err
	})
	return c
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

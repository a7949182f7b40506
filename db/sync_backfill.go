package db

import (
	"context"
	"fmt"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// This file is the store's side of a backfill: the engine walks the hub's
// records of an entity by id, a page at a time, and pushes those that the
// connection does not have yet or that changed in the hub since they were
// last synced.

// backfillTables are the hub tables a backfill walks, by entity.
var backfillTables = map[crmhub.SyncEntity]string{
	crmhub.SyncContacts: "contacts",
	crmhub.SyncDeals:    "deals",
	crmhub.SyncUsers:    "users",
}

// backfillRow is one hub record a backfill read and whether it is due.
type backfillRow struct {
	ID  uuid.UUID `bun:"id,type:uuid"`
	Due bool      `bun:"due"`
}

// HasSucceeded reports whether a run of the connection other than a dry
// run has ended SUCCEEDED: until one has, every run of a pushing
// connection backfills.
func (s *SyncService) HasSucceeded(ctx context.Context, ws, conn uuid.UUID) (bool, error) {
	var ok bool
	err := s.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
		return t.NewRaw(`SELECT EXISTS (SELECT FROM sync_runs WHERE workspace_id = ? AND connection_id = ?
			AND status = ? AND NOT dry_run)`, ws, conn, string(crmhub.SyncSucceeded)).Scan(ctx, &ok)
	})
	if err != nil {
		return false, fmt.Errorf("db: look for a succeeded sync run: %w", err)
	}
	return ok, nil
}

// BackfillPage reads the next limit hub records of entity after the id
// `after` (uuid.Nil: from the start), in id order, and returns those a
// backfill must push: the ones without a link to the connection and the
// ones changed in the hub after their link was last saved. last is the
// id of the last record read (uuid.Nil when none was), the position to
// resume from; a page shorter than limit is the last one.
func (s *SyncService) BackfillPage(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, after uuid.UUID,
	limit int) (due []uuid.UUID, last uuid.UUID, n int, err error) {
	table, ok := backfillTables[entity]
	if !ok {
		return nil, uuid.Nil, 0, fmt.Errorf("db: backfill of unknown entity %q", entity)
	}
	var rows []backfillRow
	err = s.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
		// The page is cut first, so that only its records are looked up
		// in sync_links whatever plan the statistics suggest.
		return t.NewRaw(`SELECT r.id, (l.updated_at IS NULL OR r.updated_at > l.updated_at) AS due
			FROM (SELECT workspace_id, id, updated_at FROM ? WHERE workspace_id = ? AND id > ? ORDER BY id LIMIT ?) AS r
			LEFT JOIN LATERAL (
				SELECT max(updated_at) AS updated_at FROM sync_links
				WHERE workspace_id = r.workspace_id AND connection_id = ? AND entity = ? AND local_id = r.id) AS l ON true
			ORDER BY r.id`,
			bun.Ident(table), ws, after, limit, conn, string(entity)).Scan(ctx, &rows)
	})
	if err != nil {
		return nil, uuid.Nil, 0, fmt.Errorf("db: read a backfill page: %w", err)
	}
	for _, r := range rows {
		if r.Due {
			due = append(due, r.ID)
		}
		last = r.ID
	}
	return due, last, len(rows), nil
}

// EventPosition returns the position of the workspace's latest event (0
// when it has none).
func (s *SyncService) EventPosition(ctx context.Context, ws uuid.UUID) (int64, error) {
	var pos int64
	err := s.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
		return t.NewRaw("SELECT event_seq FROM workspaces WHERE id = ?", ws).Scan(ctx, &pos)
	})
	if err != nil {
		return 0, fmt.Errorf("db: read the event position: %w", err)
	}
	return pos, nil
}

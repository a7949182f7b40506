package db

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// dispatchBatch is how many events one dispatch transaction reads.
const dispatchBatch = 500

// WebhookDispatcher turns committed events into deliveries: for each
// workspace with work it reads the events after its cursor, creates one
// delivery per (event, matching enabled endpoint) with its River job, and
// advances the cursor, all in one transaction. A crash loses nothing (the
// transaction did not commit, the events are read again) and doubles
// nothing (the cursor moved with the deliveries; the cursor row lock keeps
// two dispatchers apart, and a unique index backs that up).
//
// It is a background loop (see loop) whose bounded RunOnce tests call
// directly.
type WebhookDispatcher struct {
	loop
	s *WebhookService
}

// NewWebhookDispatcher returns a dispatcher that looks for new events
// every interval (and at once again while there is a backlog).
func NewWebhookDispatcher(s *WebhookService, interval time.Duration) *WebhookDispatcher {
	if interval <= 0 {
		interval = time.Second
	}
	w := &WebhookDispatcher{s: s}
	w.init("webhook dispatch", interval, s.cfg.Log, func(ctx context.Context) (bool, error) {
		_, more, err := w.RunOnce(ctx)
		return more && err == nil, nil // RunOnce logs its errors
	})
	return w
}

// RunOnce dispatches up to one batch of events in each workspace that has
// some (at most 100 workspaces) and returns how many deliveries it created
// and whether any workspace has more to do. It logs the errors it returns.
func (w *WebhookDispatcher) RunOnce(ctx context.Context) (int, bool, error) {
	rows, _ := w.s.db.Pool.Query(ctx, "SELECT workspace_id FROM webhook_dispatch_pending($1)", 100)
	wss, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("webhook dispatch: list workspaces", "err", err)
		}
		return 0, false, fmt.Errorf("db: list workspaces with webhook work: %w", err)
	}
	total, more := 0, len(wss) == 100
	var errs []error
	for _, ws := range wss {
		n, full, err := w.dispatch(ctx, ws)
		if err != nil {
			w.log.Error("webhook dispatch failed; will retry", "workspace", ws, "err", err)
			errs = append(errs, err)
		}
		total += n
		more = more || full
	}
	return total, more, errors.Join(errs...)
}

type dispatchEndpoint struct {
	ID           uuid.UUID
	Events       []string
	FromPosition int64
}

type dispatchEvent struct {
	Position int64
	ID       uuid.UUID
	Type     string
}

// dispatch handles one batch of a workspace's events and reports how many
// deliveries it made and whether the batch was full.
func (w *WebhookDispatcher) dispatch(ctx context.Context, ws uuid.UUID) (int, bool, error) {
	var made int
	var full bool
	err := w.s.db.inWorkspacePgx(ctx, ws, func(tx pgx.Tx) error {
		var cur int64
		err := tx.QueryRow(ctx, "SELECT position FROM webhook_cursors WHERE workspace_id = $1 FOR UPDATE", ws).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return fmt.Errorf("lock cursor: %w", err)
		}
		rows, _ := tx.Query(ctx, `SELECT id, events, from_position FROM webhook_endpoints
			WHERE workspace_id = $1 AND enabled ORDER BY id`, ws)
		eps, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dispatchEndpoint])
		if err != nil {
			return fmt.Errorf("load endpoints: %w", err)
		}
		if len(eps) == 0 {
			return nil
		}
		// Events before every endpoint's start concern none of them.
		start := cur
		if lowest := slices.MinFunc(eps, func(a, b dispatchEndpoint) int { return cmp.Compare(a.FromPosition, b.FromPosition) }); lowest.FromPosition > start {
			start = lowest.FromPosition
		}
		rows, _ = tx.Query(ctx, `SELECT position, id, type FROM events WHERE workspace_id = $1 AND position > $2
			ORDER BY position LIMIT $3`, ws, start, dispatchBatch)
		evs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dispatchEvent])
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		full = len(evs) == dispatchBatch
		end, now := start, w.s.db.Now()
		var ds []webhookDeliveryRow
		for _, ev := range evs {
			end = ev.Position
			for _, ep := range eps {
				if ev.Position <= ep.FromPosition || !slices.Contains(ep.Events, ev.Type) {
					continue
				}
				id := newID()
				pos, evID := ev.Position, ev.ID
				ds = append(ds, webhookDeliveryRow{WorkspaceID: ws, ID: id, EndpointID: ep.ID, EventPosition: &pos,
					EventID: &evID, EventType: ev.Type, WebhookID: crmhub.GlobalID(crmhub.KindWebhookDelivery, id),
					CreatedAt: now})
			}
		}
		if err := w.s.createDeliveries(ctx, tx, ds); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE webhook_cursors SET position = $2, updated_at = $3 WHERE workspace_id = $1",
			ws, end, now); err != nil {
			return fmt.Errorf("advance cursor: %w", err)
		}
		made = len(ds)
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("db: dispatch webhooks: %w", err)
	}
	return made, full, nil
}

package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"
)

type webhookDeliveryRow struct {
	bun.BaseModel `bun:"table:webhook_deliveries"`

	WorkspaceID   uuid.UUID  `bun:"workspace_id,pk,type:uuid"`
	ID            uuid.UUID  `bun:"id,pk,type:uuid"`
	EndpointID    uuid.UUID  `bun:"endpoint_id,type:uuid"`
	EventPosition *int64     `bun:"event_position"`
	EventID       *uuid.UUID `bun:"event_id,type:uuid"`
	EventType     string     `bun:"event_type"`
	WebhookID     string     `bun:"webhook_id"`
	Status        string     `bun:"status"`
	AttemptCount  int        `bun:"attempt_count"`
	NextAttemptAt *time.Time `bun:"next_attempt_at"`
	ReplayOf      *uuid.UUID `bun:"replay_of,type:uuid"`
	CreatedAt     time.Time  `bun:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at"`
}

func (r *webhookDeliveryRow) domain() *crmhub.WebhookDelivery {
	return &crmhub.WebhookDelivery{ID: r.ID, EndpointID: r.EndpointID, EventID: r.EventID, EventType: r.EventType,
		WebhookID: r.WebhookID, Status: crmhub.WebhookDeliveryStatus(r.Status), AttemptCount: r.AttemptCount,
		Attempts: []*crmhub.WebhookAttempt{}, NextAttemptAt: r.NextAttemptAt, ReplayOf: r.ReplayOf,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (r *webhookDeliveryRow) final() bool {
	return r.Status == string(crmhub.WebhookDelivered) || r.Status == string(crmhub.WebhookFailed)
}

type webhookAttemptRow struct {
	bun.BaseModel `bun:"table:webhook_attempts"`

	WorkspaceID     uuid.UUID `bun:"workspace_id,pk,type:uuid"`
	DeliveryID      uuid.UUID `bun:"delivery_id,pk,type:uuid"`
	N               int       `bun:"n,pk"`
	At              time.Time `bun:"at"`
	StatusCode      int       `bun:"status_code"`
	LatencyMS       int       `bun:"latency_ms"`
	ResponseSnippet string    `bun:"response_snippet"`
	Error           string    `bun:"error"`
}

func (r *webhookAttemptRow) domain() *crmhub.WebhookAttempt {
	return &crmhub.WebhookAttempt{At: r.At, StatusCode: r.StatusCode, LatencyMS: r.LatencyMS,
		ResponseSnippet: r.ResponseSnippet, Error: r.Error}
}

// webhookJobArgs is the River job of one delivery: ids only, the rest is
// read in the workspace when it runs.
type webhookJobArgs struct {
	WorkspaceID uuid.UUID `json:"workspace_id"`
	DeliveryID  uuid.UUID `json:"delivery_id"`
}

// Kind names the job in River.
func (webhookJobArgs) Kind() string { return "crmhub.webhook_delivery" }

func (s *WebhookService) jobParams(rows []webhookDeliveryRow) []river.InsertManyParams {
	params := make([]river.InsertManyParams, len(rows))
	for i, r := range rows {
		params[i] = river.InsertManyParams{Args: webhookJobArgs{WorkspaceID: r.WorkspaceID, DeliveryID: r.ID},
			InsertOpts: &river.InsertOpts{Queue: s.cfg.Queue}}
	}
	return params
}

// createDeliveries inserts delivery rows and their jobs in one pgx
// transaction: a delivery never exists without its job, nor a job without
// its delivery.
func (s *WebhookService) createDeliveries(ctx context.Context, tx pgx.Tx, rows []webhookDeliveryRow) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	var (
		ids, endpoints   = make([]uuid.UUID, n), make([]uuid.UUID, n)
		positions        = make([]*int64, n)
		eventIDs, replay = make([]*uuid.UUID, n), make([]*uuid.UUID, n)
		types, webhookID = make([]string, n), make([]string, n)
	)
	for i, r := range rows {
		ids[i], endpoints[i], positions[i], eventIDs[i] = r.ID, r.EndpointID, r.EventPosition, r.EventID
		types[i], webhookID[i], replay[i] = r.EventType, r.WebhookID, r.ReplayOf
	}
	_, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (workspace_id, id, endpoint_id, event_position, event_id,
		  event_type, webhook_id, replay_of, status, next_attempt_at, created_at, updated_at)
		SELECT $1, u.id, u.endpoint_id, u.event_position, u.event_id, u.event_type, u.webhook_id, u.replay_of, $9, $10, $10, $10
		FROM unnest($2::uuid[], $3::uuid[], $4::bigint[], $5::uuid[], $6::text[], $7::text[], $8::uuid[])
		  AS u(id, endpoint_id, event_position, event_id, event_type, webhook_id, replay_of)`,
		rows[0].WorkspaceID, ids, endpoints, positions, eventIDs, types, webhookID, replay,
		string(crmhub.WebhookPending), rows[0].CreatedAt)
	if err != nil {
		return fmt.Errorf("db: insert webhook deliveries: %w", err)
	}
	if _, err := s.jobs.InsertManyFastTx(ctx, tx, s.jobParams(rows)); err != nil {
		return fmt.Errorf("db: insert webhook jobs: %w", err)
	}
	return nil
}

// loadAttempts fills in the attempts of the deliveries.
func loadAttempts(ctx context.Context, t *tx, ds []*crmhub.WebhookDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	byID := make(map[uuid.UUID]*crmhub.WebhookDelivery, len(ds))
	ids := make([]uuid.UUID, len(ds))
	for i, d := range ds {
		byID[d.ID], ids[i] = d, d.ID
	}
	var rows []webhookAttemptRow
	err := t.NewSelect().Model(&rows).Where("workspace_id = ? AND delivery_id IN (?)", t.ws, bun.List(ids)).
		Order("delivery_id", "n").Scan(ctx)
	if err != nil {
		return fmt.Errorf("db: load webhook attempts: %w", err)
	}
	for i := range rows {
		d := byID[rows[i].DeliveryID]
		d.Attempts = append(d.Attempts, rows[i].domain())
	}
	return nil
}

// WebhookDelivery returns one delivery with its attempts.
func (s *WebhookService) WebhookDelivery(ctx context.Context, id uuid.UUID) (*crmhub.WebhookDelivery, error) {
	var out *crmhub.WebhookDelivery
	err := s.db.read(ctx, crmhub.ScopeWebhooksManage, func(ctx context.Context, t *tx) error {
		var row webhookDeliveryRow
		if err := t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx); err != nil {
			return notFound(err, crmhub.KindWebhookDelivery, "get webhook delivery")
		}
		out = row.domain()
		return loadAttempts(ctx, t, []*crmhub.WebhookDelivery{out})
	})
	if err != nil {
		return nil, passOrWrap(err, "get webhook delivery")
	}
	return out, nil
}

// WebhookDeliveries lists deliveries, newest first (ids are UUIDv7).
func (s *WebhookService) WebhookDeliveries(ctx context.Context, endpointID *uuid.UUID, first int, after string) (*crmhub.WebhookDeliveryConnection, error) {
	n, cur, err := pageArgs(first, after, webhookDeliveryOrder)
	if err != nil {
		return nil, err
	}
	conn := &crmhub.WebhookDeliveryConnection{Edges: []*crmhub.WebhookDeliveryEdge{}, EndpointID: endpointID}
	err = s.db.read(ctx, crmhub.ScopeWebhooksManage, func(ctx context.Context, t *tx) error {
		q := t.NewSelect().Model((*webhookDeliveryRow)(nil)).Where("workspace_id = ?", t.ws)
		if endpointID != nil {
			exists, err := t.NewSelect().Model((*webhookEndpointRow)(nil)).
				Where("workspace_id = ? AND id = ?", t.ws, *endpointID).Exists(ctx)
			if err != nil {
				return fmt.Errorf("db: find webhook endpoint: %w", err)
			} else if !exists {
				return crmhub.Errorf(crmhub.ENOTFOUND, "%s not found", crmhub.KindWebhookEndpoint.Name())
			}
			q.Where("endpoint_id = ?", *endpointID)
		}
		var rows []webhookDeliveryRow
		if err := byID(q, cur, n, true).Scan(ctx, &rows); err != nil {
			return fmt.Errorf("db: list webhook deliveries: %w", err)
		}
		kept, info := page(rows, n, cur != nil, idCursor(webhookDeliveryOrder, func(r *webhookDeliveryRow) uuid.UUID { return r.ID }))
		ds := make([]*crmhub.WebhookDelivery, len(kept))
		for i, r := range kept {
			ds[i] = r.domain()
			conn.Edges = append(conn.Edges, &crmhub.WebhookDeliveryEdge{Cursor: info.cursors[i], Node: ds[i]})
		}
		conn.PageInfo = info.PageInfo
		return loadAttempts(ctx, t, ds)
	})
	if err != nil {
		return nil, passOrWrap(err, "list webhook deliveries")
	}
	return conn, nil
}

// errEndpointDisabled refuses to send to a disabled endpoint on request.
var errEndpointDisabled = crmhub.Errorf(crmhub.ECONFLICT, "the webhook endpoint is disabled; enable it first")

// ReplayWebhookDelivery sends a delivery's event again under the same
// webhook-id.
func (s *WebhookService) ReplayWebhookDelivery(ctx context.Context, id uuid.UUID) (*crmhub.WebhookDelivery, error) {
	return s.newDelivery(ctx, func(ctx context.Context, tx pgx.Tx, ws uuid.UUID) (*webhookDeliveryRow, error) {
		var old webhookDeliveryRow
		err := tx.QueryRow(ctx, `SELECT endpoint_id, event_position, event_id, event_type, webhook_id
			FROM webhook_deliveries WHERE workspace_id = $1 AND id = $2`, ws, id).
			Scan(&old.EndpointID, &old.EventPosition, &old.EventID, &old.EventType, &old.WebhookID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, crmhub.Errorf(crmhub.ENOTFOUND, "%s not found", crmhub.KindWebhookDelivery.Name())
		} else if err != nil {
			return nil, fmt.Errorf("db: load webhook delivery: %w", err)
		}
		replayOf := id
		return &webhookDeliveryRow{EndpointID: old.EndpointID, EventPosition: old.EventPosition, EventID: old.EventID,
			EventType: old.EventType, WebhookID: old.WebhookID, ReplayOf: &replayOf}, nil
	})
}

// SendTestWebhook sends a synthetic webhook.test event to the endpoint.
func (s *WebhookService) SendTestWebhook(ctx context.Context, endpointID uuid.UUID) (*crmhub.WebhookDelivery, error) {
	return s.newDelivery(ctx, func(ctx context.Context, tx pgx.Tx, ws uuid.UUID) (*webhookDeliveryRow, error) {
		return &webhookDeliveryRow{EndpointID: endpointID, EventType: crmhub.WebhookTestEvent}, nil
	})
}

// newDelivery creates the delivery that build describes, with its job, once
// its endpoint is known to exist and be enabled.
func (s *WebhookService) newDelivery(ctx context.Context,
	build func(context.Context, pgx.Tx, uuid.UUID) (*webhookDeliveryRow, error)) (*crmhub.WebhookDelivery, error) {
	p, err := crmhub.Require(ctx, crmhub.ScopeWebhooksManage)
	if err != nil {
		return nil, err
	}
	var row *webhookDeliveryRow
	err = s.db.inWorkspacePgx(ctx, p.WorkspaceID, func(tx pgx.Tx) error {
		now := s.db.Now()
		var err error
		if row, err = build(ctx, tx, p.WorkspaceID); err != nil {
			return err
		}
		var enabled bool
		err = tx.QueryRow(ctx, "SELECT enabled FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2",
			p.WorkspaceID, row.EndpointID).Scan(&enabled)
		if errors.Is(err, pgx.ErrNoRows) {
			return crmhub.Errorf(crmhub.ENOTFOUND, "%s not found", crmhub.KindWebhookEndpoint.Name())
		} else if err != nil {
			return fmt.Errorf("db: load webhook endpoint: %w", err)
		} else if !enabled {
			return errEndpointDisabled
		}
		row.WorkspaceID, row.ID, row.Status, row.NextAttemptAt = p.WorkspaceID, newID(), string(crmhub.WebhookPending), &now
		row.CreatedAt, row.UpdatedAt = now, now
		if row.WebhookID == "" {
			row.WebhookID = crmhub.GlobalID(crmhub.KindWebhookDelivery, row.ID)
		}
		return s.createDeliveries(ctx, tx, []webhookDeliveryRow{*row})
	})
	if err != nil {
		return nil, passOrWrap(err, "create webhook delivery")
	}
	return row.domain(), nil
}

package db

import (
	"context"
	"fmt"

	"github.com/crmhub/crmhub"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// eventsChannel is the NOTIFY channel that announces committed events.
const eventsChannel = "crmhub_events"

var _ crmhub.EventService = (*EventService)(nil)

// EventService reads the event log and, through the hub, streams it.
type EventService struct {
	db  *DB
	hub *Hub
}

// NewEventService returns the service; hub may be nil for a process that
// only reads the log (Subscribe then fails).
func NewEventService(db *DB, hub *Hub) *EventService { return &EventService{db: db, hub: hub} }

func (r *eventRow) domain() *crmhub.Event {
	return &crmhub.Event{ID: r.ID, Position: r.Position, Type: crmhub.EventType(r.Type), SubjectID: r.SubjectID, Actor: r.Actor,
		Origin: r.Origin, Payload: r.Payload, OccurredAt: r.OccurredAt}
}

// Events lists one page of the log, oldest first, after a cursor.
func (s *EventService) Events(ctx context.Context, f crmhub.EventFilter, first int, after string) (*crmhub.EventConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	pos, err := crmhub.ParseEventCursor(after, "after")
	if err != nil {
		return nil, err
	}
	if err := crmhub.ValidateEventTypes(f.Types, "filter.types"); err != nil {
		return nil, err
	}
	var rows []eventRow
	err = s.db.read(ctx, crmhub.ScopeEventsRead, func(ctx context.Context, t *tx) error {
		var err error
		rows, err = readEvents(ctx, t, f, pos, n+1)
		return err
	})
	if err != nil {
		return nil, passOrWrap(err, "list events")
	}
	conn := &crmhub.EventConnection{Edges: []*crmhub.EventEdge{}, PageInfo: crmhub.PageInfo{HasPreviousPage: pos > 0}, Filter: f}
	if len(rows) > n {
		rows = rows[:n]
		conn.PageInfo.HasNextPage = true
	}
	for i := range rows {
		e := rows[i].domain()
		conn.Edges = append(conn.Edges, &crmhub.EventEdge{Cursor: e.Cursor(), Node: e})
	}
	if len(conn.Edges) > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[len(conn.Edges)-1].Cursor
	}
	return conn, nil
}

// readEvents reads up to limit events after position pos, oldest first.
func readEvents(ctx context.Context, t *tx, f crmhub.EventFilter, pos int64, limit int) ([]eventRow, error) {
	var rows []eventRow
	q := t.NewSelect().Model(&rows).Where("workspace_id = ? AND position > ?", t.ws, pos)
	if len(f.Types) > 0 {
		q.Where("type = ANY(?)", pgdialect.Array(f.Types))
	}
	if f.SubjectID != "" {
		q.Where("subject_id = ?", f.SubjectID)
	}
	if err := q.Order("position").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("db: read events: %w", err)
	}
	return rows, nil
}

// Subscribe opens a subscription of the principal's workspace.
func (s *EventService) Subscribe(ctx context.Context, f crmhub.EventFilter, after string) (crmhub.Subscription, error) {
	pos := int64(-1) // from now
	if after != "" {
		var err error
		if pos, err = crmhub.ParseEventCursor(after, "after"); err != nil {
			return nil, err
		}
	}
	return s.subscribe(ctx, crmhub.ScopeEventsRead, f, pos)
}

// Watch follows the principal's workspace live, checking scope instead of
// events:read.
func (s *EventService) Watch(ctx context.Context, scope crmhub.Scope, f crmhub.EventFilter) (crmhub.Subscription, error) {
	return s.subscribe(ctx, scope, f, -1)
}

func (s *EventService) subscribe(ctx context.Context, scope crmhub.Scope, f crmhub.EventFilter, pos int64) (crmhub.Subscription, error) {
	p, err := crmhub.Require(ctx, scope)
	if err != nil {
		return nil, err
	}
	if err := crmhub.ValidateEventTypes(f.Types, "types"); err != nil {
		return nil, err
	}
	if s.hub == nil {
		return nil, fmt.Errorf("db: subscribe: no event hub in this process")
	}
	return s.hub.subscribe(ctx, p.WorkspaceID, f, pos)
}

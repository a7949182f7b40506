package db

import (
	"context"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Counts for the totalCount of connections. Each is one statement, run only
// when a client asks for totalCount.

// CountUsers counts the workspace's users.
func (s *UserService) CountUsers(ctx context.Context) (int, error) {
	return s.db.count(ctx, crmhub.ScopeUsersRead, func(t *tx) *bun.SelectQuery {
		return t.NewSelect().Table("users").Where("workspace_id = ?", t.ws)
	})
}

// CountEvents counts the events a filter keeps.
func (s *EventService) CountEvents(ctx context.Context, f crmhub.EventFilter) (int, error) {
	if err := crmhub.ValidateEventTypes(f.Types, "filter.types"); err != nil {
		return 0, err
	}
	return s.db.count(ctx, crmhub.ScopeEventsRead, func(t *tx) *bun.SelectQuery {
		q := t.NewSelect().Table("events").Where("workspace_id = ?", t.ws)
		if len(f.Types) > 0 {
			q.Where("type = ANY(?)", pgdialect.Array(f.Types))
		}
		if f.SubjectID != "" {
			q.Where("subject_id = ?", f.SubjectID)
		}
		return q
	})
}

// CountWebhookEndpoints counts the workspace's endpoints.
func (s *WebhookService) CountWebhookEndpoints(ctx context.Context) (int, error) {
	return s.db.count(ctx, crmhub.ScopeWebhooksManage, func(t *tx) *bun.SelectQuery {
		return t.NewSelect().Table("webhook_endpoints").Where("workspace_id = ?", t.ws)
	})
}

// CountWebhookDeliveries counts deliveries, of one endpoint or of all.
func (s *WebhookService) CountWebhookDeliveries(ctx context.Context, endpointID *uuid.UUID) (int, error) {
	return s.db.count(ctx, crmhub.ScopeWebhooksManage, func(t *tx) *bun.SelectQuery {
		q := t.NewSelect().Table("webhook_deliveries").Where("workspace_id = ?", t.ws)
		if endpointID != nil {
			q.Where("endpoint_id = ?", *endpointID)
		}
		return q
	})
}

package resolver

import (
	"context"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph"
)

// totalCount of every connection: one counting statement, run only when a
// client selects the field.

func (r *Resolver) UserConnection() graph.UserConnectionResolver { return &countResolver{r} }
func (r *Resolver) ConversationConnection() graph.ConversationConnectionResolver {
	return &conversationCountResolver{r}
}
func (r *Resolver) MessageConnection() graph.MessageConnectionResolver {
	return &messageCountResolver{r}
}
func (r *Resolver) EventConnection() graph.EventConnectionResolver { return &eventCountResolver{r} }
func (r *Resolver) WebhookEndpointConnection() graph.WebhookEndpointConnectionResolver {
	return &endpointCountResolver{r}
}
func (r *Resolver) WebhookDeliveryConnection() graph.WebhookDeliveryConnectionResolver {
	return &deliveryCountResolver{r}
}

func (r *Resolver) ConnectionConnection() graph.ConnectionConnectionResolver {
	return &connectionCountResolver{r}
}
func (r *Resolver) SyncRunConnection() graph.SyncRunConnectionResolver {
	return &syncRunCountResolver{r}
}
func (r *Resolver) IdentityConflictConnection() graph.IdentityConflictConnectionResolver {
	return &conflictCountResolver{r}
}

type (
	countResolver             struct{ *Resolver }
	conversationCountResolver struct{ *Resolver }
	messageCountResolver      struct{ *Resolver }
	eventCountResolver        struct{ *Resolver }
	endpointCountResolver     struct{ *Resolver }
	deliveryCountResolver     struct{ *Resolver }
	connectionCountResolver   struct{ *Resolver }
	syncRunCountResolver      struct{ *Resolver }
	conflictCountResolver     struct{ *Resolver }
)

func (r *countResolver) TotalCount(ctx context.Context, _ *crmhub.UserConnection) (int, error) {
	return r.Users.CountUsers(ctx)
}

func (r *conversationCountResolver) TotalCount(ctx context.Context, obj *crmhub.ConversationConnection) (int, error) {
	return r.Conversations.CountConversations(ctx, obj.Filter)
}

func (r *messageCountResolver) TotalCount(ctx context.Context, obj *crmhub.MessageConnection) (int, error) {
	return r.Conversations.CountMessages(ctx, obj.ConversationID)
}

func (r *eventCountResolver) TotalCount(ctx context.Context, obj *crmhub.EventConnection) (int, error) {
	return r.Events.CountEvents(ctx, obj.Filter)
}

func (r *endpointCountResolver) TotalCount(ctx context.Context, _ *crmhub.WebhookEndpointConnection) (int, error) {
	return r.Webhooks.CountWebhookEndpoints(ctx)
}

func (r *deliveryCountResolver) TotalCount(ctx context.Context, obj *crmhub.WebhookDeliveryConnection) (int, error) {
	return r.Webhooks.CountWebhookDeliveries(ctx, obj.EndpointID)
}

func (r *connectionCountResolver) TotalCount(ctx context.Context, _ *crmhub.ConnectionConnection) (int, error) {
	return r.Connections.CountConnections(ctx)
}

func (r *syncRunCountResolver) TotalCount(ctx context.Context, obj *crmhub.SyncRunConnection) (int, error) {
	return r.Sync.CountSyncRuns(ctx, obj.ConnectionID)
}

func (r *conflictCountResolver) TotalCount(ctx context.Context, obj *crmhub.IdentityConflictConnection) (int, error) {
	return r.Sync.CountIdentityConflicts(ctx, obj.Status)
}

// Package resolver exposes the crmhub domain services over GraphQL: the
// gqlgen resolvers, the per-operation dataloaders, the @hasScope directive,
// the error presenter and the HTTP/websocket handler that serves them.
//
// Resolvers only translate: they decode global ids, map graph/model inputs
// to domain inputs and call a service. Matching, validation beyond argument
// shape, tenancy and events all live in the services, so GraphQL, the sync
// engine and the CLI behave the same. This package never imports package db;
// cmd/crmhub hands it the services through Config.
package resolver

import (
	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph"
)

// Resolver is the root of the gqlgen resolvers. Each field is a domain
// service; the resolvers hold no other state, so one Resolver serves every
// request and every workspace.
type Resolver struct {
	Contacts      crmhub.ContactService
	APIKeys       crmhub.APIKeyService
	Workspaces    crmhub.WorkspaceService
	Consents      crmhub.ConsentService
	Users         crmhub.UserService
	Deals         crmhub.DealService
	Conversations crmhub.ConversationService
	Events        crmhub.EventService
	Webhooks      crmhub.WebhookService
	Connections   crmhub.ConnectionService
	Sync          crmhub.SyncService
	// ChatWindows opens CRMs' chat windows (Connection.chatWindowUrl);
	// nil answers null.
	ChatWindows crmhub.ChatWindowService
	// Clock tells the time for fields judged at read time.
	Clock crmhub.Clock
}

var _ graph.ResolverRoot = (*Resolver)(nil)

// ApiKey returns the ApiKey field resolvers.
func (r *Resolver) ApiKey() graph.ApiKeyResolver { return &apiKeyResolver{r} }

// Contact returns the Contact field resolvers.
func (r *Resolver) Contact() graph.ContactResolver { return &contactResolver{r} }

// ContactConnection returns the ContactConnection field resolvers.
func (r *Resolver) ContactConnection() graph.ContactConnectionResolver {
	return &contactConnectionResolver{r}
}

// Mutation returns the mutation resolvers.
func (r *Resolver) Mutation() graph.MutationResolver { return &mutationResolver{r} }

// Note returns the Note field resolvers.
func (r *Resolver) Note() graph.NoteResolver { return &noteResolver{r} }

// NoteConnection returns the NoteConnection field resolvers.
func (r *Resolver) NoteConnection() graph.NoteConnectionResolver {
	return &noteConnectionResolver{r}
}

// Conversation returns the Conversation field resolvers.
func (r *Resolver) Conversation() graph.ConversationResolver { return &conversationResolver{r} }

// Deal returns the Deal field resolvers.
func (r *Resolver) Deal() graph.DealResolver { return &dealResolver{root: r} }

// DealConnection returns the DealConnection field resolvers.
func (r *Resolver) DealConnection() graph.DealConnectionResolver { return &dealConnectionResolver{r} }

// Event returns the Event field resolvers.
func (r *Resolver) Event() graph.EventResolver { return &eventResolver{r} }

// Message returns the Message field resolvers.
func (r *Resolver) Message() graph.MessageResolver { return &messageResolver{root: r} }

// Subscription returns the subscription resolvers.
func (r *Resolver) Subscription() graph.SubscriptionResolver { return &subscriptionResolver{r} }

// Suppression returns the Suppression field resolvers.
func (r *Resolver) Suppression() graph.SuppressionResolver { return &suppressionResolver{r} }

// WebhookDelivery returns the WebhookDelivery field resolvers.
func (r *Resolver) WebhookDelivery() graph.WebhookDeliveryResolver {
	return &webhookDeliveryResolver{r}
}

// Connection returns the Connection field resolvers.
func (r *Resolver) Connection() graph.ConnectionResolver { return &connectionResolver{r} }

// SyncRun returns the SyncRun field resolvers.
func (r *Resolver) SyncRun() graph.SyncRunResolver { return &syncRunResolver{r} }

// SyncError returns the SyncError field resolvers.
func (r *Resolver) SyncError() graph.SyncErrorResolver { return &syncErrorResolver{r} }

// IdentityConflict returns the IdentityConflict field resolvers.
func (r *Resolver) IdentityConflict() graph.IdentityConflictResolver {
	return &identityConflictResolver{r}
}

// Identifier returns the Identifier field resolvers.
func (r *Resolver) Identifier() graph.IdentifierResolver { return &identifierResolver{r} }

// Query returns the query resolvers.
func (r *Resolver) Query() graph.QueryResolver { return &queryResolver{r} }

type (
	apiKeyResolver            struct{ *Resolver }
	contactResolver           struct{ *Resolver }
	contactConnectionResolver struct{ *Resolver }
	mutationResolver          struct{ *Resolver }
	noteResolver              struct{ *Resolver }
	noteConnectionResolver    struct{ *Resolver }
	queryResolver             struct{ *Resolver }
	conversationResolver      struct{ *Resolver }
	// dealResolver and messageResolver name their root instead of
	// embedding it: their fields Contacts and Conversation would collide
	// with the Resolver's own.
	dealResolver            struct{ root *Resolver }
	dealConnectionResolver  struct{ *Resolver }
	eventResolver           struct{ *Resolver }
	messageResolver         struct{ root *Resolver }
	subscriptionResolver    struct{ *Resolver }
	suppressionResolver     struct{ *Resolver }
	webhookDeliveryResolver struct{ *Resolver }

	connectionResolver       struct{ *Resolver }
	syncRunResolver          struct{ *Resolver }
	syncErrorResolver        struct{ *Resolver }
	identityConflictResolver struct{ *Resolver }
	identifierResolver       struct{ *Resolver }
)

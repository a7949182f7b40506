package resolver

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph/model"
)

// Node loads any object by its global id. An id that does not decode, names
// a kind without a Node type, or belongs to another workspace is null: to a
// client it does not exist. Other errors (a missing scope) are reported.
func (r *queryResolver) Node(ctx context.Context, id string) (crmhub.Node, error) {
	kind, uid, err := crmhub.ParseAnyID(id)
	if err != nil {
		return nil, nil
	}
	var n crmhub.Node
	switch kind {
	case crmhub.KindContact:
		n, err = node(r.Resolver.Contacts.Contact(ctx, uid))
	case crmhub.KindNote:
		n, err = node(r.Resolver.Contacts.Note(ctx, uid))
	case crmhub.KindAPIKey:
		n, err = node(r.Resolver.APIKeys.APIKey(ctx, uid))
	case crmhub.KindUser:
		n, err = node(r.Resolver.Users.User(ctx, uid))
	case crmhub.KindDeal:
		n, err = node(r.Resolver.Deals.Deal(ctx, uid))
	case crmhub.KindConversation:
		n, err = node(r.Resolver.Conversations.Conversation(ctx, uid))
	case crmhub.KindMessage:
		n, err = node(r.Resolver.Conversations.Message(ctx, uid))
	case crmhub.KindSuppression:
		n, err = node(r.Resolver.Consents.Suppression(ctx, uid))
	case crmhub.KindWebhookEndpoint:
		n, err = node(r.Resolver.Webhooks.WebhookEndpoint(ctx, uid))
	case crmhub.KindWebhookDelivery:
		n, err = node(r.Resolver.Webhooks.WebhookDelivery(ctx, uid))
	case crmhub.KindConnection:
		n, err = node(r.Resolver.Connections.Connection(ctx, uid))
	case crmhub.KindSyncRun:
		n, err = node(r.Resolver.Sync.SyncRun(ctx, uid))
	case crmhub.KindIdentityConflict:
		n, err = node(r.Resolver.Sync.IdentityConflict(ctx, uid))
	case crmhub.KindWorkspace:
		ws, err := nilIfNotFound(r.Workspaces.Workspace(ctx))
		if ws == nil || err != nil || ws.ID != uid {
			return nil, err
		}
		n = ws
	}
	return n, err
}

// node turns a service answer into a Node: NOT_FOUND and a nil object are
// null (an interface holding a nil pointer is not).
func node[T any, P interface {
	*T
	crmhub.Node
}](v P, err error) (crmhub.Node, error) {
	if crmhub.ErrorCode(err) == crmhub.ENOTFOUND || (err == nil && v == nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Viewer describes the caller. It reads only what the query selects, so a
// key without keys:manage can still ask for its workspace and scopes.
func (r *queryResolver) Viewer(ctx context.Context) (*model.Viewer, error) {
	p := crmhub.FromContext(ctx)
	if p == nil {
		return nil, crmhub.Errorf(crmhub.EUNAUTHENTICATED, "authentication required")
	}
	v := &model.Viewer{Scopes: scopeNames(p.Scopes)}
	var err error
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		switch f.Name {
		case "workspace":
			v.Workspace, err = r.Workspaces.Workspace(ctx)
		case "apiKey":
			v.APIKey, err = r.Resolver.APIKeys.APIKey(ctx, p.APIKeyID)
		}
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

func scopeNames(scopes []crmhub.Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}

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
	Contacts   crmhub.ContactService
	APIKeys    crmhub.APIKeyService
	Workspaces crmhub.WorkspaceService
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
)

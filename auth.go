package crmhub

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Scope grants an API key access to a group of operations.
type Scope string

// Scopes, as spelled in the API contract.
const (
	ScopeContactsRead       Scope = "contacts:read"
	ScopeContactsWrite      Scope = "contacts:write"
	ScopeDealsRead          Scope = "deals:read"
	ScopeDealsWrite         Scope = "deals:write"
	ScopeConversationsRead  Scope = "conversations:read"
	ScopeConversationsWrite Scope = "conversations:write"
	ScopeUsersRead          Scope = "users:read"
	ScopeUsersWrite         Scope = "users:write"
	ScopeEventsRead         Scope = "events:read"
	ScopeWebhooksManage     Scope = "webhooks:manage"
	ScopeConnectorsManage   Scope = "connectors:manage"
	ScopeKeysManage         Scope = "keys:manage"
	// ScopeAdmin includes every other scope.
	ScopeAdmin Scope = "admin"
)

// Scopes lists every scope.
var Scopes = []Scope{ScopeContactsRead, ScopeContactsWrite, ScopeDealsRead, ScopeDealsWrite,
	ScopeConversationsRead, ScopeConversationsWrite, ScopeUsersRead, ScopeUsersWrite,
	ScopeEventsRead, ScopeWebhooksManage, ScopeConnectorsManage, ScopeKeysManage, ScopeAdmin}

// ParseScopes validates scope names, drops duplicates and sorts them.
func ParseScopes(names []string) ([]Scope, error) {
	if len(names) == 0 {
		return nil, Invalid("scopes", "at least one scope is required")
	}
	out := make([]Scope, 0, len(names))
	for _, n := range names {
		s := Scope(n)
		if !slices.Contains(Scopes, s) {
			return nil, Invalid("scopes", "unknown scope %q", truncate(n, 40))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Principal is who is making a request: an API key of one workspace.
type Principal struct {
	WorkspaceID uuid.UUID
	APIKeyID    uuid.UUID
	// ConnectionID is set when the sync engine writes for a connection:
	// the writes' events carry the connection as actor and origin, so its
	// push never echoes them back.
	ConnectionID uuid.UUID
	Scopes       []Scope
}

// Can reports whether the principal holds scope s (directly or through admin).
func (p *Principal) Can(s Scope) bool {
	return p != nil && (slices.Contains(p.Scopes, s) || slices.Contains(p.Scopes, ScopeAdmin))
}

// RequireGrant is Require(ctx, ScopeKeysManage) for a key that gives a key
// scopes or revokes a key that has them: a key grants only scopes it holds
// itself, so keys:manage alone can neither make nor revoke an admin key.
// EFORBIDDEN otherwise.
func RequireGrant(ctx context.Context, scopes []Scope) (*Principal, error) {
	p, err := Require(ctx, ScopeKeysManage)
	if err != nil {
		return nil, err
	}
	for _, s := range scopes {
		if !p.Can(s) {
			return nil, Errorf(EFORBIDDEN, "this API key lacks the %s scope, so it cannot grant it or revoke a key that has it", s)
		}
	}
	return p, nil
}

type principalKey struct{}

// NewContext returns a context carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of ctx, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Require returns the principal of ctx if it holds scope s: EUNAUTHENTICATED
// without a principal, EFORBIDDEN without the scope. Domain services call it
// first so that no caller can skip the check.
func Require(ctx context.Context, s Scope) (*Principal, error) {
	p := FromContext(ctx)
	if p == nil {
		return nil, Errorf(EUNAUTHENTICATED, "authentication required")
	}
	if !p.Can(s) {
		return nil, Errorf(EFORBIDDEN, "this API key lacks the %s scope", s)
	}
	return p, nil
}

// Workspace is a tenant: every other entity belongs to exactly one.
type Workspace struct {
	ID        uuid.UUID
	Name      string
	CreatedAt time.Time
}

// GlobalID is the workspace's API id.
func (w *Workspace) GlobalID() string { return GlobalID(KindWorkspace, w.ID) }

// APIKey is the stored, secret-free description of an API key.
type APIKey struct {
	ID          uuid.UUID
	WorkspaceID uuid.UUID
	Name        string
	// Prefix is the non-secret start of the key, shown to help people tell
	// their keys apart ("crm_0192f1c4").
	Prefix     string
	Scopes     []Scope
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// GlobalID is the key's API id.
func (k *APIKey) GlobalID() string { return GlobalID(KindAPIKey, k.ID) }

// MaxAPIKeyNameLength bounds API key and workspace names.
const MaxAPIKeyNameLength = 200

// AuthService turns a presented key into a principal.
type AuthService interface {
	// Authenticate checks a bearer token. It returns EUNAUTHENTICATED for a
	// malformed, unknown or revoked key, and records the key's last use.
	Authenticate(ctx context.Context, token string) (*Principal, error)
}

// WorkspaceService creates tenants. It is an operator's tool (CLI), not
// reachable through the API.
type WorkspaceService interface {
	// CreateWorkspace creates a workspace and its first key, which has the
	// admin scope. The secret is returned once. EINVALID for a bad name.
	CreateWorkspace(ctx context.Context, name string) (*Workspace, *APIKey, string, error)
	// Workspace returns the principal's own workspace.
	Workspace(ctx context.Context) (*Workspace, error)
}

// APIKeyService manages the keys of the principal's workspace (keys:manage).
type APIKeyService interface {
	// CreateAPIKey creates a key and returns it with its secret, which is
	// never stored or shown again. EINVALID for a bad name or scope.
	CreateAPIKey(ctx context.Context, name string, scopes []Scope) (*APIKey, string, error)
	// APIKeys lists the workspace's keys, newest first, revoked ones included.
	APIKeys(ctx context.Context) ([]*APIKey, error)
	// APIKey returns one key of the workspace. ENOTFOUND.
	APIKey(ctx context.Context, id uuid.UUID) (*APIKey, error)
	// RevokeAPIKey revokes a key at once. ENOTFOUND for an unknown key.
	RevokeAPIKey(ctx context.Context, id uuid.UUID) (*APIKey, error)
}

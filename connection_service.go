package crmhub

import (
	"context"

	"github.com/google/uuid"
)

// ConnectionService manages connections. Every method needs the
// connectors:manage scope.
type ConnectionService interface {
	// CreateConnection validates and stores a connection, its API key
	// encrypted. EINVALID with the field.
	CreateConnection(ctx context.Context, in ConnectionInput) (*Connection, error)
	// UpdateConnection applies a patch. ENOTFOUND, EINVALID.
	UpdateConnection(ctx context.Context, id uuid.UUID, patch ConnectionPatch) (*Connection, error)
	// DeleteConnection deletes a connection with its runs, links and
	// conflicts and returns it as it was; hub records stay. A run in
	// progress stops at its next step. ENOTFOUND.
	DeleteConnection(ctx context.Context, id uuid.UUID) (*Connection, error)
	// Connection returns one connection. ENOTFOUND.
	Connection(ctx context.Context, id uuid.UUID) (*Connection, error)
	// Connections lists connections, oldest first. EINVALID for a bad
	// `first` or a malformed `after`.
	Connections(ctx context.Context, first int, after string) (*ConnectionConnection, error)
	// ConnectionsByIDs returns connections in the order of ids, nil where
	// one does not exist; it serves the batched reads of nested fields.
	ConnectionsByIDs(ctx context.Context, ids []uuid.UUID) ([]*Connection, error)
	// CountConnections serves totalCount.
	CountConnections(ctx context.Context) (int, error)
	HookService
}

// HookService manages what inbound webhooks from external CRMs need; its
// methods need connectors:manage.
type HookService interface {
	// SetWebhookSecret sets the secret of a connection's inbound webhooks
	// and returns it, once: the signing key the CRM shows (Wazelo, Wazera)
	// when secret is given, else a new random token for the hook URL of
	// CRMs that do not sign (Wazzup: /hooks/{connectionId}?token=...).
	// EINVALID (field "secret"), ENOTFOUND.
	SetWebhookSecret(ctx context.Context, connectionID uuid.UUID, secret *string) (string, error)
	// ChannelsByConnection returns the channels of each connection, by
	// channel id.
	ChannelsByConnection(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*ConnectionChannel, error)
}

// SyncService starts and reports sync runs and keeps identity conflicts.
// Starting a run needs connectors:manage; reading runs and conflicts needs
// connectors:manage too (they name remote ids); resolving a conflict needs
// connectors:manage and contacts:write.
type SyncService interface {
	// RunSync queues a run of the connection. One run at a time per
	// connection: ECONFLICT (Extensions["syncRunId"]) while another is
	// queued or running. EINVALID for a disabled connection. ENOTFOUND.
	RunSync(ctx context.Context, connectionID uuid.UUID, mode SyncMode, dryRun bool) (*SyncRun, error)
	// CancelSyncRun ends a QUEUED or RUNNING run as CANCELLED at once and
	// frees its connection for the next run; a worker on it stops at its
	// next page, keeping its progress and stats. EINVALID (field id) for
	// a run that already ended. ENOTFOUND.
	CancelSyncRun(ctx context.Context, id uuid.UUID) (*SyncRun, error)
	// SyncRun returns one run. ENOTFOUND.
	SyncRun(ctx context.Context, id uuid.UUID) (*SyncRun, error)
	// SyncRuns lists runs newest first, of one connection when
	// connectionID is not nil.
	SyncRuns(ctx context.Context, connectionID *uuid.UUID, first int, after string) (*SyncRunConnection, error)
	// IdentityConflicts lists conflicts newest first, optionally of one
	// status.
	IdentityConflicts(ctx context.Context, status *ConflictStatus, first int, after string) (*IdentityConflictConnection, error)
	// IdentityConflict returns one conflict. ENOTFOUND.
	IdentityConflict(ctx context.Context, id uuid.UUID) (*IdentityConflict, error)
	// ResolveIdentityConflict resolves an open conflict in favour of one
	// of its candidates (MERGE or PICK). EINVALID when contactID is not a
	// candidate or the conflict is already resolved. ENOTFOUND.
	ResolveIdentityConflict(ctx context.Context, id uuid.UUID, how ConflictResolution, contactID uuid.UUID) (*IdentityConflict, error)
	// CountSyncRuns and CountIdentityConflicts serve totalCount; they
	// take the filters of SyncRuns and IdentityConflicts.
	CountSyncRuns(ctx context.Context, connectionID *uuid.UUID) (int, error)
	CountIdentityConflicts(ctx context.Context, status *ConflictStatus) (int, error)
}

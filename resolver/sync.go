package resolver

import (
	"context"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// Sync runs and identity conflicts. Their references (a run's or a
// conflict's connection, a conflict's contacts) are read for a whole page
// at once through groups.

func (r *queryResolver) SyncRun(ctx context.Context, id string) (*crmhub.SyncRun, error) {
	uid, err := crmhub.ParseID(crmhub.KindSyncRun, id)
	if err != nil {
		return nil, nil
	}
	return nilIfNotFound(r.Sync.SyncRun(ctx, uid))
}

func (r *queryResolver) SyncRuns(ctx context.Context, connectionID *string, first *int, after *string) (*crmhub.SyncRunConnection, error) {
	conn, err := optionalID(crmhub.KindConnection, connectionID)
	if err != nil {
		return nil, fieldNotFound(err, "connectionId")
	}
	return r.syncRuns(ctx, conn, first, after)
}

// syncRuns reads one page of runs, of one connection or (nil) of all.
func (r *Resolver) syncRuns(ctx context.Context, connectionID *uuid.UUID, first *int, after *string) (*crmhub.SyncRunConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	conn, err := r.Sync.SyncRuns(ctx, connectionID, n, deref(after))
	if err != nil {
		return nil, err
	}
	conn.ConnectionID = connectionID
	addGroup(r.loadersFor(ctx), nodes(conn.Edges, func(e *crmhub.SyncRunEdge) *crmhub.SyncRun { return e.Node }),
		func(run *crmhub.SyncRun) uuid.UUID { return run.ID })
	return conn, nil
}

func (r *syncRunResolver) Connection(ctx context.Context, obj *crmhub.SyncRun) (*crmhub.Connection, error) {
	return loadRef(ctx, r.loadersFor(ctx), obj, func(run *crmhub.SyncRun) *uuid.UUID { return &run.ConnectionID },
		"run.connection", r.Connections.ConnectionsByIDs)
}

func (r *syncErrorResolver) RecordID(_ context.Context, obj *crmhub.SyncError) (*string, error) {
	return nonEmpty(obj.RecordID), nil
}

func (r *mutationResolver) RunSync(ctx context.Context, connectionID string, mode *crmhub.SyncMode, dryRun *bool) (*crmhub.SyncRun, error) {
	uid, err := crmhub.ParseID(crmhub.KindConnection, connectionID)
	if err != nil {
		return nil, fieldNotFound(err, "connectionId")
	}
	return r.Sync.RunSync(ctx, uid, deref(mode), deref(dryRun))
}

func (r *mutationResolver) CancelSyncRun(ctx context.Context, id string) (*crmhub.SyncRun, error) {
	uid, err := crmhub.ParseID(crmhub.KindSyncRun, id)
	if err != nil {
		return nil, fieldNotFound(err, "id")
	}
	return r.Sync.CancelSyncRun(ctx, uid)
}

func (r *queryResolver) IdentityConflicts(ctx context.Context, status *crmhub.ConflictStatus, first *int, after *string) (*crmhub.IdentityConflictConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	conn, err := r.Sync.IdentityConflicts(ctx, status, n, deref(after))
	if err != nil {
		return nil, err
	}
	conn.Status = status
	addGroup(r.loadersFor(ctx), nodes(conn.Edges, func(e *crmhub.IdentityConflictEdge) *crmhub.IdentityConflict { return e.Node }),
		func(c *crmhub.IdentityConflict) uuid.UUID { return c.ID })
	return conn, nil
}

func (r *identityConflictResolver) Connection(ctx context.Context, obj *crmhub.IdentityConflict) (*crmhub.Connection, error) {
	return loadRef(ctx, r.loadersFor(ctx), obj, func(c *crmhub.IdentityConflict) *uuid.UUID { return &c.ConnectionID },
		"conflict.connection", r.Connections.ConnectionsByIDs)
}

func (r *identityConflictResolver) Candidates(ctx context.Context, obj *crmhub.IdentityConflict) ([]*crmhub.Contact, error) {
	l := r.loadersFor(ctx)
	list, err := loadRefs(ctx, l, obj, func(c *crmhub.IdentityConflict) []uuid.UUID { return c.Candidates },
		"conflict.candidates", l.contactsGrouped)
	return orEmpty(list), err
}

func (r *identityConflictResolver) Contact(ctx context.Context, obj *crmhub.IdentityConflict) (*crmhub.Contact, error) {
	l := r.loadersFor(ctx)
	return loadRef(ctx, l, obj, func(c *crmhub.IdentityConflict) *uuid.UUID { return c.ContactID },
		"conflict.contact", l.contactsGrouped)
}

func (r *identifierResolver) Source(_ context.Context, obj *crmhub.Identifier) (*string, error) {
	return nonEmpty(obj.Source), nil
}

func (r *mutationResolver) ResolveIdentityConflict(ctx context.Context, id string, resolution crmhub.ConflictResolution, contactID string) (*crmhub.IdentityConflict, error) {
	uid, err := crmhub.ParseID(crmhub.KindIdentityConflict, id)
	if err != nil {
		return nil, err
	}
	// An id that does not decode names no candidate: the service says so
	// on contactId, as for a contact of another workspace.
	contact, _ := crmhub.ParseID(crmhub.KindContact, contactID)
	return r.Sync.ResolveIdentityConflict(ctx, uid, resolution, contact)
}

// nonEmpty is s, or nil when it is empty.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

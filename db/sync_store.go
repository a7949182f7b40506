package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// This file is the sync engine's store: the state of runs, links and push
// positions. Its methods work inside a given workspace without a principal
// (the engine is the system acting for a connection); the writes they make
// to hub records go through the domain services instead.

type syncLinkRow struct {
	bun.BaseModel `bun:"table:sync_links"`

	WorkspaceID  uuid.UUID         `bun:"workspace_id,pk,type:uuid"`
	ConnectionID uuid.UUID         `bun:"connection_id,pk,type:uuid"`
	Entity       string            `bun:"entity,pk"`
	ExternalID   string            `bun:"external_id,pk"`
	LocalID      uuid.UUID         `bun:"local_id,type:uuid"`
	Fingerprint  []byte            `bun:"fingerprint"`
	Base         map[string]string `bun:"base,type:jsonb,nullzero"`
	SeenRun      *uuid.UUID        `bun:"seen_run,type:uuid"`
	UpdatedAt    time.Time         `bun:"updated_at"`
}

func (r *syncLinkRow) link() crmhub.SyncLink {
	return crmhub.SyncLink{ExternalID: r.ExternalID, LocalID: r.LocalID, Fingerprint: r.Fingerprint, Base: r.Base}
}

// systemActor is who the store's own events name: the connection, as
// actorOf names it.
func systemActor(conn uuid.UUID) string {
	return actorOf(&crmhub.Principal{ConnectionID: conn})
}

// StoredRun loads a run of workspace ws without a principal (for the
// CLI). ENOTFOUND.
func (s *SyncService) StoredRun(ctx context.Context, ws, id uuid.UUID) (*crmhub.SyncRun, error) {
	var row syncRunRow
	err := s.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
		err := t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", ws, id).Scan(ctx)
		return notFound(err, crmhub.KindSyncRun, "load sync run")
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

// ConnectionWorkspace returns the workspace of a connection, for the
// CLI, which knows only the connection's id. ENOTFOUND.
func (s *SyncService) ConnectionWorkspace(ctx context.Context, conn uuid.UUID) (uuid.UUID, error) {
	return s.db.connectionWorkspace(ctx, conn)
}

// connectionWorkspace finds the workspace of a connection by its id
// alone, through the connection_workspace function (the caller has no
// tenant yet). ENOTFOUND.
func (db *DB) connectionWorkspace(ctx context.Context, conn uuid.UUID) (uuid.UUID, error) {
	var ws *uuid.UUID
	if err := db.Bun.NewRaw("SELECT connection_workspace(?)", conn).Scan(ctx, &ws); err != nil {
		return uuid.Nil, fmt.Errorf("db: find the connection's workspace: %w", err)
	}
	if ws == nil {
		return uuid.Nil, crmhub.Errorf(crmhub.ENOTFOUND, "no %s with id %q", crmhub.KindConnection.Name(),
			crmhub.GlobalID(crmhub.KindConnection, conn))
	}
	return *ws, nil
}

// FinishRun ends a run worked under run.Lease as SUCCEEDED or FAILED,
// releases its lease, stamps the connection's lastSyncAt (for a real run
// that succeeded) and emits sync.completed. When the run is no longer
// this claim's it writes nothing and returns crmhub.ErrSyncRunCancelled
// (cancelSyncRun ended it: the caller saves its stats with SaveRun) or
// crmhub.ErrSyncLeaseLost.
func (s *SyncService) FinishRun(ctx context.Context, ws uuid.UUID, run *crmhub.SyncRun) error {
	err := s.db.inWorkspace(ctx, ws, systemActor(run.ConnectionID), false, func(ctx context.Context, t *tx) error {
		err := underLease(ctx, t, run, t.NewUpdate().Model((*syncRunRow)(nil)).
			Set("status = ?, stats = ?, errors = ?, plan = ?, field_conflicts = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL",
				string(run.Status), run.Stats, run.Errors, run.Plan, fieldConflicts(run), t.now))
		if err != nil {
			return err
		}
		run.FinishedAt = &t.now
		if run.Status == crmhub.SyncSucceeded && !run.DryRun {
			_, err = t.NewUpdate().Table("connections").Set("last_sync_at = ?", t.now).
				Where("workspace_id = ? AND id = ?", ws, run.ConnectionID).Exec(ctx)
			if err != nil {
				return err
			}
		}
		emitCompleted(t, run)
		return nil
	})
	if errors.Is(err, crmhub.ErrSyncRunCancelled) || errors.Is(err, crmhub.ErrSyncLeaseLost) {
		return err
	} else if err != nil {
		return fmt.Errorf("db: finish sync run: %w", err)
	}
	s.finished.add(runStatusLabel(run.Status))
	return nil
}

// emitCompleted emits sync.completed for a run that just ended.
func emitCompleted(t *tx, run *crmhub.SyncRun) {
	gid := run.GlobalID()
	t.emit(crmhub.EventSyncCompleted, gid, crmhub.SyncCompletedPayload{ID: gid,
		ConnectionID: crmhub.GlobalID(crmhub.KindConnection, run.ConnectionID), Mode: run.Mode,
		DryRun: run.DryRun, Status: run.Status, Stats: run.Stats})
}

// fieldConflicts is a run's field conflicts as the jsonb column takes
// them ([] rather than null when there are none).
func fieldConflicts(run *crmhub.SyncRun) []crmhub.FieldConflict {
	if run.FieldConflicts == nil {
		return []crmhub.FieldConflict{}
	}
	return run.FieldConflicts
}

// Links returns the links of the given remote records, by external id.
func (s *SyncService) Links(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, externalIDs []string) (map[string]crmhub.SyncLink, error) {
	out := map[string]crmhub.SyncLink{}
	if len(externalIDs) == 0 {
		return out, nil
	}
	var rows []syncLinkRow
	err := s.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&rows).Where("workspace_id = ? AND connection_id = ? AND entity = ? AND external_id IN (?)",
			ws, conn, string(entity), bun.List(externalIDs)).Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("db: load sync links: %w", err)
	}
	for _, r := range rows {
		out[r.ExternalID] = r.link()
	}
	return out, nil
}

// LinksByLocal returns the links of the given hub records, by hub id.
func (s *SyncService) LinksByLocal(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, ids []uuid.UUID) (map[uuid.UUID]crmhub.SyncLink, error) {
	out := map[uuid.UUID]crmhub.SyncLink{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []syncLinkRow
	err := s.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&rows).Where("workspace_id = ? AND connection_id = ? AND entity = ? AND local_id IN (?)",
			ws, conn, string(entity), bun.List(ids)).Order("external_id").Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("db: load sync links: %w", err)
	}
	for _, r := range rows {
		if _, dup := out[r.LocalID]; !dup {
			out[r.LocalID] = r.link()
		}
	}
	return out, nil
}

// SaveLinks creates or updates links and marks them seen by run (nil for
// a push, which sees nothing of the remote's listing).
func (s *SyncService) SaveLinks(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, links []crmhub.SyncLink, run *uuid.UUID) error {
	if len(links) == 0 {
		return nil
	}
	now := s.db.Now()
	rows := make([]syncLinkRow, len(links))
	for i, l := range links {
		rows[i] = syncLinkRow{WorkspaceID: ws, ConnectionID: conn, Entity: string(entity), ExternalID: l.ExternalID,
			LocalID: l.LocalID, Fingerprint: l.Fingerprint, Base: l.Base, SeenRun: run, UpdatedAt: now}
	}
	err := s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		q := t.NewInsert().Model(&rows).
			On("CONFLICT (workspace_id, connection_id, entity, external_id) DO UPDATE").
			Set("local_id = EXCLUDED.local_id, fingerprint = EXCLUDED.fingerprint, updated_at = EXCLUDED.updated_at").
			Set("base = coalesce(EXCLUDED.base, ?TableAlias.base)")
		if run != nil {
			q.Set("seen_run = EXCLUDED.seen_run")
		}
		_, err := q.Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("db: save sync links: %w", err)
	}
	return nil
}

// MarkSeen records that run saw these remote records (unchanged ones).
func (s *SyncService) MarkSeen(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, externalIDs []string, run uuid.UUID) error {
	if len(externalIDs) == 0 {
		return nil
	}
	err := s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		_, err := t.NewUpdate().Model((*syncLinkRow)(nil)).Set("seen_run = ?", run).
			Where("workspace_id = ? AND connection_id = ? AND entity = ? AND external_id IN (?)", ws, conn, string(entity), bun.List(externalIDs)).
			Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("db: mark sync links seen: %w", err)
	}
	return nil
}

// UnseenLinks returns up to limit links of entity that run did not see:
// after a complete listing, the records gone from the remote.
func (s *SyncService) UnseenLinks(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, run uuid.UUID, limit int) ([]crmhub.SyncLink, error) {
	var rows []syncLinkRow
	err := s.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&rows).
			Where("workspace_id = ? AND connection_id = ? AND entity = ? AND seen_run IS DISTINCT FROM ?", ws, conn, string(entity), run).
			Order("external_id").Limit(int64(limit)).Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("db: load unseen sync links: %w", err)
	}
	out := make([]crmhub.SyncLink, len(rows))
	for i, r := range rows {
		out[i] = crmhub.SyncLink{ExternalID: r.ExternalID, LocalID: r.LocalID, Fingerprint: r.Fingerprint}
	}
	return out, nil
}

// DeleteLinks removes links; gone, when set, says the remote no longer has
// the records and emits sync.record_gone for each (with what was done to
// the hub record: "unlinked" or "deleted").
func (s *SyncService) DeleteLinks(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, links []crmhub.SyncLink, gone string) error {
	if len(links) == 0 {
		return nil
	}
	ids := make([]string, len(links))
	for i, l := range links {
		ids[i] = l.ExternalID
	}
	err := s.db.inWorkspace(ctx, ws, systemActor(conn), false, func(ctx context.Context, t *tx) error {
		_, err := t.NewDelete().Model((*syncLinkRow)(nil)).
			Where("workspace_id = ? AND connection_id = ? AND entity = ? AND external_id IN (?)", ws, conn, string(entity), bun.List(ids)).
			Exec(ctx)
		if err != nil || gone == "" {
			return err
		}
		for _, l := range links {
			subject := localGlobalID(entity, l.LocalID)
			t.emit(crmhub.EventSyncRecordGone, subject, crmhub.SyncRecordGonePayload{
				ConnectionID: crmhub.GlobalID(crmhub.KindConnection, conn), Entity: entity, ExternalID: l.ExternalID,
				SubjectID: subject, Action: gone})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("db: delete sync links: %w", err)
	}
	return nil
}

func localGlobalID(entity crmhub.SyncEntity, id uuid.UUID) string {
	switch entity {
	case crmhub.SyncDeals:
		return crmhub.GlobalID(crmhub.KindDeal, id)
	case crmhub.SyncUsers:
		return crmhub.GlobalID(crmhub.KindUser, id)
	}
	return crmhub.GlobalID(crmhub.KindContact, id)
}

// PushPosition returns the event position up to which the connection's
// changes have been pushed.
func (s *SyncService) PushPosition(ctx context.Context, ws, conn uuid.UUID) (int64, error) {
	var pos int64
	err := s.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Table("connections").Column("push_position").
			Where("workspace_id = ? AND id = ?", ws, conn).Scan(ctx, &pos)
	})
	if err != nil {
		return 0, notFound(err, crmhub.KindConnection, "load push position")
	}
	return pos, nil
}

// SetPushPosition advances the push position.
func (s *SyncService) SetPushPosition(ctx context.Context, ws, conn uuid.UUID, pos int64) error {
	err := s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		_, err := t.NewUpdate().Table("connections").Set("push_position = greatest(push_position, ?)", pos).
			Where("workspace_id = ? AND id = ?", ws, conn).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("db: save push position: %w", err)
	}
	return nil
}

// pushedTypes are the events a push looks at.
var pushedTypes = []crmhub.EventType{crmhub.EventContactCreated, crmhub.EventContactUpdated, crmhub.EventContactDeleted,
	crmhub.EventContactMerged, crmhub.EventIdentityLinked, crmhub.EventConsentChanged, crmhub.EventSuppressionChanged,
	crmhub.EventDealCreated, crmhub.EventDealUpdated, crmhub.EventDealDeleted, crmhub.EventUserUpserted,
	crmhub.EventUserDeleted}

// PushChanges returns up to limit events after position `after` that a
// push of the connection must handle, skipping those whose origin is the
// connection itself (no echo), and the last position it looked at (so
// the caller can advance past skipped events). It reads at most 10 times
// limit events per call.
func (s *SyncService) PushChanges(ctx context.Context, ws, conn uuid.UUID, after int64, limit int) ([]*crmhub.Event, int64, error) {
	origin := crmhub.GlobalID(crmhub.KindConnection, conn)
	var rows []eventRow
	last := after
	err := s.db.inWorkspace(ctx, ws, "system", true, func(ctx context.Context, t *tx) error {
		var seq int64
		if err := t.NewRaw("SELECT event_seq FROM workspaces WHERE id = ?", ws).Scan(ctx, &seq); err != nil {
			return err
		}
		upto := min(seq, after+int64(10*limit))
		err := t.NewSelect().Model(&rows).
			Where("workspace_id = ? AND position > ? AND position <= ? AND origin <> ? AND type IN (?)",
				ws, after, upto, origin, bun.List(pushedTypes)).
			Order("position").Limit(int64(limit)).Scan(ctx)
		if err != nil {
			return err
		}
		last = upto
		if len(rows) == limit {
			last = rows[len(rows)-1].Position
		}
		return nil
	})
	if err != nil {
		return nil, after, fmt.Errorf("db: load changes to push: %w", err)
	}
	out := make([]*crmhub.Event, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, last, nil
}

// IdentityConflicts.

type identityConflictRow struct {
	bun.BaseModel `bun:"table:identity_conflicts"`

	WorkspaceID  uuid.UUID           `bun:"workspace_id,pk,type:uuid"`
	ID           uuid.UUID           `bun:"id,pk,type:uuid"`
	ConnectionID uuid.UUID           `bun:"connection_id,type:uuid"`
	Entity       string              `bun:"entity"`
	ExternalID   string              `bun:"external_id"`
	Identifiers  []crmhub.Identifier `bun:"identifiers,type:jsonb"`
	Candidates   []uuid.UUID         `bun:"candidates,type:uuid[],array"`
	Status       string              `bun:"status"`
	Resolution   *string             `bun:"resolution"`
	ContactID    *uuid.UUID          `bun:"contact_id,type:uuid"`
	CreatedAt    time.Time           `bun:"created_at"`
	UpdatedAt    time.Time           `bun:"updated_at"`
	ResolvedAt   *time.Time          `bun:"resolved_at"`
}

func (r *identityConflictRow) domain() *crmhub.IdentityConflict {
	c := &crmhub.IdentityConflict{ID: r.ID, ConnectionID: r.ConnectionID, Entity: crmhub.SyncEntity(r.Entity),
		ExternalID: r.ExternalID, Identifiers: r.Identifiers, Candidates: r.Candidates, Status: crmhub.ConflictStatus(r.Status),
		ContactID: r.ContactID, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ResolvedAt: r.ResolvedAt}
	if r.Resolution != nil {
		res := crmhub.ConflictResolution(*r.Resolution)
		c.Resolution = &res
	}
	return c
}

// RecordConflict opens a conflict for a remote record, or refreshes the
// open one (identifiers and candidates). It emits identity.conflict when
// the conflict is new and reports whether it was.
func (s *SyncService) RecordConflict(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, externalID string,
	idents []crmhub.Identifier, candidates []uuid.UUID) (bool, error) {
	var created bool
	err := s.db.inWorkspace(ctx, ws, systemActor(conn), false, func(ctx context.Context, t *tx) error {
		row := identityConflictRow{WorkspaceID: ws, ID: newID(), ConnectionID: conn, Entity: string(entity), ExternalID: externalID,
			Identifiers: idents, Candidates: candidates, Status: string(crmhub.ConflictOpen), CreatedAt: t.now, UpdatedAt: t.now}
		var id uuid.UUID
		err := t.NewInsert().Model(&row).
			On("CONFLICT (workspace_id, connection_id, entity, external_id) WHERE status = 'OPEN' DO UPDATE").
			Set("identifiers = EXCLUDED.identifiers, candidates = EXCLUDED.candidates, updated_at = EXCLUDED.updated_at").
			Returning("id").Scan(ctx, &id)
		if err != nil {
			return err
		}
		if created = id == row.ID; created {
			gid := row.domain().GlobalID()
			cands := make([]string, len(candidates))
			for i, c := range candidates {
				cands[i] = crmhub.GlobalID(crmhub.KindContact, c)
			}
			t.emit(crmhub.EventIdentityConflict, gid, crmhub.IdentityConflictPayload{ID: gid,
				ConnectionID: crmhub.GlobalID(crmhub.KindConnection, conn), ExternalID: externalID, CandidateIDs: cands})
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("db: record identity conflict: %w", err)
	}
	return created, nil
}

const identityConflictOrder = "identity_conflicts"

// IdentityConflicts lists conflicts, newest first.
func (s *SyncService) IdentityConflicts(ctx context.Context, status *crmhub.ConflictStatus, first int, after string) (*crmhub.IdentityConflictConnection, error) {
	n, cur, err := pageArgs(first, after, identityConflictOrder)
	if err != nil {
		return nil, err
	}
	var rows []identityConflictRow
	err = s.db.read(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		q := t.NewSelect().Model(&rows).Where("workspace_id = ?", t.ws)
		if status != nil {
			q.Where("status = ?", string(*status))
		}
		return byID(q, cur, n, true).Scan(ctx)
	})
	if err != nil {
		return nil, passOrWrap(err, "list identity conflicts")
	}
	es, info := edges(rows, n, cur != nil, idCursor(identityConflictOrder, func(r *identityConflictRow) uuid.UUID { return r.ID }),
		func(c string, r *identityConflictRow) *crmhub.IdentityConflictEdge {
			return &crmhub.IdentityConflictEdge{Cursor: c, Node: r.domain()}
		})
	return &crmhub.IdentityConflictConnection{Edges: es, PageInfo: info}, nil
}

// CountIdentityConflicts counts conflicts, optionally of one status.
func (s *SyncService) CountIdentityConflicts(ctx context.Context, status *crmhub.ConflictStatus) (int, error) {
	var n int
	err := s.db.read(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		q := t.NewSelect().Model((*identityConflictRow)(nil)).Where("workspace_id = ?", t.ws)
		if status != nil {
			q.Where("status = ?", string(*status))
		}
		c, err := q.Count(ctx)
		n = int(c)
		return err
	})
	return n, passOrWrap(err, "count identity conflicts")
}

// IdentityConflict returns one conflict.
func (s *SyncService) IdentityConflict(ctx context.Context, id uuid.UUID) (*crmhub.IdentityConflict, error) {
	var row identityConflictRow
	err := s.db.read(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		err := t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx)
		return notFound(err, crmhub.KindIdentityConflict, "load identity conflict")
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

// ResolveIdentityConflict resolves an open conflict. MERGE merges the other
// candidates into the chosen contact; PICK links the record's EXTERNAL_ID
// to it. Either way the remote record is linked to the chosen contact, so
// the next run updates that contact; with PICK, the identifiers owned by
// other contacts stay with them.
func (s *SyncService) ResolveIdentityConflict(ctx context.Context, id uuid.UUID, how crmhub.ConflictResolution, contactID uuid.UUID) (*crmhub.IdentityConflict, error) {
	if _, err := crmhub.Require(ctx, crmhub.ScopeContactsWrite); err != nil {
		return nil, err
	}
	c, err := s.IdentityConflict(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case how != crmhub.ResolveMerge && how != crmhub.ResolvePick:
		return nil, crmhub.Invalid("resolution", "MERGE or PICK")
	case c.Status != crmhub.ConflictOpen:
		return nil, crmhub.Invalid("id", "the conflict is already resolved")
	case !slices.Contains(c.Candidates, contactID):
		return nil, crmhub.Invalid("contactId", "the contact is not one of the conflict's candidates")
	}
	if how == crmhub.ResolveMerge {
		others := slices.DeleteFunc(slices.Clone(c.Candidates), func(x uuid.UUID) bool { return x == contactID })
		if _, err := s.contacts.MergeContacts(ctx, contactID, others, false); err != nil {
			return nil, err
		}
	}
	ext := crmhub.Identifier{Type: crmhub.IdentityExternalID, Value: c.ExternalID,
		Source: crmhub.GlobalID(crmhub.KindConnection, c.ConnectionID)}
	if _, err := s.contacts.AddIdentities(ctx, contactID, []crmhub.Identifier{ext}); err != nil {
		return nil, err
	}
	err = s.db.write(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		var row identityConflictRow
		_, err := t.NewUpdate().Model(&row).
			Set("status = ?, resolution = ?, contact_id = ?, resolved_at = ?, updated_at = ?",
				string(crmhub.ConflictResolved), string(how), contactID, t.now, t.now).
			Where("workspace_id = ? AND id = ? AND status = ?", t.ws, id, string(crmhub.ConflictOpen)).
			Returning("*").Exec(ctx)
		if err != nil {
			return err
		}
		if row.ID == uuid.Nil {
			return crmhub.Invalid("id", "the conflict is already resolved")
		}
		_, err = t.NewInsert().Model(&syncLinkRow{WorkspaceID: t.ws, ConnectionID: c.ConnectionID, Entity: string(c.Entity),
			ExternalID: c.ExternalID, LocalID: contactID, Fingerprint: []byte{}, UpdatedAt: t.now}).
			On("CONFLICT (workspace_id, connection_id, entity, external_id) DO UPDATE").
			Set("local_id = EXCLUDED.local_id, fingerprint = EXCLUDED.fingerprint, updated_at = EXCLUDED.updated_at").
			Exec(ctx)
		if err != nil {
			return err
		}
		c = row.domain()
		return nil
	})
	if err != nil {
		return nil, passOrWrap(err, "resolve identity conflict")
	}
	return c, nil
}

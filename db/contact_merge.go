package db

import (
	"context"
	"fmt"
	"slices"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// MergeContacts moves everything the sources own onto the target, deletes
// the sources and leaves redirects from their ids to the target. A dry run
// does all of it in a transaction that is rolled back, so the preview is
// exactly what a real merge would produce.
func (s *ContactService) MergeContacts(ctx context.Context, target uuid.UUID, sources []uuid.UUID, dryRun bool) (*crmhub.MergeResult, error) {
	if len(sources) == 0 {
		return nil, crmhub.Invalid("sourceIds", "at least one source contact is required")
	}
	if len(sources) > crmhub.MaxBatch {
		return nil, tooMany(len(sources))
	}
	if dryRun {
		ctx = crmhub.WithDryRun(ctx)
	}
	var res *crmhub.MergeResult
	err := s.db.write(ctx, crmhub.ScopeContactsWrite, func(ctx context.Context, t *tx) error {
		var err error
		res, err = merge(ctx, t, target, sources)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func merge(ctx context.Context, t *tx, target uuid.UUID, sources []uuid.UUID) (*crmhub.MergeResult, error) {
	all := append([]uuid.UUID{target}, sources...)
	resolved, err := resolveContactIDs(ctx, t, all)
	if err != nil {
		return nil, err
	}
	tid, ok := resolved[target]
	if !ok {
		return nil, &crmhub.Error{Code: crmhub.ENOTFOUND, Field: "targetId", Message: "target contact not found"}
	}
	var srcs []uuid.UUID
	for i, sid := range sources {
		r, ok := resolved[sid]
		if !ok {
			return nil, &crmhub.Error{Code: crmhub.ENOTFOUND, Field: fmt.Sprintf("sourceIds[%d]", i), Message: "source contact not found"}
		}
		if r == tid {
			return nil, crmhub.Invalid(fmt.Sprintf("sourceIds[%d]", i), "a contact cannot be merged into itself")
		}
		if !slices.Contains(srcs, r) {
			srcs = append(srcs, r)
		}
	}

	// Lock the identities the merge moves, then the contacts, in the same
	// order applyChanges uses, so a concurrent upsert cannot link one of
	// them to a source that is about to vanish.
	var idents []identityRow
	if err := t.NewSelect().Model(&idents).Where("workspace_id = ? AND contact_id = ANY(?)", t.ws, pgdialect.Array(srcs)).
		Scan(ctx); err != nil {
		return nil, fmt.Errorf("db: merge: read identities: %w", err)
	}
	keys := make([]crmhub.MatchKey, len(idents))
	for i := range idents {
		keys[i] = idents[i].key()
	}
	if err := lockKeys(ctx, t, keys); err != nil {
		return nil, err
	}
	states, err := loadStates(ctx, t, append([]uuid.UUID{tid}, srcs...))
	if err != nil {
		return nil, err
	}
	tgt := states[tid]
	if tgt == nil {
		return nil, &crmhub.Error{Code: crmhub.ENOTFOUND, Field: "targetId", Message: "target contact not found"}
	}
	res := &crmhub.MergeResult{MergedIDs: srcs}

	// Fields: the target's values win; a source fills what the target
	// lacks, and the values it fills are the merge's (their provenance).
	changed := false
	for _, sid := range srcs {
		src := states[sid]
		if src == nil {
			return nil, crmhub.Errorf(crmhub.ENOTFOUND, "source contact not found")
		}
		if tgt.row.Name == nil && src.row.Name != nil {
			tgt.row.Name, changed = src.row.Name, true
			tgt.row.FieldSources.Set(crmhub.SourceMerge, t.now, "name")
		}
		if tgt.row.URI == nil && src.row.URI != nil {
			tgt.row.URI, changed = src.row.URI, true
		}
		for k, v := range src.row.CustomFields {
			if _, has := tgt.row.CustomFields[k]; !has {
				tgt.row.CustomFields[k], changed = v, true
				tgt.row.FieldSources.Set(crmhub.SourceMerge, t.now, crmhub.CustomFieldPrefix+k)
			}
		}
		for _, tag := range src.tags {
			if !slices.Contains(tgt.tags, tag) {
				res.MovedTags++
			}
		}
	}

	// Identities move by delete, then re-insert, not by an UPDATE: one
	// number held under two types (WHATSAPP and PHONE share a match class)
	// would be on two contacts between the UPDATE's rows, and the exclusion
	// constraint checks each row as it goes (in one statement too, so the
	// two are separate statements).
	var movedIdents []identityRow
	if err := t.NewDelete().Model(&movedIdents).Where("workspace_id = ? AND contact_id = ANY(?)", t.ws, pgdialect.Array(srcs)).
		Returning("*").Scan(ctx); err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("db: merge: take identities: %w", err)
	}
	for i := range movedIdents {
		movedIdents[i].ContactID = tid
	}
	if len(movedIdents) > 0 {
		if _, err := t.NewInsert().Model(&movedIdents).Exec(ctx); err != nil {
			return nil, fmt.Errorf("db: merge: move identities: %w", err)
		}
	}
	res.MovedIdentities = len(movedIdents)
	moved, err := t.NewUpdate().Model((*noteRow)(nil)).Set("contact_id = ?", tid).
		Where("workspace_id = ? AND contact_id = ANY(?)", t.ws, pgdialect.Array(srcs)).Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: merge: move notes: %w", err)
	}
	n, _ := moved.RowsAffected()
	res.MovedNotes = int(n)
	if _, err := t.NewRaw(`INSERT INTO contact_tags (workspace_id, contact_id, tag, created_at)
		SELECT workspace_id, ?, tag, created_at FROM contact_tags WHERE workspace_id = ? AND contact_id = ANY(?)
		ON CONFLICT DO NOTHING`, tid, t.ws, pgdialect.Array(srcs)).Exec(ctx); err != nil {
		return nil, fmt.Errorf("db: merge: copy tags: %w", err)
	}
	if err := mergeOwned(ctx, t, tid, srcs); err != nil {
		return nil, err
	}
	// Redirects that led to a source now lead to the target, and each
	// source's own id does too. Both must happen before the sources are
	// deleted, which cascades to redirects that still point at them.
	if _, err := t.NewRaw("UPDATE contact_redirects SET target_id = ? WHERE workspace_id = ? AND target_id = ANY(?)",
		tid, t.ws, pgdialect.Array(srcs)).Exec(ctx); err != nil {
		return nil, fmt.Errorf("db: merge: move redirects: %w", err)
	}
	if _, err := t.NewRaw(`INSERT INTO contact_redirects (workspace_id, old_id, target_id, merged_at)
		SELECT ?, unnest(?::uuid[]), ?, ?`, t.ws, pgdialect.Array(srcs), tid, t.now).Exec(ctx); err != nil {
		return nil, fmt.Errorf("db: merge: add redirects: %w", err)
	}
	if _, err := t.NewDelete().Model((*contactRow)(nil)).Where("workspace_id = ? AND id = ANY(?)", t.ws, pgdialect.Array(srcs)).
		Exec(ctx); err != nil {
		return nil, fmt.Errorf("db: merge: delete sources: %w", err)
	}
	tgt.row.UpdatedAt = t.now
	cols := []string{"updated_at"}
	if changed {
		cols = append(cols, "name", "uri", "custom_fields", "field_sources")
	}
	if _, err := t.NewUpdate().Model(tgt.row).Column(cols...).WherePK().Exec(ctx); err != nil {
		return nil, fmt.Errorf("db: merge: update target: %w", err)
	}

	gid := crmhub.GlobalID(crmhub.KindContact, tid)
	srcIDs := make([]string, len(srcs))
	for i, sid := range srcs {
		srcIDs[i] = crmhub.GlobalID(crmhub.KindContact, sid)
	}
	t.emit(crmhub.EventContactMerged, gid, crmhub.ContactMergedPayload{ID: gid, SourceIDs: srcIDs,
		MovedIdentities: res.MovedIdentities, MovedNotes: res.MovedNotes})
	res.Contact = tgt.row.domain()
	return res, nil
}

// mergeOwned moves what the data model hangs on contacts beyond identities,
// notes and tags: deal links, conversations, consent history, suppressions,
// and current consents, where per channel the most restrictive status wins.
func mergeOwned(ctx context.Context, t *tx, tid uuid.UUID, srcs []uuid.UUID) error {
	srcArr := pgdialect.Array(srcs)
	stmts := []struct {
		op, sql string
	}{
		{"link deals", `INSERT INTO deal_contacts (workspace_id, deal_id, contact_id, created_at)
			SELECT workspace_id, deal_id, ?0, created_at FROM deal_contacts WHERE workspace_id = ?1 AND contact_id = ANY(?2)
			ON CONFLICT DO NOTHING`},
		// Two live conversations on one chat cannot both survive: the
		// source's is closed, its messages kept.
		{"close clashing conversations", `UPDATE conversations AS s SET status = 'CLOSED' WHERE s.workspace_id = ?1
			AND s.contact_id = ANY(?2) AND s.status <> 'CLOSED' AND EXISTS (SELECT 1 FROM conversations c
			WHERE c.workspace_id = ?1 AND c.contact_id = ?0 AND c.channel = s.channel AND c.chat_id = s.chat_id AND c.status <> 'CLOSED')`},
		{"move conversations", `UPDATE conversations SET contact_id = ?0 WHERE workspace_id = ?1 AND contact_id = ANY(?2)`},
		{"move consent history", `UPDATE consent_history SET contact_id = ?0 WHERE workspace_id = ?1 AND contact_id = ANY(?2)`},
		{"move suppressions", `UPDATE suppressions SET contact_id = ?0 WHERE workspace_id = ?1 AND contact_id = ANY(?2)`},
	}
	for _, st := range stmts {
		if _, err := t.NewRaw(st.sql, tid, t.ws, srcArr).Exec(ctx); err != nil {
			return fmt.Errorf("db: merge: %s: %w", st.op, err)
		}
	}
	var rows []consentRow
	all := append([]uuid.UUID{tid}, srcs...)
	// The target's record comes first, so it wins ties.
	if err := t.NewSelect().Model(&rows).Where("workspace_id = ? AND contact_id = ANY(?)", t.ws, pgdialect.Array(all)).
		OrderExpr("contact_id = ? DESC", tid).For("UPDATE").Scan(ctx); err != nil {
		return fmt.Errorf("db: merge: read consents: %w", err)
	}
	winners := map[string]consentRow{}
	for _, r := range rows {
		w, ok := winners[r.Channel]
		if !ok || crmhub.MoreRestrictive(crmhub.ConsentStatus(w.Status), crmhub.ConsentStatus(r.Status)) != crmhub.ConsentStatus(w.Status) {
			winners[r.Channel] = r
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := t.NewDelete().Model((*consentRow)(nil)).Where("workspace_id = ? AND contact_id = ANY(?)", t.ws, pgdialect.Array(all)).
		Exec(ctx); err != nil {
		return fmt.Errorf("db: merge: clear consents: %w", err)
	}
	keep := make([]consentRow, 0, len(winners))
	for _, w := range winners {
		w.ContactID = tid
		keep = append(keep, w)
	}
	if _, err := t.NewInsert().Model(&keep).Exec(ctx); err != nil {
		return fmt.Errorf("db: merge: keep consents: %w", err)
	}
	return nil
}

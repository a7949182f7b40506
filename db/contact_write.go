package db

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"reflect"
	"slices"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// This file holds the one write path for contacts. Creating, updating,
// upserting and linking identities are all "changes" applied by
// applyChanges, so the matching rule lives in one place and a batch of 100
// costs a constant number of statements.

// changeMode says how a change picks its contact.
type changeMode int

const (
	// modeUpsert: no identifier matches -> create; one contact -> update it;
	// several -> CONFLICT.
	modeUpsert changeMode = iota
	// modeCreate: any identifier that already has a contact -> CONFLICT.
	modeCreate
	// modeUpdate: change the target contact; an identifier owned by another
	// contact -> CONFLICT.
	modeUpdate
)

// contactChange is one write to one contact.
type contactChange struct {
	mode   changeMode
	target uuid.UUID           // modeUpdate only
	ids    []crmhub.Identifier // normalized; CONTACT_ID allowed in modeUpsert
	patch  crmhub.ContactPatch // normalized
	// addTags and removeTags adjust the tag set without replacing it.
	addTags, removeTags []string
	// nameIfNew names the contact only if this change creates it (an inbound
	// message's sender name must not overwrite a name the CRM keeps).
	nameIfNew *string
}

// changeResult is the outcome of one change.
type changeResult struct {
	status  crmhub.UpsertStatus
	contact *crmhub.Contact
	err     *crmhub.Error
}

// contactState is a contact as the batch changes it in memory.
type contactState struct {
	row       *contactRow
	isNew     bool
	dirty     bool // fields changed: needs UPDATE (existing contacts)
	tags      []string
	origTags  []string
	newIdents []identityRow
}

type identTypeKey struct {
	key crmhub.MatchKey
	typ crmhub.IdentityType
}

// applyChanges matches and applies changes in order; later changes see the
// effect of earlier ones (a contact created by change 1 is matched by
// change 2). It takes advisory locks on every identity it may link, so two
// concurrent writers cannot both create a contact for the same identity.
func applyChanges(ctx context.Context, t *tx, changes []contactChange) ([]changeResult, error) {
	results := make([]changeResult, len(changes))

	// Read what the identifiers and target ids point at today.
	var keys []crmhub.MatchKey
	var askedIDs []uuid.UUID
	for _, c := range changes {
		if c.mode == modeUpdate {
			askedIDs = append(askedIDs, c.target)
		}
		for _, id := range c.ids {
			if id.Type == crmhub.IdentityContactID {
				uid, _ := crmhub.ParseID(crmhub.KindContact, id.Value)
				askedIDs = append(askedIDs, uid)
			} else {
				keys = append(keys, id.MatchKey())
			}
		}
	}
	if err := lockKeys(ctx, t, keys); err != nil {
		return nil, err
	}
	owned, err := lookupIdentities(ctx, t, keys)
	if err != nil {
		return nil, err
	}
	owner := make(map[crmhub.MatchKey]uuid.UUID, len(owned))
	hasType := make(map[identTypeKey]bool, len(owned))
	for _, r := range owned {
		owner[r.key()] = r.ContactID
		hasType[identTypeKey{r.key(), crmhub.IdentityType(r.Type)}] = true
	}
	resolved, err := resolveContactIDs(ctx, t, askedIDs)
	if err != nil {
		return nil, err
	}
	users, err := existingUsers(ctx, t, changes)
	if err != nil {
		return nil, err
	}

	// Pass 1: decide which contact each change writes to.
	targets := make([]uuid.UUID, len(changes))
	created := map[uuid.UUID]bool{}
	var existing []uuid.UUID
	for i, c := range changes {
		target, isNew, cerr := matchChange(c, owner, resolved)
		if u := c.patch.ResponsibleUserID; cerr == nil && u != nil && !users[*u] {
			cerr = &crmhub.Error{Code: crmhub.ENOTFOUND, Field: "responsibleUserId", Message: "user not found"}
		}
		if cerr != nil {
			results[i] = changeResult{status: crmhub.UpsertFailed, err: cerr}
			continue
		}
		if isNew {
			target = newID()
			created[target] = true
		} else if !created[target] && !slices.Contains(existing, target) {
			existing = append(existing, target)
		}
		targets[i] = target
		for _, id := range c.ids {
			if id.Type != crmhub.IdentityContactID {
				owner[id.MatchKey()] = target
			}
		}
	}

	// Load the existing contacts the batch writes to, locked against
	// concurrent writers, in id order so that two batches cannot deadlock.
	states, err := loadStates(ctx, t, existing)
	if err != nil {
		return nil, err
	}

	// Pass 2: apply each change in memory and judge what it changed.
	for i, c := range changes {
		if results[i].err != nil {
			continue
		}
		st := states[targets[i]]
		status := crmhub.UpsertUpdated
		if created[targets[i]] && st == nil {
			row := &contactRow{WorkspaceID: t.ws, ID: targets[i], CustomFields: map[string]any{},
				CreatedAt: t.now, UpdatedAt: t.now}
			st = &contactState{row: row, isNew: true}
			states[targets[i]] = st
			status = crmhub.UpsertCreated
		} else if st == nil { // deleted since its identities were read
			results[i] = changeResult{status: crmhub.UpsertFailed,
				err: crmhub.Errorf(crmhub.ENOTFOUND, "contact not found")}
			continue
		}
		if status == crmhub.UpsertCreated && c.patch.Name == nil {
			c.patch.Name = c.nameIfNew
		}
		changed, linked := applyToState(t, st, c, hasType)
		switch {
		case status == crmhub.UpsertCreated:
			// The creation event lists the identities; none is "linked".
			t.emit("contact.created", st.row.domain().GlobalID(), contactPayload(st, nil))
		case len(changed) > 0 || len(linked) > 0:
			gid := st.row.domain().GlobalID()
			for _, l := range linked {
				t.emit("identity.linked", gid, map[string]any{"contactId": gid, "type": l.Type, "value": l.Value, "source": l.Source})
			}
			// A linked identity changes the contact too: updatedSince
			// filters and syncs must see it.
			st.row.UpdatedAt = t.now
			st.dirty = !st.isNew
			if len(changed) > 0 {
				t.emit("contact.updated", gid, contactPayload(st, changed))
			}
		default:
			status = crmhub.UpsertUnchanged
		}
		results[i] = changeResult{status: status}
	}

	if err := writeStates(ctx, t, states); err != nil {
		return nil, err
	}
	for i := range results {
		if results[i].err == nil {
			results[i].contact = states[targets[i]].row.domain()
		}
	}
	return results, nil
}

// matchChange applies the matching rule of c's mode. It returns the target
// contact, or isNew when a contact is to be created.
func matchChange(c contactChange, owner map[crmhub.MatchKey]uuid.UUID, resolved map[uuid.UUID]uuid.UUID) (uuid.UUID, bool, *crmhub.Error) {
	var matched []uuid.UUID
	add := func(id uuid.UUID) {
		if !slices.Contains(matched, id) {
			matched = append(matched, id)
		}
	}
	if c.mode == modeUpdate {
		t, ok := resolved[c.target]
		if !ok {
			return uuid.Nil, false, crmhub.Errorf(crmhub.ENOTFOUND, "contact not found")
		}
		add(t)
	}
	for j, id := range c.ids {
		if id.Type == crmhub.IdentityContactID {
			uid, _ := crmhub.ParseID(crmhub.KindContact, id.Value)
			t, ok := resolved[uid]
			if !ok {
				return uuid.Nil, false, crmhub.Invalid(fmt.Sprintf("identifiers[%d].value", j), "no contact with this CONTACT_ID")
			}
			add(t)
		} else if o, ok := owner[id.MatchKey()]; ok {
			add(o)
		}
	}
	switch {
	case c.mode == modeCreate && len(matched) > 0:
		return uuid.Nil, false, &crmhub.Error{Code: crmhub.ECONFLICT,
			Message:    "an identifier already belongs to a contact",
			Extensions: map[string]any{"contactId": crmhub.GlobalID(crmhub.KindContact, matched[0])}}
	case len(matched) > 1:
		gids := make([]string, len(matched))
		for i, m := range matched {
			gids[i] = crmhub.GlobalID(crmhub.KindContact, m)
		}
		msg := "the identifiers belong to different contacts"
		if c.mode == modeUpdate {
			msg = "an identifier already belongs to another contact"
		}
		return uuid.Nil, false, &crmhub.Error{Code: crmhub.ECONFLICT, Message: msg,
			Extensions: map[string]any{"contactIds": gids}}
	case len(matched) == 1:
		return matched[0], false, nil
	}
	return uuid.Nil, true, nil
}

// applyToState changes st by c and returns the names of the changed fields
// and the identities c linked to the contact.
func applyToState(t *tx, st *contactState, c contactChange, hasType map[identTypeKey]bool) (changed []string, linked []identityRow) {
	r := st.row
	if setString(&r.Name, c.patch.Name) {
		changed = append(changed, "name")
	}
	if setString(&r.URI, c.patch.URI) {
		changed = append(changed, "uri")
	}
	if u := c.patch.ResponsibleUserID; (u != nil || c.patch.ClearResponsibleUser) && !reflect.DeepEqual(r.ResponsibleUserID, u) {
		r.ResponsibleUserID = u
		changed = append(changed, "responsibleUser")
	}
	if c.patch.CustomFields != nil {
		if merged, ok := crmhub.MergeCustomFields(r.CustomFields, c.patch.CustomFields); ok {
			r.CustomFields = merged
			changed = append(changed, "customFields")
		}
	}
	tags := st.tags
	if c.patch.Tags != nil {
		tags = *c.patch.Tags
	}
	if len(c.addTags) > 0 {
		tags = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(tags), c.addTags...))))
	}
	if len(c.removeTags) > 0 {
		tags = slices.DeleteFunc(slices.Clone(tags), func(s string) bool { return slices.Contains(c.removeTags, s) })
	}
	if !slices.Equal(tags, st.tags) {
		st.tags = tags
		changed = append(changed, "tags")
	}
	for _, id := range c.ids {
		if id.Type == crmhub.IdentityContactID {
			continue
		}
		k := identTypeKey{id.MatchKey(), id.Type}
		if hasType[k] {
			continue
		}
		hasType[k] = true
		row := identityRow{WorkspaceID: t.ws, MatchClass: k.key.Class, MatchSource: k.key.Source, Value: id.Value,
			Type: string(id.Type), ContactID: r.ID, CreatedAt: t.now}
		if id.Source != "" {
			src := id.Source
			row.Source = &src
		}
		st.newIdents = append(st.newIdents, row)
		linked = append(linked, row)
	}
	return changed, linked
}

// contactPayload is the event payload describing a contact.
func contactPayload(st *contactState, changed []string) map[string]any {
	c := st.row.domain()
	p := map[string]any{"id": c.GlobalID(), "name": c.Name, "uri": c.URI, "customFields": c.CustomFields,
		"tags": st.tags}
	if changed != nil {
		p["changed"] = changed
	}
	if st.isNew {
		ids := make([]map[string]any, len(st.newIdents))
		for i, r := range st.newIdents {
			ids[i] = map[string]any{"type": r.Type, "value": r.Value, "source": r.Source}
		}
		p["identities"] = ids
	}
	return p
}

// loadStates reads and locks existing contacts and their tags.
func loadStates(ctx context.Context, t *tx, ids []uuid.UUID) (map[uuid.UUID]*contactState, error) {
	states := make(map[uuid.UUID]*contactState, len(ids))
	if len(ids) == 0 {
		return states, nil
	}
	var rows []contactRow
	err := t.NewSelect().Model(&rows).Where("workspace_id = ? AND id = ANY(?)", t.ws, pgdialect.Array(ids)).
		Order("id").For("UPDATE").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: lock contacts: %w", err)
	}
	tags, err := loadTags(ctx, t, ids)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		r := &rows[i]
		if r.CustomFields == nil {
			r.CustomFields = map[string]any{}
		}
		states[r.ID] = &contactState{row: r, tags: tags[r.ID], origTags: tags[r.ID]}
	}
	return states, nil
}

// writeStates stores what applyChanges decided, a few statements for the
// whole batch.
func writeStates(ctx context.Context, t *tx, states map[uuid.UUID]*contactState) error {
	var inserts, updates []*contactRow
	var idents []identityRow
	var addTags []tagRow
	var delContacts []uuid.UUID
	var delTags []string
	for _, st := range sortedStates(states) {
		switch {
		case st.isNew:
			inserts = append(inserts, st.row)
		case st.dirty:
			updates = append(updates, st.row)
		}
		idents = append(idents, st.newIdents...)
		for _, tag := range st.tags {
			if !slices.Contains(st.origTags, tag) {
				addTags = append(addTags, tagRow{WorkspaceID: t.ws, ContactID: st.row.ID, Tag: tag, CreatedAt: t.now})
			}
		}
		for _, tag := range st.origTags {
			if !slices.Contains(st.tags, tag) {
				delContacts = append(delContacts, st.row.ID)
				delTags = append(delTags, tag)
			}
		}
	}
	if len(inserts) > 0 {
		if _, err := t.NewInsert().Model(&inserts).Exec(ctx); err != nil {
			return fmt.Errorf("db: insert contacts: %w", err)
		}
	}
	if len(updates) > 0 {
		ids, names, uris, fields := make([]uuid.UUID, len(updates)), make([]*string, len(updates)),
			make([]*string, len(updates)), make([]string, len(updates))
		responsible := make([]*string, len(updates)) // nil *uuid.UUID elements do not encode

		for i, r := range updates {
			b, err := json.Marshal(r.CustomFields)
			if err != nil {
				return fmt.Errorf("db: encode custom fields: %w", err)
			}
			ids[i], names[i], uris[i], fields[i] = r.ID, r.Name, r.URI, string(b)
			if u := r.ResponsibleUserID; u != nil {
				s := u.String()
				responsible[i] = &s
			}
		}
		_, err := t.NewRaw(`UPDATE contacts AS c SET name = v.name, uri = v.uri, custom_fields = v.fields,
				responsible_user_id = v.responsible, updated_at = ?
			FROM unnest(?::uuid[], ?::text[], ?::text[], ?::jsonb[], ?::uuid[]) AS v(id, name, uri, fields, responsible)
			WHERE c.workspace_id = ? AND c.id = v.id`, t.now, pgdialect.Array(ids), pgdialect.Array(names),
			pgdialect.Array(uris), pgdialect.Array(fields), pgdialect.Array(responsible), t.ws).Exec(ctx)
		if err != nil {
			return fmt.Errorf("db: update contacts: %w", err)
		}
	}
	if len(idents) > 0 {
		if _, err := t.NewInsert().Model(&idents).Exec(ctx); err != nil {
			return fmt.Errorf("db: link identities: %w", err)
		}
	}
	if len(delTags) > 0 {
		_, err := t.NewDelete().Model((*tagRow)(nil)).
			Where("workspace_id = ? AND (contact_id, tag) IN (SELECT * FROM unnest(?::uuid[], ?::text[]))",
				t.ws, pgdialect.Array(delContacts), pgdialect.Array(delTags)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("db: remove tags: %w", err)
		}
	}
	if len(addTags) > 0 {
		if _, err := t.NewInsert().Model(&addTags).Exec(ctx); err != nil {
			return fmt.Errorf("db: add tags: %w", err)
		}
	}
	return nil
}

func sortedStates(states map[uuid.UUID]*contactState) []*contactState {
	keys := slices.SortedFunc(maps.Keys(states), func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	out := make([]*contactState, len(keys))
	for i, k := range keys {
		out[i] = states[k]
	}
	return out
}

// lockKeys takes a transaction-scoped advisory lock per identity key, in a
// fixed order, so that writers linking the same identity queue up.
func lockKeys(ctx context.Context, t *tx, keys []crmhub.MatchKey) error {
	if len(keys) == 0 {
		return nil
	}
	hashes := make([]int64, 0, len(keys))
	for _, k := range keys {
		h := fnv.New64a()
		h.Write(t.ws[:])
		h.Write([]byte(k.String()))
		hashes = append(hashes, int64(h.Sum64()))
	}
	slices.Sort(hashes)
	hashes = slices.Compact(hashes)
	_, err := t.ExecContext(ctx, "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(?::bigint[]) AS k", pgdialect.Array(hashes))
	if err != nil {
		return fmt.Errorf("db: lock identities: %w", err)
	}
	return nil
}

// lookupIdentities returns the stored identities with any of the keys.
func lookupIdentities(ctx context.Context, t *tx, keys []crmhub.MatchKey) ([]identityRow, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	classes, sources, values := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		classes[i], sources[i], values[i] = k.Class, k.Source, k.Value
	}
	var rows []identityRow
	err := t.NewSelect().Model(&rows).
		Where("workspace_id = ?", t.ws).
		Where("(match_class, match_source, value) IN (SELECT * FROM unnest(?::text[], ?::text[], ?::text[]))",
			pgdialect.Array(classes), pgdialect.Array(sources), pgdialect.Array(values)).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: look up identities: %w", err)
	}
	return rows, nil
}

// resolveContactIDs maps each asked id to the contact it names today: itself,
// or the contact it was merged into. Unknown ids are absent.
func resolveContactIDs(ctx context.Context, t *tx, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	out := map[uuid.UUID]uuid.UUID{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		Asked  uuid.UUID `bun:"asked,type:uuid"`
		Target uuid.UUID `bun:"target,type:uuid"`
	}
	err := t.NewRaw(`SELECT id AS asked, id AS target FROM contacts WHERE workspace_id = ? AND id = ANY(?)
		UNION ALL
		SELECT old_id, target_id FROM contact_redirects WHERE workspace_id = ? AND old_id = ANY(?)`,
		t.ws, pgdialect.Array(ids), t.ws, pgdialect.Array(ids)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("db: resolve contact ids: %w", err)
	}
	for _, r := range rows {
		out[r.Asked] = r.Target
	}
	return out, nil
}

// setString applies a patched optional string: nil leaves dst alone, ""
// clears it. It reports whether dst changed.
func setString(dst **string, patch *string) bool {
	if patch == nil {
		return false
	}
	v := patch
	if *patch == "" {
		v = nil
	}
	if reflect.DeepEqual(*dst, v) {
		return false
	}
	*dst = v
	return true
}

// existingUsers reports which of the responsible users the changes name
// exist in the workspace.
func existingUsers(ctx context.Context, t *tx, changes []contactChange) (map[uuid.UUID]bool, error) {
	var ids []uuid.UUID
	for _, c := range changes {
		if u := c.patch.ResponsibleUserID; u != nil && !slices.Contains(ids, *u) {
			ids = append(ids, *u)
		}
	}
	out := make(map[uuid.UUID]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var found []uuid.UUID
	if err := t.NewSelect().Table("users").Column("id").Where("workspace_id = ? AND id = ANY(?)", t.ws, pgdialect.Array(ids)).
		Scan(ctx, &found); err != nil {
		return nil, fmt.Errorf("db: find users: %w", err)
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

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
	"github.com/jackc/pgx/v5"
)

// This file holds the one write path for contacts. Creating, updating,
// upserting and linking identities are all "changes" applied by
// applyChanges, so the matching rule (crmhub.MatchContact) is applied in
// one place and a batch of 100 costs a constant number of statements.

// contactChange is one write to one contact.
type contactChange struct {
	mode   crmhub.MatchMode    // MatchUpsert, MatchCreate or MatchUpdate
	target uuid.UUID           // MatchUpdate only
	ids    []crmhub.Identifier // normalized; CONTACT_ID allowed in MatchUpsert
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

	// Round trip 1: lock the identities, read what they and the target ids
	// point at today, and lock the contacts that may be written to (a
	// superset of those the matching picks), in id order so that two
	// batches cannot deadlock.
	var keys []crmhub.MatchKey
	var askedIDs []uuid.UUID
	for _, c := range changes {
		if c.mode == crmhub.MatchUpdate {
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
	classes, sources, values := keyArrays(keys)
	var owned []identityRow
	if len(keys) > 0 {
		t.queue(lockKeysSQL, keyHashes(t.ws, keys))
		lookup, args := lookupIdentitiesSQL(classes, sources, values)
		t.queue(lookup, append([]any{t.ws}, args...)...).Query(func(rows pgx.Rows) error {
			var err error
			owned, err = scanLookup(rows)
			return err
		})
	}
	owners := crmhub.Owners{Keys: make(map[crmhub.MatchKey]uuid.UUID, len(keys)), IDs: queueResolveContactIDs(t, askedIDs)}
	users := queueExistingUsers(t, changes)
	states := map[uuid.UUID]*contactState{}
	if candidates, args := matchSQL(classes, sources, values, askedIDs); candidates != "" {
		queueLockContacts(t, candidates, args, states)
	}
	if err := t.flush(ctx); err != nil {
		return nil, fmt.Errorf("db: read contacts to change: %w", err)
	}
	hasType := make(map[identTypeKey]bool, len(owned))
	for _, r := range owned {
		owners.Keys[r.key()] = r.ContactID
		hasType[identTypeKey{r.key(), crmhub.IdentityType(r.Type)}] = true
	}

	// Pass 1: decide which contact each change writes to.
	targets := make([]uuid.UUID, len(changes))
	created := map[uuid.UUID]bool{}
	for i, c := range changes {
		target, cerr := crmhub.MatchContact(c.mode, c.target, c.ids, owners)
		if u := c.patch.ResponsibleUserID; cerr == nil && u != nil && !users[*u] {
			cerr = &crmhub.Error{Code: crmhub.ENOTFOUND, Field: "responsibleUserId", Message: "user not found"}
		}
		if cerr != nil {
			results[i] = changeResult{status: crmhub.UpsertFailed, err: cerr}
			continue
		}
		if target == uuid.Nil { // no contact matched: a new one
			target = newID()
			created[target] = true
		}
		targets[i] = target
		for _, id := range c.ids {
			if id.Type != crmhub.IdentityContactID {
				owners.Keys[id.MatchKey()] = target
			}
		}
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
		changed, linked, err := applyToState(t, st, c, hasType)
		if err != nil {
			if status == crmhub.UpsertCreated {
				delete(states, targets[i]) // not created after all
			}
			results[i] = changeResult{status: crmhub.UpsertFailed, err: err}
			continue
		}
		switch {
		case status == crmhub.UpsertCreated:
			// The creation event lists the identities; none is "linked".
			t.emit(crmhub.EventContactCreated, st.row.domain().GlobalID(), contactPayload(st, nil))
		case len(changed) > 0 || len(linked) > 0:
			gid := st.row.domain().GlobalID()
			for _, l := range linked {
				t.emit(crmhub.EventIdentityLinked, gid, crmhub.IdentityLinkedPayload{ContactID: gid, IdentityPayload: l.payload()})
			}
			// A linked identity changes the contact too: updatedSince
			// filters and syncs must see it.
			st.row.UpdatedAt = t.now
			st.dirty = !st.isNew
			if len(changed) > 0 {
				t.emit(crmhub.EventContactUpdated, gid, contactPayload(st, changed))
			}
		default:
			status = crmhub.UpsertUnchanged
		}
		results[i] = changeResult{status: status}
	}

	// Round trip 2, or part of the COMMIT's in a writeBatched transaction.
	if err := queueWrites(t, states); err != nil {
		return nil, err
	}
	if err := t.flushWrites(ctx); err != nil {
		return nil, fmt.Errorf("db: write contacts: %w", err)
	}
	for i := range results {
		if results[i].err == nil {
			results[i].contact = states[targets[i]].row.domain()
		}
	}
	return results, nil
}

// applyToState changes st by c and returns the names of the changed fields
// and the identities c linked to the contact. A change that cannot be
// stored (custom fields past their limit) is an error and changes nothing.
func applyToState(t *tx, st *contactState, c contactChange, hasType map[identTypeKey]bool) (changed []string, linked []identityRow, err *crmhub.Error) {
	r := st.row
	fields, fieldsChanged := r.CustomFields, false
	if c.patch.CustomFields != nil {
		var merr error
		if fields, fieldsChanged, merr = crmhub.MergeCustomFields(r.CustomFields, c.patch.CustomFields); merr != nil {
			return nil, nil, merr.(*crmhub.Error)
		}
	}
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
	before := r.CustomFields
	if fieldsChanged {
		r.CustomFields = fields
		changed = append(changed, "customFields")
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
	r.FieldSources.Record(t.source(), t.now, changed, before, r.CustomFields)
	return changed, linked, nil
}

// encodeSources is a row's field sources as the jsonb column takes them.
func encodeSources(f crmhub.FieldSources) (json.RawMessage, error) {
	if f == nil {
		f = crmhub.FieldSources{}
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("db: encode field sources: %w", err)
	}
	return b, nil
}

// contactPayload is the payload of contact.created and contact.updated.
func contactPayload(st *contactState, changed []string) crmhub.ContactPayload {
	c := st.row.domain()
	tags := st.tags
	if tags == nil {
		tags = []string{} // as the API shows no tags
	}
	p := crmhub.ContactPayload{ID: c.GlobalID(), Name: c.Name, URI: c.URI, CustomFields: c.CustomFields,
		Tags: tags, Changed: changed}
	if st.isNew {
		p.Identities = make([]crmhub.IdentityPayload, len(st.newIdents))
		for i := range st.newIdents {
			p.Identities[i] = st.newIdents[i].payload()
		}
	}
	return p
}

// loadStates reads and locks existing contacts and their tags.
func loadStates(ctx context.Context, t *tx, ids []uuid.UUID) (map[uuid.UUID]*contactState, error) {
	states := make(map[uuid.UUID]*contactState, len(ids))
	if len(ids) == 0 {
		return states, nil
	}
	queueLockContacts(t, "SELECT unnest($2::uuid[])", []any{ids}, states)
	if err := t.flush(ctx); err != nil {
		return nil, fmt.Errorf("db: lock contacts: %w", err)
	}
	return states, nil
}

// queueLockContacts queues the read of the contacts that the SQL in
// selects (its arguments are $2... after the workspace), locked against
// concurrent writers in id order, and then of their tags; flush fills
// states.
func queueLockContacts(t *tx, in string, args []any, states map[uuid.UUID]*contactState) {
	args = append([]any{t.ws}, args...)
	t.queue(`SELECT id, name, uri, custom_fields, responsible_user_id, field_sources, created_at, updated_at FROM contacts
		WHERE workspace_id = $1 AND id IN (`+in+`) ORDER BY id FOR UPDATE`, args...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			r := &contactRow{WorkspaceID: t.ws}
			if err := rows.Scan(&r.ID, &r.Name, &r.URI, &r.CustomFields, &r.ResponsibleUserID, &r.FieldSources, &r.CreatedAt, &r.UpdatedAt); err != nil {
				return err
			}
			if r.CustomFields == nil {
				r.CustomFields = map[string]any{}
			}
			states[r.ID] = &contactState{row: r}
		}
		return rows.Err()
	})
	// A statement of its own: it reads after the locks are granted, so it
	// sees the tags the previous holder of a lock committed.
	t.queue(`SELECT contact_id, tag FROM contact_tags WHERE workspace_id = $1 AND contact_id IN (`+in+`)
		ORDER BY contact_id, tag`, args...).Query(func(rows pgx.Rows) error {
		var id uuid.UUID
		var tag string
		_, err := pgx.ForEachRow(rows, []any{&id, &tag}, func() error {
			if st := states[id]; st != nil {
				st.tags = append(st.tags, tag)
				st.origTags = st.tags
			}
			return nil
		})
		return err
	})
}

// The statements of queueWrites. Contacts are inserted and updated from the
// same arrays: ids, names, uris, custom fields, responsible users.
const (
	insertContactsSQL = `INSERT INTO contacts (workspace_id, id, name, uri, custom_fields, responsible_user_id, field_sources,
			created_at, updated_at)
		SELECT $1, v.id, v.name, v.uri, v.fields, v.responsible, v.sources, $7, $7
		FROM unnest($2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::uuid[], $8::jsonb[])
			AS v(id, name, uri, fields, responsible, sources)`
	updateContactsSQL = `UPDATE contacts AS c SET name = v.name, uri = v.uri, custom_fields = v.fields,
			responsible_user_id = v.responsible, field_sources = v.sources, updated_at = $7
		FROM unnest($2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::uuid[], $8::jsonb[])
			AS v(id, name, uri, fields, responsible, sources)
		WHERE c.workspace_id = $1 AND c.id = v.id`
	insertIdentitiesSQL = `INSERT INTO contact_identities (workspace_id, match_class, match_source, value, type, contact_id, source, created_at)
		SELECT $1, v.*, $8 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[]) AS v`
	// insertContactsAndIdentitiesSQL is both inserts in one statement
	// (identities from $9 on, the time $7): the triggers that keep the
	// search documents run once the statement is over, so a new contact's
	// document is written once, with its identities, instead of once by
	// the contacts' trigger and again by the identities'. (The foreign key
	// from identities to contacts is checked at the end of the statement
	// too.)
	insertContactsAndIdentitiesSQL = `WITH new_contacts AS (` + insertContactsSQL + `)
		INSERT INTO contact_identities (workspace_id, match_class, match_source, value, type, contact_id, source, created_at)
		SELECT $1, v.*, $7 FROM unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::uuid[], $14::text[]) AS v`
	deleteTagsSQL = `DELETE FROM contact_tags WHERE workspace_id = $1
		AND (contact_id, tag) IN (SELECT * FROM unnest($2::uuid[], $3::text[]))`
	insertTagsSQL = `INSERT INTO contact_tags (workspace_id, contact_id, tag, created_at)
		SELECT $1, v.*, $4 FROM unnest($2::uuid[], $3::text[]) AS v`
)

// queueWrites queues what applyChanges decided: at most five statements
// for the whole batch, none for contacts it left unchanged.
func queueWrites(t *tx, states map[uuid.UUID]*contactState) error {
	var inserts, updates []*contactRow
	var idClasses, idSources, idValues, idTypes []string
	var idContacts []uuid.UUID
	var idOrigins []*string
	var addContacts, delContacts []uuid.UUID
	var addTags, delTags []string
	for _, st := range sortedStates(states) {
		switch {
		case st.isNew:
			inserts = append(inserts, st.row)
		case st.dirty:
			updates = append(updates, st.row)
		}
		for _, r := range st.newIdents {
			idClasses, idSources, idValues = append(idClasses, r.MatchClass), append(idSources, r.MatchSource), append(idValues, r.Value)
			idTypes, idContacts, idOrigins = append(idTypes, r.Type), append(idContacts, r.ContactID), append(idOrigins, r.Source)
		}
		for _, tag := range st.tags {
			if !slices.Contains(st.origTags, tag) {
				addContacts, addTags = append(addContacts, st.row.ID), append(addTags, tag)
			}
		}
		for _, tag := range st.origTags {
			if !slices.Contains(st.tags, tag) {
				delContacts, delTags = append(delContacts, st.row.ID), append(delTags, tag)
			}
		}
	}
	for _, w := range []struct {
		sql  string
		rows []*contactRow
	}{{insertContactsSQL, inserts}, {updateContactsSQL, updates}} {
		if len(w.rows) == 0 {
			continue
		}
		ids, names, uris := make([]uuid.UUID, len(w.rows)), make([]*string, len(w.rows)), make([]*string, len(w.rows))
		fields, responsible := make([]json.RawMessage, len(w.rows)), make([]*uuid.UUID, len(w.rows))
		sources := make([]json.RawMessage, len(w.rows))
		for i, r := range w.rows {
			b, err := json.Marshal(r.CustomFields)
			if err != nil {
				return fmt.Errorf("db: encode custom fields: %w", err)
			}
			if sources[i], err = encodeSources(r.FieldSources); err != nil {
				return err
			}
			ids[i], names[i], uris[i], fields[i], responsible[i] = r.ID, r.Name, r.URI, b, r.ResponsibleUserID
		}
		if w.sql == insertContactsSQL && len(idContacts) > 0 {
			t.queue(insertContactsAndIdentitiesSQL, t.ws, ids, names, uris, fields, responsible, t.now, sources,
				idClasses, idSources, idValues, idTypes, idContacts, idOrigins)
			idContacts = nil
			continue
		}
		t.queue(w.sql, t.ws, ids, names, uris, fields, responsible, t.now, sources)
	}
	if len(idContacts) > 0 {
		t.queue(insertIdentitiesSQL, t.ws, idClasses, idSources, idValues, idTypes, idContacts, idOrigins, t.now)
	}
	if len(delTags) > 0 {
		t.queue(deleteTagsSQL, t.ws, delContacts, delTags)
	}
	if len(addTags) > 0 {
		t.queue(insertTagsSQL, t.ws, addContacts, addTags, t.now)
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

// lockKeysSQL takes a transaction-scoped advisory lock per hash of
// keyHashes, in their order.
const lockKeysSQL = "SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k"

// lockKeys takes a transaction-scoped advisory lock per identity key, in a
// fixed order, so that writers linking the same identity queue up.
func lockKeys(ctx context.Context, t *tx, keys []crmhub.MatchKey) error {
	if len(keys) == 0 {
		return nil
	}
	t.queue(lockKeysSQL, keyHashes(t.ws, keys))
	if err := t.flush(ctx); err != nil {
		return fmt.Errorf("db: lock identities: %w", err)
	}
	return nil
}

// keyHashes are the sorted, distinct advisory lock keys of identity keys.
func keyHashes(ws uuid.UUID, keys []crmhub.MatchKey) []int64 {
	hashes := make([]int64, 0, len(keys))
	for _, k := range keys {
		h := fnv.New64a()
		h.Write(ws[:])
		h.Write([]byte(k.String()))
		hashes = append(hashes, int64(h.Sum64()))
	}
	slices.Sort(hashes)
	return slices.Compact(hashes)
}

// keyArrays splits keys into the three arrays of identitiesByKeysSQL.
func keyArrays(keys []crmhub.MatchKey) (classes, sources, values []string) {
	classes, sources, values = make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		classes[i], sources[i], values[i] = k.Class, k.Source, k.Value
	}
	return classes, sources, values
}

// resolveContactIDs maps each asked id to the contact it names today:
// itself, or the contact it was merged into. Unknown ids are absent.
func resolveContactIDs(ctx context.Context, t *tx, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	out := queueResolveContactIDs(t, ids)
	if err := t.flush(ctx); err != nil {
		return nil, fmt.Errorf("db: resolve contact ids: %w", err)
	}
	return out, nil
}

// queueResolveContactIDs is resolveContactIDs in the next round trip;
// flush fills the map.
func queueResolveContactIDs(t *tx, ids []uuid.UUID) map[uuid.UUID]uuid.UUID {
	out := map[uuid.UUID]uuid.UUID{}
	if len(ids) > 0 {
		t.queue(redirectsSQL(2), t.ws, ids).Query(func(rows pgx.Rows) error { return scanRedirects(rows, out) })
	}
	return out
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

// queueExistingUsers queues the read of which of the responsible users
// the changes name exist in the workspace; flush fills the map.
func queueExistingUsers(t *tx, changes []contactChange) map[uuid.UUID]bool {
	var ids []uuid.UUID
	for _, c := range changes {
		if u := c.patch.ResponsibleUserID; u != nil && !slices.Contains(ids, *u) {
			ids = append(ids, *u)
		}
	}
	out := make(map[uuid.UUID]bool, len(ids))
	if len(ids) == 0 {
		return out
	}
	t.queue("SELECT id FROM users WHERE workspace_id = $1 AND id = ANY($2::uuid[])", t.ws, ids).Query(func(rows pgx.Rows) error {
		var id uuid.UUID
		_, err := pgx.ForEachRow(rows, []any{&id}, func() error { out[id] = true; return nil })
		return err
	})
	return out
}

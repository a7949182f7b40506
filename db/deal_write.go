package db

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// This file holds UpsertDeals. Like the contact write path, a batch reads
// everything its items may touch up front, applies the items in order to
// deals held in memory (so an item sees what earlier ones did), and writes
// the outcome in a constant number of statements.

// normalizeDeal validates one item; field paths are relative to the item.
func normalizeDeal(in crmhub.DealUpsertInput) (crmhub.DealUpsertInput, *crmhub.Error) {
	out := in
	var err *crmhub.Error
	if in.ExternalRef != nil {
		var ref crmhub.ExternalRef
		if ref.Source, err = requiredText(in.ExternalRef.Source, "externalRef.source", crmhub.MaxExternalIDLength); err != nil {
			return in, err
		}
		if ref.ExternalID, err = requiredText(in.ExternalRef.ExternalID, "externalRef.externalId", crmhub.MaxExternalIDLength); err != nil {
			return in, err
		}
		out.ExternalRef = &ref
	}
	if out.Name, err = patchText(in.Name, "name", crmhub.MaxDealNameLength); err != nil {
		return in, err
	}
	if out.Stage, err = patchText(in.Stage, "stage", crmhub.MaxDealStage); err != nil {
		return in, err
	}
	if in.Status != nil && !slices.Contains(crmhub.DealStatuses, *in.Status) {
		return in, crmhub.Invalid("status", "unknown deal status %q", *in.Status)
	}
	if in.Currency != nil {
		c := strings.ToUpper(strings.TrimSpace(*in.Currency))
		if c != "" && !isCurrencyCode(c) {
			return in, crmhub.Invalid("currency", "currency must be a three-letter ISO 4217 code such as USD")
		}
		out.Currency = &c
	}
	if a := in.Amount; a != nil {
		if math.IsNaN(*a) || math.IsInf(*a, 0) || *a < 0 {
			return in, crmhub.Invalid("amount", "amount must be a finite number, at least 0")
		}
		v := *a
		out.Amount = &v
	}
	if in.ResponsibleUserID != nil && in.ClearResponsibleUser {
		return in, crmhub.Invalid("responsibleUserId", "a responsible user cannot be set and cleared at once")
	}
	if in.ContactIDs != nil && len(*in.ContactIDs) > crmhub.MaxDealContacts {
		return in, crmhub.Invalid("contactIds", "at most %d contacts per deal, got %d", crmhub.MaxDealContacts, len(*in.ContactIDs))
	}
	return out, nil
}

// isCurrencyCode reports whether c has the shape of an ISO 4217 code.
func isCurrencyCode(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// UpsertDeals creates or updates deals in one transaction. Items fail
// independently; a failed item writes nothing.
func (s *DealService) UpsertDeals(ctx context.Context, in []crmhub.DealUpsertInput) ([]crmhub.UpsertDealResult, error) {
	if len(in) > crmhub.MaxBatch {
		return nil, tooMany(len(in))
	}
	results := make([]crmhub.UpsertDealResult, len(in))
	var items []crmhub.DealUpsertInput
	var index []int
	for i, it := range in {
		results[i].Index = i
		n, err := normalizeDeal(it)
		if err != nil {
			results[i].Status = crmhub.UpsertFailed
			results[i].Errors = []crmhub.ItemError{itemError(err)}
			continue
		}
		items = append(items, n)
		index = append(index, i)
	}
	if len(items) == 0 {
		return results, nil
	}
	err := s.db.write(ctx, crmhub.ScopeDealsWrite, func(ctx context.Context, t *tx) error {
		b, err := loadDealBatch(ctx, t, items)
		if err != nil {
			return err
		}
		states := make([]*dealState, len(items))
		for j, it := range items {
			i := index[j]
			status, st, ierr := b.apply(t, it)
			results[i].Status = status
			if ierr != nil {
				results[i].Errors = []crmhub.ItemError{itemError(ierr)}
			}
			states[j] = st
		}
		if err := b.write(ctx, t); err != nil {
			return err
		}
		for j, st := range states {
			if st != nil {
				results[index[j]].Deal = st.row.domain(slices.Clone(st.refs))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// dealState is a deal as the batch changes it in memory.
type dealState struct {
	row      *dealRow
	isNew    bool                 // created by this call
	dirty    bool                 // an existing deal whose row changed
	refs     []crmhub.ExternalRef // all of the deal's refs, sorted
	newRefs  []crmhub.ExternalRef // refs to insert
	contacts []uuid.UUID          // linked contacts, sorted
	relinked bool                 // contacts replaced: rewrite the links
}

// dealBatch is what one UpsertDeals call reads before applying its items.
type dealBatch struct {
	states   map[uuid.UUID]*dealState
	order    []uuid.UUID // keys of states, in the order they were added
	refOwner map[crmhub.ExternalRef]uuid.UUID
	users    map[uuid.UUID]bool
	contacts map[uuid.UUID]uuid.UUID // asked id -> live contact (after merges)
}

// loadDealBatch reads and locks what the items may touch. Locks are taken
// in one order: the external refs (advisory, so two calls cannot both
// create a deal for one ref), the users and contacts the deals will point
// at (KEY SHARE: they cannot vanish before commit), then the deals.
func loadDealBatch(ctx context.Context, t *tx, items []crmhub.DealUpsertInput) (*dealBatch, error) {
	var keys []crmhub.MatchKey
	var sources, externals []string
	var dealIDs, userIDs, contactIDs []uuid.UUID
	for _, in := range items {
		if r := in.ExternalRef; r != nil {
			keys = append(keys, crmhub.MatchKey{Class: "deal_ref", Source: r.Source, Value: r.ExternalID})
			sources, externals = append(sources, r.Source), append(externals, r.ExternalID)
		}
		if in.ID != nil {
			dealIDs = append(dealIDs, *in.ID)
		}
		if in.ResponsibleUserID != nil {
			userIDs = append(userIDs, *in.ResponsibleUserID)
		}
		if in.ContactIDs != nil {
			contactIDs = append(contactIDs, *in.ContactIDs...)
		}
	}
	if err := lockKeys(ctx, t, keys); err != nil {
		return nil, err
	}
	b := &dealBatch{states: map[uuid.UUID]*dealState{}, refOwner: map[crmhub.ExternalRef]uuid.UUID{},
		users: map[uuid.UUID]bool{}, contacts: map[uuid.UUID]uuid.UUID{}}

	users, err := keyShare(ctx, t, "users", userIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range users {
		b.users[id] = true
	}
	resolved, err := resolveContactIDs(ctx, t, contactIDs)
	if err != nil {
		return nil, err
	}
	targets := make([]uuid.UUID, 0, len(resolved))
	for _, c := range resolved {
		targets = append(targets, c)
	}
	found, err := keyShare(ctx, t, "contacts", targets)
	if err != nil {
		return nil, err
	}
	live := make(map[uuid.UUID]bool, len(found))
	for _, c := range found {
		live[c] = true
	}
	for asked, c := range resolved {
		if live[c] {
			b.contacts[asked] = c
		}
	}

	if len(keys) > 0 {
		var refs []dealRefRow
		err := t.NewSelect().Model(&refs).Where("workspace_id = ?", t.ws).
			Where("(source, external_id) IN (SELECT * FROM unnest(?::text[], ?::text[]))",
				pgdialect.Array(sources), pgdialect.Array(externals)).Scan(ctx)
		if err != nil {
			return nil, fmt.Errorf("db: look up deal refs: %w", err)
		}
		for _, r := range refs {
			b.refOwner[crmhub.ExternalRef{Source: r.Source, ExternalID: r.ExternalID}] = r.DealID
			dealIDs = append(dealIDs, r.DealID)
		}
	}
	if err := b.loadDeals(ctx, t, dealIDs); err != nil {
		return nil, err
	}
	// A ref whose deal was deleted since it was read matches nothing.
	for ref, id := range b.refOwner {
		if b.states[id] == nil {
			delete(b.refOwner, ref)
		}
	}
	return b, nil
}

// keyShare returns the ids that exist in table, locked FOR KEY SHARE so
// that the rows cannot be deleted before commit while other writers can
// still update them.
func keyShare(ctx context.Context, t *tx, table string, ids []uuid.UUID) ([]uuid.UUID, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var found []uuid.UUID
	err := t.NewSelect().Table(table).Column("id").Where("workspace_id = ? AND id = ANY(?)", t.ws, pgdialect.Array(ids)).
		Order("id").For("KEY SHARE").Scan(ctx, &found)
	if err != nil {
		return nil, fmt.Errorf("db: lock %s: %w", table, err)
	}
	return found, nil
}

// loadDeals reads and locks existing deals with their refs and contacts.
func (b *dealBatch) loadDeals(ctx context.Context, t *tx, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	var rows []dealRow
	err := t.NewSelect().Model(&rows).Where("workspace_id = ? AND id = ANY(?)", t.ws, pgdialect.Array(ids)).
		Order("id").For("NO KEY UPDATE").Scan(ctx)
	if err != nil {
		return fmt.Errorf("db: lock deals: %w", err)
	}
	ids = ids[:0]
	for i := range rows {
		ids = append(ids, rows[i].ID)
	}
	refs, err := loadDealRefs(ctx, t, ids)
	if err != nil {
		return err
	}
	contacts, err := loadDealContacts(ctx, t, ids)
	if err != nil {
		return err
	}
	for i := range rows {
		id := rows[i].ID
		b.states[id] = &dealState{row: &rows[i], refs: refs[id], contacts: contacts[id]}
		b.order = append(b.order, id)
	}
	return nil
}

// apply matches one item and applies it to the deal in memory. A failed
// item changes nothing.
func (b *dealBatch) apply(t *tx, in crmhub.DealUpsertInput) (crmhub.UpsertStatus, *dealState, *crmhub.Error) {
	st, attach, err := b.match(in)
	if err != nil {
		return crmhub.UpsertFailed, nil, err
	}
	if in.ResponsibleUserID != nil && !b.users[*in.ResponsibleUserID] {
		return crmhub.UpsertFailed, nil, &crmhub.Error{Code: crmhub.ENOTFOUND, Field: "responsibleUserId", Message: "user not found"}
	}
	var contacts []uuid.UUID
	if in.ContactIDs != nil {
		contacts = []uuid.UUID{}
		for j, id := range *in.ContactIDs {
			c, ok := b.contacts[id]
			if !ok {
				return crmhub.UpsertFailed, nil, &crmhub.Error{Code: crmhub.ENOTFOUND,
					Field: fmt.Sprintf("contactIds[%d]", j), Message: "contact not found"}
			}
			if !slices.Contains(contacts, c) {
				contacts = append(contacts, c)
			}
		}
		slices.SortFunc(contacts, compareIDs)
	}

	status := crmhub.UpsertUpdated
	if st == nil {
		row := &dealRow{WorkspaceID: t.ws, ID: newID(), Status: string(crmhub.DealOpen), FieldSources: crmhub.FieldSources{},
			CreatedAt: t.now, UpdatedAt: t.now}
		st = &dealState{row: row, isNew: true}
		b.states[row.ID] = st
		b.order = append(b.order, row.ID)
		status = crmhub.UpsertCreated
	}
	changed := st.set(t.now, in, contacts)
	st.row.FieldSources.Record(t.source(), t.now, changed, nil, nil)
	if attach {
		ref := *in.ExternalRef
		st.refs = append(slices.Clone(st.refs), ref)
		slices.SortFunc(st.refs, compareRefs)
		st.newRefs = append(st.newRefs, ref)
		b.refOwner[ref] = st.row.ID
		changed = append(changed, "externalRefs")
	}
	gid := crmhub.GlobalID(crmhub.KindDeal, st.row.ID)
	switch {
	case status == crmhub.UpsertCreated:
		t.emit(crmhub.EventDealCreated, gid, dealPayload(st, nil))
	case len(changed) > 0:
		st.row.UpdatedAt = t.now
		st.dirty = !st.isNew
		t.emit(crmhub.EventDealUpdated, gid, dealPayload(st, changed))
	default:
		status = crmhub.UpsertUnchanged
	}
	return status, st, nil
}

// match finds the deal an item writes to: its id first, else its external
// ref; nil means a new deal. attach says the item's ref is to be linked to
// the deal.
func (b *dealBatch) match(in crmhub.DealUpsertInput) (st *dealState, attach bool, err *crmhub.Error) {
	var owner uuid.UUID
	owned := false
	if in.ExternalRef != nil {
		owner, owned = b.refOwner[*in.ExternalRef]
	}
	switch {
	case in.ID != nil:
		st = b.states[*in.ID]
		if st == nil {
			return nil, false, &crmhub.Error{Code: crmhub.ENOTFOUND, Field: "id", Message: "deal not found"}
		}
		if owned && owner != *in.ID {
			return nil, false, &crmhub.Error{Code: crmhub.ECONFLICT, Field: "externalRef",
				Message:    "the external ref belongs to another deal",
				Extensions: map[string]any{"dealId": crmhub.GlobalID(crmhub.KindDeal, owner)}}
		}
		return st, in.ExternalRef != nil && !owned, nil
	case owned:
		return b.states[owner], false, nil
	}
	return nil, in.ExternalRef != nil, nil
}

// set applies an item's fields and returns the names of those that changed.
// Becoming WON or LOST closes the deal now; going back to OPEN reopens it.
func (st *dealState) set(now time.Time, in crmhub.DealUpsertInput, contacts []uuid.UUID) []string {
	r := st.row
	var changed []string
	if setString(&r.Name, in.Name) {
		changed = append(changed, "name")
	}
	if in.Status != nil && string(*in.Status) != r.Status {
		r.Status, r.ClosedAt = string(*in.Status), nil
		if *in.Status != crmhub.DealOpen {
			closed := now
			r.ClosedAt = &closed
		}
		changed = append(changed, "status")
	}
	if in.Amount != nil && (r.Amount == nil || *r.Amount != *in.Amount) {
		r.Amount = in.Amount
		changed = append(changed, "amount")
	}
	if setString(&r.Currency, in.Currency) {
		changed = append(changed, "currency")
	}
	if setString(&r.Stage, in.Stage) {
		changed = append(changed, "stage")
	}
	user := r.ResponsibleUserID
	if in.ResponsibleUserID != nil {
		user = in.ResponsibleUserID
	} else if in.ClearResponsibleUser {
		user = nil
	}
	if (user == nil) != (r.ResponsibleUserID == nil) || (user != nil && *user != *r.ResponsibleUserID) {
		r.ResponsibleUserID = user
		changed = append(changed, "responsibleUserId")
	}
	if contacts != nil && !slices.Equal(contacts, st.contacts) {
		st.contacts, st.relinked = contacts, true
		changed = append(changed, "contactIds")
	}
	return changed
}

// dealPayload is the payload of deal.created (changed nil) and deal.updated.
func dealPayload(st *dealState, changed []string) crmhub.DealPayload {
	r := st.row
	contacts := make([]string, len(st.contacts))
	for i, c := range st.contacts {
		contacts[i] = crmhub.GlobalID(crmhub.KindContact, c)
	}
	refs := make([]crmhub.ExternalRefPayload, len(st.refs))
	for i, ref := range st.refs {
		refs[i] = crmhub.ExternalRefPayload(ref)
	}
	var user *string
	if r.ResponsibleUserID != nil {
		g := crmhub.GlobalID(crmhub.KindUser, *r.ResponsibleUserID)
		user = &g
	}
	return crmhub.DealPayload{ID: crmhub.GlobalID(crmhub.KindDeal, r.ID), Name: r.Name, Status: crmhub.DealStatus(r.Status),
		Amount: r.Amount, Currency: r.Currency, Stage: r.Stage, ResponsibleUserID: user,
		ContactIDs: contacts, ExternalRefs: refs, ClosedAt: r.ClosedAt, Changed: changed}
}

// write stores what the batch decided: at most five statements.
func (b *dealBatch) write(ctx context.Context, t *tx) error {
	var inserts, updates []*dealRow
	var refs []dealRefRow
	var links []dealContactRow
	var relinked []uuid.UUID
	for _, id := range b.order {
		st := b.states[id]
		switch {
		case st.isNew:
			inserts = append(inserts, st.row)
		case st.dirty:
			updates = append(updates, st.row)
		}
		for _, ref := range st.newRefs {
			refs = append(refs, dealRefRow{WorkspaceID: t.ws, Source: ref.Source, ExternalID: ref.ExternalID, DealID: id})
		}
		if st.relinked {
			if !st.isNew {
				relinked = append(relinked, id)
			}
			for _, c := range st.contacts {
				links = append(links, dealContactRow{WorkspaceID: t.ws, DealID: id, ContactID: c, CreatedAt: t.now})
			}
		}
	}
	if err := insertRows(ctx, t, inserts, "deals"); err != nil {
		return err
	}
	if err := updateDeals(ctx, t, updates); err != nil {
		return err
	}
	if err := insertRows(ctx, t, refs, "deal refs"); err != nil {
		return err
	}
	if len(relinked) > 0 {
		_, err := t.NewDelete().Model((*dealContactRow)(nil)).
			Where("workspace_id = ? AND deal_id = ANY(?)", t.ws, pgdialect.Array(relinked)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("db: unlink deal contacts: %w", err)
		}
	}
	return insertRows(ctx, t, links, "deal contacts")
}

// updateDeals writes changed deal rows in one statement.
func updateDeals(ctx context.Context, t *tx, rows []*dealRow) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	ids, statuses := make([]uuid.UUID, n), make([]string, n)
	names, currencies, stages := make([]*string, n), make([]*string, n), make([]*string, n)
	// Users go as text: bun cannot write a nil *uuid.UUID array element.
	amounts, users, closed := make([]*float64, n), make([]*string, n), make([]*time.Time, n)
	sources := make([]string, n)
	for i, r := range rows {
		b, err := encodeSources(r.FieldSources)
		if err != nil {
			return err
		}
		sources[i] = string(b)
		ids[i], statuses[i], names[i], currencies[i], stages[i] = r.ID, r.Status, r.Name, r.Currency, r.Stage
		amounts[i], closed[i] = r.Amount, r.ClosedAt
		if u := r.ResponsibleUserID; u != nil {
			s := u.String()
			users[i] = &s
		}
	}
	_, err := t.NewRaw(`UPDATE deals AS d SET name = v.name, status = v.status, amount = v.amount,
			currency = v.currency, stage = v.stage, responsible_user_id = v.user_id, closed_at = v.closed_at,
			field_sources = v.sources, updated_at = ?
		FROM unnest(?::uuid[], ?::text[], ?::text[], ?::numeric[], ?::text[], ?::text[], ?::uuid[], ?::timestamptz[], ?::jsonb[])
			AS v(id, name, status, amount, currency, stage, user_id, closed_at, sources)
		WHERE d.workspace_id = ? AND d.id = v.id`,
		t.now, pgdialect.Array(ids), pgdialect.Array(names), pgdialect.Array(statuses), pgdialect.Array(amounts),
		pgdialect.Array(currencies), pgdialect.Array(stages), pgdialect.Array(users), pgdialect.Array(closed),
		pgdialect.Array(sources), t.ws).Exec(ctx)
	if err != nil {
		return fmt.Errorf("db: update deals: %w", err)
	}
	return nil
}

func compareIDs(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }

func compareRefs(a, b crmhub.ExternalRef) int {
	if c := strings.Compare(a.Source, b.Source); c != 0 {
		return c
	}
	return strings.Compare(a.ExternalID, b.ExternalID)
}

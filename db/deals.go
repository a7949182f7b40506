package db

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

var _ crmhub.DealService = (*DealService)(nil)

// DealService implements crmhub.DealService on PostgreSQL.
type DealService struct{ db *DB }

// NewDealService returns the service over d.
func NewDealService(d *DB) *DealService { return &DealService{db: d} }

type dealRow struct {
	bun.BaseModel `bun:"table:deals,alias:d"`

	WorkspaceID       uuid.UUID  `bun:"workspace_id,pk,type:uuid"`
	ID                uuid.UUID  `bun:"id,pk,type:uuid"`
	Name              *string    `bun:"name"`
	Status            string     `bun:"status"`
	Amount            *float64   `bun:"amount"`
	Currency          *string    `bun:"currency"`
	Stage             *string    `bun:"stage"`
	ResponsibleUserID *uuid.UUID `bun:"responsible_user_id,type:uuid"`
	// FieldSources is written by every statement that writes the fields.
	FieldSources crmhub.FieldSources `bun:"field_sources,type:jsonb,notnull"`
	CreatedAt    time.Time           `bun:"created_at"`
	UpdatedAt    time.Time           `bun:"updated_at"`
	ClosedAt     *time.Time          `bun:"closed_at"`
}

func (r *dealRow) domain(refs []crmhub.ExternalRef) *crmhub.Deal {
	if refs == nil {
		refs = []crmhub.ExternalRef{}
	}
	return &crmhub.Deal{ID: r.ID, Name: r.Name, Status: crmhub.DealStatus(r.Status), Amount: r.Amount,
		Currency: r.Currency, Stage: r.Stage, ResponsibleUserID: r.ResponsibleUserID, ExternalRefs: refs, FieldSources: r.FieldSources,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ClosedAt: r.ClosedAt}
}

// dealColumns are dealRow's columns (deals is "d") in the order of
// dealRow.dest.
const dealColumns = "d.workspace_id, d.id, d.name, d.status, d.amount, d.currency, d.stage, d.responsible_user_id, d.field_sources, " +
	"d.created_at, d.updated_at, d.closed_at"

// dest returns the destinations of dealColumns, for queryRows.
func (r *dealRow) dest() []any {
	return []any{uuidCol(&r.WorkspaceID), uuidCol(&r.ID), &r.Name, &r.Status, &r.Amount, &r.Currency, &r.Stage,
		nullUUIDCol(&r.ResponsibleUserID), &r.FieldSources, &r.CreatedAt, &r.UpdatedAt, &r.ClosedAt}
}

type dealRefRow struct {
	bun.BaseModel `bun:"table:deal_external_refs"`

	WorkspaceID uuid.UUID `bun:"workspace_id,pk,type:uuid"`
	Source      string    `bun:"source,pk"`
	ExternalID  string    `bun:"external_id,pk"`
	DealID      uuid.UUID `bun:"deal_id,type:uuid"`
}

type dealContactRow struct {
	bun.BaseModel `bun:"table:deal_contacts"`

	WorkspaceID uuid.UUID `bun:"workspace_id,pk,type:uuid"`
	DealID      uuid.UUID `bun:"deal_id,pk,type:uuid"`
	ContactID   uuid.UUID `bun:"contact_id,pk,type:uuid"`
	CreatedAt   time.Time `bun:"created_at"`
}

// dealsOrder names the one order deals are listed in, newest first.
const dealsOrder = "DEALS:CREATED_AT:DESC"

// loadDealRefs reads the external refs of deals, sorted.
func loadDealRefs(ctx context.Context, t *tx, ids []uuid.UUID) (map[uuid.UUID][]crmhub.ExternalRef, error) {
	out := make(map[uuid.UUID][]crmhub.ExternalRef, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := queryRows(ctx, t, func(r *dealRefRow) []any { return []any{uuidCol(&r.DealID), &r.Source, &r.ExternalID} },
		`SELECT deal_id, source, external_id FROM deal_external_refs WHERE workspace_id = $1 AND deal_id = ANY($2::uuid[])
		ORDER BY source COLLATE "C", external_id COLLATE "C"`, t.ws, ids)
	if err != nil {
		return nil, fmt.Errorf("db: load deal refs: %w", err)
	}
	for _, r := range rows {
		out[r.DealID] = append(out[r.DealID], crmhub.ExternalRef{Source: r.Source, ExternalID: r.ExternalID})
	}
	return out, nil
}

// loadDealContacts reads the contact ids linked to deals, sorted.
func loadDealContacts(ctx context.Context, t *tx, ids []uuid.UUID) (map[uuid.UUID][]uuid.UUID, error) {
	out := make(map[uuid.UUID][]uuid.UUID, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := queryRows(ctx, t, func(r *dealContactRow) []any { return []any{uuidCol(&r.DealID), uuidCol(&r.ContactID)} },
		"SELECT deal_id, contact_id FROM deal_contacts WHERE workspace_id = $1 AND deal_id = ANY($2::uuid[]) ORDER BY deal_id, contact_id",
		t.ws, ids)
	if err != nil {
		return nil, fmt.Errorf("db: load deal contacts: %w", err)
	}
	for _, r := range rows {
		out[r.DealID] = append(out[r.DealID], r.ContactID)
	}
	return out, nil
}

// dealRefsOf reads the external refs of the deals in rows, one query for
// all of them.
func dealRefsOf(ctx context.Context, t *tx, rows []dealRow) (map[uuid.UUID][]crmhub.ExternalRef, error) {
	ids := make([]uuid.UUID, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	return loadDealRefs(ctx, t, ids)
}

// Deal returns one deal.
func (s *DealService) Deal(ctx context.Context, id uuid.UUID) (*crmhub.Deal, error) {
	deals, err := s.DealsByIDs(ctx, []uuid.UUID{id})
	return single(crmhub.KindDeal, deals, err)
}

// DealsByIDs returns deals in the order of ids, nil where missing.
func (s *DealService) DealsByIDs(ctx context.Context, ids []uuid.UUID) ([]*crmhub.Deal, error) {
	var rows []dealRow
	var refs map[uuid.UUID][]crmhub.ExternalRef
	err := s.db.read(ctx, crmhub.ScopeDealsRead, func(ctx context.Context, t *tx) error {
		if err := t.NewSelect().Model(&rows).Where("workspace_id = ? AND id = ANY(?)", t.ws, pgdialect.Array(ids)).
			Scan(ctx); err != nil {
			return fmt.Errorf("db: deals by id: %w", err)
		}
		var err error
		refs, err = dealRefsOf(ctx, t, rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	return inOrder(ids, rows, func(r *dealRow) (uuid.UUID, *crmhub.Deal) { return r.ID, r.domain(refs[r.ID]) }), nil
}

func checkDealFilter(f crmhub.DealFilter) error {
	if f.Status != nil && !slices.Contains(crmhub.DealStatuses, *f.Status) {
		return crmhub.Invalid("filter.status", "unknown deal status %q", *f.Status)
	}
	return nil
}

// dealWhere is the WHERE of a statement over deals ("d") in t's workspace
// that keeps what the filter keeps, its arguments appended to args (the
// workspace first, as $1). A merged contact's id finds the deals of the
// contact it was merged into.
func dealWhere(t *tx, f crmhub.DealFilter, args *[]any) string {
	*args = append(*args, t.ws)
	where := "d.workspace_id = $1"
	arg := func(v any) string {
		*args = append(*args, v)
		return fmt.Sprintf("$%d", len(*args))
	}
	if f.Status != nil {
		where += " AND d.status = " + arg(string(*f.Status))
	}
	if f.ResponsibleUserID != nil {
		where += " AND d.responsible_user_id = " + arg(*f.ResponsibleUserID)
	}
	if id := f.ContactID; id != nil {
		where += ` AND EXISTS (SELECT 1 FROM deal_contacts dc WHERE dc.workspace_id = d.workspace_id AND dc.deal_id = d.id
			AND dc.contact_id = ` + redirectedIDSQL("$1", arg(*id)) + ")"
	}
	if f.UpdatedSince != nil {
		where += " AND d.updated_at >= " + arg(*f.UpdatedSince)
	}
	return where
}

func dealCursor(r *dealRow) cursor {
	return cursor{Order: dealsOrder, Value: r.CreatedAt.Format(time.RFC3339Nano), ID: r.ID}
}

// dealPage builds a connection from rows read with limit n+1.
func dealPage(rows []dealRow, refs map[uuid.UUID][]crmhub.ExternalRef, n int, hasPrev bool, f crmhub.DealFilter) *crmhub.DealConnection {
	es, info := edges(rows, n, hasPrev, dealCursor, func(c string, r *dealRow) *crmhub.DealEdge {
		return &crmhub.DealEdge{Cursor: c, Node: r.domain(refs[r.ID])}
	})
	return &crmhub.DealConnection{PageInfo: info, Filter: f, Edges: es}
}

// Deals lists one page of deals, newest first, with keyset pagination on
// (created_at, id).
func (s *DealService) Deals(ctx context.Context, filter crmhub.DealFilter, first int, after string) (*crmhub.DealConnection, error) {
	n, cur, err := pageArgs(first, after, dealsOrder)
	if err != nil {
		return nil, err
	}
	if err := checkDealFilter(filter); err != nil {
		return nil, err
	}
	var conn *crmhub.DealConnection
	err = s.db.read(ctx, crmhub.ScopeDealsRead, func(ctx context.Context, t *tx) error {
		var args []any
		where := dealWhere(t, filter, &args)
		if cur != nil {
			ts, err := cursorTime(cur)
			if err != nil {
				return err
			}
			args = append(args, ts, cur.ID)
			where += fmt.Sprintf(" AND (d.created_at, d.id) < ($%d, $%d)", len(args)-1, len(args))
		}
		args = append(args, n+1)
		rows, err := queryRows(ctx, t, (*dealRow).dest, fmt.Sprintf("SELECT %s FROM deals d WHERE %s ORDER BY d.created_at DESC, d.id DESC LIMIT $%d",
			dealColumns, where, len(args)), args...)
		if err != nil {
			return fmt.Errorf("db: list deals: %w", err)
		}
		refs, err := dealRefsOf(ctx, t, rows)
		if err != nil {
			return err
		}
		conn = dealPage(rows, refs, n, cur != nil, filter)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// CountDeals counts the deals a filter keeps.
func (s *DealService) CountDeals(ctx context.Context, filter crmhub.DealFilter) (int, error) {
	if err := checkDealFilter(filter); err != nil {
		return 0, err
	}
	var n []int64
	err := s.db.read(ctx, crmhub.ScopeDealsRead, func(ctx context.Context, t *tx) (err error) {
		var args []any
		where := dealWhere(t, filter, &args)
		n, err = queryRows(ctx, t, func(n *int64) []any { return []any{n} }, "SELECT count(*) FROM deals d WHERE "+where, args...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("db: count deals: %w", err)
	}
	return int(n[0]), nil
}

// ContactIDsByDeal returns each deal's linked contact ids in one statement.
func (s *DealService) ContactIDsByDeal(ctx context.Context, dealIDs []uuid.UUID) (map[uuid.UUID][]uuid.UUID, error) {
	var out map[uuid.UUID][]uuid.UUID
	err := s.db.read(ctx, crmhub.ScopeDealsRead, func(ctx context.Context, t *tx) error {
		var err error
		out, err = loadDealContacts(ctx, t, dealIDs)
		return err
	})
	return out, err
}

// dealOfContact is a deal row read through one of its contacts.
type dealOfContact struct {
	dealRow   `bun:",extend"`
	ContactID uuid.UUID `bun:"contact_id,type:uuid"`
}

// DealsByContact returns one page of deals per key, newest first. Keys that
// ask for the same page size and cursor share one statement, so a page of
// contacts costs one statement (and one for external refs) for all their
// deals.
func (s *DealService) DealsByContact(ctx context.Context, keys []crmhub.PageKey) (map[crmhub.PageKey]*crmhub.DealConnection, error) {
	groups := map[crmhub.PageKey][]uuid.UUID{} // by page size and cursor
	for _, k := range keys {
		g := crmhub.PageKey{First: k.First, After: k.After}
		if !slices.Contains(groups[g], k.ParentID) {
			groups[g] = append(groups[g], k.ParentID)
		}
	}
	out := make(map[crmhub.PageKey]*crmhub.DealConnection, len(keys))
	err := s.db.read(ctx, crmhub.ScopeDealsRead, func(ctx context.Context, t *tx) error {
		for g, ids := range groups {
			n, cur, err := pageArgs(g.First, g.After, dealsOrder)
			if err != nil {
				return err
			}
			inner := t.NewSelect().TableExpr("deal_contacts AS dc").
				Join("JOIN deals AS d ON d.workspace_id = dc.workspace_id AND d.id = dc.deal_id").
				ColumnExpr("d.*, dc.contact_id").
				ColumnExpr("row_number() OVER (PARTITION BY dc.contact_id ORDER BY d.created_at DESC, d.id DESC) AS rn").
				Where("dc.workspace_id = ? AND dc.contact_id = ANY(?)", t.ws, pgdialect.Array(ids))
			if cur != nil {
				ts, err := cursorTime(cur)
				if err != nil {
					return err
				}
				inner.Where("(d.created_at, d.id) < (?, ?)", ts, cur.ID)
			}
			var rows []dealOfContact
			err = t.NewSelect().TableExpr("(?) AS p", inner).
				Column("workspace_id", "id", "name", "status", "amount", "currency", "stage", "responsible_user_id", "field_sources",
					"created_at", "updated_at", "closed_at", "contact_id").
				Where("rn <= ?", n+1).OrderExpr("contact_id, created_at DESC, id DESC").Scan(ctx, &rows)
			if err != nil {
				return fmt.Errorf("db: deals by contact: %w", err)
			}
			all := make([]dealRow, len(rows))
			byContact := map[uuid.UUID][]dealRow{}
			for i, r := range rows {
				all[i] = r.dealRow
				byContact[r.ContactID] = append(byContact[r.ContactID], r.dealRow)
			}
			refs, err := dealRefsOf(ctx, t, all)
			if err != nil {
				return err
			}
			for _, id := range ids {
				out[crmhub.PageKey{ParentID: id, First: g.First, After: g.After}] =
					dealPage(byContact[id], refs, n, cur != nil, crmhub.DealFilter{ContactID: &id})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteDeals deletes the deals that exist and returns the others.
func (s *DealService) DeleteDeals(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, error) {
	if len(ids) > crmhub.MaxBatch {
		return nil, tooMany(len(ids))
	}
	ids = distinctIDs(ids)
	var gone map[uuid.UUID]bool
	err := s.db.write(ctx, crmhub.ScopeDealsWrite, func(ctx context.Context, t *tx) error {
		var deleted []uuid.UUID
		err := t.NewDelete().Model((*dealRow)(nil)).Where("workspace_id = ? AND id = ANY(?)", t.ws, pgdialect.Array(ids)).
			Returning("id").Scan(ctx, &deleted)
		if err != nil {
			return fmt.Errorf("db: delete deals: %w", err)
		}
		gone = make(map[uuid.UUID]bool, len(deleted))
		for _, id := range deleted {
			gone[id] = true
		}
		for _, id := range ids { // events in the order the ids were given
			if gone[id] {
				gid := crmhub.GlobalID(crmhub.KindDeal, id)
				t.emit(crmhub.EventDealDeleted, gid, crmhub.DeletedPayload{ID: gid})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	missing := []uuid.UUID{}
	for _, id := range ids {
		if !gone[id] {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// distinctIDs drops repeated ids, keeping the first of each.
func distinctIDs(ids []uuid.UUID) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

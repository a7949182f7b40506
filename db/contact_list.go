package db

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/uptrace/bun"
)

// orderColumn is the SQL expression a contact order sorts by.
func orderColumn(f crmhub.ContactOrderField) (string, error) {
	switch f {
	case crmhub.ContactOrderCreatedAt, "":
		return "c.created_at", nil
	case crmhub.ContactOrderUpdatedAt:
		return "c.updated_at", nil
	case crmhub.ContactOrderName:
		return "coalesce(c.name, '')", nil
	}
	return "", crmhub.Invalid("orderBy.field", "unknown order field %q", f)
}

// Contacts lists one page of contacts with keyset pagination on
// (sort value, id), so pages neither skip nor repeat rows while the data
// stays the same.
func (s *ContactService) Contacts(ctx context.Context, filter crmhub.ContactFilter, order crmhub.ContactOrder,
	first int, after string) (*crmhub.ContactConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	col, err := orderColumn(order.Field)
	if err != nil {
		return nil, err
	}
	if order.Field == "" {
		order.Field = crmhub.ContactOrderCreatedAt
	}
	dir := "ASC"
	if order.Desc {
		dir = "DESC"
	}
	orderKey := string(order.Field) + ":" + dir
	cur, err := decodeCursor(after, orderKey)
	if err != nil {
		return nil, err
	}
	if err := normalizeFilter(&filter); err != nil {
		return nil, err
	}
	var rows []contactRow
	err = s.db.read(ctx, crmhub.ScopeContactsRead, func(ctx context.Context, t *tx) error {
		q := t.NewSelect().Model(&rows).Where("c.workspace_id = ?", t.ws)
		if err := applyFilter(ctx, q, t, filter, n+1); err != nil {
			return err
		}
		if cur != nil {
			cmp := ">"
			if order.Desc {
				cmp = "<"
			}
			var v any = cur.Value
			if order.Field != crmhub.ContactOrderName {
				ts, err := cursorTime(cur)
				if err != nil {
					return err
				}
				v = ts
			}
			q.Where(fmt.Sprintf("(%s, c.id) %s (?, ?)", col, cmp), v, cur.ID)
		}
		return q.OrderExpr(fmt.Sprintf("%s %s, c.id %s", col, dir, dir)).Limit(int64(n + 1)).Scan(ctx)
	})
	if err != nil {
		if crmhub.ErrorCode(err) != crmhub.EINTERNAL {
			return nil, err
		}
		return nil, fmt.Errorf("db: list contacts: %w", err)
	}
	conn := &crmhub.ContactConnection{Filter: filter, PageInfo: crmhub.PageInfo{HasPreviousPage: cur != nil},
		Edges: []*crmhub.ContactEdge{}}
	if len(rows) > n {
		rows = rows[:n]
		conn.PageInfo.HasNextPage = true
	}
	for i := range rows {
		r := &rows[i]
		c := cursor{Order: orderKey, ID: r.ID}
		switch order.Field {
		case crmhub.ContactOrderUpdatedAt:
			c.Value = r.UpdatedAt.Format(time.RFC3339Nano)
		case crmhub.ContactOrderName:
			if r.Name != nil {
				c.Value = *r.Name
			}
		default:
			c.Value = r.CreatedAt.Format(time.RFC3339Nano)
		}
		conn.Edges = append(conn.Edges, &crmhub.ContactEdge{Cursor: c.encode(), Node: r.domain()})
	}
	if len(conn.Edges) > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[len(conn.Edges)-1].Cursor
	}
	return conn, nil
}

// CountContacts counts the contacts a filter keeps. Without a filter it
// reads the workspace's count, which triggers keep with every insert and
// delete (migration 0015): counting a million contacts takes 100 ms.
func (s *ContactService) CountContacts(ctx context.Context, filter crmhub.ContactFilter) (int, error) {
	if err := normalizeFilter(&filter); err != nil {
		return 0, err
	}
	var n int
	err := s.db.read(ctx, crmhub.ScopeContactsRead, func(ctx context.Context, t *tx) error {
		if unfiltered(filter) {
			return t.NewRaw("SELECT coalesce(sum(n), 0)::bigint FROM contact_counts WHERE workspace_id = ?", t.ws).Scan(ctx, &n)
		}
		q := t.NewSelect().Model((*contactRow)(nil)).Where("c.workspace_id = ?", t.ws)
		if err := applyFilter(ctx, q, t, filter, 0); err != nil {
			return err
		}
		c, err := q.Count(ctx)
		n = int(c)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("db: count contacts: %w", err)
	}
	return n, nil
}

// unfiltered reports whether f keeps every contact. It compares the whole
// struct, so a filter field added later counts as a filter until said
// otherwise; an empty tag list filters nothing.
func unfiltered(f crmhub.ContactFilter) bool {
	if len(f.Tags) == 0 {
		f.Tags = nil
	}
	return reflect.ValueOf(f).IsZero()
}

func normalizeFilter(f *crmhub.ContactFilter) error {
	f.Search = strings.TrimSpace(f.Search)
	if len(f.Search) > 200 {
		return crmhub.Invalid("filter.search", "search is longer than 200 characters")
	}
	if f.Tags != nil {
		tags, err := crmhub.NormalizeTags(f.Tags)
		if err != nil {
			return err.(*crmhub.Error).WithField("filter")
		}
		f.Tags = tags
	}
	if f.Identity != nil {
		n, err := f.Identity.Normalize()
		if err != nil {
			return err.(*crmhub.Error).WithField("filter.identity")
		}
		f.Identity = &n
	}
	return nil
}

// applyFilter adds the filter's conditions; the contacts table is "c".
// need is how many rows the statement reads (a page's, plus one), or 0 for
// all of them (a count); a search chooses its plan by it.
// Every condition can be answered from an index under row-level security:
// see searchCondition for search; each tag is a semi-join on contact_tags,
// which PostgreSQL runs either from the tag's index (a rare tag) or as a
// probe per contact while walking the listing's order (a common one),
// instead of reading every contact that carries the tags.
func applyFilter(ctx context.Context, q *bun.SelectQuery, t *tx, f crmhub.ContactFilter, need int) error {
	if f.Search != "" {
		cond, args, err := searchCondition(ctx, t, f.Search, need)
		if err != nil {
			return err
		}
		q.Where(cond, args...)
	}
	for _, tag := range f.Tags {
		q.Where(`EXISTS (SELECT 1 FROM contact_tags g WHERE g.workspace_id = c.workspace_id AND g.contact_id = c.id
			AND g.tag = ?)`, tag)
	}
	if id := f.Identity; id != nil {
		if id.Type == crmhub.IdentityContactID {
			uid, _ := crmhub.ParseID(crmhub.KindContact, id.Value)
			q.Where("c.id = ?", uid)
		} else {
			k := id.MatchKey()
			q.Where(`EXISTS (SELECT 1 FROM contact_identities i WHERE i.workspace_id = c.workspace_id
				AND i.contact_id = c.id AND i.match_class = ? AND i.match_source = ? AND i.value = ?)`, k.Class, k.Source, k.Value)
		}
	}
	if f.UpdatedSince != nil {
		q.Where("c.updated_at >= ?", *f.UpdatedSince)
	}
	if f.ResponsibleUserID != nil {
		q.Where("c.responsible_user_id = ?", *f.ResponsibleUserID)
	}
	return nil
}

package db

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// This file holds the paging helpers that the list queries of this package
// share: first and after checked, keyset cursors, a page trimmed from rows
// read with limit n+1, and one page per parent for the loaders. Each query
// stays with its service.

// cursor is the position after which a page starts: the sort value and id
// of the last row seen, and the order it belongs to, so that a cursor of one
// order cannot be used with another.
type cursor struct {
	Order string    `json:"o"`
	Value string    `json:"v"`
	ID    uuid.UUID `json:"i"`
}

// encode writes the cursor as the base64 of its JSON. Every edge of a page
// carries one (a nested page has hundreds), so the JSON of a cursor whose
// strings need no escaping (an order name, a time) is written here, byte
// for byte what json.Marshal writes; any other goes through json.Marshal.
func (c cursor) encode() string {
	if !plainJSON(c.Order) || !plainJSON(c.Value) {
		b, _ := json.Marshal(c)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	var buf [128]byte
	b := append(buf[:0], `{"o":"`...)
	b = append(b, c.Order...)
	b = append(b, `","v":"`...)
	b = append(b, c.Value...)
	b = append(b, `","i":"`...)
	b = appendUUID(b, c.ID)
	b = append(b, `"}`...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// plainJSON reports whether json.Marshal writes s as it is, between
// quotes: printable ASCII that is not a quote, a backslash, or one of the
// characters it escapes for HTML (<, >, &).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b >= 0x7f || strings.IndexByte(`"\\<>&`, b) >= 0 {
			return false
		}
	}
	return true
}

// appendUUID appends u in its canonical text form, as uuid.UUID.String
// writes it, without the string.
func appendUUID(b []byte, u uuid.UUID) []byte {
	var text [36]byte
	hex.Encode(text[0:8], u[0:4])
	text[8] = '-'
	hex.Encode(text[9:13], u[4:6])
	text[13] = '-'
	hex.Encode(text[14:18], u[6:8])
	text[18] = '-'
	hex.Encode(text[19:23], u[8:10])
	text[23] = '-'
	hex.Encode(text[24:], u[10:])
	return append(b, text[:]...)
}

// decodeCursor parses an `after` argument for the given order. An empty
// string is no cursor.
func decodeCursor(s, order string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := crmhub.Invalid("after", "malformed cursor")
	if len(s) > 512 {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Order != order || !crmhub.Storable(c.Value) {
		return nil, bad
	}
	return &c, nil
}

// pageSize checks `first`: 0 means the default, the cap is MaxPageSize.
func pageSize(first int) (int, error) {
	switch {
	case first == 0:
		return crmhub.DefaultPageSize, nil
	case first < 0 || first > crmhub.MaxPageSize:
		return 0, crmhub.Invalid("first", "first must be between 1 and %d", crmhub.MaxPageSize)
	}
	return first, nil
}

// pageArgs checks the first and after arguments of a connection.
func pageArgs(first int, after, order string) (int, *cursor, error) {
	n, err := pageSize(first)
	if err != nil {
		return 0, nil, err
	}
	cur, err := decodeCursor(after, order)
	return n, cur, err
}

// pageInfo is a page's Relay info plus each row's cursor.
type pageInfo struct {
	crmhub.PageInfo
	cursors []string
}

// page trims rows fetched with limit n+1 to n and computes cursors.
func page[R any](rows []R, n int, hasPrev bool, cur func(*R) cursor) ([]*R, pageInfo) {
	info := pageInfo{PageInfo: crmhub.PageInfo{HasPreviousPage: hasPrev}}
	if len(rows) > n {
		rows = rows[:n]
		info.HasNextPage = true
	}
	out := make([]*R, len(rows))
	info.cursors = make([]string, len(rows))
	for i := range rows {
		out[i] = &rows[i]
		info.cursors[i] = cur(&rows[i]).encode()
	}
	if len(out) > 0 {
		info.StartCursor = &info.cursors[0]
		info.EndCursor = &info.cursors[len(info.cursors)-1]
	}
	return out, info
}

// pagedQuery describes a child table paged newest first per parent:
// columns are what its rows are scanned from, in the order of the row
// type's destinations (see queryRows).
type pagedQuery struct {
	table, parent, sortExpr, order, columns string
}

// pagesByParent loads one page per key with one statement per distinct
// (first, after) pair: for each parent, a LATERAL subquery reads its
// newest n+1 rows, so a parent with many rows (a long conversation) costs
// one page of them, off the (workspace_id, parent, ...) index, not all.
func pagesByParent[R any](ctx context.Context, t *tx, keys []crmhub.PageKey, q pagedQuery, dest func(*R) []any,
	emit func(rows []R, k crmhub.PageKey, n int, hasPrev bool), parentOf func(*R) uuid.UUID) error {
	type group struct {
		first int
		after string
	}
	groups := map[group][]uuid.UUID{}
	for _, k := range keys {
		g := group{k.First, k.After}
		if !slices.Contains(groups[g], k.ParentID) {
			groups[g] = append(groups[g], k.ParentID)
		}
	}
	for g, parents := range groups {
		n, err := pageSize(g.first)
		if err != nil {
			return err
		}
		cur, err := decodeCursor(g.after, q.order)
		if err != nil {
			return err
		}
		cond := ""
		args := []any{parents, t.ws}
		if cur != nil {
			ts, err := cursorTime(cur)
			if err != nil {
				return err
			}
			cond = fmt.Sprintf(" AND (%s, id) < ($3, $4)", q.sortExpr)
			args = append(args, ts, cur.ID)
		}
		args = append(args, n+1)
		rows, err := queryRows(ctx, t, dest, fmt.Sprintf(`SELECT %[5]s FROM unnest($1::uuid[]) AS k(parent_id) CROSS JOIN LATERAL (
				SELECT * FROM %[1]s WHERE workspace_id = $2 AND %[2]s = k.parent_id%[4]s
				ORDER BY %[3]s DESC, id DESC LIMIT $%[6]d) AS p
			ORDER BY %[2]s, %[3]s DESC, id DESC`, q.table, q.parent, q.sortExpr, cond, q.columns, len(args)), args...)
		if err != nil {
			return fmt.Errorf("db: page %s: %w", q.table, err)
		}
		// The rows come ordered by parent: each parent's rows are one run
		// of them, handed on as a slice of rows rather than copied.
		byParent := make(map[uuid.UUID][]R, len(parents))
		for start := 0; start < len(rows); {
			p, end := parentOf(&rows[start]), start+1
			for end < len(rows) && parentOf(&rows[end]) == p {
				end++
			}
			byParent[p] = rows[start:end:end]
			start = end
		}
		for _, p := range parents {
			emit(byParent[p], crmhub.PageKey{ParentID: p, First: g.first, After: g.after}, n, cur != nil)
		}
	}
	return nil
}

// cursorTime reads the time a cursor of a time-sorted order carries.
func cursorTime(c *cursor) (time.Time, error) {
	ts, err := time.Parse(time.RFC3339Nano, c.Value)
	if err != nil {
		return ts, crmhub.Invalid("after", "malformed cursor")
	}
	return ts, nil
}

// edges makes a connection's edges of rows read with limit n+1: the rows
// page keeps, each turned into an edge by edge with its cursor.
func edges[R, E any](rows []R, n int, hasPrev bool, cur func(*R) cursor, edge func(cursor string, r *R) E) ([]E, crmhub.PageInfo) {
	kept, info := page(rows, n, hasPrev, cur)
	out := make([]E, len(kept))
	for i, r := range kept {
		out[i] = edge(info.cursors[i], r)
	}
	return out, info.PageInfo
}

// idCursor returns the cursor of a row in an order keyed by its id alone
// (ids are UUIDv7, so by creation).
func idCursor[R any](order string, id func(*R) uuid.UUID) func(*R) cursor {
	return func(r *R) cursor { return cursor{Order: order, ID: id(r)} }
}

// byID pages q by id after cur, oldest first or, with desc, newest first,
// reading n+1 rows for page to tell whether a next page exists.
func byID(q *bun.SelectQuery, cur *cursor, n int, desc bool) *bun.SelectQuery {
	op, order := ">", "id"
	if desc {
		op, order = "<", "id DESC"
	}
	if cur != nil {
		q.Where("id "+op+" ?", cur.ID)
	}
	return q.Order(order).Limit(int64(n + 1))
}

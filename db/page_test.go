package db

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// The pure paging helpers: what first and after accept, what a cursor
// carries, and how a page read with limit n+1 is cut.
func TestPageArgs(t *testing.T) {
	at := time.Date(2026, 1, 15, 12, 0, 0, 123, time.UTC)
	id := uuid.New()
	good := cursor{Order: "A", Value: at.Format(time.RFC3339Nano), ID: id}.encode()
	for _, tc := range []struct {
		name         string
		first        int
		after, order string
		n            int
		cur          *cursor
		field        string // of the EINVALID error; "" for none
	}{
		{name: "defaults", n: crmhub.DefaultPageSize},
		{name: "max", first: crmhub.MaxPageSize, n: crmhub.MaxPageSize},
		{name: "too many", first: crmhub.MaxPageSize + 1, field: "first"},
		{name: "negative", first: -1, field: "first"},
		{name: "cursor", first: 3, after: good, order: "A", n: 3,
			cur: &cursor{Order: "A", Value: at.Format(time.RFC3339Nano), ID: id}},
		{name: "another order's cursor", after: good, order: "B", field: "after"},
		{name: "not base64", after: "%%%", order: "A", field: "after"},
		{name: "not JSON", after: "bm90IGpzb24", order: "A", field: "after"},
		{name: "too long", after: string(make([]byte, 513)), order: "A", field: "after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, cur, err := pageArgs(tc.first, tc.after, tc.order)
			if tc.field != "" {
				if e, ok := err.(*crmhub.Error); !ok || e.Code != crmhub.EINVALID || e.Field != tc.field {
					t.Fatalf("err = %v, want EINVALID on %s", err, tc.field)
				}
				return
			}
			if err != nil || n != tc.n || (cur == nil) != (tc.cur == nil) || (cur != nil && *cur != *tc.cur) {
				t.Fatalf("pageArgs = %d %+v %v, want %d %+v", n, cur, err, tc.n, tc.cur)
			}
		})
	}

	_, c, _ := pageArgs(0, good, "A")
	if ts, err := cursorTime(c); err != nil || !ts.Equal(at) {
		t.Fatalf("cursorTime = %v %v, want %v", ts, err, at)
	}
	if _, err := cursorTime(&cursor{Order: "A", Value: "yesterday"}); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Fatalf("cursorTime of a malformed value: %v", err)
	}
}

func TestPage(t *testing.T) {
	rows := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	cur := func(id *uuid.UUID) cursor { return cursor{Order: "A", ID: *id} }

	kept, info := page(rows, 2, true, cur)
	if len(kept) != 2 || *kept[1] != rows[1] || !info.HasNextPage || !info.HasPreviousPage || len(info.cursors) != 2 {
		t.Fatalf("a page of 2 from 3 rows: %v %+v", kept, info)
	}
	if *info.StartCursor != info.cursors[0] || *info.EndCursor != info.cursors[1] {
		t.Fatalf("start and end cursors: %+v", info)
	}
	if c, err := decodeCursor(*info.EndCursor, "A"); err != nil || c.ID != rows[1] {
		t.Fatalf("end cursor decodes to %+v %v", c, err)
	}

	kept, info = page(rows, 5, false, cur)
	if len(kept) != 3 || info.HasNextPage || info.HasPreviousPage {
		t.Fatalf("the last page: %v %+v", kept, info)
	}
	kept, info = page([]uuid.UUID{}, 5, false, cur)
	if len(kept) != 0 || info.StartCursor != nil || info.EndCursor != nil {
		t.Fatalf("an empty page: %v %+v", kept, info)
	}
}

// edges cuts like page and hands each kept row its cursor; idCursor keys a
// row by its id alone.
func TestEdges(t *testing.T) {
	type row struct{ ID uuid.UUID }
	type edge struct {
		cursor string
		id     uuid.UUID
	}
	rows := []row{{uuid.New()}, {uuid.New()}, {uuid.New()}}
	cur := idCursor("o", func(r *row) uuid.UUID { return r.ID })
	es, info := edges(rows, 2, true, cur, func(c string, r *row) edge { return edge{c, r.ID} })
	if len(es) != 2 || !info.HasNextPage || !info.HasPreviousPage {
		t.Fatalf("got %d edges, %+v; want 2 with next and previous pages", len(es), info)
	}
	for i, e := range es {
		if want := (cursor{Order: "o", ID: rows[i].ID}).encode(); e.cursor != want || e.id != rows[i].ID {
			t.Errorf("edge %d = %+v, want cursor %s of row %s", i, e, want, rows[i].ID)
		}
	}
	if *info.StartCursor != es[0].cursor || *info.EndCursor != es[1].cursor {
		t.Errorf("start/end cursors %s/%s", *info.StartCursor, *info.EndCursor)
	}
	if es, info := edges([]row{}, 2, false, cur, func(c string, r *row) edge { return edge{c, r.ID} }); es == nil || len(es) != 0 ||
		info.HasNextPage || info.StartCursor != nil {
		t.Errorf("empty page: %v, %+v; want no edges (not nil) and no cursors", es, info)
	}
}

// A cursor encodes to the base64 of what json.Marshal writes for it,
// whether its strings need escaping or not: cursors handed out before
// encode wrote the usual ones itself must still read the same.
func TestCursorEncodeIsJSON(t *testing.T) {
	id := uuid.MustParse("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
	for _, c := range []cursor{
		{Order: messageOrder, Value: time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC).Format(time.RFC3339Nano), ID: id},
		{Order: "id", ID: id},
		{},
		{Order: "NAME", Value: `O"Brien \ <b> & co`, ID: id},
		{Order: "NAME", Value: "Zoë\u2028\x01", ID: id},
		{Order: "NAME", Value: "~ ", ID: id},
		{Order: "NAME", Value: "a<b>&c", ID: id},
		{Order: "NAME", Value: `back\slash`, ID: id},
	} {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.encode(), base64.RawURLEncoding.EncodeToString(b); got != want {
			t.Errorf("%+v encodes to %s, want %s (%s)", c, got, want, b)
		}
	}
}

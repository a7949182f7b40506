package db

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun/dialect/pgdialect"
)

const notesOrder = "NOTES:DESC"

func normalizeNote(body string) (string, error) {
	body = strings.TrimSpace(body)
	if body == "" || utf8.RuneCountInString(body) > crmhub.MaxNoteLength {
		return "", crmhub.Invalid("body", "a note must have 1 to %d characters", crmhub.MaxNoteLength)
	}
	return body, nil
}

// AddNote adds a note to a contact (following a merge redirect).
func (s *ContactService) AddNote(ctx context.Context, contactID uuid.UUID, body string) (*crmhub.Note, error) {
	body, err := normalizeNote(body)
	if err != nil {
		return nil, err
	}
	var row noteRow
	err = s.db.write(ctx, crmhub.ScopeContactsWrite, func(ctx context.Context, t *tx) error {
		resolved, err := resolveContactIDs(ctx, t, []uuid.UUID{contactID})
		if err != nil {
			return err
		}
		target, ok := resolved[contactID]
		if !ok {
			return crmhub.Errorf(crmhub.ENOTFOUND, "contact not found")
		}
		row = noteRow{WorkspaceID: t.ws, ID: newID(), ContactID: target, Body: body, CreatedAt: t.now, UpdatedAt: t.now}
		if _, err := t.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("db: add note: %w", err)
		}
		emitNote(t, "added", &row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

// UpdateNote replaces a note's body.
func (s *ContactService) UpdateNote(ctx context.Context, id uuid.UUID, body string) (*crmhub.Note, error) {
	body, err := normalizeNote(body)
	if err != nil {
		return nil, err
	}
	var row noteRow
	err = s.db.write(ctx, crmhub.ScopeContactsWrite, func(ctx context.Context, t *tx) error {
		err := t.NewUpdate().Model(&row).Set("body = ?, updated_at = ?", body, t.now).
			Where("workspace_id = ? AND id = ?", t.ws, id).Returning("*").Scan(ctx)
		if err != nil {
			return notFound(err, crmhub.KindNote, "update note")
		}
		emitNote(t, "updated", &row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

// DeleteNote deletes a note.
func (s *ContactService) DeleteNote(ctx context.Context, id uuid.UUID) error {
	return s.db.write(ctx, crmhub.ScopeContactsWrite, func(ctx context.Context, t *tx) error {
		var row noteRow
		err := t.NewDelete().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Returning("*").Scan(ctx)
		if err != nil {
			return notFound(err, crmhub.KindNote, "delete note")
		}
		emitNote(t, "deleted", &row)
		return nil
	})
}

// emitNote records a note change as an update of its contact.
func emitNote(t *tx, what string, n *noteRow) {
	cid := crmhub.GlobalID(crmhub.KindContact, n.ContactID)
	t.emit(crmhub.EventContactUpdated, cid, crmhub.NotesChangedPayload{ID: cid, Changed: []string{"notes"},
		Note: crmhub.NoteChange{ID: crmhub.GlobalID(crmhub.KindNote, n.ID), Change: what}})
}

// Note returns one note.
func (s *ContactService) Note(ctx context.Context, id uuid.UUID) (*crmhub.Note, error) {
	var row noteRow
	err := s.db.read(ctx, crmhub.ScopeContactsRead, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx)
	})
	if err != nil {
		return nil, notFound(err, crmhub.KindNote, "get note")
	}
	return row.domain(), nil
}

// CountNotes counts a contact's notes.
func (s *ContactService) CountNotes(ctx context.Context, contactID uuid.UUID) (int, error) {
	var n int
	err := s.db.read(ctx, crmhub.ScopeContactsRead, func(ctx context.Context, t *tx) error {
		c, err := t.NewSelect().Model((*noteRow)(nil)).Where("workspace_id = ? AND contact_id = ?", t.ws, contactID).Count(ctx)
		n = int(c)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("db: count notes: %w", err)
	}
	return n, nil
}

// NotesByContact returns one page of notes per key, newest first. Keys that
// ask for the same page size and cursor share one statement, so a page of
// contacts costs one statement for all their notes.
func (s *ContactService) NotesByContact(ctx context.Context, keys []crmhub.NotesKey) (map[crmhub.NotesKey]*crmhub.NoteConnection, error) {
	type group struct {
		first int
		after string
	}
	groups := map[group][]uuid.UUID{}
	for _, k := range keys {
		g := group{k.First, k.After}
		groups[g] = append(groups[g], k.ContactID)
	}
	out := make(map[crmhub.NotesKey]*crmhub.NoteConnection, len(keys))
	err := s.db.read(ctx, crmhub.ScopeContactsRead, func(ctx context.Context, t *tx) error {
		for g, ids := range groups {
			n, err := pageSize(g.first)
			if err != nil {
				return err
			}
			cur, err := decodeCursor(g.after, notesOrder)
			if err != nil {
				return err
			}
			var rows []noteRow
			inner := t.NewSelect().Model((*noteRow)(nil)).Column("*").
				ColumnExpr("row_number() OVER (PARTITION BY contact_id ORDER BY created_at DESC, id DESC) AS rn").
				Where("workspace_id = ? AND contact_id = ANY(?)", t.ws, pgdialect.Array(ids))
			if cur != nil {
				ts, err := cursorTime(cur)
				if err != nil {
					return err
				}
				inner.Where("(created_at, id) < (?, ?)", ts, cur.ID)
			}
			err = t.NewSelect().TableExpr("(?) AS n", inner).
				Column("workspace_id", "id", "contact_id", "body", "created_at", "updated_at").
				Where("rn <= ?", n+1).OrderExpr("contact_id, created_at DESC, id DESC").Scan(ctx, &rows)
			if err != nil {
				return fmt.Errorf("db: notes by contact: %w", err)
			}
			byContact := map[uuid.UUID][]noteRow{}
			for _, r := range rows {
				byContact[r.ContactID] = append(byContact[r.ContactID], r)
			}
			for _, id := range ids {
				out[crmhub.NotesKey{ContactID: id, First: g.first, After: g.after}] = notePage(id, byContact[id], n, cur != nil)
			}
		}
		return nil
	})
	return out, err
}

func notePage(contactID uuid.UUID, rows []noteRow, n int, hasPrev bool) *crmhub.NoteConnection {
	conn := &crmhub.NoteConnection{ContactID: contactID, PageInfo: crmhub.PageInfo{HasPreviousPage: hasPrev},
		Edges: []*crmhub.NoteEdge{}}
	if len(rows) > n {
		rows = rows[:n]
		conn.PageInfo.HasNextPage = true
	}
	for i := range rows {
		c := cursor{Order: notesOrder, Value: rows[i].CreatedAt.Format(time.RFC3339Nano), ID: rows[i].ID}
		conn.Edges = append(conn.Edges, &crmhub.NoteEdge{Cursor: c.encode(), Node: rows[i].domain()})
	}
	if len(conn.Edges) > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[len(conn.Edges)-1].Cursor
	}
	return conn
}

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

var _ crmhub.ConversationService = (*ConversationService)(nil)

// ConversationService implements crmhub.ConversationService. Outbound
// messages are stored QUEUED in the transaction that accepts them and then
// handed to the channel; see outbox.go for delivery and retries.
type ConversationService struct {
	db      *DB
	channel crmhub.OutboundChannel
	// sendTimeout bounds the delivery attempt sendMessage makes before it
	// answers; a message not delivered by then stays QUEUED for the outbox.
	sendTimeout time.Duration
}

// NewConversationService returns the service over db, delivering through ch.
func NewConversationService(db *DB, ch crmhub.OutboundChannel) *ConversationService {
	return &ConversationService{db: db, channel: ch, sendTimeout: 10 * time.Second}
}

type conversationRow struct {
	bun.BaseModel `bun:"table:conversations,alias:cv"`

	WorkspaceID   uuid.UUID  `bun:"workspace_id,pk,type:uuid"`
	ID            uuid.UUID  `bun:"id,pk,type:uuid"`
	ContactID     uuid.UUID  `bun:"contact_id,type:uuid"`
	Channel       string     `bun:"channel"`
	ChatID        string     `bun:"chat_id"`
	Status        string     `bun:"status"`
	AssigneeID    *uuid.UUID `bun:"assignee_id,type:uuid"`
	LastMessageAt *time.Time `bun:"last_message_at"`
	LastInboundAt *time.Time `bun:"last_inbound_at"`
	Unanswered    bool       `bun:"unanswered,notnull"`
	// ConnectionID and RemoteChannelID say through which external CRM
	// (and which of its channels) the conversation's messages came.
	ConnectionID    *uuid.UUID `bun:"connection_id,type:uuid"`
	RemoteChannelID *string    `bun:"remote_channel_id"`
	// ExternalID is the connection's CRM's id of the conversation.
	ExternalID *string   `bun:"external_id"`
	CreatedAt  time.Time `bun:"created_at"`
	UpdatedAt  time.Time `bun:"updated_at"`
}

func (r *conversationRow) domain() *crmhub.Conversation {
	return &crmhub.Conversation{ID: r.ID, ContactID: r.ContactID, Channel: crmhub.Channel(r.Channel), ChatID: r.ChatID,
		Status: crmhub.ConversationStatus(r.Status), AssigneeID: r.AssigneeID, LastMessageAt: r.LastMessageAt,
		LastInboundAt: r.LastInboundAt, Unanswered: r.Unanswered, ConnectionID: r.ConnectionID,
		RemoteChannelID: r.RemoteChannelID, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// conversationColumns are the columns conversationRow.domain needs, in
// the order of conversationRow.dest.
const conversationColumns = "id, contact_id, channel, chat_id, status, assignee_id, last_message_at, last_inbound_at, unanswered, " +
	"connection_id, remote_channel_id, created_at, updated_at"

// dest returns the destinations of conversationColumns, for queryRows.
func (r *conversationRow) dest() []any {
	return []any{uuidCol(&r.ID), uuidCol(&r.ContactID), &r.Channel, &r.ChatID, &r.Status, nullUUIDCol(&r.AssigneeID),
		&r.LastMessageAt, &r.LastInboundAt, &r.Unanswered, nullUUIDCol(&r.ConnectionID), &r.RemoteChannelID, &r.CreatedAt, &r.UpdatedAt}
}

type messageRow struct {
	bun.BaseModel `bun:"table:messages,alias:m"`

	WorkspaceID    uuid.UUID           `bun:"workspace_id,pk,type:uuid"`
	ID             uuid.UUID           `bun:"id,pk,type:uuid"`
	ConversationID uuid.UUID           `bun:"conversation_id,type:uuid"`
	Channel        string              `bun:"channel"`
	Direction      string              `bun:"direction"`
	Type           string              `bun:"type"`
	Text           *string             `bun:"text"`
	ContentURL     *string             `bun:"content_url"`
	Template       *crmhub.Template    `bun:"template,type:jsonb"`
	ReplyToID      *uuid.UUID          `bun:"reply_to_id,type:uuid"`
	Status         string              `bun:"status"`
	ErrorCode      *string             `bun:"error_code"`
	ExternalID     *string             `bun:"external_id"`
	Post           *crmhub.MessagePost `bun:"post,type:jsonb"`
	Attempts       int                 `bun:"attempts,notnull"`
	NextAttemptAt  *time.Time          `bun:"next_attempt_at"`
	CreatedAt      time.Time           `bun:"created_at"`
	UpdatedAt      time.Time           `bun:"updated_at"`
}

func (r *messageRow) domain() *crmhub.Message {
	return &crmhub.Message{ID: r.ID, ConversationID: r.ConversationID, Direction: crmhub.Direction(r.Direction),
		Type: crmhub.MessageType(r.Type), Text: r.Text, ContentURL: r.ContentURL, Template: r.Template,
		ReplyToID: r.ReplyToID, Status: crmhub.MessageStatus(r.Status), ErrorCode: r.ErrorCode,
		ExternalID: r.ExternalID, Post: r.Post, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// messageColumns are the columns messageRow.domain needs, in the order of
// messageRow.dest.
const messageColumns = "id, conversation_id, direction, type, text, content_url, template, reply_to_id, status, error_code, " +
	"external_id, post, created_at, updated_at"

// dest returns the destinations of messageColumns, for queryRows.
func (r *messageRow) dest() []any {
	return []any{uuidCol(&r.ID), uuidCol(&r.ConversationID), &r.Direction, &r.Type, &r.Text, &r.ContentURL, &r.Template,
		nullUUIDCol(&r.ReplyToID), &r.Status, &r.ErrorCode, &r.ExternalID, &r.Post, &r.CreatedAt, &r.UpdatedAt}
}

// conversationPayload is the payload of the conversation events.
func conversationPayload(r *conversationRow) crmhub.ConversationPayload {
	p := crmhub.ConversationPayload{ID: r.domain().GlobalID(), ContactID: crmhub.GlobalID(crmhub.KindContact, r.ContactID),
		Channel: crmhub.Channel(r.Channel), ChatID: r.ChatID, Status: crmhub.ConversationStatus(r.Status), Unanswered: r.Unanswered}
	if r.AssigneeID != nil {
		a := crmhub.GlobalID(crmhub.KindUser, *r.AssigneeID)
		p.AssigneeID = &a
	}
	return p
}

// messagePayload is the payload of the message events.
func messagePayload(r *messageRow) crmhub.MessagePayload {
	p := crmhub.MessagePayload{ID: r.domain().GlobalID(), ConversationID: crmhub.GlobalID(crmhub.KindConversation, r.ConversationID),
		Direction: crmhub.Direction(r.Direction), Type: crmhub.MessageType(r.Type), Text: r.Text, ContentURL: r.ContentURL,
		Status: crmhub.MessageStatus(r.Status)}
	if r.ErrorCode != nil {
		code := *r.ErrorCode
		p.ErrorCode = &code
	}
	return p
}

// Conversation returns one conversation.
func (s *ConversationService) Conversation(ctx context.Context, id uuid.UUID) (*crmhub.Conversation, error) {
	var row conversationRow
	err := s.db.read(ctx, crmhub.ScopeConversationsRead, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx)
	})
	if err != nil {
		return nil, notFound(err, crmhub.KindConversation, "get conversation")
	}
	return row.domain(), nil
}

// ConversationsByIDs returns conversations in the order of ids.
func (s *ConversationService) ConversationsByIDs(ctx context.Context, ids []uuid.UUID) ([]*crmhub.Conversation, error) {
	var rows []conversationRow
	err := s.db.read(ctx, crmhub.ScopeConversationsRead, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&rows).Where("workspace_id = ? AND id = ANY(?)", t.ws, pgdialect.Array(ids)).Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("db: conversations by id: %w", err)
	}
	return inOrder(ids, rows, func(r *conversationRow) (uuid.UUID, *crmhub.Conversation) { return r.ID, r.domain() }), nil
}

// inOrder arranges rows in the order of ids, nil where a row is missing.
func inOrder[R any, D any](ids []uuid.UUID, rows []R, conv func(*R) (uuid.UUID, *D)) []*D {
	byID := make(map[uuid.UUID]*D, len(rows))
	for i := range rows {
		id, d := conv(&rows[i])
		byID[id] = d
	}
	out := make([]*D, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out
}

const conversationOrder = "ACTIVITY:DESC"

// conversationEdges makes the edges of conversation rows read with limit
// n+1, in conversationOrder.
func conversationEdges(rows []conversationRow, n int, hasPrev bool) ([]*crmhub.ConversationEdge, crmhub.PageInfo) {
	return edges(rows, n, hasPrev, func(r *conversationRow) cursor {
		return cursor{Order: conversationOrder, Value: activity(r).Format(time.RFC3339Nano), ID: r.ID}
	}, func(c string, r *conversationRow) *crmhub.ConversationEdge {
		return &crmhub.ConversationEdge{Cursor: c, Node: r.domain()}
	})
}

// Conversations lists one page, most recent activity first.
func (s *ConversationService) Conversations(ctx context.Context, f crmhub.ConversationFilter, first int, after string) (*crmhub.ConversationConnection, error) {
	n, cur, err := pageArgs(first, after, conversationOrder)
	if err != nil {
		return nil, err
	}
	var rows []conversationRow
	err = s.db.read(ctx, crmhub.ScopeConversationsRead, func(ctx context.Context, t *tx) error {
		q := t.NewSelect().Model(&rows).Where("cv.workspace_id = ?", t.ws)
		applyConversationFilter(q, f)
		if cur != nil {
			ts, err := cursorTime(cur)
			if err != nil {
				return err
			}
			q.Where("(coalesce(cv.last_message_at, cv.created_at), cv.id) < (?, ?)", ts, cur.ID)
		}
		return q.OrderExpr("coalesce(cv.last_message_at, cv.created_at) DESC, cv.id DESC").Limit(int64(n + 1)).Scan(ctx)
	})
	if err != nil {
		return nil, passOrWrap(err, "list conversations")
	}
	conn := &crmhub.ConversationConnection{Filter: f}
	conn.Edges, conn.PageInfo = conversationEdges(rows, n, cur != nil)
	return conn, nil
}

// applyConversationFilter adds the filter's conditions; the table is "cv".
func applyConversationFilter(q *bun.SelectQuery, f crmhub.ConversationFilter) {
	if f.Status != nil {
		q.Where("cv.status = ?", string(*f.Status))
	}
	if f.AssigneeID != nil {
		q.Where("cv.assignee_id = ?", *f.AssigneeID)
	}
	if f.ContactID != nil {
		q.Where("cv.contact_id = ?", *f.ContactID)
	}
	if f.Channel != nil {
		q.Where("cv.channel = ?", string(*f.Channel))
	}
	if f.Unanswered != nil {
		q.Where("cv.unanswered = ? AND cv.status <> 'CLOSED'", *f.Unanswered)
	}
}

// CountConversations counts the conversations a filter keeps.
func (s *ConversationService) CountConversations(ctx context.Context, f crmhub.ConversationFilter) (int, error) {
	return s.db.count(ctx, crmhub.ScopeConversationsRead, func(t *tx) *bun.SelectQuery {
		q := t.NewSelect().Model((*conversationRow)(nil)).Where("cv.workspace_id = ?", t.ws)
		applyConversationFilter(q, f)
		return q
	})
}

// CountMessages counts a conversation's messages.
func (s *ConversationService) CountMessages(ctx context.Context, conversationID uuid.UUID) (int, error) {
	return s.db.count(ctx, crmhub.ScopeConversationsRead, func(t *tx) *bun.SelectQuery {
		return t.NewSelect().Model((*messageRow)(nil)).Where("m.workspace_id = ? AND m.conversation_id = ?", t.ws, conversationID)
	})
}

func activity(r *conversationRow) time.Time {
	if r.LastMessageAt != nil {
		return *r.LastMessageAt
	}
	return r.CreatedAt
}

// passOrWrap passes client-facing errors through and wraps the rest.
func passOrWrap(err error, op string) error {
	if crmhub.ErrorCode(err) != crmhub.EINTERNAL {
		return err
	}
	return fmt.Errorf("db: %s: %w", op, err)
}

// ConversationsByContact returns one page of conversations per contact.
func (s *ConversationService) ConversationsByContact(ctx context.Context, keys []crmhub.PageKey) (map[crmhub.PageKey]*crmhub.ConversationConnection, error) {
	out := make(map[crmhub.PageKey]*crmhub.ConversationConnection, len(keys))
	err := s.db.read(ctx, crmhub.ScopeConversationsRead, func(ctx context.Context, t *tx) error {
		return pagesByParent(ctx, t, keys, pagedQuery{table: "conversations", parent: "contact_id",
			sortExpr: "coalesce(last_message_at, created_at)", order: conversationOrder, columns: conversationColumns},
			(*conversationRow).dest,
			func(rows []conversationRow, k crmhub.PageKey, n int, hasPrev bool) {
				conn := &crmhub.ConversationConnection{}
				conn.Edges, conn.PageInfo = conversationEdges(rows, n, hasPrev)
				out[k] = conn
			}, func(r *conversationRow) uuid.UUID { return r.ContactID })
	})
	if err != nil {
		return nil, passOrWrap(err, "conversations by contact")
	}
	return out, nil
}

// AssignConversation sets or clears the assignee.
func (s *ConversationService) AssignConversation(ctx context.Context, id uuid.UUID, userID *uuid.UUID) (*crmhub.Conversation, error) {
	var row *conversationRow
	err := s.db.write(ctx, crmhub.ScopeConversationsWrite, func(ctx context.Context, t *tx) (err error) {
		row, err = assign(ctx, t, id, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

// assign sets or clears a conversation's assignee and emits
// conversation.assigned.
func assign(ctx context.Context, t *tx, id uuid.UUID, userID *uuid.UUID) (*conversationRow, error) {
	if userID != nil {
		ok, err := t.NewSelect().Table("users").Where("workspace_id = ? AND id = ?", t.ws, *userID).Exists(ctx)
		if err != nil {
			return nil, fmt.Errorf("db: find user: %w", err)
		}
		if !ok {
			return nil, &crmhub.Error{Code: crmhub.ENOTFOUND, Field: "userId", Message: "user not found"}
		}
	}
	var row conversationRow
	err := t.NewUpdate().Model(&row).Set("assignee_id = ?, updated_at = ?", userID, t.now).
		Where("workspace_id = ? AND id = ?", t.ws, id).Returning("*").Scan(ctx)
	if err != nil {
		return nil, notFound(err, crmhub.KindConversation, "assign conversation")
	}
	t.emit(crmhub.EventConversationAssigned, row.domain().GlobalID(), conversationPayload(&row))
	return &row, nil
}

// SetConversationStatus moves a conversation to a status. Reopening a
// closed conversation while another one with the contact on the same chat
// is live is a CONFLICT.
func (s *ConversationService) SetConversationStatus(ctx context.Context, id uuid.UUID, status crmhub.ConversationStatus) (*crmhub.Conversation, error) {
	if !slices.Contains(crmhub.ConversationStatuses, status) {
		return nil, crmhub.Invalid("status", "unknown conversation status %q", status)
	}
	var row *conversationRow
	err := s.db.write(ctx, crmhub.ScopeConversationsWrite, func(ctx context.Context, t *tx) (err error) {
		row, err = setStatus(ctx, t, id, status)
		return err
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

// setStatus moves a conversation to a known status and emits
// conversation.status_changed when it changed.
func setStatus(ctx context.Context, t *tx, id uuid.UUID, status crmhub.ConversationStatus) (*conversationRow, error) {
	var prev string
	if err := t.NewSelect().Model((*conversationRow)(nil)).Column("status").
		Where("workspace_id = ? AND id = ?", t.ws, id).For("UPDATE").Scan(ctx, &prev); err != nil {
		return nil, notFound(err, crmhub.KindConversation, "set conversation status")
	}
	var row conversationRow
	err := t.NewUpdate().Model(&row).Set("status = ?, updated_at = ?", string(status), t.now).
		Where("workspace_id = ? AND id = ?", t.ws, id).Returning("*").Scan(ctx)
	if pgCode(err) == codeUniqueViolation {
		return nil, crmhub.Errorf(crmhub.ECONFLICT, "another conversation with this contact on this chat is open")
	}
	if err != nil {
		return nil, fmt.Errorf("db: set conversation status: %w", err)
	}
	if prev != string(status) {
		p := conversationPayload(&row)
		p.PreviousStatus = crmhub.ConversationStatus(prev)
		t.emit(crmhub.EventConversationStatusChanged, row.domain().GlobalID(), p)
	}
	return &row, nil
}

// UnansweredCount counts live conversations whose last message is inbound.
func (s *ConversationService) UnansweredCount(ctx context.Context, userID *uuid.UUID) (int, error) {
	var n int
	err := s.db.read(ctx, crmhub.ScopeConversationsRead, func(ctx context.Context, t *tx) error {
		q := t.NewSelect().Model((*conversationRow)(nil)).Where("workspace_id = ? AND unanswered AND status <> 'CLOSED'", t.ws)
		if userID != nil {
			q.Where("assignee_id = ?", *userID)
		}
		c, err := q.Count(ctx)
		n = int(c)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("db: unanswered count: %w", err)
	}
	return n, nil
}

// openConversation returns the live conversation of a contact on a chat,
// opening one if there is none. The partial unique index settles races.
func openConversation(ctx context.Context, t *tx, contactID uuid.UUID, ch crmhub.Channel, chatID string) (*conversationRow, error) {
	row := &conversationRow{WorkspaceID: t.ws, ID: newID(), ContactID: contactID, Channel: string(ch), ChatID: chatID,
		Status: string(crmhub.ConversationOpen), CreatedAt: t.now, UpdatedAt: t.now}
	res, err := t.NewInsert().Model(row).
		On("CONFLICT (workspace_id, contact_id, channel, chat_id) WHERE status <> 'CLOSED' DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: open conversation: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		t.emit(crmhub.EventConversationCreated, row.domain().GlobalID(), conversationPayload(row))
		return row, nil
	}
	row = &conversationRow{}
	err = t.NewSelect().Model(row).
		Where("workspace_id = ? AND contact_id = ? AND channel = ? AND chat_id = ? AND status <> 'CLOSED'", t.ws, contactID, string(ch), chatID).
		For("UPDATE").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: find live conversation: %w", err)
	}
	return row, nil
}

package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun/dialect/pgdialect"
)

const messageOrder = "MESSAGES:DESC"

// Message returns one message.
func (s *ConversationService) Message(ctx context.Context, id uuid.UUID) (*crmhub.Message, error) {
	var row messageRow
	err := s.db.read(ctx, crmhub.ScopeConversationsRead, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).Scan(ctx)
	})
	if err != nil {
		return nil, notFound(err, crmhub.KindMessage, "get message")
	}
	return row.domain(), nil
}

// MessagesByIDs returns messages in the order of ids.
func (s *ConversationService) MessagesByIDs(ctx context.Context, ids []uuid.UUID) ([]*crmhub.Message, error) {
	var rows []messageRow
	err := s.db.read(ctx, crmhub.ScopeConversationsRead, func(ctx context.Context, t *tx) error {
		return t.NewSelect().Model(&rows).Where("workspace_id = ? AND id = ANY(?)", t.ws, pgdialect.Array(ids)).Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("db: messages by id: %w", err)
	}
	return inOrder(ids, rows, func(r *messageRow) (uuid.UUID, *crmhub.Message) { return r.ID, r.domain() }), nil
}

// MessagesByConversation returns one page of messages per conversation,
// newest first.
func (s *ConversationService) MessagesByConversation(ctx context.Context, keys []crmhub.PageKey) (map[crmhub.PageKey]*crmhub.MessageConnection, error) {
	out := make(map[crmhub.PageKey]*crmhub.MessageConnection, len(keys))
	err := s.db.read(ctx, crmhub.ScopeConversationsRead, func(ctx context.Context, t *tx) error {
		return pagesByParent(ctx, t, keys, pagedQuery{table: "messages", parent: "conversation_id", sortExpr: "created_at",
			order: messageOrder, columns: messageColumns}, (*messageRow).dest,
			func(rows []messageRow, k crmhub.PageKey, n int, hasPrev bool) {
				conn := &crmhub.MessageConnection{ConversationID: k.ParentID}
				conn.Edges, conn.PageInfo = edges(rows, n, hasPrev, func(r *messageRow) cursor {
					return cursor{Order: messageOrder, Value: r.CreatedAt.Format(time.RFC3339Nano), ID: r.ID}
				}, func(c string, r *messageRow) *crmhub.MessageEdge {
					return &crmhub.MessageEdge{Cursor: c, Node: r.domain()}
				})
				out[k] = conn
			}, func(r *messageRow) uuid.UUID { return r.ConversationID })
	})
	if err != nil {
		return nil, passOrWrap(err, "messages by conversation")
	}
	return out, nil
}

// RecordInboundMessage stores a message received from a channel. The sender
// is matched by the channel's identity with the one resolve rule (a new
// contact is created when nobody matches), the live conversation is reused
// or opened, and a repeated external id returns the stored message. With
// Direction OUTBOUND it stores a message an external CRM reports as sent
// to the contact from outside the hub (the phone, the CRM's inbox): SENT,
// and it answers the conversation.
func (s *ConversationService) RecordInboundMessage(ctx context.Context, in crmhub.InboundMessageInput) (*crmhub.Message, error) {
	chatID, err := crmhub.NormalizeChatID(in.Channel, in.ChatID)
	if err != nil {
		return nil, err
	}
	if err := crmhub.ValidateContent(in.Channel, in.Type, in.Text, in.ContentURL, nil, true); err != nil {
		return nil, err
	}
	extID, err := crmhub.OptionalText(in.ExternalID, "externalId", crmhub.MaxIdentifierValueLength)
	if err != nil {
		return nil, err
	}
	name, err := crmhub.NormalizeName(in.SenderName)
	if err != nil {
		return nil, err.(*crmhub.Error).WithField("senderName")
	}
	extra, err := normalizeSenderIDs(in.SenderIdentifiers, "senderIdentifiers")
	if err != nil {
		return nil, err
	}
	remoteConv, err := crmhub.OptionalText(in.RemoteConversationID, "remoteConversationId", crmhub.MaxIdentifierValueLength)
	if err != nil {
		return nil, err
	}
	dir := in.Direction
	switch dir {
	case "":
		dir = crmhub.Inbound
	case crmhub.Inbound:
	case crmhub.Outbound:
		name = nil // the agent's name, not the contact's
	default:
		return nil, crmhub.Invalid("direction", "unknown direction %q", dir)
	}
	var row messageRow
	err = s.db.write(ctx, crmhub.ScopeConversationsWrite, func(ctx context.Context, t *tx) error {
		at := t.now
		if in.ReceivedAt != nil {
			if in.ReceivedAt.After(t.now.Add(clockSkew)) {
				return crmhub.Invalid("receivedAt", "receivedAt lies in the future")
			}
			at = in.ReceivedAt.UTC().Truncate(time.Microsecond)
		}
		if extID != nil {
			err := t.NewSelect().Model(&row).Where("workspace_id = ? AND channel = ? AND direction = ? AND external_id = ?",
				t.ws, string(in.Channel), string(dir), *extID).Scan(ctx)
			if err == nil {
				return nil // a replay, or the echo of a message the hub sent: already stored
			} else if !isNoRows(err) {
				return fmt.Errorf("db: find message by external id: %w", err)
			}
		}
		conv, err := liveConversationOf(ctx, t, sender{channel: in.Channel, chatID: chatID, name: name, ids: extra,
			connectionID: in.ConnectionID, remoteChannelID: in.RemoteChannelID, remoteConversationID: remoteConv})
		if err != nil {
			return err
		}
		status, event := crmhub.MessageDelivered, crmhub.EventMessageReceived
		if dir == crmhub.Outbound {
			status, event = crmhub.MessageSent, crmhub.EventMessageSent
		}
		row = messageRow{WorkspaceID: t.ws, ID: newID(), ConversationID: conv.ID, Channel: string(in.Channel),
			Direction: string(dir), Type: string(in.Type), Text: in.Text, ContentURL: trimmed(in.ContentURL),
			Status: string(status), ExternalID: extID, Post: in.Post.Clip(), CreatedAt: at, UpdatedAt: t.now}
		if _, err := t.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("db: store message: %w", err)
		}
		if dir == crmhub.Outbound {
			// Answered from outside the hub: the conversation is answered
			// unless a newer inbound message is already there.
			_, err = t.NewRaw(`UPDATE conversations SET
					unanswered = CASE WHEN last_message_at IS NULL OR last_message_at <= ? THEN false ELSE unanswered END,
					last_message_at = greatest(last_message_at, ?), updated_at = ?
				WHERE workspace_id = ? AND id = ?`, at, at, t.now, t.ws, conv.ID).Exec(ctx)
			if err != nil {
				return fmt.Errorf("db: update conversation: %w", err)
			}
			t.emit(event, row.domain().GlobalID(), messagePayload(&row))
			return nil
		}
		// A message that arrives late (older than the conversation's last one)
		// does not make the conversation unanswered again.
		_, err = t.NewRaw(`UPDATE conversations SET
				unanswered = CASE WHEN last_message_at IS NULL OR last_message_at <= ? THEN true ELSE unanswered END,
				last_message_at = greatest(last_message_at, ?), last_inbound_at = greatest(last_inbound_at, ?),
				updated_at = ?
			WHERE workspace_id = ? AND id = ?`, at, at, at, t.now, t.ws, conv.ID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("db: update conversation: %w", err)
		}
		t.emit(event, row.domain().GlobalID(), messagePayload(&row))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	v := strings.TrimSpace(*s)
	if v == "" {
		return nil
	}
	return &v
}

// SendMessage accepts an outbound message: it checks suppressions,
// opt-outs and the service window, stores the message QUEUED, and after
// commit makes one bounded delivery attempt. Whatever that attempt meets,
// the message is already safe: the outbox retries it.
func (s *ConversationService) SendMessage(ctx context.Context, in crmhub.SendMessageInput) (*crmhub.Message, error) {
	if !slices.Contains(crmhub.MessageTypes, in.Type) {
		return nil, crmhub.Invalid("type", "unknown message type %q", in.Type)
	}
	var row messageRow
	err := s.db.write(ctx, crmhub.ScopeConversationsWrite, func(ctx context.Context, t *tx) error {
		conv, err := s.targetConversation(ctx, t, in)
		if err != nil {
			return err
		}
		ch := crmhub.Channel(conv.Channel)
		if err := crmhub.ValidateContent(ch, in.Type, in.Text, in.ContentURL, in.Template, false); err != nil {
			return err
		}
		if in.ReplyToID != nil {
			ok, err := t.NewSelect().Model((*messageRow)(nil)).
				Where("workspace_id = ? AND id = ? AND conversation_id = ?", t.ws, *in.ReplyToID, conv.ID).Exists(ctx)
			if err != nil {
				return fmt.Errorf("db: find quoted message: %w", err)
			}
			if !ok {
				return &crmhub.Error{Code: crmhub.ENOTFOUND, Field: "replyToId", Message: "no such message in this conversation"}
			}
		}
		blocked, err := channelBlocked(ctx, t, conv.ContactID, ch)
		if err != nil {
			return err
		}
		if blocked != "" {
			return crmhub.Errorf(crmhub.ESUPPRESSED, "the contact may not be messaged on %s (%s)", ch, blocked)
		}
		if in.Type != crmhub.MessageTemplate && !withinWindow(conv.LastInboundAt, t.now) {
			return crmhub.Errorf(crmhub.EOUTSIDEWINDOW,
				"freeform messages are allowed only within 24 hours of the contact's last message; send a TEMPLATE")
		}
		next := t.now
		row = messageRow{WorkspaceID: t.ws, ID: newID(), ConversationID: conv.ID, Channel: conv.Channel,
			Direction: string(crmhub.Outbound), Type: string(in.Type), Text: in.Text, ContentURL: trimmed(in.ContentURL),
			Template: in.Template, ReplyToID: in.ReplyToID, Status: string(crmhub.MessageQueued), NextAttemptAt: &next,
			CreatedAt: t.now, UpdatedAt: t.now}
		if _, err := t.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("db: queue message: %w", err)
		}
		_, err = t.NewRaw(`UPDATE conversations SET last_message_at = greatest(last_message_at, ?), unanswered = false,
			updated_at = ? WHERE workspace_id = ? AND id = ?`, t.now, t.now, t.ws, conv.ID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("db: update conversation: %w", err)
		}
		t.emit(crmhub.EventMessageSent, row.domain().GlobalID(), messagePayload(&row))
		return nil
	})
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.sendTimeout)
	defer cancel()
	// A transient failure leaves the message QUEUED for the outbox; a
	// refusal has made it FAILED. Either way the caller gets it as it stands.
	if m, _ := s.deliver(dctx, row.WorkspaceID, row.ID); m != nil {
		return m, nil
	}
	return row.domain(), nil
}

// withinWindow reports whether now is inside the service window opened by
// the contact's last inbound message.
func withinWindow(lastInbound *time.Time, now time.Time) bool {
	return lastInbound != nil && now.Before(lastInbound.Add(crmhub.ServiceWindow))
}

// targetConversation finds the conversation a send goes to: the one named,
// or the contact's live one on the channel (opened if needed, on the chat id
// of the contact's identity for that channel).
func (s *ConversationService) targetConversation(ctx context.Context, t *tx, in crmhub.SendMessageInput) (*conversationRow, error) {
	if in.ConversationID != nil {
		var conv conversationRow
		err := t.NewSelect().Model(&conv).Where("workspace_id = ? AND id = ?", t.ws, *in.ConversationID).For("UPDATE").Scan(ctx)
		if err != nil {
			if isNoRows(err) {
				return nil, &crmhub.Error{Code: crmhub.ENOTFOUND, Field: "conversationId", Message: "conversation not found"}
			}
			return nil, fmt.Errorf("db: find conversation: %w", err)
		}
		return &conv, nil
	}
	if in.ContactID == nil || in.Channel == nil {
		return nil, crmhub.Invalid("conversationId", "give conversationId, or contactId and channel")
	}
	if !in.Channel.Valid() {
		return nil, crmhub.Invalid("channel", "unknown channel %q", *in.Channel)
	}
	contactID, err := liveContact(ctx, t, *in.ContactID, "contactId")
	if err != nil {
		return nil, err
	}
	class := in.Channel.IdentityType().MatchClass()
	var chatID string
	err = t.NewSelect().Model((*identityRow)(nil)).Column("value").
		Where("workspace_id = ? AND contact_id = ? AND match_class = ?", t.ws, contactID, class).
		OrderExpr("created_at, type").Limit(1).Scan(ctx, &chatID)
	if isNoRows(err) {
		return nil, crmhub.Invalid("channel", "the contact has no %s identity to send to", *in.Channel)
	} else if err != nil {
		return nil, fmt.Errorf("db: find chat id: %w", err)
	}
	return openConversation(ctx, t, contactID, *in.Channel, chatID)
}

// UpdateMessageStatus moves a message's status forward. Regressions and
// repeats are ignored: the message is returned as it is, with no event.
func (s *ConversationService) UpdateMessageStatus(ctx context.Context, id uuid.UUID, status crmhub.MessageStatus, errorCode *string) (*crmhub.Message, error) {
	if !slices.Contains(crmhub.MessageStatuses, status) {
		return nil, crmhub.Invalid("status", "unknown message status %q", status)
	}
	code, err := crmhub.OptionalText(errorCode, "errorCode", crmhub.MaxErrorCodeSize)
	if err != nil {
		return nil, err
	}
	if code != nil && status != crmhub.MessageFailed {
		return nil, crmhub.Invalid("errorCode", "only a FAILED message carries an error code")
	}
	var row messageRow
	err = s.db.write(ctx, crmhub.ScopeConversationsWrite, func(ctx context.Context, t *tx) error {
		if err := t.NewSelect().Model(&row).Where("workspace_id = ? AND id = ?", t.ws, id).For("UPDATE").Scan(ctx); err != nil {
			return notFound(err, crmhub.KindMessage, "update message status")
		}
		return setMessageStatus(ctx, t, &row, status, code, nil)
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

// ApplyRemoteStatus moves the outbound message the channel knows as
// externalID forward, as UpdateMessageStatus does: a status an external
// CRM reported. ENOTFOUND when no outbound message has that id.
func (s *ConversationService) ApplyRemoteStatus(ctx context.Context, externalID string, status crmhub.MessageStatus, errorCode *string) (*crmhub.Message, error) {
	var id uuid.UUID
	err := s.db.read(ctx, crmhub.ScopeConversationsWrite, func(ctx context.Context, t *tx) error {
		err := t.NewSelect().Model((*messageRow)(nil)).Column("id").
			Where("workspace_id = ? AND direction = ? AND external_id = ?", t.ws, string(crmhub.Outbound), externalID).
			Limit(1).Scan(ctx, &id)
		return notFound(err, crmhub.KindMessage, "find message by external id")
	})
	if err != nil {
		return nil, err
	}
	return s.UpdateMessageStatus(ctx, id, status, errorCode)
}

// setMessageStatus applies a forward status move to a locked row and emits
// message.status_changed; a move that does not advance changes nothing.
func setMessageStatus(ctx context.Context, t *tx, row *messageRow, status crmhub.MessageStatus, code, externalID *string) error {
	if !crmhub.MessageStatus(row.Status).Advances(status) {
		return nil
	}
	prev := row.Status
	row.Status, row.ErrorCode, row.UpdatedAt = string(status), code, t.now
	if externalID != nil {
		row.ExternalID = externalID
	}
	if status != crmhub.MessageQueued {
		row.NextAttemptAt = nil
	}
	_, err := t.NewUpdate().Model(row).Column("status", "error_code", "external_id", "next_attempt_at", "updated_at").WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("db: set message status: %w", err)
	}
	p := messagePayload(row)
	p.PreviousStatus = crmhub.MessageStatus(prev)
	t.emit(crmhub.EventMessageStatusChanged, row.domain().GlobalID(), p)
	return nil
}

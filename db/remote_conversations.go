package db

import (
	"context"
	"fmt"
	"slices"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// sender is the contact a CRM reported a message or conversation of, and
// where the conversation comes from.
type sender struct {
	channel crmhub.Channel
	chatID  string // normalized
	name    *string
	// ids are more identifiers of the contact, normalized.
	ids             []crmhub.Identifier
	connectionID    *uuid.UUID
	remoteChannelID *string
	// remoteConversationID is the CRM's id of the conversation.
	remoteConversationID *string
}

// liveConversationOf resolves (or creates) the sender by the chat's
// identity and its other identifiers, with the one resolve rule, and
// returns the live conversation on the chat, opened if there is none and
// tied to the connection, the CRM's channel and its id of the
// conversation. Identifiers that point at another contact than the chat
// are left out: the chat decides who wrote.
func liveConversationOf(ctx context.Context, t *tx, s sender) (*conversationRow, error) {
	chat := crmhub.Identifier{Type: s.channel.IdentityType(), Value: s.chatID}
	change := contactChange{mode: crmhub.MatchUpsert, ids: append([]crmhub.Identifier{chat}, s.ids...), nameIfNew: s.name}
	res, err := applyChanges(ctx, t, []contactChange{change})
	if err == nil && res[0].err != nil && res[0].err.Code == crmhub.ECONFLICT && len(s.ids) > 0 {
		change.ids = change.ids[:1]
		res, err = applyChanges(ctx, t, []contactChange{change})
	}
	if err != nil {
		return nil, err
	}
	if res[0].err != nil {
		return nil, res[0].err
	}
	conv, err := openConversation(ctx, t, res[0].contact.ID, s.channel, s.chatID)
	if err != nil || s.connectionID == nil {
		return conv, err
	}
	if s.remoteConversationID != nil {
		// The CRM's id names one hub conversation: the live one.
		_, err := t.NewRaw(`UPDATE conversations SET external_id = NULL
			WHERE workspace_id = ? AND connection_id = ? AND external_id = ? AND id <> ?`,
			t.ws, *s.connectionID, *s.remoteConversationID, conv.ID).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("db: move the CRM's conversation id: %w", err)
		}
	}
	err = t.NewRaw(`UPDATE conversations SET connection_id = ?, remote_channel_id = coalesce(?, remote_channel_id),
			external_id = coalesce(?, external_id)
		WHERE workspace_id = ? AND id = ? RETURNING *`,
		*s.connectionID, trimmed(s.remoteChannelID), s.remoteConversationID, t.ws, conv.ID).Scan(ctx, conv)
	if pgCode(err) == codeForeignKey {
		return nil, &crmhub.Error{Code: crmhub.ENOTFOUND, Field: "connectionId", Message: "connection not found"}
	} else if err != nil {
		return nil, fmt.Errorf("db: tie conversation to its connection: %w", err)
	}
	return conv, nil
}

// normalizeSenderIDs normalizes a sender's extra identifiers; none is
// fine.
func normalizeSenderIDs(ids []crmhub.Identifier, field string) ([]crmhub.Identifier, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out, err := crmhub.NormalizeIdentifiers(ids)
	if err != nil {
		return nil, err.(*crmhub.Error).WithField(field)
	}
	return out, nil
}

// ApplyRemoteConversation applies a CRM's report about one of its
// conversations. A report that changes nothing (a replay) emits nothing.
func (s *ConversationService) ApplyRemoteConversation(ctx context.Context, in crmhub.RemoteConversationInput) (*crmhub.Conversation, error) {
	ext, err := crmhub.OptionalText(&in.ExternalID, "externalId", crmhub.MaxIdentifierValueLength)
	if err != nil || ext == nil {
		return nil, crmhub.Invalid("externalId", "the CRM's id of the conversation is required")
	}
	if in.Status != nil && !slices.Contains(crmhub.ConversationStatuses, *in.Status) {
		return nil, crmhub.Invalid("status", "unknown conversation status %q", *in.Status)
	}
	// The contact matters only for a conversation the hub does not know:
	// a bad number in the report of a known one is no reason to refuse it.
	who, whoErr := remoteSender(in, ext)
	var row *conversationRow
	err = s.db.write(ctx, crmhub.ScopeConversationsWrite, func(ctx context.Context, t *tx) error {
		row = &conversationRow{}
		err := t.NewSelect().Model(row).Where("workspace_id = ? AND connection_id = ? AND external_id = ?", t.ws, in.ConnectionID, *ext).
			For("UPDATE").Scan(ctx)
		switch {
		case isNoRows(err) && whoErr != nil:
			return whoErr
		case isNoRows(err) && who.chatID == "":
			return crmhub.Errorf(crmhub.ENOTFOUND, "no conversation of this connection has the id %q", *ext)
		case isNoRows(err):
			if row, err = liveConversationOf(ctx, t, who); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("db: find the CRM's conversation: %w", err)
		}
		if in.AssigneeID != nil && (row.AssigneeID == nil || *row.AssigneeID != *in.AssigneeID) {
			if row, err = assign(ctx, t, row.ID, in.AssigneeID); err != nil {
				return err
			}
		}
		if in.Status != nil && row.Status != string(*in.Status) {
			if row, err = setStatus(ctx, t, row.ID, *in.Status); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return row.domain(), nil
}

// remoteSender normalizes the contact a CRM's conversation report names.
func remoteSender(in crmhub.RemoteConversationInput, ext *string) (sender, error) {
	who := sender{channel: in.Channel, connectionID: &in.ConnectionID, remoteConversationID: ext}
	if in.ChatID == "" {
		return who, nil
	}
	var err error
	if who.chatID, err = crmhub.NormalizeChatID(in.Channel, in.ChatID); err != nil {
		return who, err
	}
	if who.name, err = crmhub.NormalizeName(in.SenderName); err != nil {
		return who, err
	}
	who.ids, err = normalizeSenderIDs(in.Identifiers, "identifiers")
	return who, err
}

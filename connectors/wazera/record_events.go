package wazera

import (
	"encoding/json"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/opt"
)

// webhookConversation is the data of conversation.created and
// conversation.closed: {id, status (open, pending, closed; not used, see
// conversationEvent), assigned_to
// (a user id or null), contact {id, name, phone, email}}, like the
// conversation the document's GET /conversations lists.
type webhookConversation struct {
	ID         ID              `json:"id"`
	Status     string          `json:"status"`
	AssignedTo *ID             `json:"assigned_to"`
	Contact    *webhookContact `json:"contact"`
}

// recordEvent converts the conversation and contact events; nil for
// other events and for one whose data lacks its id (skipped, so one odd
// event does not fail a delivery).
func recordEvent(event string, data json.RawMessage) []connectors.Inbound {
	switch event {
	case EventConversationCreated, EventConversationClosed:
		var d webhookConversation
		if json.Unmarshal(data, &d) != nil || d.ID == "" {
			return nil
		}
		return []connectors.Inbound{{ID: string(d.ID) + ":" + event, Conversation: conversationEvent(event, d)}}
	case EventContactCreated, EventContactUpdated:
		var c Contact
		if json.Unmarshal(data, &c) != nil || c.ID == "" {
			return nil
		}
		rc := contactFromWire(c)
		return []connectors.Inbound{{ID: string(c.ID) + ":" + event, Contact: &rc}}
	}
	return nil
}

// conversationEvent converts a conversation event: CLOSED for
// conversation.closed, its agent, and the contact's chat so that a
// conversation the hub has not seen is opened. conversation.created sets
// no status: a conversation the hub opens is OPEN, and a creation
// delivered after the closing (webhooks may come out of order) must not
// reopen it.
func conversationEvent(event string, d webhookConversation) *connectors.ConversationEvent {
	c := &connectors.ConversationEvent{ExternalID: string(d.ID), Channel: crmhub.ChannelWhatsApp}
	if event == EventConversationClosed {
		closed := crmhub.ConversationClosed
		c.Status = &closed
	}
	if d.AssignedTo != nil && *d.AssignedTo != "" {
		// Wazera documents no users: the agent is known by its id.
		c.Assignee = &connectors.RemoteUser{ExternalID: string(*d.AssignedTo), Name: "Wazera user " + string(*d.AssignedTo)}
	}
	if ct := d.Contact; ct != nil {
		c.ChatID = e164(ct.Phone)
		c.SenderName = opt.NonEmpty(strings.TrimSpace(ct.Name))
		if ct.ID != "" {
			c.Identifiers = append(c.Identifiers, crmhub.Identifier{Type: crmhub.IdentityExternalID, Value: string(ct.ID)})
		}
	}
	return c
}

package wazelo

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
)

// ConversationEvent is the data of conversation.assigned and
// conversation.resolved. The document names the events and shows no data;
// it is read like message.received's: conversation_id, the contact's
// contact_id and number ("from", or "phone"), and for an assignment the
// agent as assigned_to: an object {id, name, email}, or its id alone
// (then agent_name and agent_email may name it).
type ConversationEvent struct {
	ConversationID string          `json:"conversation_id"`
	ContactID      string          `json:"contact_id,omitempty"`
	From           string          `json:"from,omitempty"`
	Phone          string          `json:"phone,omitempty"`
	Name           string          `json:"name,omitempty"`
	AssignedTo     json.RawMessage `json:"assigned_to,omitempty"`
	AgentName      string          `json:"agent_name,omitempty"`
	AgentEmail     string          `json:"agent_email,omitempty"`
	ResolvedAt     string          `json:"resolved_at,omitempty"`
}

// Agent is the agent a conversation is assigned to.
type Agent struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// CampaignEvent is the data of campaign.completed, read as {campaign_id
// (or id), name, stats, completed_at}.
type CampaignEvent struct {
	CampaignID  string         `json:"campaign_id"`
	ID          string         `json:"id,omitempty"`
	Name        string         `json:"name,omitempty"`
	Stats       map[string]any `json:"stats,omitempty"`
	CompletedAt string         `json:"completed_at,omitempty"`
}

// recordEvent converts conversation.assigned, conversation.resolved,
// contact.created and campaign.completed; ok is false for other events
// and for one whose data lacks what the hub needs (the ids, the agent):
// it is skipped like an unknown event, so that one odd event does not
// make Wazelo retry its whole delivery.
func recordEvent(ev WebhookEvent) (in connectors.Inbound, ok bool, err error) {
	switch ev.Event {
	case EventConversationAssigned, EventConversationResolved:
		var d ConversationEvent
		if json.Unmarshal(ev.Data, &d) != nil || d.ConversationID == "" {
			return in, false, nil
		}
		c, err := conversationEvent(ev.Event, d)
		if err != nil {
			return in, false, nil
		}
		return connectors.Inbound{ID: d.ConversationID + ":" + ev.Event + ":" + ev.Timestamp, Conversation: c}, true, nil
	case EventContactCreated:
		var c Contact
		if json.Unmarshal(ev.Data, &c) != nil || c.ID == "" {
			return in, false, nil
		}
		rc := contactFromWire(c)
		return connectors.Inbound{ID: c.ID, Contact: &rc}, true, nil
	case EventCampaignCompleted:
		var d CampaignEvent
		id := ""
		if json.Unmarshal(ev.Data, &d) == nil {
			id = firstNonEmpty(d.CampaignID, d.ID)
		}
		if id == "" {
			return in, false, nil
		}
		return connectors.Inbound{ID: id, Campaign: &connectors.CampaignEvent{ExternalID: id, Name: nonEmpty(&d.Name),
			Stats: d.Stats, CompletedAt: firstTime(d.CompletedAt, ev.Timestamp)}}, true, nil
	}
	return in, false, nil
}

// conversationEvent converts an assignment (the agent) or a resolution
// (CLOSED, the hub's word for resolved).
func conversationEvent(event string, d ConversationEvent) (*connectors.ConversationEvent, error) {
	c := &connectors.ConversationEvent{ExternalID: d.ConversationID, Channel: crmhub.ChannelWhatsApp,
		ChatID: e164(firstNonEmpty(d.From, d.Phone)), SenderName: nonEmpty(&d.Name)}
	if d.ContactID != "" {
		c.Identifiers = []crmhub.Identifier{{Type: crmhub.IdentityExternalID, Value: d.ContactID}}
	}
	if event == EventConversationResolved {
		closed := crmhub.ConversationClosed
		c.Status = &closed
		return c, nil
	}
	agent, err := readAgent(d)
	if err != nil {
		return nil, err
	}
	c.Assignee = agent
	return c, nil
}

// readAgent reads assigned_to as an object or an id.
func readAgent(d ConversationEvent) (*connectors.RemoteUser, error) {
	var a Agent
	if len(d.AssignedTo) == 0 || string(d.AssignedTo) == "null" {
		return nil, fmt.Errorf("wazelo: a %s webhook without data.assigned_to", EventConversationAssigned)
	}
	if d.AssignedTo[0] == '{' {
		if err := json.Unmarshal(d.AssignedTo, &a); err != nil {
			return nil, fmt.Errorf("wazelo: data.assigned_to: %w", err)
		}
	} else {
		id, err := decodeID(d.AssignedTo)
		if err != nil {
			return nil, err
		}
		a = Agent{ID: id, Name: d.AgentName, Email: d.AgentEmail}
	}
	if a.ID = strings.TrimSpace(a.ID); a.ID == "" {
		return nil, fmt.Errorf("wazelo: data.assigned_to names no agent id")
	}
	u := &connectors.RemoteUser{ExternalID: a.ID, Name: strings.TrimSpace(a.Name)}
	u.Email = nonEmpty(&a.Email)
	return u, nil
}

// decodeID reads an id given as a JSON string or number.
func decodeID(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("wazelo: an id that is neither a string nor a number: %s", raw)
	}
	return n.String(), nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

package wazelotest

import "time"

// The events of conversations, contacts and campaigns the document lists.
// It shows no data for them; the shapes below are the ones the connector
// reads (see the wazelo package doc): like message.received's, with the
// agent as an object.
const (
	EventConversationAssigned = "conversation.assigned"
	EventConversationResolved = "conversation.resolved"
	EventContactCreated       = "contact.created"
	EventCampaignCompleted    = "campaign.completed"
)

// ConversationData is the data of conversation.assigned and
// conversation.resolved.
type ConversationData struct {
	ConversationID string `json:"conversation_id"`
	ContactID      string `json:"contact_id,omitempty"`
	From           string `json:"from,omitempty"`
	AssignedTo     *Agent `json:"assigned_to,omitempty"`
	ResolvedAt     string `json:"resolved_at,omitempty"`
}

// Agent is a Wazelo user (an agent of the shared inbox).
type Agent struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// CampaignData is the data of campaign.completed.
type CampaignData struct {
	CampaignID  string         `json:"campaign_id"`
	Name        string         `json:"name"`
	Stats       map[string]any `json:"stats"`
	CompletedAt string         `json:"completed_at"`
}

// conversationOf is the conversation event data of the chat with phone,
// as Receive names its conversation.
func (f *Fake) conversationOf(phone string) ConversationData {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := digitsOf(phone)
	return ConversationData{ConversationID: "conv_" + d, ContactID: f.byPhone(d, ""), From: d}
}

// Assign returns the conversation.assigned event of the chat with phone
// (the conversation Receive opened) given to agent.
func (f *Fake) Assign(phone string, agent Agent) Event {
	d := f.conversationOf(phone)
	d.AssignedTo = &agent
	return Event{Event: EventConversationAssigned, Timestamp: f.stamp(), Data: d}
}

// Resolve returns the conversation.resolved event of the chat with phone.
func (f *Fake) Resolve(phone string) Event {
	d := f.conversationOf(phone)
	d.ResolvedAt = f.stamp()
	return Event{Event: EventConversationResolved, Timestamp: d.ResolvedAt, Data: d}
}

// ContactCreated stores c (an id is given when it has none) and returns
// its contact.created event.
func (f *Fake) ContactCreated(c Contact) Event {
	f.mu.Lock()
	if c.ID == "" {
		c.ID = f.newID("cnt")
	}
	f.mu.Unlock()
	f.PutContacts(c)
	stored, _ := f.Contact(c.ID)
	return Event{Event: EventContactCreated, Timestamp: f.stamp(), Data: stored}
}

// CampaignCompleted returns the campaign.completed event of a campaign.
func (f *Fake) CampaignCompleted(id, name string, stats map[string]any) Event {
	at := f.stamp()
	return Event{Event: EventCampaignCompleted, Timestamp: at,
		Data: CampaignData{CampaignID: id, Name: name, Stats: stats, CompletedAt: at}}
}

// stamp is the fake's time as the webhooks write it.
func (f *Fake) stamp() string { return f.opts.Now().UTC().Format(time.RFC3339) }

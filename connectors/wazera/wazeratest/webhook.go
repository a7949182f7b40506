package wazeratest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// SignatureHeader carries the webhook signature, "sha256=<hex>".
const SignatureHeader = "X-Wazera-Signature"

// The documented webhook event types.
const (
	EventMessageReceived     = "message.received"
	EventMessageSent         = "message.sent"
	EventMessageDelivered    = "message.delivered"
	EventMessageRead         = "message.read"
	EventConversationCreated = "conversation.created"
	EventConversationClosed  = "conversation.closed"
	EventContactCreated      = "contact.created"
	EventContactUpdated      = "contact.updated"
)

// Event is the body of one outgoing webhook. The document gives the event
// names and headers but no body; this is the shape the fake assumes:
// {"event", "timestamp", "data"}, data being the message, conversation or
// contact the event concerns.
type Event struct {
	Event     string    `json:"event"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// WebhookMessage is the data of a message.* event.
type WebhookMessage struct {
	ID                int64           `json:"id"`
	ConversationID    int64           `json:"conversation_id,omitempty"`
	WhatsAppAccountID int64           `json:"whatsapp_account_id,omitempty"`
	Direction         string          `json:"direction"` // "inbound" or "outbound"
	From              string          `json:"from,omitempty"`
	To                string          `json:"to,omitempty"`
	Type              string          `json:"type"`
	Content           map[string]any  `json:"content,omitempty"`
	Status            string          `json:"status"`
	Contact           *WebhookContact `json:"contact,omitempty"`
	CreatedAt         time.Time       `json:"created_at"`
}

// WebhookContact is the contact a webhook message names.
type WebhookContact struct {
	ID    int64  `json:"id"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone"`
}

// WebhookConversation is the data of a conversation.* event.
type WebhookConversation struct {
	ID         int64           `json:"id"`
	Status     string          `json:"status"` // open, closed, pending
	AssignedTo *int64          `json:"assigned_to"`
	Contact    *WebhookContact `json:"contact,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
}

// Sign returns the X-Wazera-Signature value of body: "sha256=" and the hex
// HMAC-SHA256 of the raw body under secret.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Signed encodes e and returns the body and the headers Wazera sends with
// it, signed with secret.
func (e Event) Signed(secret string) (body []byte, header http.Header, err error) {
	body, err = json.Marshal(e)
	if err != nil {
		return nil, nil, fmt.Errorf("wazeratest: encoding %s event: %w", e.Event, err)
	}
	header = http.Header{}
	header.Set("Content-Type", "application/json")
	header.Set(SignatureHeader, Sign(body, secret))
	return body, header, nil
}

// NewWebhookRequest builds the signed POST of e to url, as Wazera would
// deliver it.
func NewWebhookRequest(ctx context.Context, url string, e Event, secret string) (*http.Request, error) {
	body, header, err := e.Signed(secret)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = header
	return req, nil
}

// exampleTime is the time of the examples, the document's scheduled_at.
var exampleTime = time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)

// Examples returns one event of each documented type, with the
// document's example values (+1234567890, John Doe, account 1), for tests
// that post them to the hub.
func Examples() map[string]Event {
	contact := &WebhookContact{ID: 12, Name: "John Doe", Phone: "+1234567890"}
	msg := func(event, direction, status string, content map[string]any) Event {
		m := WebhookMessage{ID: 987, ConversationID: 45, WhatsAppAccountID: 1, Direction: direction,
			Type: "text", Content: content, Status: status, Contact: contact, CreatedAt: exampleTime}
		if direction == "inbound" {
			m.ID, m.From = 988, "+1234567890"
		} else {
			m.To = "+1234567890"
		}
		return Event{Event: event, Timestamp: exampleTime, Data: m}
	}
	out := map[string]Event{
		EventMessageReceived:  msg(EventMessageReceived, "inbound", "received", map[string]any{"body": "Hello from WhatsApp!"}),
		EventMessageSent:      msg(EventMessageSent, "outbound", "sent", map[string]any{"body": "Hello from the API!"}),
		EventMessageDelivered: msg(EventMessageDelivered, "outbound", "delivered", map[string]any{"body": "Hello from the API!"}),
		EventMessageRead:      msg(EventMessageRead, "outbound", "read", map[string]any{"body": "Hello from the API!"}),
	}
	conv := func(event, status string) Event {
		return Event{Event: event, Timestamp: exampleTime,
			Data: WebhookConversation{ID: 45, Status: status, Contact: contact, CreatedAt: exampleTime}}
	}
	out[EventConversationCreated] = conv(EventConversationCreated, "open")
	out[EventConversationClosed] = conv(EventConversationClosed, "closed")
	customer := Contact{ID: 12, Name: ptr("John Doe"), Phone: "+1234567890", Email: ptr("john@example.com"),
		Tags: []string{"customer", "vip"}, CustomFields: map[string]any{"company": "Acme Inc"},
		CreatedAt: exampleTime, UpdatedAt: exampleTime}
	out[EventContactCreated] = Event{Event: EventContactCreated, Timestamp: exampleTime, Data: customer}
	out[EventContactUpdated] = Event{Event: EventContactUpdated, Timestamp: exampleTime, Data: customer}
	return out
}

// StatusEvent returns the message.sent, message.delivered or message.read
// event of a message the fake sent, for tests that play Wazera's side
// after a send.
func (f *Fake) StatusEvent(id int64, event string) (Event, bool) {
	m, ok := f.Message(id)
	if !ok {
		return Event{}, false
	}
	status := map[string]string{EventMessageSent: "sent", EventMessageDelivered: "delivered", EventMessageRead: "read"}[event]
	var content map[string]any
	_ = json.Unmarshal(m.Content, &content)
	at := f.now().UTC()
	return Event{Event: event, Timestamp: at, Data: WebhookMessage{ID: m.ID, WhatsAppAccountID: m.WhatsAppAccountID,
		Direction: "outbound", To: m.To, Type: m.Type, Content: content, Status: status, CreatedAt: m.CreatedAt}}, true
}

func ptr[T any](v T) *T { return &v }

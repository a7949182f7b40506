package wazelotest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// DefaultWebhookSecret signs the Fake's webhooks when
// Options.WebhookSecret is empty.
const DefaultWebhookSecret = "wazelo-webhook-secret"

// SignatureHeader is the header that carries a webhook's signature.
const SignatureHeader = "X-Wazelo-Signature"

// ExampleMessageReceived is the document's message.received payload,
// byte for byte.
const ExampleMessageReceived = `{
  "event": "message.received",
  "timestamp": "2025-04-19T10:14:33Z",
  "data": {
    "message_id": "msg_01HX9T7",
    "from": "919876543210",
    "contact_id": "cnt_01HX4K9",
    "conversation_id": "conv_01HX7Q1",
    "type": "text",
    "text": "Hi, I want to book a site visit",
    "received_at": "2025-04-19T10:14:33Z"
  }
}`

// Event is one webhook delivery.
type Event struct {
	Event     string `json:"event"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// MessageData is the data of the message.* events, shaped like the
// document's example; the status events fill DeliveredAt or ReadAt.
type MessageData struct {
	MessageID      string `json:"message_id"`
	From           string `json:"from,omitempty"`
	ContactID      string `json:"contact_id,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	Type           string `json:"type,omitempty"`
	Text           string `json:"text,omitempty"`
	ReceivedAt     string `json:"received_at,omitempty"`
	DeliveredAt    string `json:"delivered_at,omitempty"`
	ReadAt         string `json:"read_at,omitempty"`
}

// Sign returns the X-Wazelo-Signature of body: the hex HMAC-SHA256 of the
// raw body keyed with secret.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// WebhookHeader returns the headers Wazelo sends with body.
func WebhookHeader(body []byte, secret string) http.Header {
	return http.Header{
		"Content-Type":  {"application/json"},
		SignatureHeader: {Sign(body, secret)},
	}
}

// EncodeWebhook encodes ev and signs it with secret.
func EncodeWebhook(ev Event, secret string) ([]byte, http.Header, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, nil, err
	}
	return body, WebhookHeader(body, secret), nil
}

// NewWebhookRequest builds the POST Wazelo would make to url with body,
// signed with secret.
func NewWebhookRequest(ctx context.Context, url string, body []byte, secret string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = WebhookHeader(body, secret)
	return req, nil
}

// WebhookSecret returns the secret the Fake signs with.
func (f *Fake) WebhookSecret() string { return f.opts.WebhookSecret }

// Webhook encodes ev and signs it with the Fake's secret.
func (f *Fake) Webhook(ev Event) ([]byte, http.Header, error) {
	return EncodeWebhook(ev, f.opts.WebhookSecret)
}

// Receive records a text message from phone, which opens its 24-hour
// window, and returns the message.received event Wazelo would send. The
// contact with that phone, if any, is named by contact_id.
func (f *Fake) Receive(phone, text string) Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.opts.Now()
	d := digitsOf(phone)
	f.inbound[d] = now
	ts := now.UTC().Format(time.RFC3339)
	return Event{Event: "message.received", Timestamp: ts, Data: MessageData{
		MessageID: f.newID("msg"), From: d, ContactID: f.byPhone(d, ""),
		ConversationID: "conv_" + d, Type: "text", Text: text, ReceivedAt: ts,
	}}
}

// StatusEvent returns the message.delivered or message.read event of a
// message the Fake sent.
func (f *Fake) StatusEvent(event, messageID string) Event {
	ts := f.opts.Now().UTC().Format(time.RFC3339)
	d := MessageData{MessageID: messageID}
	switch event {
	case "message.delivered":
		d.DeliveredAt = ts
	case "message.read":
		d.ReadAt = ts
	}
	return Event{Event: event, Timestamp: ts, Data: d}
}

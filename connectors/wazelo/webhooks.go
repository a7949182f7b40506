package wazelo

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
)

// SignatureHeader carries the hex HMAC-SHA256 of a webhook's raw body,
// keyed with the webhook secret.
const SignatureHeader = "X-Wazelo-Signature"

// Webhook events the document lists.
const (
	EventMessageReceived      = "message.received"
	EventMessageDelivered     = "message.delivered"
	EventMessageRead          = "message.read"
	EventConversationAssigned = "conversation.assigned"
	EventConversationResolved = "conversation.resolved"
	EventContactCreated       = "contact.created"
	EventCampaignCompleted    = "campaign.completed"
)

// WebhookEvent is one webhook delivery: {"event", "timestamp", "data"}.
type WebhookEvent struct {
	Event     string          `json:"event"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// MessageEvent is the data of the message.* events. The document shows
// message.received; the delivered and read events are read as carrying
// the same message_id and, optionally, the time of the change.
type MessageEvent struct {
	MessageID      string `json:"message_id"`
	From           string `json:"from,omitempty"`
	ContactID      string `json:"contact_id,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	Type           string `json:"type,omitempty"`
	Text           string `json:"text,omitempty"`
	MediaURL       string `json:"media_url,omitempty"`
	Name           string `json:"name,omitempty"`
	ReceivedAt     string `json:"received_at,omitempty"`
	DeliveredAt    string `json:"delivered_at,omitempty"`
	ReadAt         string `json:"read_at,omitempty"`
}

// Sign returns the X-Wazelo-Signature of body under secret.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks the X-Wazelo-Signature of body in constant time.
// A "sha256=" prefix and upper-case hex are accepted. It returns
// connectors.ErrBadSignature (wrapped) when the header is missing, not
// hex, wrong, or when no secret is configured.
func VerifySignature(header http.Header, body []byte, secret string) error {
	sig := strings.TrimSpace(header.Get(SignatureHeader))
	sig = strings.TrimPrefix(sig, "sha256=")
	switch {
	case secret == "":
		return fmt.Errorf("wazelo: no webhook secret to verify with: %w", connectors.ErrBadSignature)
	case sig == "":
		return fmt.Errorf("wazelo: no %s header: %w", SignatureHeader, connectors.ErrBadSignature)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("wazelo: %s is not hex: %w", SignatureHeader, connectors.ErrBadSignature)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("wazelo: %w", connectors.ErrBadSignature)
	}
	return nil
}

// ParseWebhook verifies body's signature and decodes its event: a
// message.received becomes an InboundMessage, message.delivered and
// message.read a StatusUpdate, conversation.assigned and
// conversation.resolved a ConversationEvent, contact.created a Contact
// and campaign.completed a CampaignEvent (record_events.go); events
// the document does not list are skipped. A body that
// is a JSON array of events is read event by event.
func (c *Connector) ParseWebhook(header http.Header, body []byte, secret string) ([]connectors.Inbound, error) {
	if err := VerifySignature(header, body, secret); err != nil {
		return nil, err
	}
	events, err := decodeEvents(body)
	if err != nil {
		return nil, err
	}
	var out []connectors.Inbound
	for _, ev := range events {
		in, ok, err := inboundFromEvent(ev)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, in)
		}
	}
	return out, nil
}

// decodeEvents reads one event or an array of them.
func decodeEvents(body []byte) ([]WebhookEvent, error) {
	body = bytes.TrimSpace(body)
	var events []WebhookEvent
	var err error
	if len(body) > 0 && body[0] == '[' {
		err = json.Unmarshal(body, &events)
	} else {
		var ev WebhookEvent
		err = json.Unmarshal(body, &ev)
		events = []WebhookEvent{ev}
	}
	if err != nil {
		return nil, fmt.Errorf("wazelo: decoding a webhook: %w", err)
	}
	return events, nil
}

// inboundFromEvent converts one event; ok is false for events the hub does
// not use.
func inboundFromEvent(ev WebhookEvent) (in connectors.Inbound, ok bool, err error) {
	var status crmhub.MessageStatus
	switch ev.Event {
	case EventMessageReceived:
	case EventMessageDelivered:
		status = crmhub.MessageDelivered
	case EventMessageRead:
		status = crmhub.MessageRead
	default:
		return recordEvent(ev)
	}
	var d MessageEvent
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return in, false, fmt.Errorf("wazelo: decoding a %s webhook: %w", ev.Event, err)
	}
	if d.MessageID == "" {
		return in, false, fmt.Errorf("wazelo: a %s webhook without data.message_id", ev.Event)
	}
	if status != "" {
		at := d.DeliveredAt
		if status == crmhub.MessageRead {
			at = d.ReadAt
		}
		return connectors.Inbound{
			ID:     d.MessageID + ":" + strings.ToLower(string(status)),
			Status: &connectors.StatusUpdate{ExternalID: d.MessageID, Status: status, At: firstTime(at, ev.Timestamp)},
		}, true, nil
	}
	return connectors.Inbound{ID: d.MessageID, Message: messageFromEvent(d, ev.Timestamp)}, true, nil
}

// messageFromEvent converts a message.received's data. The sender is the
// "from" number; contact_id becomes an EXTERNAL_ID whose source the hub
// fills in.
func messageFromEvent(d MessageEvent, timestamp string) *connectors.InboundMessage {
	m := &connectors.InboundMessage{
		ExternalID: d.MessageID,
		Direction:  crmhub.Inbound,
		Channel:    crmhub.ChannelWhatsApp,
		ChatID:     e164(d.From),
		SenderName: nonEmpty(&d.Name),
		Type:       messageTypeFromWire(d.Type, d.Text != ""),
		Text:       nonEmpty(&d.Text),
		ContentURL: nonEmpty(&d.MediaURL),
		SentAt:     firstTime(d.ReceivedAt, timestamp),

		ConversationID: d.ConversationID,
	}
	if d.ContactID != "" {
		m.Identifiers = []crmhub.Identifier{{Type: crmhub.IdentityExternalID, Value: d.ContactID}}
	}
	return m
}

// firstTime returns the first of vs that parses as RFC 3339, nil when none
// does.
func firstTime(vs ...string) *time.Time {
	for _, v := range vs {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return &t
		}
	}
	return nil
}

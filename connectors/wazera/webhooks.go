package wazera

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/opt"
)

// SignatureHeader carries a webhook's signature, "sha256=<hex>".
const SignatureHeader = "X-Wazera-Signature"

// The webhook event types of the document, and message.failed, which it
// does not list but which the parser accepts should Wazera send it.
const (
	EventMessageReceived     = "message.received"
	EventMessageSent         = "message.sent"
	EventMessageDelivered    = "message.delivered"
	EventMessageRead         = "message.read"
	EventMessageFailed       = "message.failed"
	EventConversationCreated = "conversation.created"
	EventConversationClosed  = "conversation.closed"
	EventContactCreated      = "contact.created"
	EventContactUpdated      = "contact.updated"
)

var _ connectors.WebhookParser = (*Connector)(nil)

// webhook is the body of a webhook: {"event", "timestamp", "data"}. The
// document shows none; "type" is read when "event" is absent, and a
// message nested in data.message is read as well as one that is data.
type webhook struct {
	Event     string          `json:"event"`
	Type      string          `json:"type"`
	Timestamp json.RawMessage `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// webhookMessage is the data of a message event.
type webhookMessage struct {
	ID                ID              `json:"id"`
	MessageID         ID              `json:"message_id"`
	WhatsAppAccountID ID              `json:"whatsapp_account_id"`
	ConversationID    ID              `json:"conversation_id"`
	Direction         string          `json:"direction"`
	From              string          `json:"from"`
	To                string          `json:"to"`
	Type              string          `json:"type"`
	Content           json.RawMessage `json:"content"`
	Status            string          `json:"status"`
	Contact           *webhookContact `json:"contact"`
	Error             *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	CreatedAt json.RawMessage `json:"created_at"`
	Timestamp json.RawMessage `json:"timestamp"`
	Message   json.RawMessage `json:"message"`
}

type webhookContact struct {
	ID    ID     `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email"`
}

// messageContent is content of a message: text in body (or text), media
// in url (or link) with an optional caption.
type messageContent struct {
	Body    string `json:"body"`
	Text    string `json:"text"`
	URL     string `json:"url"`
	Link    string `json:"link"`
	Caption string `json:"caption"`
	Name    string `json:"name"`
}

// inboundTypes maps Wazera's message types to the hub's.
var inboundTypes = map[string]crmhub.MessageType{
	"text": crmhub.MessageText, "image": crmhub.MessageImage, "sticker": crmhub.MessageImage,
	"audio": crmhub.MessageAudio, "voice": crmhub.MessageAudio, "video": crmhub.MessageVideo,
	"document": crmhub.MessageDocument, "file": crmhub.MessageDocument, "template": crmhub.MessageTemplate,
}

// statusEvents maps the message status events to the hub's statuses.
var statusEvents = map[string]crmhub.MessageStatus{
	EventMessageSent: crmhub.MessageSent, EventMessageDelivered: crmhub.MessageDelivered,
	EventMessageRead: crmhub.MessageRead, EventMessageFailed: crmhub.MessageFailed,
}

// ParseWebhook verifies and decodes a Wazera webhook; see the package
// function.
func (c *Connector) ParseWebhook(header http.Header, body []byte, secret string) ([]connectors.Inbound, error) {
	return ParseWebhook(header, body, secret)
}

// ParseWebhook verifies X-Wazera-Signature (connectors.ErrBadSignature
// when it is missing, malformed or wrong, or when secret is empty) and
// decodes the event. message.received becomes an inbound Message;
// message.sent, message.delivered and message.read a Status of the
// message id messages/send returned (FAILED, with the error's code, when
// the data's status says failed); conversation.created and
// conversation.closed a Conversation, contact.created and
// contact.updated a Contact (record_events.go). Message types the hub
// has no type for are skipped. A message.sent is
// only a status: a message an agent sends from Wazera's own inbox is not
// mirrored into the hub.
func ParseWebhook(header http.Header, body []byte, secret string) ([]connectors.Inbound, error) {
	if err := VerifySignature(header.Get(SignatureHeader), body, secret); err != nil {
		return nil, err
	}
	var hook webhook
	if err := json.Unmarshal(body, &hook); err != nil {
		return nil, fmt.Errorf("wazera: webhook body: %w", err)
	}
	event := hook.Event
	if event == "" {
		event = hook.Type
	}
	if event == "" {
		return nil, errors.New("wazera: webhook body names no event")
	}
	_, isStatus := statusEvents[event]
	if event != EventMessageReceived && !isStatus {
		return recordEvent(event, hook.Data), nil
	}
	var m webhookMessage
	if err := json.Unmarshal(hook.Data, &m); err != nil {
		return nil, fmt.Errorf("wazera: %s data: %w", event, err)
	}
	if len(m.Message) > 0 && m.Message[0] == '{' {
		contact := m.Contact
		if err := json.Unmarshal(m.Message, &m); err != nil {
			return nil, fmt.Errorf("wazera: %s message: %w", event, err)
		}
		if m.Contact == nil {
			m.Contact = contact
		}
	}
	id := string(m.ID)
	if id == "" {
		id = string(m.MessageID)
	}
	if id == "" {
		return nil, fmt.Errorf("wazera: %s without a message id", event)
	}
	if isStatus {
		// The event's time is the status's; created_at is the message's.
		at := firstTime(readTime(hook.Timestamp), readTime(m.Timestamp), readTime(m.CreatedAt))
		return []connectors.Inbound{{ID: id, Status: statusUpdate(event, id, m, at)}}, nil
	}
	msg := inboundMessage(id, m, firstTime(readTime(m.CreatedAt), readTime(m.Timestamp), readTime(hook.Timestamp)))
	if msg == nil {
		return nil, nil
	}
	return []connectors.Inbound{{ID: id, Message: msg}}, nil
}

func statusUpdate(event, id string, m webhookMessage, at *time.Time) *connectors.StatusUpdate {
	u := &connectors.StatusUpdate{ExternalID: id, Status: statusEvents[event], At: at}
	if strings.EqualFold(m.Status, "failed") {
		u.Status = crmhub.MessageFailed
	}
	if u.Status == crmhub.MessageFailed {
		code := "WAZERA_FAILED"
		if m.Error != nil && m.Error.Code != "" {
			code = m.Error.Code
		}
		u.ErrorCode = &code
	}
	return u
}

// inboundMessage converts a message.received; nil when the hub cannot
// keep it (no sender address, a type it has no word for).
func inboundMessage(id string, m webhookMessage, at *time.Time) *connectors.InboundMessage {
	typ, ok := inboundTypes[strings.ToLower(m.Type)]
	if m.Type == "" {
		typ, ok = crmhub.MessageText, true
	}
	from := m.From
	if from == "" && m.Contact != nil {
		from = m.Contact.Phone
	}
	if !ok || e164(from) == "" {
		return nil
	}
	var content messageContent
	if len(m.Content) > 0 && m.Content[0] == '"' {
		_ = json.Unmarshal(m.Content, &content.Body)
	} else {
		_ = json.Unmarshal(m.Content, &content) // absent or odd content: no text
	}
	msg := &connectors.InboundMessage{
		ExternalID: id, Direction: crmhub.Inbound, Channel: crmhub.ChannelWhatsApp,
		ChatID: e164(from), ChannelID: string(m.WhatsAppAccountID), Type: typ, SentAt: at,
		ConversationID: string(m.ConversationID),
	}
	switch {
	case typ.IsMedia():
		msg.ContentURL = opt.NonEmpty(firstNonEmpty(content.URL, content.Link))
		msg.Text = opt.NonEmpty(content.Caption)
	case typ == crmhub.MessageTemplate:
		msg.Text = opt.NonEmpty(firstNonEmpty(content.Body, content.Text, content.Name))
	default:
		msg.Text = opt.NonEmpty(firstNonEmpty(content.Body, content.Text))
	}
	if c := m.Contact; c != nil {
		msg.SenderName = opt.NonEmpty(strings.TrimSpace(c.Name))
		if c.ID != "" {
			msg.Identifiers = append(msg.Identifiers, crmhub.Identifier{Type: crmhub.IdentityExternalID, Value: string(c.ID)})
		}
		if c.Email != "" {
			msg.Identifiers = append(msg.Identifiers, crmhub.Identifier{Type: crmhub.IdentityEmail, Value: c.Email})
		}
	}
	return msg
}

// VerifySignature checks value, the X-Wazera-Signature header, against
// the HMAC-SHA256 of body under secret, in constant time. Any failure is
// connectors.ErrBadSignature.
func VerifySignature(value string, body []byte, secret string) error {
	prefix, sig, ok := strings.Cut(strings.TrimSpace(value), "=")
	if secret == "" || !ok || !strings.EqualFold(prefix, "sha256") {
		return connectors.ErrBadSignature
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return connectors.ErrBadSignature
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return connectors.ErrBadSignature
	}
	return nil
}

// readTime reads an RFC 3339 (or Laravel) time string or Unix seconds;
// nil when absent or unreadable.
func readTime(raw json.RawMessage) *time.Time {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return parseTime(s)
	}
	if secs, err := strconv.ParseInt(string(raw), 10, 64); err == nil && secs > 0 {
		t := time.Unix(secs, 0).UTC()
		return &t
	}
	return nil
}

func firstTime(ts ...*time.Time) *time.Time {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

package wazera

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/httpclient"
	"github.com/crmhub/crmhub/connectors/internal/opt"
)

// Message types of POST /messages/send.
const (
	TypeText     = "text"
	TypeTemplate = "template"
)

// Codes of the sends the connector refuses itself, before asking Wazera.
const (
	CodeNoWhatsAppAccount   = "WAZERA_NO_WHATSAPP_ACCOUNT"
	CodeChannelNotSupported = "WAZERA_CHANNEL_NOT_SUPPORTED"
	CodeTypeNotSupported    = "WAZERA_MESSAGE_TYPE_NOT_SUPPORTED"
	CodeInvalidMessage      = "WAZERA_INVALID_MESSAGE"
)

// SendMessageRequest is the body of POST /messages/send.
type SendMessageRequest struct {
	To                string          `json:"to"`
	WhatsAppAccountID int64           `json:"whatsapp_account_id"`
	Type              string          `json:"type"`
	Content           json.RawMessage `json:"content"`
}

// TextContent is the content of a text message.
type TextContent struct {
	Body string `json:"body"`
}

// TemplateContent is the content of a template message. Components is
// sent as [] when empty, as in the document's example.
type TemplateContent struct {
	Name       string `json:"name"`
	Language   string `json:"language"`
	Components []any  `json:"components"`
}

// NewSendMessage builds a send request; content is a TextContent for
// TypeText or a TemplateContent for TypeTemplate.
func NewSendMessage(to string, account int64, typ string, content any) (SendMessageRequest, error) {
	if tc, ok := content.(TemplateContent); ok && tc.Components == nil {
		tc.Components = []any{}
		content = tc
	}
	b, err := json.Marshal(content)
	if err != nil {
		return SendMessageRequest{}, fmt.Errorf("wazera: encoding %s content: %w", typ, err)
	}
	return SendMessageRequest{To: to, WhatsAppAccountID: account, Type: typ, Content: b}, nil
}

// SendMessageResponse is what the connector reads of a send's answer.
type SendMessageResponse struct {
	// ID is the message's id, which the message.* webhooks carry.
	ID     string
	Status string
}

// sendAnswer reads {"data": {"id"|"message_id", "status"}} or the same
// fields at the top level; the document shows no answer.
type sendAnswer struct {
	Data *sendAnswerFields `json:"data"`
	sendAnswerFields
}

type sendAnswerFields struct {
	ID        ID     `json:"id"`
	MessageID ID     `json:"message_id"`
	Status    string `json:"status"`
}

// SendMessage sends one message (POST /messages/send). A refusal is a
// *RemoteError with Wazera's code.
func (c *Client) SendMessage(ctx context.Context, m SendMessageRequest) (SendMessageResponse, error) {
	var a sendAnswer
	if err := c.http.Do(ctx, httpclient.Request{Method: "POST", Path: "/messages/send", In: m, Out: &a}); err != nil {
		return SendMessageResponse{}, err
	}
	f := a.sendAnswerFields
	if a.Data != nil {
		f = *a.Data
	}
	id := f.ID
	if id == "" {
		id = f.MessageID
	}
	return SendMessageResponse{ID: string(id), Status: f.Status}, nil
}

var _ connectors.MessageSender = (*Connector)(nil)

// SendMessage sends a WhatsApp text or template message from the
// connection's whatsapp_account_id. What Wazera refuses (a 4xx other
// than 401/403/429) and what the connector cannot send (another channel,
// a media message, no account configured) is a *crmhub.SendError; 429 is
// a RateLimitError and 5xx or a timeout a TransientError, which leave the
// message queued. A reply's quote is not sent: the document has no field
// for it. When Wazera accepts without naming the message, the result's
// ExternalID is empty rather than the message being sent twice.
func (c *Connector) SendMessage(ctx context.Context, m crmhub.OutboundMessage) (crmhub.SendResult, error) {
	req, err := c.sendRequest(m)
	if err != nil {
		return crmhub.SendResult{}, err
	}
	resp, err := c.client.SendMessage(ctx, req)
	var re *RemoteError
	if errors.As(err, &re) {
		code := re.Code
		if code == "" {
			code = "HTTP_" + strconv.Itoa(re.Status)
		}
		return crmhub.SendResult{}, &crmhub.SendError{Code: code, Message: re.Message}
	}
	if err != nil {
		return crmhub.SendResult{}, err
	}
	return crmhub.SendResult{ExternalID: resp.ID}, nil
}

// sendRequest builds the request for m, or the SendError that refuses it.
func (c *Connector) sendRequest(m crmhub.OutboundMessage) (SendMessageRequest, error) {
	refuse := func(code, format string, args ...any) (SendMessageRequest, error) {
		return SendMessageRequest{}, &crmhub.SendError{Code: code, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case c.accountID == 0:
		return refuse(CodeNoWhatsAppAccount, "the connection has no %s option", OptionWhatsAppAccountID)
	case m.Channel != crmhub.ChannelWhatsApp:
		return refuse(CodeChannelNotSupported, "Wazera sends WhatsApp messages, not %s", m.Channel)
	case m.Message == nil:
		return refuse(CodeInvalidMessage, "no message to send")
	case e164(m.ChatID) == "":
		return refuse(CodeInvalidMessage, "chat id %q is not a phone number", m.ChatID)
	}
	to, msg := e164(m.ChatID), m.Message
	switch {
	case msg.Type == crmhub.MessageText && opt.Deref(msg.Text) != "":
		return NewSendMessage(to, c.accountID, TypeText, TextContent{Body: *msg.Text})
	case msg.Type == crmhub.MessageTemplate && msg.Template != nil:
		return NewSendMessage(to, c.accountID, TypeTemplate, TemplateContent{Name: msg.Template.Name,
			Language: msg.Template.Language, Components: templateComponents(msg.Template.Components)})
	case msg.Type == crmhub.MessageText || msg.Type == crmhub.MessageTemplate:
		return refuse(CodeInvalidMessage, "a %s message without its text or template", msg.Type)
	}
	return refuse(CodeTypeNotSupported, "the document's messages/send takes text and template, not %s", msg.Type)
}

// templateComponents turns the hub's components map into Wazera's array:
// a "components" entry holding an array is sent as it is; otherwise each
// key, in order, becomes a component of that type, an array value being
// its parameters and an object value its other fields.
func templateComponents(m map[string]any) []any {
	if list, ok := m["components"].([]any); ok {
		return list
	}
	out := []any{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		comp := map[string]any{}
		switch v := m[k].(type) {
		case []any:
			comp["parameters"] = v
		case map[string]any:
			maps.Copy(comp, v)
		default:
			comp["parameters"] = []any{v}
		}
		comp["type"] = k
		out = append(out, comp)
	}
	return out
}

package wazelo

import (
	"context"
	"fmt"
	"net/http"

	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

// Message types the messages endpoint and the webhooks carry.
const (
	TypeText     = "text"
	TypeImage    = "image"
	TypeAudio    = "audio"
	TypeVideo    = "video"
	TypeDocument = "document"
	TypeTemplate = "template"
)

// MaxTextLength is the longest freeform text, in characters: WhatsApp's
// limit for a message body, which the document does not restate.
const MaxTextLength = 4096

// CodeOutsideWindow is the code this package expects for a freeform
// message refused outside the 24-hour customer service window. The
// document does not name one; the connector passes whatever code the
// remote sends.
const CodeOutsideWindow = "OUTSIDE_24H_WINDOW"

// SendMessageRequest is the body of POST /messages. Text carries a text
// message or a media caption; MediaURL a media message's file; Template a
// template message, which may be sent outside the 24-hour window.
type SendMessageRequest struct {
	// To is the recipient's WhatsApp number, digits with country code.
	To       string    `json:"to"`
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	MediaURL string    `json:"media_url,omitempty"`
	Template *Template `json:"template,omitempty"`
	// ReplyTo is the remote id of the message this one quotes.
	ReplyTo string `json:"reply_to,omitempty"`
}

// Template names an approved WhatsApp template and fills it.
type Template struct {
	Name       string         `json:"name"`
	Language   string         `json:"language"`
	Components map[string]any `json:"components,omitempty"`
}

// SentMessage is the data of a send's answer.
type SentMessage struct {
	MessageID string `json:"message_id"`
	Status    string `json:"status,omitempty"`
}

// SendMessage sends one message. idempotencyKey, when not empty, is sent
// as Idempotency-Key so that a retried send is not delivered twice where
// the remote honours it. A refusal is a *connectors.RequestError (or
// *ValidationError) carrying the remote's code.
func (c *Client) SendMessage(ctx context.Context, m SendMessageRequest, idempotencyKey string) (SentMessage, error) {
	var out SentMessage
	r := httpclient.Request{Method: "POST", Path: "/messages", In: m, Out: &out}
	if idempotencyKey != "" {
		r.Header = http.Header{"Idempotency-Key": {idempotencyKey}}
	}
	if _, err := c.do(ctx, r); err != nil {
		return SentMessage{}, err
	}
	if out.MessageID == "" {
		return SentMessage{}, fmt.Errorf("wazelo: POST /messages answered without a message_id")
	}
	return out, nil
}

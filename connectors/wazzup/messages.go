package wazzup

import (
	"context"
	"fmt"
)

// MaxTextLength is the longest text send_message accepts, in characters.
const MaxTextLength = 10000

// SendMessageRequest is the body of POST /v2/send_message. Exactly one of
// Text and Content is needed for WhatsApp and Instagram.
type SendMessageRequest struct {
	// ChannelID is the uuid of the channel to send through (see
	// ListChannels).
	ChannelID string `json:"channelId"`
	// ChatType is one of ChatWhatsApp, ChatInstagram, ChatTelegram, ChatVK.
	ChatType string `json:"chatType"`
	// ChatID is the addressee's account: digits only for WhatsApp, no "@"
	// for Instagram.
	ChatID string `json:"chatId"`
	// Text is up to MaxTextLength characters.
	Text string `json:"text,omitempty"`
	// Content is a link to the file to send.
	Content string `json:"content,omitempty"`
	// RefMessageID quotes an earlier message; optional.
	RefMessageID string `json:"refMessageId,omitempty"`
}

// SendMessageResponse is the 201 answer of send_message.
type SendMessageResponse struct {
	MessageID string `json:"messageId"`
}

// SendMessage sends one message. A refusal comes back as a
// *connectors.RequestError whose Code is one of the documented Code*
// constants (CHANNEL_BLOCKED, MESSAGE_TEXT_TOO_LONG, ...).
func (c *Client) SendMessage(ctx context.Context, m SendMessageRequest) (SendMessageResponse, error) {
	var out SendMessageResponse
	if err := c.do(ctx, request{method: "POST", path: "/v2/send_message", in: m, out: &out}); err != nil {
		return SendMessageResponse{}, err
	}
	if out.MessageID == "" {
		return SendMessageResponse{}, fmt.Errorf("wazzup: send_message answered without a messageId")
	}
	return out, nil
}

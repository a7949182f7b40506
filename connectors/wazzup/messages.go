package wazzup

import (
	"context"
	"fmt"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/httpclient"
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
	if err := c.http.Do(ctx, httpclient.Request{Method: "POST", Path: "/v2/send_message", In: m, Out: &out}); err != nil {
		return SendMessageResponse{}, err
	}
	if out.MessageID == "" {
		return SendMessageResponse{}, fmt.Errorf("wazzup: send_message answered without a messageId")
	}
	return out, nil
}

var _ connectors.MessageSender = (*Connector)(nil)

// OptionChannelID names the connection option that gives the channel
// (channelId) messages leave through when the conversation names none.
const OptionChannelID = "channelId"

var channelChats = map[crmhub.Channel]string{crmhub.ChannelWhatsApp: ChatWhatsApp, crmhub.ChannelInstagram: ChatInstagram,
	crmhub.ChannelTelegram: ChatTelegram, crmhub.ChannelVK: ChatVK}

// SendMessage sends a conversation's message through POST /v2/send_message.
// The channel is the conversation's (the account its messages came to),
// else the connection's "channelId" option, else the first active channel
// of the messenger GET /v2/channels lists. Wazzup's permanent refusals
// (CHANNEL_BLOCKED, MESSAGE_TEXT_TOO_LONG, ...) become *crmhub.SendError with
// that code; so does what Wazzup cannot carry (templates, SMS and email).
// Its temporary ones (MESSAGES_CAN_NOT_ADD, ...; see sendErrorTemporary) and
// other failures stay errors, and the hub retries the message.
func (c *Connector) SendMessage(ctx context.Context, m crmhub.OutboundMessage) (crmhub.SendResult, error) {
	chat, ok := channelChats[m.Channel]
	if !ok {
		return crmhub.SendResult{}, &crmhub.SendError{Code: "UNSUPPORTED_CHANNEL", Message: fmt.Sprintf("Wazzup does not carry %s", m.Channel)}
	}
	req := SendMessageRequest{ChatType: chat, ChatID: m.ChatID}
	if chat == ChatWhatsApp {
		req.ChatID = strings.TrimPrefix(m.ChatID, "+")
	}
	switch msg := m.Message; {
	case msg.Type == crmhub.MessageTemplate:
		return crmhub.SendResult{}, &crmhub.SendError{Code: "TEMPLATE_NOT_SUPPORTED", Message: "Wazzup sends no templates"}
	case msg.Type == crmhub.MessageText && msg.Text != nil:
		req.Text = *msg.Text
	case msg.ContentURL != nil:
		req.Content = *msg.ContentURL
	default:
		return crmhub.SendResult{}, &crmhub.SendError{Code: "EMPTY_MESSAGE", Message: "nothing to send"}
	}
	if m.ReplyToExtID != nil {
		req.RefMessageID = *m.ReplyToExtID
	}
	channel, err := c.sendingChannel(ctx, m.RemoteChannelID, chat)
	if err != nil {
		return crmhub.SendResult{}, err
	}
	req.ChannelID = channel
	res, err := c.client.SendMessage(ctx, req)
	if err != nil {
		return crmhub.SendResult{}, classifySendError(err)
	}
	return crmhub.SendResult{ExternalID: res.MessageID}, nil
}

// sendingChannel picks the channel a message leaves through.
func (c *Connector) sendingChannel(ctx context.Context, conversation *string, chat string) (string, error) {
	if conversation != nil && *conversation != "" {
		return *conversation, nil
	}
	if c.channelID != "" {
		return c.channelID, nil
	}
	chans, err := c.client.ListChannels(ctx)
	if err != nil {
		return "", err
	}
	for _, ch := range chans {
		if ch.Transport == chat && ch.State == StateActive {
			return ch.ChannelID, nil
		}
	}
	return "", &crmhub.SendError{Code: "NO_ACTIVE_CHANNEL", Message: fmt.Sprintf("no active %s channel in Wazzup", chat)}
}

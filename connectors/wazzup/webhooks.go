package wazzup

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/opt"
)

var (
	_ connectors.WebhookParser    = (*Connector)(nil)
	_ connectors.UnsignedWebhooks = (*Connector)(nil)
)

// UnsignedWebhooks says Wazzup does not sign its webhooks: the hub checks
// the token in the hook URL instead.
func (c *Connector) UnsignedWebhooks() {}

// Webhook is the body of a Wazzup webhook: one or more of its four keys.
type Webhook struct {
	Messages []WebhookMessage `json:"messages,omitempty"`
	Statuses []WebhookStatus  `json:"statuses,omitempty"`
	Channels []Channel        `json:"channels,omitempty"`
	// ChannelsList is nil when the key is absent and empty when Wazzup
	// sends an empty list (every channel removed).
	ChannelsList []Channel `json:"channelsList,omitempty"`
}

// WebhookMessage is one entry of "messages".
type WebhookMessage struct {
	MessageID  string `json:"messageId"`
	ChannelID  string `json:"channelId"`
	ChatType   string `json:"chatType"`
	ChatID     ID     `json:"chatId"`
	DateTime   int64  `json:"dateTime"`
	Type       Code   `json:"type"`
	Status     Code   `json:"status"`
	Text       string `json:"text,omitempty"`
	Content    string `json:"content,omitempty"`
	AuthorType Code   `json:"authorType"`
	AuthorName string `json:"authorName,omitempty"`
	// InstPost is the Instagram post the message concerns (a comment
	// under it); ImageSrc and PreviewSrc link the message's image.
	InstPost   *InstPost `json:"instPost,omitempty"`
	ImageSrc   string    `json:"imageSrc,omitempty"`
	PreviewSrc string    `json:"previewSrc,omitempty"`
}

// InstPost is the documented "Instagram post information object".
// Timestamps are Unix milliseconds; numbers are read from JSON numbers or
// numeric strings.
type InstPost struct {
	ID          string `json:"id"`
	Src         string `json:"src"`
	SHA1        string `json:"sha1"`
	Likes       *Code  `json:"likes"`
	Author      string `json:"author"`
	Comments    *Code  `json:"comments"`
	Timestamp   Code   `json:"timestamp"`
	UpdatedAt   Code   `json:"updatedAt"`
	AuthorName  string `json:"authorName"`
	Description string `json:"description"`
	PreviewSHA1 string `json:"previewSha1"`
	ImageSrc    string `json:"imageSrc"`
	PreviewSrc  string `json:"previewSrc"`
}

// post converts the wire post to the domain's; nil without an id.
func (p *InstPost) post() *crmhub.MessagePost {
	if p == nil || p.ID == "" {
		return nil
	}
	out := &crmhub.MessagePost{ID: p.ID, URL: opt.NonEmpty(p.Src), Author: opt.NonEmpty(p.Author),
		AuthorName: opt.NonEmpty(p.AuthorName), Description: opt.NonEmpty(p.Description), ImageURL: opt.NonEmpty(p.ImageSrc),
		PreviewURL: opt.NonEmpty(p.PreviewSrc), ImageSHA1: opt.NonEmpty(p.SHA1), PreviewSHA1: opt.NonEmpty(p.PreviewSHA1),
		PublishedAt: millis(p.Timestamp), UpdatedAt: millis(p.UpdatedAt)}
	if p.Likes != nil {
		n := int(*p.Likes)
		out.Likes = &n
	}
	if p.Comments != nil {
		n := int(*p.Comments)
		out.Comments = &n
	}
	return out
}

// millis reads a Unix time in milliseconds; nil for 0.
func millis(ms Code) *time.Time {
	if ms <= 0 {
		return nil
	}
	t := time.UnixMilli(int64(ms)).UTC()
	return &t
}

// WebhookStatus is one entry of "statuses".
type WebhookStatus struct {
	MessageID string `json:"messageId"`
	Status    Code   `json:"status"`
}

// Code is a numeric code the documents type as Number in one place and
// String in another: both are accepted.
type Code int

// UnmarshalJSON accepts 3 and "3".
func (c *Code) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "" || s == "null" {
		*c = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("wazzup: code %s is not a number", b)
	}
	*c = Code(n)
	return nil
}

// Message status codes of the webhooks.
const (
	statusProcessing = 0
	statusSent       = 1
	statusDelivered  = 2
	statusRead       = 3
	statusInbound    = 99
	authorClient     = 99
)

// statusErrors names the error statuses of the documents, kept as the
// message's error code.
var statusErrors = map[Code]string{
	13: "RECIPIENT_NOT_FOUND",
	14: CodeMessageTextTooLong,
	15: "LINK_BLOCKED_BY_INSTAGRAM",
	17: "FILE_TOO_LARGE",
	18: "SUSPECTED_SPAM",
	19: "TOO_MANY_MESSAGES",
	21: "CONTENT_REJECTED_BY_INSTAGRAM",
	66: "WAZZUP_ERROR",
}

// messageTypes maps the documented message types the hub stores; 0
// (unsupported) and 21 (missed call) are skipped.
var messageTypes = map[Code]crmhub.MessageType{1: crmhub.MessageText, 2: crmhub.MessageImage,
	3: crmhub.MessageAudio, 4: crmhub.MessageVideo, 5: crmhub.MessageDocument}

var chatChannels = map[string]crmhub.Channel{ChatWhatsApp: crmhub.ChannelWhatsApp, ChatInstagram: crmhub.ChannelInstagram,
	ChatTelegram: crmhub.ChannelTelegram, ChatVK: crmhub.ChannelVK}

// ParseWebhook decodes a Wazzup webhook. Wazzup does not sign its
// webhooks: the hub authenticates them by the secret in the URL it gave
// Wazzup, so secret is unused here. Skipped: group chats (whatsgroup),
// unsupported and missed-call messages, the "processing" status. A
// message with status 99 or authorType 99 came from the client (INBOUND);
// any other was sent from the phone or another integration (OUTBOUND).
// An image message without content is read from imageSrc; instPost, the
// Instagram post a message concerns, is kept on the message.
func (c *Connector) ParseWebhook(_ http.Header, body []byte, _ string) ([]connectors.Inbound, error) {
	return ParseWebhook(body)
}

// ParseWebhook is Connector.ParseWebhook without a connector.
func ParseWebhook(body []byte) ([]connectors.Inbound, error) {
	var hook Webhook
	if err := json.Unmarshal(body, &hook); err != nil {
		return nil, fmt.Errorf("wazzup: webhook body: %w", err)
	}
	var out []connectors.Inbound
	for _, m := range hook.Messages {
		ch, ok := chatChannels[m.ChatType]
		typ, known := messageTypes[m.Type]
		if !ok || !known || m.MessageID == "" {
			continue
		}
		msg := &connectors.InboundMessage{ExternalID: m.MessageID, Direction: crmhub.Outbound, Channel: ch,
			ChatID: string(m.ChatID), ChannelID: m.ChannelID, Type: typ, Text: opt.NonEmpty(m.Text),
			ContentURL: opt.NonEmpty(firstNonEmpty(m.Content, m.ImageSrc)), Post: m.InstPost.post()}
		if m.Status == statusInbound || m.AuthorType == authorClient {
			msg.Direction = crmhub.Inbound
			msg.SenderName = opt.NonEmpty(m.AuthorName)
		}
		msg.SentAt = millis(Code(m.DateTime))
		out = append(out, connectors.Inbound{ID: m.MessageID, Message: msg})
	}
	for _, s := range hook.Statuses {
		u := &connectors.StatusUpdate{ExternalID: s.MessageID}
		switch s.Status {
		case statusProcessing:
			continue
		case statusSent:
			u.Status = crmhub.MessageSent
		case statusDelivered:
			u.Status = crmhub.MessageDelivered
		case statusRead:
			u.Status = crmhub.MessageRead
		default:
			code, ok := statusErrors[s.Status]
			if !ok {
				code = fmt.Sprintf("WAZZUP_STATUS_%d", s.Status)
			}
			u.Status, u.ErrorCode = crmhub.MessageFailed, &code
		}
		if s.MessageID != "" {
			out = append(out, connectors.Inbound{ID: s.MessageID, Status: u})
		}
	}
	for _, ch := range hook.Channels {
		out = append(out, connectors.Inbound{ID: ch.ChannelID, Channel: channelState(ch)})
	}
	// channelsList is the integration's whole new list ("a new channels
	// list is sent"): one event, so the hub can drop the channels it lacks.
	if hook.ChannelsList != nil {
		list := &connectors.ChannelList{Channels: make([]connectors.ChannelState, len(hook.ChannelsList))}
		for i, ch := range hook.ChannelsList {
			list.Channels[i] = *channelState(ch)
		}
		out = append(out, connectors.Inbound{ID: "channelsList", ChannelList: list})
	}
	return out, nil
}

func channelState(ch Channel) *connectors.ChannelState {
	return &connectors.ChannelState{ChannelID: ch.ChannelID, Transport: ch.Transport, PlainID: ch.PlainID, State: ch.State}
}

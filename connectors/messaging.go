package connectors

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/crmhub/crmhub"
)

// The optional interfaces below are implemented by connectors whose CRM
// carries messages. The hub's inbound webhook endpoint (POST
// /hooks/{connectionId}) hands each request to the connection's
// WebhookParser and turns the result into domain calls; a conversation's
// outgoing messages leave through the connection's MessageSender.

// ErrBadSignature is returned by ParseWebhook when a signed CRM's signature
// does not verify (or is missing): the request is refused with 401 and
// nothing is recorded.
var ErrBadSignature = errors.New("connectors: webhook signature does not verify")

// WebhookParser decodes the webhooks a CRM sends.
type WebhookParser interface {
	// ParseWebhook verifies and decodes one webhook request. secret is the
	// connection's webhook secret: the signing key of CRMs that sign
	// (compared in constant time over the raw body), unused by those that
	// do not (the hub then authenticates the request by the secret in its
	// URL). Events the hub does not use are skipped, not errors; a body
	// that cannot be read is an error (answered 400).
	ParseWebhook(header http.Header, body []byte, secret string) ([]Inbound, error)
}

// UnsignedWebhooks marks a connector whose CRM does not sign its webhooks
// (Wazzup): the hub then requires the connection's webhook secret as the
// hook URL's token parameter instead.
type UnsignedWebhooks interface {
	UnsignedWebhooks()
}

// Inbound is one event a CRM reported; exactly one of its pointers is set.
type Inbound struct {
	// ID identifies the event or the record it concerns at the remote, so
	// a replayed webhook is recognised (e.g. the message id).
	ID      string
	Message *InboundMessage
	Status  *StatusUpdate
	Channel *ChannelState
	// ChannelList is the CRM's complete list of accounts (Wazzup's
	// channelsList): accounts the hub knows that it lacks are gone.
	ChannelList *ChannelList
	// Conversation, Contact and Campaign are the CRM's conversation,
	// contact and campaign events (remote_events.go).
	Conversation *ConversationEvent
	Contact      *RemoteContact
	Campaign     *CampaignEvent
}

// InboundMessage is a message a CRM received from (or, for Direction
// OUTBOUND, sent to) a contact outside the hub, e.g. from the phone.
type InboundMessage struct {
	// ExternalID is the remote's message id.
	ExternalID string
	Direction  crmhub.Direction
	Channel    crmhub.Channel
	// ChatID is the contact's address on the channel (a WhatsApp number,
	// an Instagram username, ...).
	ChatID string
	// ChannelID is the remote's id of the account that received it.
	ChannelID  string
	SenderName *string
	// Identifiers are extra identifiers of the sender the CRM reports
	// (a phone beside a Telegram username, the CRM's contact id as an
	// EXTERNAL_ID whose source the hub fills in).
	Identifiers []crmhub.Identifier
	Type        crmhub.MessageType
	Text        *string
	ContentURL  *string
	// QuotedExternalID is the remote id of the message this one quotes.
	QuotedExternalID *string
	SentAt           *time.Time
	// Post is the social network post the message concerns (Wazzup's
	// instPost); nil when none.
	Post *crmhub.MessagePost
	// ConversationID is the remote's id of the conversation, when it
	// reports one: its conversation events name it.
	ConversationID string
}

// StatusUpdate is a change of an outgoing message's status.
type StatusUpdate struct {
	// ExternalID is the remote's id of the message (the one SendMessage
	// returned).
	ExternalID string
	Status     crmhub.MessageStatus
	// ErrorCode is the remote's code when Status is FAILED.
	ErrorCode *string
	At        *time.Time
}

// ChannelState is the state of one of the CRM's messenger accounts.
type ChannelState struct {
	ChannelID string
	// Transport is the messenger (whatsapp, instagram, telegram, ...).
	Transport string
	// PlainID is the account's phone number or username.
	PlainID string
	// State is the remote's word for it ("active", "disabled", ...).
	State string
}

// ChannelList is every account a CRM has now, in place of those it had.
type ChannelList struct {
	Channels []ChannelState
}

// MessageSender sends a conversation's outgoing messages through the CRM.
// A refusal of the message itself (the remote's MESSAGE_TEXT_TOO_LONG,
// CHANNEL_BLOCKED, ...) is a *crmhub.SendError: the message becomes FAILED
// with its code. RateLimitError and TransientError leave it QUEUED to be
// retried; the hub passes the message's id so a sender can make a retry
// idempotent where the remote allows.
type MessageSender interface {
	SendMessage(ctx context.Context, m crmhub.OutboundMessage) (crmhub.SendResult, error)
}

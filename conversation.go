package crmhub

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// ConversationStatus is where a conversation stands.
type ConversationStatus string

// Conversation statuses.
const (
	ConversationOpen    ConversationStatus = "OPEN"
	ConversationPending ConversationStatus = "PENDING"
	ConversationClosed  ConversationStatus = "CLOSED"
)

// ConversationStatuses lists every status.
var ConversationStatuses = []ConversationStatus{ConversationOpen, ConversationPending, ConversationClosed}

// Direction says who wrote a message.
type Direction string

// Directions.
const (
	Inbound  Direction = "INBOUND"
	Outbound Direction = "OUTBOUND"
)

// MessageType is the kind of content a message carries.
type MessageType string

// Message types. Media types carry a content URL; TEMPLATE carries a
// template and may be sent outside the service window.
const (
	MessageText     MessageType = "TEXT"
	MessageImage    MessageType = "IMAGE"
	MessageAudio    MessageType = "AUDIO"
	MessageVideo    MessageType = "VIDEO"
	MessageDocument MessageType = "DOCUMENT"
	MessageTemplate MessageType = "TEMPLATE"
)

// MessageTypes lists every type.
var MessageTypes = []MessageType{MessageText, MessageImage, MessageAudio, MessageVideo, MessageDocument, MessageTemplate}

// IsMedia reports whether the type carries a content URL.
func (t MessageType) IsMedia() bool {
	return t == MessageImage || t == MessageAudio || t == MessageVideo || t == MessageDocument
}

// MessageStatus is how far an outbound message got. Statuses only move
// forward; FAILED is final.
type MessageStatus string

// Message statuses in their order.
const (
	MessageQueued    MessageStatus = "QUEUED"
	MessageSent      MessageStatus = "SENT"
	MessageDelivered MessageStatus = "DELIVERED"
	MessageRead      MessageStatus = "READ"
	MessageFailed    MessageStatus = "FAILED"
)

// MessageStatuses lists every status in order.
var MessageStatuses = []MessageStatus{MessageQueued, MessageSent, MessageDelivered, MessageRead, MessageFailed}

// Advances reports whether moving from s to next is progress. A status
// update that does not advance (READ back to SENT, anything after FAILED
// or READ) is ignored, since channels report statuses out of order.
func (s MessageStatus) Advances(next MessageStatus) bool {
	rank := map[MessageStatus]int{MessageQueued: 0, MessageSent: 1, MessageDelivered: 2, MessageRead: 3}
	if s == MessageFailed {
		return false
	}
	if next == MessageFailed {
		return s != MessageRead && s != MessageDelivered
	}
	return rank[next] > rank[s]
}

// ServiceWindow is how long after a contact's last inbound message freeform
// messages may be sent on a conversation.
const ServiceWindow = 24 * time.Hour

// Message limits.
const (
	MaxMessageText   = 10000
	MaxContentURL    = 2048
	MaxChatIDLength  = 255
	MaxTemplateName  = 512
	MaxErrorCodeSize = 100
)

// Conversation is a thread with one contact on one channel.
type Conversation struct {
	ID        uuid.UUID
	ContactID uuid.UUID
	Channel   Channel
	// ChatID is the contact's address on the channel (a WhatsApp number in
	// E.164, an Instagram username, ...).
	ChatID        string
	Status        ConversationStatus
	AssigneeID    *uuid.UUID
	LastMessageAt *time.Time
	// LastInboundAt starts the service window.
	LastInboundAt *time.Time
	// Unanswered is true while the last message is inbound.
	Unanswered bool
	// ConnectionID is the external CRM connection the conversation's
	// messages come through (nil for a conversation of the hub's own
	// channel); RemoteChannelID the CRM's id of the receiving account.
	// Replies leave the same way.
	ConnectionID    *uuid.UUID
	RemoteChannelID *string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// GlobalID is the conversation's API id.
func (c *Conversation) GlobalID() string { return GlobalID(KindConversation, c.ID) }

// Template is a pre-approved message template.
type Template struct {
	Name       string         `json:"name"`
	Language   string         `json:"language"`
	Components map[string]any `json:"components,omitempty"`
}

// Message is one message of a conversation.
type Message struct {
	ID             uuid.UUID
	ConversationID uuid.UUID
	Direction      Direction
	Type           MessageType
	Text           *string
	ContentURL     *string
	Template       *Template
	ReplyToID      *uuid.UUID
	Status         MessageStatus
	ErrorCode      *string
	// ExternalID is the channel's id of the message, once known.
	ExternalID *string
	// Post is the social network post the message concerns; nil when none.
	Post      *MessagePost
	CreatedAt time.Time
	UpdatedAt time.Time
}

// GlobalID is the message's API id.
func (m *Message) GlobalID() string { return GlobalID(KindMessage, m.ID) }

// SendMessageInput sends a message into a conversation, or to a contact on
// a channel (the open conversation is reused or one is opened).
type SendMessageInput struct {
	ConversationID *uuid.UUID
	ContactID      *uuid.UUID
	Channel        *Channel
	Type           MessageType
	Text           *string
	ContentURL     *string
	Template       *Template
	ReplyToID      *uuid.UUID
}

// InboundMessageInput records a message received from a channel.
type InboundMessageInput struct {
	Channel    Channel
	ChatID     string
	SenderName *string
	Type       MessageType
	Text       *string
	ContentURL *string
	// ExternalID makes the call idempotent: a second call with the same
	// channel and external id returns the stored message.
	ExternalID *string
	ReceivedAt *time.Time
	// ConnectionID and RemoteChannelID, set for a message an external CRM
	// reported, tie the conversation to that connection and channel.
	ConnectionID    *uuid.UUID
	RemoteChannelID *string
	// Direction is INBOUND (the default) or OUTBOUND for a message the CRM
	// reports as sent to the contact from outside the hub.
	Direction Direction
	// Post is the social network post the message concerns (a comment
	// under an Instagram post), as the CRM reported it; stored clipped.
	Post *MessagePost
	// SenderIdentifiers are more identities of the sender than the chat,
	// e.g. the CRM's contact id as an EXTERNAL_ID whose source is the
	// connection: the sender is matched by them too, and a new contact
	// gets them. Ones that point at another contact than the chat does
	// are left out (the chat decides).
	SenderIdentifiers []Identifier
	// RemoteConversationID is the CRM's id of the conversation, kept on
	// it (with ConnectionID) so that the CRM's later conversation events
	// find it.
	RemoteConversationID *string
}

// ConversationFilter narrows a conversation listing.
type ConversationFilter struct {
	Status     *ConversationStatus
	AssigneeID *uuid.UUID
	ContactID  *uuid.UUID
	Channel    *Channel
	Unanswered *bool
}

// ConversationEdge is one conversation of a page.
type ConversationEdge struct {
	Cursor string
	Node   *Conversation
}

// ConversationConnection is one page of conversations, most recent
// activity first.
type ConversationConnection struct {
	Edges    []*ConversationEdge
	PageInfo PageInfo
	Filter   ConversationFilter
}

// MessageEdge is one message of a page.
type MessageEdge struct {
	Cursor string
	Node   *Message
}

// MessageConnection is one page of a conversation's messages, newest first.
type MessageConnection struct {
	Edges          []*MessageEdge
	PageInfo       PageInfo
	ConversationID uuid.UUID
}

// OutboundMessage is what a Channel is asked to deliver.
type OutboundMessage struct {
	WorkspaceID  uuid.UUID
	Message      *Message
	Channel      Channel
	ChatID       string
	ReplyToExtID *string
	// ConnectionID and RemoteChannelID are the conversation's: the
	// external CRM (and its account) the message should leave through.
	ConnectionID    *uuid.UUID
	RemoteChannelID *string
}

// SendResult is a channel's answer to a send.
type SendResult struct {
	// ExternalID is the channel's id of the message.
	ExternalID string
}

// SendError is a channel's refusal of one message (e.g. the remote's
// MESSAGE_TEXT_TOO_LONG); the message becomes FAILED with Code. Any other
// error from a Channel is transient: the message stays QUEUED and is
// retried.
type SendError struct {
	Code    string
	Message string
}

func (e *SendError) Error() string { return "crmhub: message refused: " + e.Code + ": " + e.Message }

// OutboundChannel delivers messages to a messaging network. The connectors
// issue wires real ones (Wazzup, Wazera); a loopback one serves local runs
// and tests.
type OutboundChannel interface {
	Send(ctx context.Context, m OutboundMessage) (SendResult, error)
}

// ConversationService owns conversations and messages. Reads need
// conversations:read, writes conversations:write.
type ConversationService interface {
	Conversation(ctx context.Context, id uuid.UUID) (*Conversation, error)
	ConversationsByIDs(ctx context.Context, ids []uuid.UUID) ([]*Conversation, error)
	// CountConversations counts a filter; CountMessages a conversation's messages.
	CountConversations(ctx context.Context, filter ConversationFilter) (int, error)
	CountMessages(ctx context.Context, conversationID uuid.UUID) (int, error)
	Conversations(ctx context.Context, filter ConversationFilter, first int, after string) (*ConversationConnection, error)
	// ConversationsByContact returns one page per contact (PageKey.ParentID).
	ConversationsByContact(ctx context.Context, keys []PageKey) (map[PageKey]*ConversationConnection, error)
	// AssignConversation sets (or with nil clears) the assignee. ENOTFOUND.
	AssignConversation(ctx context.Context, id uuid.UUID, userID *uuid.UUID) (*Conversation, error)
	SetConversationStatus(ctx context.Context, id uuid.UUID, status ConversationStatus) (*Conversation, error)
	// RecordInboundMessage stores a received message, resolving or creating
	// the sender's contact and reusing or opening the conversation.
	RecordInboundMessage(ctx context.Context, in InboundMessageInput) (*Message, error)
	// SendMessage queues an outbound message and hands it to the channel.
	// EINVALID, ENOTFOUND, EOUTSIDEWINDOW, ESUPPRESSED.
	SendMessage(ctx context.Context, in SendMessageInput) (*Message, error)
	// UpdateMessageStatus moves a message forward; a regression is ignored
	// and the message returned unchanged. ENOTFOUND.
	UpdateMessageStatus(ctx context.Context, id uuid.UUID, status MessageStatus, errorCode *string) (*Message, error)
	Message(ctx context.Context, id uuid.UUID) (*Message, error)
	MessagesByIDs(ctx context.Context, ids []uuid.UUID) ([]*Message, error)
	// MessagesByConversation returns one page per conversation.
	MessagesByConversation(ctx context.Context, keys []PageKey) (map[PageKey]*MessageConnection, error)
	// UnansweredCount counts conversations (not CLOSED) whose last message
	// is inbound; with userID, only those assigned to that user.
	UnansweredCount(ctx context.Context, userID *uuid.UUID) (int, error)
	// ApplyRemoteConversation applies an external CRM's report about one of
	// its conversations: opened if the hub does not know it (given a chat),
	// then assigned and moved to the status reported, with the usual
	// events. ENOTFOUND (unknown without a chat, or an unknown user),
	// EINVALID, ECONFLICT (reopening beside another live conversation).
	ApplyRemoteConversation(ctx context.Context, in RemoteConversationInput) (*Conversation, error)
}

package crmhub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// EventType names what an event says happened. The values are part of the
// API contract: webhook bodies, the events query and subscriptions carry
// them as strings.
type EventType string

// Event types. Every committed change emits one or more, in the transaction
// that made the change. Each names the struct of event_payload.go that its
// payload is encoded from.
const (
	EventContactCreated            EventType = "contact.created"             // ContactPayload
	EventContactUpdated            EventType = "contact.updated"             // ContactPayload, or NotesChangedPayload for notes
	EventContactDeleted            EventType = "contact.deleted"             // DeletedPayload
	EventContactMerged             EventType = "contact.merged"              // ContactMergedPayload
	EventIdentityLinked            EventType = "identity.linked"             // IdentityLinkedPayload
	EventConsentChanged            EventType = "consent.changed"             // ConsentChangedPayload
	EventSuppressionChanged        EventType = "suppression.changed"         // SuppressionChangedPayload
	EventDealCreated               EventType = "deal.created"                // DealPayload
	EventDealUpdated               EventType = "deal.updated"                // DealPayload
	EventDealDeleted               EventType = "deal.deleted"                // DeletedPayload
	EventConversationCreated       EventType = "conversation.created"        // ConversationPayload
	EventConversationAssigned      EventType = "conversation.assigned"       // ConversationPayload
	EventConversationStatusChanged EventType = "conversation.status_changed" // ConversationPayload
	EventMessageReceived           EventType = "message.received"            // MessagePayload
	EventMessageSent               EventType = "message.sent"                // MessagePayload
	EventMessageStatusChanged      EventType = "message.status_changed"      // MessagePayload
	EventUserUpserted              EventType = "user.upserted"               // UserPayload
	EventUserDeleted               EventType = "user.deleted"                // UserDeletedPayload
	EventSyncCompleted             EventType = "sync.completed"              // SyncCompletedPayload
	// EventSyncRecordGone: a full run found a linked record gone from the
	// remote and unlinked (or, by option, deleted) its hub record
	// (SyncRecordGonePayload).
	EventSyncRecordGone EventType = "sync.record_gone"
	// EventIdentityConflict: a pulled record's identifiers point at
	// different hub contacts; an operator must resolve it
	// (IdentityConflictPayload).
	EventIdentityConflict EventType = "identity.conflict"
	// EventCampaignCompleted: an external CRM reported that one of its
	// broadcast campaigns finished sending (CampaignPayload).
	EventCampaignCompleted EventType = "campaign.completed"
)

// EventTypes lists every event type.
var EventTypes = []EventType{EventContactCreated, EventContactUpdated, EventContactDeleted, EventContactMerged,
	EventIdentityLinked, EventConsentChanged, EventSuppressionChanged, EventDealCreated, EventDealUpdated,
	EventDealDeleted, EventConversationCreated, EventConversationAssigned, EventConversationStatusChanged,
	EventMessageReceived, EventMessageSent, EventMessageStatusChanged, EventUserUpserted, EventUserDeleted,
	EventSyncCompleted, EventSyncRecordGone, EventIdentityConflict, EventCampaignCompleted}

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool { return slices.Contains(EventTypes, t) }

// UnmarshalGQL decodes a GraphQL string that names an event type.
func (t *EventType) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || !EventType(s).Valid() {
		return fmt.Errorf("%v is not a valid event type", v)
	}
	*t = EventType(s)
	return nil
}

// MarshalGQL lets gqlgen write Event.type, a String in the schema, straight
// from the typed field.
func (t EventType) MarshalGQL(w io.Writer) { io.WriteString(w, strconv.Quote(string(t))) }

// ValidateEventTypes checks a filter of event types, typed or as the API
// and webhook endpoints spell them; field names the input.
func ValidateEventTypes[T ~string](types []T, field string) error {
	if len(types) > len(EventTypes) {
		return Invalid(field, "at most %d event types", len(EventTypes))
	}
	for i, t := range types {
		if !EventType(t).Valid() {
			return Invalid(field+"["+strconv.Itoa(i)+"]", "unknown event type %q", truncate(string(t), 60))
		}
	}
	return nil
}

// Event is one entry of a workspace's event log.
type Event struct {
	ID uuid.UUID
	// Position numbers the workspace's events in commit order, from 1.
	Position   int64
	Type       EventType
	SubjectID  string // the global id of the entity the event is about
	Actor      string // "api_key:key_...", "system", later "connection:..."
	Origin     string
	Payload    json.RawMessage
	OccurredAt time.Time
}

// Cursor is the event's position as an opaque string.
func (e *Event) Cursor() string { return EventCursor(e.Position) }

// EventCursor encodes a position.
func EventCursor(pos int64) string { return "ev" + strconv.FormatInt(pos, 10) }

// ParseEventCursor decodes a cursor; "" is the start of the log.
func ParseEventCursor(s, field string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) < 3 || len(s) > 22 || s[:2] != "ev" {
		return 0, Invalid(field, "malformed event cursor")
	}
	n, err := strconv.ParseInt(s[2:], 10, 64)
	if err != nil || n < 0 {
		return 0, Invalid(field, "malformed event cursor")
	}
	return n, nil
}

// EventFilter narrows the event log.
type EventFilter struct {
	Types     []EventType
	SubjectID string
}

// EventEdge is one event of a page.
type EventEdge struct {
	Cursor string
	Node   *Event
}

// EventConnection is one page of the log, oldest first.
type EventConnection struct {
	Edges    []*EventEdge
	PageInfo PageInfo
	Filter   EventFilter
}

// ErrShuttingDown ends subscriptions when the process shuts down.
var ErrShuttingDown = Errorf(EINTERNAL, "server is shutting down")

// Subscription delivers a workspace's events: first those after the
// cursor it was opened with, then new ones as they commit, each once and in
// order. C closes when the subscription ends; Err then says why (nil when
// the subscriber cancelled).
type Subscription interface {
	C() <-chan *Event
	// Done is closed when the subscription has ended, whether or not its
	// last events were read.
	Done() <-chan struct{}
	Err() error
	Close()
}

// SubscriptionAnnouncer is a Subscription that can say when a reader of C
// is wanted, so that none has to wait on C all the time: a transport
// with thousands of idle subscriptions then parks no goroutine for them.
type SubscriptionAnnouncer interface {
	// Announce has the subscription call f once before each value it
	// hands over on C, its close included; values it began to hand over
	// before Announce are announced by Announce itself. f must not block.
	Announce(f func())
}

// EventService reads and streams the event log (events:read).
type EventService interface {
	// Events lists one page of the log after a cursor. EINVALID for an
	// unknown type or a malformed cursor.
	Events(ctx context.Context, filter EventFilter, first int, after string) (*EventConnection, error)
	// CountEvents counts the events a filter keeps.
	CountEvents(ctx context.Context, filter EventFilter) (int, error)
	// Subscribe replays the events after `after` and then follows the log
	// live; without `after` it starts live at the moment it is registered
	// (EventCursor(0) replays the whole log). A subscriber that stops
	// reading is dropped with an error rather than slowing anyone else.
	Subscribe(ctx context.Context, filter EventFilter, after string) (Subscription, error)
	// Watch follows the log live for a caller holding scope rather than
	// events:read: the GraphQL subscriptions on messages, conversations and
	// contacts are built on it.
	Watch(ctx context.Context, scope Scope, filter EventFilter) (Subscription, error)
}

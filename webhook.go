package crmhub

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// WebhookTestEvent is the type of the synthetic event SendTestWebhook
// delivers. It never appears in the event log.
const WebhookTestEvent = "webhook.test"

// Limits of webhook endpoints.
const (
	// MaxWebhookURLLength bounds an endpoint URL, in bytes.
	MaxWebhookURLLength = 2048
	// MaxWebhookDescriptionLength bounds an endpoint description, in characters.
	MaxWebhookDescriptionLength = 500
	// MaxWebhookSecretGrace bounds how long a rotated-out secret keeps signing.
	MaxWebhookSecretGrace = 7 * 24 * time.Hour
	// MaxWebhookResponseSnippet bounds the stored start of a receiver's answer, in bytes.
	MaxWebhookResponseSnippet = 1024
)

// WebhookEndpoint is a URL that receives the workspace's events of the
// listed types as signed POSTs. Its signing secret is shown once, when the
// endpoint is created or its secret rotated, and is never part of a read.
type WebhookEndpoint struct {
	ID  uuid.UUID
	URL string
	// Events lists the event types delivered, sorted, without duplicates.
	Events      []string
	Description *string
	Enabled     bool
	// DisabledReason says why the service disabled the endpoint (for
	// example after a 410 answer); nil when enabled or disabled by a user.
	DisabledReason *string
	// PreviousSecretExpiresAt is when the secret replaced by the last
	// rotation stops signing; nil when no old secret is still in use.
	PreviousSecretExpiresAt *time.Time
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

// GlobalID is the endpoint's API id.
func (e *WebhookEndpoint) GlobalID() string { return GlobalID(KindWebhookEndpoint, e.ID) }

// WebhookEndpointPatch changes an endpoint; nil fields are left as they are.
type WebhookEndpointPatch struct {
	URL    *string
	Events []string // nil: unchanged; otherwise at least one type
	// Description set to "" removes the description.
	Description *string
	// Enabled set to true also clears DisabledReason. An endpoint that is
	// enabled again receives the events committed from then on, not those
	// it missed while disabled.
	Enabled *bool
}

// WebhookDeliveryStatus is where a delivery stands. DELIVERED and FAILED
// are final.
type WebhookDeliveryStatus string

// Webhook delivery statuses.
const (
	// WebhookPending: no attempt has been made yet.
	WebhookPending WebhookDeliveryStatus = "PENDING"
	// WebhookRetrying: an attempt failed and another is scheduled.
	WebhookRetrying WebhookDeliveryStatus = "RETRYING"
	// WebhookDelivered: the receiver answered 2xx.
	WebhookDelivered WebhookDeliveryStatus = "DELIVERED"
	// WebhookFailed: the retries were exhausted, the receiver answered 410,
	// or the endpoint was disabled or deleted meanwhile.
	WebhookFailed WebhookDeliveryStatus = "FAILED"
)

// WebhookDeliveryStatuses lists every status.
var WebhookDeliveryStatuses = []WebhookDeliveryStatus{WebhookPending, WebhookRetrying, WebhookDelivered, WebhookFailed}

// WebhookDelivery is one event sent (or to be sent) to one endpoint, with
// every attempt made so far.
type WebhookDelivery struct {
	ID         uuid.UUID
	EndpointID uuid.UUID
	// EventID is the delivered event; nil for a WebhookTestEvent.
	EventID   *uuid.UUID
	EventType string
	// WebhookID is the webhook-id header: the same on every attempt and on
	// replays, so receivers can drop duplicates.
	WebhookID string
	Status    WebhookDeliveryStatus
	// AttemptCount is len(Attempts) when the attempts were loaded.
	AttemptCount int
	Attempts     []*WebhookAttempt
	// NextAttemptAt is when the next attempt is due; nil when final.
	NextAttemptAt *time.Time
	// ReplayOf is the delivery this one replays.
	ReplayOf  *uuid.UUID
	CreatedAt time.Time
	UpdatedAt time.Time
}

// GlobalID is the delivery's API id.
func (d *WebhookDelivery) GlobalID() string { return GlobalID(KindWebhookDelivery, d.ID) }

// WebhookAttempt is one POST to the receiver, oldest first in a delivery.
type WebhookAttempt struct {
	At time.Time
	// StatusCode is the receiver's HTTP status; 0 when there was no answer
	// (timeout, refused connection, address not allowed).
	StatusCode int
	LatencyMS  int
	// ResponseSnippet is the start of the answer's body, at most
	// MaxWebhookResponseSnippet bytes of valid UTF-8.
	ResponseSnippet string
	// Error says why the attempt failed without an answer, or "".
	Error string
}

// WebhookMessage is the JSON body of every delivery: the event as the API
// shows it. ID is the event's id (the delivery's for a test), Cursor its
// position in the log (nil for a test).
type WebhookMessage struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurredAt"`
	SubjectID  string          `json:"subjectId"`
	Actor      string          `json:"actor"`
	Origin     string          `json:"origin"`
	Payload    json.RawMessage `json:"payload"`
	Cursor     *string         `json:"cursor"`
}

// NewWebhookMessage is the body that delivers e.
func NewWebhookMessage(e *Event) *WebhookMessage {
	c := e.Cursor()
	return &WebhookMessage{ID: e.ID.String(), Type: string(e.Type), OccurredAt: e.OccurredAt, SubjectID: e.SubjectID,
		Actor: e.Actor, Origin: e.Origin, Payload: e.Payload, Cursor: &c}
}

// WebhookEndpointEdge is one endpoint of a page.
type WebhookEndpointEdge struct {
	Cursor string
	Node   *WebhookEndpoint
}

// WebhookEndpointConnection is one page of endpoints, oldest first.
type WebhookEndpointConnection struct {
	Edges    []*WebhookEndpointEdge
	PageInfo PageInfo
}

// WebhookDeliveryEdge is one delivery of a page.
type WebhookDeliveryEdge struct {
	Cursor string
	Node   *WebhookDelivery
}

// WebhookDeliveryConnection is one page of deliveries, newest first.
type WebhookDeliveryConnection struct {
	Edges    []*WebhookDeliveryEdge
	PageInfo PageInfo
	// EndpointID is the endpoint listed, nil for all (for totalCount).
	EndpointID *uuid.UUID
}

// WebhookService manages the outgoing webhooks of the principal's
// workspace. Every method needs the webhooks:manage scope
// (EUNAUTHENTICATED, EFORBIDDEN) and sees only the principal's workspace:
// another workspace's ids are ENOTFOUND.
//
// Deliveries are POSTs of a WebhookMessage signed per Standard Webhooks
// (headers webhook-id, webhook-timestamp, webhook-signature). A non-2xx
// answer or a timeout is retried with the same webhook-id after 5 s, 5 min,
// 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h, with a little jitter, or
// later if the receiver's Retry-After asks for it; then the delivery FAILS.
// A 410 answer disables the endpoint.
type WebhookService interface {
	// CreateWebhookEndpoint registers an endpoint for the event types
	// (ValidateEventTypes; at least one) and returns it with its signing
	// secret ("whsec_" + base64), which no read ever returns again. The
	// endpoint receives the events committed after it was created.
	// EINVALID: field "url" for a URL that is not http(s), longer than
	// MaxWebhookURLLength, without a host, or whose host resolves to a
	// loopback, private, link-local, unspecified or multicast address
	// (unless the server allows private addresses); field "events";
	// field "description".
	CreateWebhookEndpoint(ctx context.Context, url string, events []string, description *string) (*WebhookEndpoint, string, error)
	// UpdateWebhookEndpoint applies a patch, validated as on creation.
	// ENOTFOUND, EINVALID.
	UpdateWebhookEndpoint(ctx context.Context, id uuid.UUID, patch WebhookEndpointPatch) (*WebhookEndpoint, error)
	// DeleteWebhookEndpoint deletes an endpoint with its deliveries and
	// returns it as it was. Deliveries in flight are dropped. ENOTFOUND.
	DeleteWebhookEndpoint(ctx context.Context, id uuid.UUID) (*WebhookEndpoint, error)
	// WebhookEndpoint returns one endpoint. ENOTFOUND.
	WebhookEndpoint(ctx context.Context, id uuid.UUID) (*WebhookEndpoint, error)
	// WebhookEndpoints lists endpoints, oldest first. EINVALID for a bad
	// `first` or a malformed `after`.
	WebhookEndpoints(ctx context.Context, first int, after string) (*WebhookEndpointConnection, error)
	// RotateWebhookSecret replaces the signing secret and returns the new
	// one, once. The old secret keeps signing beside the new one (two
	// signatures in webhook-signature) for grace, between 0 and
	// MaxWebhookSecretGrace; a secret still in an earlier grace period is
	// dropped. ENOTFOUND, EINVALID (field "grace").
	RotateWebhookSecret(ctx context.Context, id uuid.UUID, grace time.Duration) (string, error)
	// WebhookDelivery returns one delivery with its attempts. ENOTFOUND.
	WebhookDelivery(ctx context.Context, id uuid.UUID) (*WebhookDelivery, error)
	// WebhookDeliveries lists deliveries with their attempts, newest
	// first, of one endpoint or (nil) of all. ENOTFOUND for an unknown
	// endpoint; EINVALID for a bad `first` or a malformed `after`.
	WebhookDeliveries(ctx context.Context, endpointID *uuid.UUID, first int, after string) (*WebhookDeliveryConnection, error)
	// ReplayWebhookDelivery sends a delivery's event again, as a new
	// delivery with the same webhook-id, whatever the old one's status.
	// ENOTFOUND; ECONFLICT when the endpoint is disabled.
	ReplayWebhookDelivery(ctx context.Context, id uuid.UUID) (*WebhookDelivery, error)
	// SendTestWebhook sends a WebhookTestEvent to the endpoint, whatever
	// event types it subscribes to. ENOTFOUND; ECONFLICT when disabled.
	SendTestWebhook(ctx context.Context, endpointID uuid.UUID) (*WebhookDelivery, error)
	// CountWebhookEndpoints and CountWebhookDeliveries serve totalCount.
	CountWebhookEndpoints(ctx context.Context) (int, error)
	CountWebhookDeliveries(ctx context.Context, endpointID *uuid.UUID) (int, error)
}

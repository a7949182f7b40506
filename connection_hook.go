package crmhub

import (
	"errors"
	"time"

	"github.com/google/uuid"
)

// Limits of a connection's inbound webhook secret.
const (
	MinWebhookSecretLength = 16
	MaxWebhookSecretLength = 512
)

// ConnectionChannel is one messenger account of an external CRM, as its
// webhooks last reported it.
type ConnectionChannel struct {
	ConnectionID uuid.UUID
	ChannelID    string
	// Transport is the messenger (whatsapp, instagram, telegram, ...).
	Transport string
	// PlainID is the account's phone number or username.
	PlainID string
	// State is the CRM's word for it ("active", "disabled", ...).
	State     string
	UpdatedAt time.Time
}

// HookTarget is what an inbound webhook needs of its connection.
type HookTarget struct {
	WorkspaceID uuid.UUID
	Connection  *Connection
	APIKey      string
	// WebhookSecret is "" until one is set: every webhook is refused then.
	WebhookSecret string
}

// HookStatus is where the registration of a connection's hook URL at its
// CRM stands.
type HookStatus string

// Hook statuses. MANUAL: the hub does not register (the CRM has no API
// for it, or CRMHUB_PUBLIC_URL is not set); the hook URL and secret are
// set up by hand. PENDING: a registration or removal is queued.
// REGISTERED: the CRM sends its webhooks to the hub. UNREGISTERED: the
// connection is disabled and its registration removed. FAILED: the last
// attempt failed; the note says why and it is retried.
const (
	HookManual       HookStatus = "MANUAL"
	HookPending      HookStatus = "PENDING"
	HookRegistered   HookStatus = "REGISTERED"
	HookUnregistered HookStatus = "UNREGISTERED"
	HookFailed       HookStatus = "FAILED"
)

// HookState is the registration of a connection's hook URL at its CRM.
type HookState struct {
	Status HookStatus
	// URL is the hook URL registered (or being registered), without the
	// token of CRMs that do not sign; nil when none is.
	URL *string
	// Note says, for people, why the hub does not register or what the
	// CRM answered to the last attempt.
	Note *string
	// Attempts counts the failed attempts since the last success.
	Attempts int
	// NextAttemptAt is when the next attempt is due; nil when none is.
	NextAttemptAt *time.Time
	UpdatedAt     *time.Time
}

// HookPath is the path of a connection's inbound webhook URL on this
// server.
func HookPath(id uuid.UUID) string { return "/hooks/" + GlobalID(KindConnection, id) }

// HookCall is what registering or removing a connection's hook at its
// CRM needs.
type HookCall struct {
	Kind    ConnectorKind
	BaseURL string
	// APIKey is the connection's remote API key, in plaintext.
	APIKey  string
	Options map[string]any
	// URL is the hook URL without any token.
	URL string
	// Secret is the connection's webhook secret: the signing key of CRMs
	// that sign, the URL's token for those that do not. Empty on removal.
	Secret string
	// RemoteID is the CRM's id of the registration, "" when it keeps none
	// or it is not known.
	RemoteID string
}

// ErrNoHookAPI is returned when registering at a CRM that has no API to
// register webhooks: its hooks are set up by hand.
var ErrNoHookAPI = errors.New("crmhub: the CRM has no API to register webhooks")

// HookError is a registration or removal that the CRM refused or could
// not take. Note says why, in words for the connection's owner (it is
// shown on the connection); RetryAfter is the wait the CRM asked for.
type HookError struct {
	Note       string
	RetryAfter time.Duration
	Err        error
}

func (e *HookError) Error() string { return "crmhub: webhook registration: " + e.Note }

func (e *HookError) Unwrap() error { return e.Err }

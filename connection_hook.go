package crmhub

import (
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

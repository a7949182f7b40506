package crmhub

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// ConsentStatus is a contact's permission to be messaged on a channel.
type ConsentStatus string

// Consent statuses, from most to least restrictive.
const (
	ConsentOptedOut ConsentStatus = "OPTED_OUT"
	ConsentPending  ConsentStatus = "PENDING"
	ConsentOptedIn  ConsentStatus = "OPTED_IN"
)

// ConsentStatuses lists every status, most restrictive first.
var ConsentStatuses = []ConsentStatus{ConsentOptedOut, ConsentPending, ConsentOptedIn}

// MoreRestrictive returns the more restrictive of two statuses; merging
// contacts keeps it, so a merge never turns an opt-out into permission.
func MoreRestrictive(a, b ConsentStatus) ConsentStatus {
	for _, s := range ConsentStatuses {
		if a == s || b == s {
			return s
		}
	}
	return a
}

// Consent is one consent record: the current state of a channel, or one
// entry of its history.
type Consent struct {
	ContactID uuid.UUID
	Channel   Channel
	Status    ConsentStatus
	Source    *string
	Evidence  *string
	// At is when the consent was given or withdrawn, as the caller states it.
	At time.Time
	// RecordedAt is when crmhub stored it.
	RecordedAt time.Time
}

// ConsentInput sets a consent.
type ConsentInput struct {
	Channel  Channel
	Status   ConsentStatus
	Source   *string
	Evidence *string
	// At defaults to now; it may not lie in the future.
	At *time.Time
}

// Suppression stops all messages to a contact on a channel until it is
// lifted or expires.
type Suppression struct {
	ID        uuid.UUID
	ContactID uuid.UUID
	Channel   Channel
	Reason    string
	CreatedAt time.Time
	ExpiresAt *time.Time
	LiftedAt  *time.Time
}

// GlobalID is the suppression's API id.
func (s *Suppression) GlobalID() string { return GlobalID(KindSuppression, s.ID) }

// ActiveAt reports whether the suppression applies at time now: not lifted
// and not expired. Expiry needs no job: it is judged at the moment of use.
func (s *Suppression) ActiveAt(now time.Time) bool {
	return s.LiftedAt == nil && (s.ExpiresAt == nil || now.Before(*s.ExpiresAt))
}

// SuppressionInput suppresses a channel of a contact.
type SuppressionInput struct {
	Channel   Channel
	Reason    string
	ExpiresAt *time.Time
}

// Limits on consent and suppression text.
const (
	MaxConsentSourceLength   = 200
	MaxConsentEvidenceLength = 2000
	MaxSuppressionReason     = 500
	// MaxConsentHistory bounds one read of a contact's consent history.
	MaxConsentHistory = 500
)

// ConsentHistoryKey asks for the history of one contact, optionally of one
// channel.
type ConsentHistoryKey struct {
	ContactID uuid.UUID
	Channel   Channel // "" for every channel
}

// ConsentService keeps consents and suppressions. Reads need contacts:read,
// writes contacts:write; ids of other workspaces are ENOTFOUND.
type ConsentService interface {
	// SetConsent records a consent change and makes it the channel's current
	// state (unless a later one is already recorded). ENOTFOUND, EINVALID.
	SetConsent(ctx context.Context, contactID uuid.UUID, in ConsentInput) (*Consent, error)
	// SuppressContact adds a suppression. EINVALID for an unknown channel, an
	// empty reason or an expiry in the past; ENOTFOUND.
	SuppressContact(ctx context.Context, contactID uuid.UUID, in SuppressionInput) (*Suppression, error)
	// Suppression returns one suppression. ENOTFOUND.
	Suppression(ctx context.Context, id uuid.UUID) (*Suppression, error)
	// LiftSuppression ends a suppression now. ENOTFOUND.
	LiftSuppression(ctx context.Context, id uuid.UUID) (*Suppression, error)

	// Batch reads for dataloaders, keyed by contact id.
	ConsentsByContact(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*Consent, error)
	ConsentHistory(ctx context.Context, keys []ConsentHistoryKey) (map[ConsentHistoryKey][]*Consent, error)
	SuppressionsByContact(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*Suppression, error)
}

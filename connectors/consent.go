package connectors

import (
	"context"
	"time"

	"github.com/crmhub/crmhub"
)

// ConsentSyncer is optional: a Connector whose remote keeps consents and
// suppressions per channel implements it, and the sync engine then
// carries them both ways (it finds it by asserting this interface, never
// a concrete connector). Every method takes the contact's ExternalID as
// the engine links it and returns the typed errors of this package; a
// contact the remote does not have is a *RequestError (404).
type ConsentSyncer interface {
	// Consents returns the contact's consent per channel; channels or
	// statuses the hub does not know are left out.
	Consents(ctx context.Context, externalID string) ([]RemoteConsent, error)
	// Suppressions returns the contact's suppressions, lifted ones
	// included (LiftedAt set).
	Suppressions(ctx context.Context, externalID string) ([]RemoteSuppression, error)
	// SetConsent sets the consent of one channel of the contact.
	SetConsent(ctx context.Context, externalID string, in crmhub.ConsentInput) (RemoteConsent, error)
	// Suppress suppresses a channel of the contact, or updates and
	// reactivates the channel's suppression.
	Suppress(ctx context.Context, externalID string, in crmhub.SuppressionInput) (RemoteSuppression, error)
	// LiftSuppression lifts the suppression of a channel of the contact.
	LiftSuppression(ctx context.Context, externalID string, channel crmhub.Channel) (RemoteSuppression, error)
}

// NoteSyncer is optional: a Connector whose remote keeps notes on
// contacts implements it.
type NoteSyncer interface {
	// Notes returns the contact's notes in the remote's order.
	Notes(ctx context.Context, externalID string) ([]RemoteNote, error)
	// AddNote adds a note to the contact.
	AddNote(ctx context.Context, externalID, text string) (RemoteNote, error)
}

// RemoteConsent is the consent of one channel as a remote holds it.
type RemoteConsent struct {
	Channel  crmhub.Channel
	Status   crmhub.ConsentStatus
	Source   *string
	Evidence *string
	// At is when the consent was captured, else when the remote last
	// changed it; nil when unknown.
	At *time.Time
}

// RemoteSuppression is a suppression as a remote holds it.
type RemoteSuppression struct {
	ExternalID string
	Channel    crmhub.Channel
	Reason     string
	CreatedAt  *time.Time
	ExpiresAt  *time.Time
	// LiftedAt is set once lifted; a suppression the remote reports
	// inactive without a time is lifted at an unknown time (the zero
	// time).
	LiftedAt *time.Time
}

// ActiveAt reports whether the suppression applies at now: not lifted and
// not expired.
func (s RemoteSuppression) ActiveAt(now time.Time) bool {
	return s.LiftedAt == nil && (s.ExpiresAt == nil || now.Before(*s.ExpiresAt))
}

// RemoteNote is a note on a contact as a remote holds it.
type RemoteNote struct {
	ExternalID string
	Text       string
	CreatedAt  *time.Time
}

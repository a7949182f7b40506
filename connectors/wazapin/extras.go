package wazapin

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// Note is a note on a contact.
type Note struct {
	ID        string `json:"id,omitempty"`
	Content   string `json:"content"`
	CreatedAt Time   `json:"created_at,omitzero"`
}

// Tag is a tag assigned to a contact. The document does not show its
// shape: it decodes from {"name": ...} (or {"tag": ...}) and from a bare
// string, and is sent as {"name": ...}.
type Tag struct {
	Name string `json:"name"`
}

// UnmarshalJSON implements the tolerant reading.
func (t *Tag) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &t.Name)
	}
	var o struct {
		Name string `json:"name"`
		Tag  string `json:"tag"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	t.Name = o.Name
	if t.Name == "" {
		t.Name = o.Tag
	}
	return nil
}

// Consent is the consent state of one channel of a contact.
type Consent struct {
	Channel    string     `json:"channel,omitempty"`
	Status     string     `json:"status"`
	Source     string     `json:"source,omitempty"`
	Evidence   string     `json:"evidence,omitempty"`
	CapturedAt *time.Time `json:"captured_at,omitempty"`
	UpdatedAt  Time       `json:"updated_at,omitzero"`
}

// Consent statuses as assumed on the wire.
const (
	ConsentOptedIn  = "opted_in"
	ConsentOptedOut = "opted_out"
	ConsentPending  = "pending"
)

// Suppression stops messages to a contact on a channel while Active.
type Suppression struct {
	ID        string     `json:"id,omitempty"`
	Channel   string     `json:"channel"`
	Reason    string     `json:"reason,omitempty"`
	Active    bool       `json:"active"`
	CreatedAt Time       `json:"created_at,omitzero"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	LiftedAt  *time.Time `json:"lifted_at,omitempty"`
}

// SuppressionInput is the body of POST .../suppressions, which creates
// the channel's suppression or updates it. Active false lifts it.
type SuppressionInput struct {
	Channel   string     `json:"channel"`
	Reason    *string    `json:"reason,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Active    bool       `json:"active"`
}

// Notes lists a contact's notes.
func (c *Client) Notes(ctx context.Context, contactID string) ([]Note, error) {
	var out []Note
	return out, c.onContact(ctx, "GET", contactID, nil, &out, "notes")
}

// CreateNote adds a note to a contact.
func (c *Client) CreateNote(ctx context.Context, contactID, content string) (Note, error) {
	var out Note
	return out, c.onContact(ctx, "POST", contactID, Note{Content: content}, &out, "notes")
}

// Tags lists the tags assigned to a contact.
func (c *Client) Tags(ctx context.Context, contactID string) ([]Tag, error) {
	var out []Tag
	return out, c.onContact(ctx, "GET", contactID, nil, &out, "tags")
}

// AssignTag assigns a tag to a contact; assigning one it has is no error.
func (c *Client) AssignTag(ctx context.Context, contactID, name string) (Tag, error) {
	var out Tag
	return out, c.onContact(ctx, "POST", contactID, Tag{Name: name}, &out, "tags")
}

// SetConsent upserts the consent state of one channel with PUT
// .../consent/{channel}; in.Channel is taken from channel.
func (c *Client) SetConsent(ctx context.Context, contactID, channel string, in Consent) (Consent, error) {
	var out Consent
	in.Channel = ""
	return out, c.onContact(ctx, "PUT", contactID, in, &out, "consent", channel)
}

// Consents lists a contact's consent rows, one per channel.
func (c *Client) Consents(ctx context.Context, contactID string) ([]Consent, error) {
	var out []Consent
	return out, c.onContact(ctx, "GET", contactID, nil, &out, "consents")
}

// Suppressions lists a contact's suppressions, lifted ones included.
func (c *Client) Suppressions(ctx context.Context, contactID string) ([]Suppression, error) {
	var out []Suppression
	return out, c.onContact(ctx, "GET", contactID, nil, &out, "suppressions")
}

// UpsertSuppression creates or updates the suppression of in.Channel.
func (c *Client) UpsertSuppression(ctx context.Context, contactID string, in SuppressionInput) (Suppression, error) {
	var out Suppression
	return out, c.onContact(ctx, "POST", contactID, in, &out, "suppressions")
}

package wazelo

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

// MaxPageSize is the largest limit the client asks a list for.
const MaxPageSize = 100

// Contact is a Wazelo contact as the API carries it. The document names
// the resource but not its fields; these are the reading doc.go states.
type Contact struct {
	// ID is the remote's id ("cnt_01HX4K9" in the webhook example). On
	// create it may be chosen by the caller.
	ID string `json:"id,omitempty"`
	// Name is the contact's display name.
	Name *string `json:"name"`
	// Phone is the WhatsApp number: country code and digits, no "+"
	// ("919876543210", as the webhook's "from").
	Phone        *string        `json:"phone,omitempty"`
	Email        *string        `json:"email"`
	Tags         []string       `json:"tags"`
	CustomFields map[string]any `json:"custom_fields"`
	CreatedAt    *time.Time     `json:"created_at,omitempty"`
	UpdatedAt    *time.Time     `json:"updated_at,omitempty"`
}

// ListQuery selects a page of contacts. Search and Tag are optional
// filters; Search matches the phone number (digits), the name or the
// email.
type ListQuery struct {
	Page   int // 1-based; 1 when zero
	Limit  int // MaxPageSize when zero
	Search string
	Tag    string
}

func (q ListQuery) values() url.Values {
	v := url.Values{}
	v.Set("page", strconv.Itoa(max(q.Page, 1)))
	limit := q.Limit
	if limit <= 0 {
		limit = MaxPageSize
	}
	v.Set("limit", strconv.Itoa(limit))
	if q.Search != "" {
		v.Set("search", q.Search)
	}
	if q.Tag != "" {
		v.Set("tag", q.Tag)
	}
	return v
}

// ListContacts returns one page of contacts (GET /contacts) and the
// answer's meta, which is nil when the remote sent none.
func (c *Client) ListContacts(ctx context.Context, q ListQuery) ([]Contact, *Meta, error) {
	var out []Contact
	meta, err := c.do(ctx, httpclient.Request{Method: "GET", Path: "/contacts", Query: q.values(), Out: &out})
	if err != nil {
		return nil, nil, err
	}
	return out, meta, nil
}

// GetContact returns one contact (GET /contacts/{id}); IsNotFound reports
// a missing one.
func (c *Client) GetContact(ctx context.Context, id string) (Contact, error) {
	return c.contactCall(ctx, "GET", id, nil)
}

// CreateContact creates a contact (POST /contacts) and returns it as
// stored. A phone number another contact has is refused with a 409
// (IsConflict).
func (c *Client) CreateContact(ctx context.Context, in Contact) (Contact, error) {
	var out Contact
	_, err := c.do(ctx, httpclient.Request{Method: "POST", Path: "/contacts", In: in, Out: &out})
	return out, err
}

// UpdateContact updates contact id (PATCH /contacts/{id}) with the fields
// in sets: a field left nil (omitted) keeps its value, a JSON null clears
// it. IsNotFound reports a missing contact, IsConflict a phone number
// another contact has.
func (c *Client) UpdateContact(ctx context.Context, id string, in Contact) (Contact, error) {
	in.ID = ""
	return c.contactCall(ctx, "PATCH", id, in)
}

// DeleteContact deletes contact id (DELETE /contacts/{id}); IsNotFound
// reports a missing one.
func (c *Client) DeleteContact(ctx context.Context, id string) error {
	p, err := c.http.PathID("/contacts", id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, httpclient.Request{Method: "DELETE", Path: p})
	return err
}

// contactCall sends method to /contacts/{id} and decodes the contact.
func (c *Client) contactCall(ctx context.Context, method, id string, in any) (Contact, error) {
	var out Contact
	p, err := c.http.PathID("/contacts", id)
	if err != nil {
		return out, err
	}
	r := httpclient.Request{Method: method, Path: p, Out: &out}
	if in != nil {
		r.In = in
	}
	if _, err := c.do(ctx, r); err != nil {
		return Contact{}, err
	}
	if out.ID == "" {
		return Contact{}, fmt.Errorf("wazelo: %s %s: answer without an id", method, p)
	}
	return out, nil
}

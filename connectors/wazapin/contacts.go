package wazapin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

// PageSize is how many contacts one list request asks for.
const PageSize = 100

// Contact is a contact as the API answers it.
type Contact struct {
	ID             string         `json:"id"`
	PhoneNumber    string         `json:"phone_number,omitempty"`
	Name           *string        `json:"name,omitempty"`
	Email          string         `json:"email,omitempty"`
	ExternalSource string         `json:"external_source,omitempty"`
	ExternalID     string         `json:"external_id,omitempty"`
	CustomFields   map[string]any `json:"custom_fields,omitempty"`
	// Identities, Tags and Notes are read when a listing inlines them;
	// nil when it does not (then the sub-resource routes have them).
	Identities []Identity `json:"identities,omitempty"`
	Tags       []Tag      `json:"tags,omitempty"`
	Notes      []Note     `json:"notes,omitempty"`
	CreatedAt  Time       `json:"created_at,omitzero"`
	UpdatedAt  Time       `json:"updated_at,omitzero"`
}

// ContactInput is the body of POST /v1/contacts and PATCH
// /v1/contacts/{id}. A nil field is not sent: PATCH leaves it unchanged.
type ContactInput struct {
	PhoneNumber    *string        `json:"phone_number,omitempty"`
	Name           *string        `json:"name,omitempty"`
	Email          *string        `json:"email,omitempty"`
	ExternalSource *string        `json:"external_source,omitempty"`
	ExternalID     *string        `json:"external_id,omitempty"`
	CustomFields   map[string]any `json:"custom_fields,omitempty"`
}

// Identity is an identifier linked to a contact (GET .../identities) or
// given to resolve: Type is one of the Identifier* constants.
type Identity struct {
	Type   string `json:"type"`
	Value  string `json:"value"`
	Source string `json:"source,omitempty"`
}

// Identifier types the document lists for resolve; the identities route
// may also answer telegram, instagram and vk.
const (
	IdentifierContactID  = "contact_id"
	IdentifierPhone      = "phone"
	IdentifierWhatsApp   = "whatsapp"
	IdentifierWAID       = "wa_id"
	IdentifierEmail      = "email"
	IdentifierExternalID = "external_id"
	IdentifierTelegram   = "telegram"
	IdentifierInstagram  = "instagram"
	IdentifierVK         = "vk"
)

// Time is a timestamp the remote answers. The document shows none, so it
// accepts RFC 3339 text or Unix seconds and reads anything else (or null)
// as unknown rather than failing the whole answer.
type Time struct{ time.Time }

// UnmarshalJSON implements the tolerant reading.
func (t *Time) UnmarshalJSON(b []byte) error {
	t.Time = time.Time{}
	b = bytes.TrimSpace(b)
	var s string
	if json.Unmarshal(b, &s) == nil {
		if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t.Time = v
		}
		return nil
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		t.Time = time.Unix(n, 0).UTC()
	}
	return nil
}

// ptr returns the time or nil when unknown.
func (t Time) ptr() *time.Time {
	if t.IsZero() {
		return nil
	}
	v := t.Time
	return &v
}

// ContactPage is one page of GET /v1/contacts.
type ContactPage struct {
	Contacts []Contact
	// Page, Limit and Total are the answer's meta, 0 when absent.
	Page, Limit, Total int
	// NextCursor is a cursor the remote gave for the next page, "" when
	// it paginates by page number (as assumed) or the listing ended.
	NextCursor string
}

// ListParams selects a page of contacts: by Cursor when the remote gave
// one, else by Page (1-based). Limit is PageSize when zero.
type ListParams struct {
	Page   int
	Limit  int
	Cursor string
}

// ListContacts fetches one page of GET /v1/contacts. It accepts the
// assumed {"data": [...], "meta": {"page", "limit", "total"}} and, from a
// remote that paginates by cursor, a "next_cursor" in meta or beside data.
func (c *Client) ListContacts(ctx context.Context, p ListParams) (ContactPage, error) {
	q := url.Values{}
	if p.Limit <= 0 {
		p.Limit = PageSize
	}
	q.Set("limit", strconv.Itoa(p.Limit))
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	} else {
		q.Set("page", strconv.Itoa(max(p.Page, 1)))
	}
	var raw json.RawMessage
	if err := c.http.Do(ctx, httpclient.Request{Method: "GET", Path: "/v1/contacts", Query: q, Out: &raw}); err != nil {
		return ContactPage{}, err
	}
	type meta struct {
		Page       int    `json:"page"`
		Limit      int    `json:"limit"`
		Total      int    `json:"total"`
		NextCursor string `json:"next_cursor"`
	}
	var body struct {
		Data       []Contact `json:"data"`
		Meta       meta      `json:"meta"`
		NextCursor string    `json:"next_cursor"`
	}
	if err := decodeList(raw, &body, &body.Data); err != nil {
		return ContactPage{}, err
	}
	next := body.Meta.NextCursor
	if next == "" {
		next = body.NextCursor
	}
	return ContactPage{Contacts: body.Data, Page: body.Meta.Page, Limit: body.Meta.Limit,
		Total: body.Meta.Total, NextCursor: next}, nil
}

// decodeList decodes a listing answered as an envelope into env, or as a
// bare array into items.
func decodeList(raw []byte, env any, items any) error {
	var err error
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		err = json.Unmarshal(t, items)
	} else {
		err = json.Unmarshal(raw, env)
	}
	if err != nil {
		return fmt.Errorf("wazapin: decoding GET /v1/contacts: %w", err)
	}
	return nil
}

// GetContact fetches one contact by its Wazapin id; IsNotFound reports a
// missing one.
func (c *Client) GetContact(ctx context.Context, id string) (Contact, error) {
	var out Contact
	return out, c.onContact(ctx, "GET", id, nil, &out)
}

// GetContactByPhone fetches the contact with phone (E.164).
func (c *Client) GetContactByPhone(ctx context.Context, phone string) (Contact, error) {
	var out Contact
	return out, c.onContact(ctx, "GET", "phone", nil, &out, phone)
}

// CreateContact creates a contact, or updates the one the remote finds by
// its phone number or external id ("create or upsert").
func (c *Client) CreateContact(ctx context.Context, in ContactInput) (Contact, error) {
	var out Contact
	return out, c.http.Do(ctx, httpclient.Request{Method: "POST", Path: "/v1/contacts", In: in, Out: &out})
}

// UpdateContact changes the fields in gives.
func (c *Client) UpdateContact(ctx context.Context, id string, in ContactInput) (Contact, error) {
	var out Contact
	return out, c.onContact(ctx, "PATCH", id, in, &out)
}

// DeleteContact deletes a contact; IsNotFound reports a missing one.
func (c *Client) DeleteContact(ctx context.Context, id string) error {
	return c.onContact(ctx, "DELETE", id, nil, nil)
}

// Resolve routes: the primary one, and the compatibility alias older
// deployments serve instead.
const (
	resolvePath = "/v1/contacts/resolve"
	lookupPath  = "/v1/contacts/lookup"
)

// ResolveContact finds the stored contact the identifiers point at with
// POST /v1/contacts/resolve. IsNotFound reports none, IsConflict
// identifiers that point at different contacts. A deployment that predates
// /resolve answers it with a 404 that is not the documented not_found
// body; the client then uses the /lookup alias, for this call and every
// later one.
func (c *Client) ResolveContact(ctx context.Context, ids []Identity) (Contact, error) {
	var out Contact
	in := struct {
		Identifiers []Identity `json:"identifiers"`
	}{ids}
	path := resolvePath
	if c.legacy.Load() {
		path = lookupPath
	}
	err := c.http.Do(ctx, httpclient.Request{Method: "POST", Path: path, In: in, Out: &out})
	if path == resolvePath && routeMissing(err) {
		c.legacy.Store(true)
		err = c.http.Do(ctx, httpclient.Request{Method: "POST", Path: lookupPath, In: in, Out: &out})
	}
	return out, err
}

// routeMissing reports a 404 without the documented {"code": "not_found"}
// body of a contact that is not there: the path itself is unknown.
func routeMissing(err error) bool {
	var re *connectors.RequestError
	return errors.As(err, &re) && re.Status == http.StatusNotFound && re.Code != CodeNotFound
}

// Identities lists the identities linked to a contact.
func (c *Client) Identities(ctx context.Context, id string) ([]Identity, error) {
	var out []Identity
	return out, c.onContact(ctx, "GET", id, nil, &out, "identities")
}

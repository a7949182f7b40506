package wazera

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

// MaxPerPage is the largest per_page the client asks for. The document
// gives no limit; 100 is the common ceiling of such APIs.
const MaxPerPage = 100

// Contact is a Wazera contact as the API carries it. On writes every
// field is sent, null or empty when unset, so that an update clears what
// the hub cleared whether PUT replaces the record or patches it.
type Contact struct {
	// ID is Wazera's id; never sent on a write.
	ID           ID             `json:"id,omitempty"`
	Name         *string        `json:"name"`
	Phone        *string        `json:"phone"`
	Email        *string        `json:"email"`
	Tags         Tags           `json:"tags"`
	CustomFields map[string]any `json:"custom_fields"`
	// CreatedAt and UpdatedAt are read when the remote gives them.
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// Tags are a contact's tag names. The document writes them as strings;
// tag objects with a "name" ({"id": 1, "name": "vip"}) are read too.
type Tags []string

// UnmarshalJSON accepts an array of strings or of objects with a name.
func (t *Tags) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("wazera: tags: %w", err)
	}
	if raw == nil {
		*t = nil
		return nil
	}
	out := make(Tags, 0, len(raw))
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) != nil {
			var o struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(r, &o); err != nil {
				return fmt.Errorf("wazera: tag %s is neither a string nor an object", r)
			}
			s = o.Name
		}
		if s != "" {
			out = append(out, s)
		}
	}
	*t = out
	return nil
}

// PageMeta is the pagination of a list answer. Total and LastPage are -1
// when the remote did not give them.
type PageMeta struct {
	CurrentPage int `json:"current_page"`
	PerPage     int `json:"per_page"`
	Total       int `json:"total"`
	LastPage    int `json:"last_page"`
}

// ContactPage is one page of GET /contacts.
type ContactPage struct {
	Data []Contact `json:"data"`
	Meta PageMeta  `json:"meta"`
}

// UnmarshalJSON accepts {"data": [...], "meta": {...}}, the same with the
// pagination fields at the top level (a plain Laravel paginator), and a
// bare array.
func (p *ContactPage) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '[' {
		p.Meta = PageMeta{Total: -1, LastPage: -1}
		return json.Unmarshal(b, &p.Data)
	}
	var v struct {
		Data []Contact                  `json:"data"`
		Meta map[string]json.RawMessage `json:"meta"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	fields := v.Meta
	if fields == nil {
		_ = json.Unmarshal(b, &fields) // the object decoded above
	}
	p.Data = v.Data
	p.Meta = PageMeta{
		CurrentPage: intField(fields, "current_page", 0),
		PerPage:     intField(fields, "per_page", 0),
		Total:       intField(fields, "total", -1),
		LastPage:    intField(fields, "last_page", -1),
	}
	return nil
}

// intField reads fields[key] as an integer (a number or a numeric
// string), def when absent or of another type.
func intField(fields map[string]json.RawMessage, key string, def int) int {
	raw, ok := fields[key]
	if !ok {
		return def
	}
	var n json.Number
	if json.Unmarshal(bytes.Trim(raw, `"`), &n) != nil {
		return def
	}
	i, err := strconv.Atoi(n.String())
	if err != nil {
		return def
	}
	return i
}

// More reports whether a page follows this one, which was asked with
// page and perPage: by last_page, else by total, else by a full page.
func (p ContactPage) More(page, perPage int) bool {
	switch {
	case len(p.Data) == 0:
		return false
	case p.Meta.LastPage >= 0:
		return page < p.Meta.LastPage
	case p.Meta.Total >= 0:
		return page*perPage < p.Meta.Total
	}
	return len(p.Data) >= perPage
}

// ListOptions are the documented query parameters of GET /contacts.
type ListOptions struct {
	Page    int // 1-based; 1 when zero
	PerPage int // MaxPerPage when zero
	Search  string
	Tag     string
}

// ListContacts returns one page of contacts (GET /contacts).
func (c *Client) ListContacts(ctx context.Context, o ListOptions) (ContactPage, error) {
	if o.Page <= 0 {
		o.Page = 1
	}
	if o.PerPage <= 0 {
		o.PerPage = MaxPerPage
	}
	q := url.Values{"page": {strconv.Itoa(o.Page)}, "per_page": {strconv.Itoa(o.PerPage)}}
	if o.Search != "" {
		q.Set("search", o.Search)
	}
	if o.Tag != "" {
		q.Set("tag", o.Tag)
	}
	var p ContactPage
	err := c.http.Do(ctx, httpclient.Request{Method: "GET", Path: "/contacts", Query: q, Out: &p})
	return p, err
}

// one is a single-record answer: {"data": {...}} or the bare record.
type one[T any] struct{ v T }

func (o *one[T]) UnmarshalJSON(b []byte) error {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(b, &env) == nil && len(env.Data) > 0 && env.Data[0] == '{' {
		b = env.Data
	}
	return json.Unmarshal(b, &o.v)
}

// GetContact returns one contact (GET /contacts/{id}); IsNotFound reports
// a missing one.
func (c *Client) GetContact(ctx context.Context, id string) (Contact, error) {
	var out one[Contact]
	err := c.http.Do(ctx, httpclient.Request{Method: "GET", Path: contactPath(id), Out: &out})
	return out.v, err
}

// CreateContact creates a contact (POST /contacts) and returns it as
// stored, with its new id.
func (c *Client) CreateContact(ctx context.Context, in Contact) (Contact, error) {
	in.ID = ""
	var out one[Contact]
	err := c.http.Do(ctx, httpclient.Request{Method: "POST", Path: "/contacts", In: in, Out: &out})
	return out.v, err
}

// UpdateContact updates contact id (PUT /contacts/{id}); IsNotFound
// reports a missing one.
func (c *Client) UpdateContact(ctx context.Context, id string, in Contact) (Contact, error) {
	in.ID = ""
	var out one[Contact]
	err := c.http.Do(ctx, httpclient.Request{Method: "PUT", Path: contactPath(id), In: in, Out: &out})
	return out.v, err
}

// DeleteContact deletes contact id (DELETE /contacts/{id}); IsNotFound
// reports a missing one.
func (c *Client) DeleteContact(ctx context.Context, id string) error {
	return c.http.Do(ctx, httpclient.Request{Method: "DELETE", Path: contactPath(id)})
}

func contactPath(id string) string { return "/contacts/" + url.PathEscape(id) }

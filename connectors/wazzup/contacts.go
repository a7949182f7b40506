package wazzup

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"strconv"

	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

// Chat types the documents list for contactData.chatType, send_message
// and webhooks.
const (
	ChatWhatsApp   = "whatsapp"
	ChatWhatsGroup = "whatsgroup"
	ChatInstagram  = "instagram"
	ChatTelegram   = "telegram"
	ChatVK         = "vk"
)

// Contact is a v3 contact card: a CRM record whose chats Wazzup shows to the
// responsible user. Field limits are the remote's: id and responsibleUserId
// up to 100 characters, name and uri up to 200.
type Contact struct {
	// ID is the contact's id in the CRM (crmhub's side of the link).
	ID ID `json:"id"`
	// ResponsibleUserID is the id of a user pushed with UpsertUsers; the
	// remote requires it.
	ResponsibleUserID ID            `json:"responsibleUserId"`
	Name              string        `json:"name"`
	ContactData       []ContactData `json:"contactData"`
	// URI links back to the contact's page in the CRM; optional.
	URI string `json:"uri,omitempty"`
}

// ContactData is one messenger account of a contact.
type ContactData struct {
	// ChatType is one of the Chat* constants.
	ChatType string `json:"chatType"`
	// ChatID is the account in the messenger: for WhatsApp the phone's
	// digits without "+", for Instagram the account without "@".
	ChatID ID `json:"chatId,omitempty"`
	// Username is for Telegram only, without the leading "@".
	Username string `json:"username,omitempty"`
	// Phone is for Telegram only: international format, digits only.
	Phone string `json:"phone,omitempty"`
}

// contactList is the body of GET /v3/contacts.
type contactList struct {
	Count int       `json:"count"`
	Data  []Contact `json:"data"`
}

// UnmarshalJSON accepts the documented {"count", "data"} object and, being
// tolerant of the other reading of the document, a bare array.
func (l *contactList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		l.Count = -1
		return json.Unmarshal(b, &l.Data)
	}
	type plain contactList
	return json.Unmarshal(b, (*plain)(l))
}

// UpsertContacts creates or updates up to MaxBatch contacts by id
// (POST /v3/contacts). An empty batch sends nothing. When the remote
// refuses records it returns a *BatchError naming them by index and id and
// stores none of the batch; see DropRejected.
func (c *Client) UpsertContacts(ctx context.Context, contacts []Contact) error {
	if len(contacts) == 0 {
		return nil
	}
	if err := checkBatch("upserting contacts", len(contacts), MaxBatch); err != nil {
		return err
	}
	err := c.http.Do(ctx, httpclient.Request{Method: "POST", Path: "/v3/contacts", In: contacts})
	return nameItems(err, func(i int) string { return string(contacts[i].ID) }, len(contacts))
}

// ListContacts returns the page of up to PageSize contacts that starts at
// offset, in ascending id order, and the total number of contacts (-1 when
// the remote did not say).
func (c *Client) ListContacts(ctx context.Context, offset int) ([]Contact, int, error) {
	if offset < 0 {
		return nil, 0, fmt.Errorf("wazzup: listing contacts: negative offset %d", offset)
	}
	var l contactList
	q := url.Values{"offset": {strconv.Itoa(offset)}}
	if err := c.http.Do(ctx, httpclient.Request{Method: "GET", Path: "/v3/contacts", Query: q, Out: &l}); err != nil {
		return nil, 0, err
	}
	return l.Data, l.Count, nil
}

// AllContacts pages through every contact by offset. It stops at the first
// error, which it yields. A contact created or deleted meanwhile can shift
// the pages, so callers that need each id once should deduplicate.
func (c *Client) AllContacts(ctx context.Context) iter.Seq2[Contact, error] {
	return paginate(func(offset int) ([]Contact, bool, error) {
		page, count, err := c.ListContacts(ctx, offset)
		more := len(page) == PageSize && (count < 0 || offset+len(page) < count)
		return page, more, err
	})
}

// GetContact returns one contact (GET /v3/contacts/{id}); IsNotFound
// reports a missing one.
func (c *Client) GetContact(ctx context.Context, id string) (Contact, error) {
	return getByID[Contact](ctx, c, "/v3/contacts", id)
}

// DeleteContact deletes one contact (DELETE /v3/contacts/{id}); its dialog
// stays in the general chat. IsNotFound reports a missing one.
func (c *Client) DeleteContact(ctx context.Context, id string) error {
	return c.deleteByID(ctx, "/v3/contacts", id)
}

// BulkDeleteContacts deletes up to MaxBatch contacts
// (PATCH /v3/contacts/bulk_delete) and returns the ids Wazzup did not have.
func (c *Client) BulkDeleteContacts(ctx context.Context, ids []string) (missing []string, err error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if err := checkBatch("deleting contacts", len(ids), MaxBatch); err != nil {
		return nil, err
	}
	var out []ID
	if err := c.http.Do(ctx, httpclient.Request{Method: "PATCH", Path: "/v3/contacts/bulk_delete", In: ids, Out: &out}); err != nil {
		return nil, err
	}
	missing = make([]string, len(out))
	for i, id := range out {
		missing[i] = string(id)
	}
	return missing, nil
}

// paginate yields the records of successive pages; fetch returns one page
// and whether another may follow.
func paginate[T any](fetch func(offset int) (page []T, more bool, err error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for offset := 0; ; {
			page, more, err := fetch(offset)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, rec := range page {
				if !yield(rec, nil) {
					return
				}
			}
			if !more || len(page) == 0 {
				return
			}
			offset += len(page)
		}
	}
}

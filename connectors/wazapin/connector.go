package wazapin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/crmhub/crmhub/connectors"
)

// MaxBatch is the most records one UpsertContacts or DeleteContacts call
// takes. Wazapin has no batch route, so every record costs two or more
// requests; a batch of 50 bounds the work repeated after a 429 or 5xx.
const MaxBatch = 50

// ErrBatchTooLarge is wrapped by the error a write method returns, without
// sending anything, when its batch exceeds MaxBatch.
var ErrBatchTooLarge = errors.New("batch exceeds the connector limit")

var (
	_ connectors.Factory   = NewConnector
	_ connectors.Connector = (*Connector)(nil)
	_ connectors.Checker   = (*Connector)(nil)
)

// Connector is the connectors.Connector of Wazapin: contacts only, found
// by their identifiers. It also implements the optional
// connectors.ConsentSyncer (consent per channel, suppressions) and
// connectors.NoteSyncer, and offers tag methods; each takes a contact's
// ExternalID as the sync engine knows it.
type Connector struct {
	client *Client
}

// NewConnector builds the Wazapin connector of one connection. Its
// signature is a connectors.Factory, for the registry built in cmd. No
// connection option is read.
func NewConnector(cfg connectors.Config) (connectors.Connector, error) {
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, errors.New("wazapin: the connection has no API key")
	}
	return &Connector{client: New(Config{BaseURL: cfg.BaseURL, APIKey: cfg.APIKey, HTTPClient: cfg.HTTPClient})}, nil
}

// Client returns the wire client, for routes the Connector does not wrap.
func (c *Connector) Client() *Client { return c.client }

// Capabilities: at most MaxBatch records per call, and lookup by
// identifier. Contacts are all it syncs: the document has no deals or
// users.
func (c *Connector) Capabilities() connectors.Capabilities {
	return connectors.Capabilities{MaxBatch: MaxBatch, ResolveByIdentifier: true}
}

// ListContacts returns the page of contacts at cursor, with each
// contact's identities and tags. The cursor is the page number as decimal
// text, or "c:" and the remote's own cursor when it gives one. Contacts
// created or deleted between two pages shift the later ones, so a record
// may be seen twice or missed until the next full run.
func (c *Connector) ListContacts(ctx context.Context, cursor string) (connectors.Page[connectors.RemoteContact], error) {
	var p connectors.Page[connectors.RemoteContact]
	params, err := parseCursor(cursor)
	if err != nil {
		return p, err
	}
	page, err := c.client.ListContacts(ctx, params)
	if err != nil {
		return p, err
	}
	p.Items = make([]connectors.RemoteContact, 0, len(page.Contacts))
	for _, w := range page.Contacts {
		rc, err := c.withDetails(ctx, w)
		if IsNotFound(err) {
			continue // deleted since the page was read
		}
		if err != nil {
			return connectors.Page[connectors.RemoteContact]{}, err
		}
		p.Items = append(p.Items, rc)
	}
	p.Total = page.Total
	p.Next = nextCursor(params, page)
	return p, nil
}

// withDetails converts w with its identities and tags, fetched when the
// listing did not inline them.
func (c *Connector) withDetails(ctx context.Context, w Contact) (connectors.RemoteContact, error) {
	idents, tags := w.Identities, w.Tags
	var err error
	if idents == nil {
		if idents, err = c.client.Identities(ctx, w.ID); err != nil {
			return connectors.RemoteContact{}, err
		}
	}
	if tags == nil {
		if tags, err = c.client.Tags(ctx, w.ID); err != nil {
			return connectors.RemoteContact{}, err
		}
	}
	return contactFromWire(w, idents, tags), nil
}

// parseCursor reads a cursor ListContacts returned.
func parseCursor(cursor string) (ListParams, error) {
	if rest, ok := strings.CutPrefix(cursor, "c:"); ok && rest != "" {
		return ListParams{Cursor: rest, Limit: PageSize}, nil
	}
	if cursor == "" {
		return ListParams{Page: 1, Limit: PageSize}, nil
	}
	n, err := strconv.Atoi(cursor)
	if err != nil || n < 1 {
		return ListParams{}, fmt.Errorf("wazapin: cursor %q is not a page", cursor)
	}
	return ListParams{Page: n, Limit: PageSize}, nil
}

// nextCursor is the cursor of the page after page, "" after the last:
// the remote's cursor when it gave one; otherwise the next page number
// while meta.total says more remain or, without a total, while pages come
// back full.
func nextCursor(params ListParams, page ContactPage) string {
	switch {
	case page.NextCursor != "":
		return "c:" + page.NextCursor
	case params.Cursor != "" || len(page.Contacts) == 0:
		return ""
	}
	limit := params.Limit
	if page.Limit > 0 {
		limit = page.Limit
	}
	n := params.Page
	if page.Page > 0 {
		n = page.Page
	}
	more := len(page.Contacts) >= limit
	if page.Total > 0 {
		more = n*limit < page.Total
	}
	if !more {
		return ""
	}
	return strconv.Itoa(n + 1)
}

// UpsertContacts writes each record after resolving it by every
// identifier it carries: a contact found is updated (PATCH), none found
// is created (POST) with external_source "crmhub" and the record's
// ExternalID, and identifiers found on different contacts fail the record
// with an ItemError coded CodeIdentityConflict. Each record written is
// reported under the id ListContacts gives the contact it PATCHed or
// created: the crmhub external id of a contact under "crmhub", else
// Wazapin's contact id (a contact found by phone that has another
// source's external id, or none, keeps it and is reported under its own
// id). Tags the record has and
// the remote lacks are assigned; none are removed. Other refusals of a
// record's requests fail that record alone; a 429, 5xx or refused key
// stops the call with its typed error, and since records written before
// it are found again by resolve, the engine can resend the whole batch.
func (c *Connector) UpsertContacts(ctx context.Context, items []connectors.RemoteContact) ([]connectors.UpsertResult, error) {
	if err := checkBatch("upserting contacts", len(items)); err != nil {
		return nil, err
	}
	results := make([]connectors.UpsertResult, len(items))
	for i, rc := range items {
		ext, err := c.upsert(ctx, rc)
		if err == nil {
			results[i].ExternalID = ext
			continue
		}
		ie, ok := itemError(i, rc.ExternalID, err)
		if !ok {
			return nil, err
		}
		if IsConflict(err) {
			ie.Code = CodeIdentityConflict
		}
		results[i].Err = ie
	}
	return results, nil
}

// upsert writes one record and returns the ExternalID of the contact it
// wrote, as ListContacts gives it.
func (c *Connector) upsert(ctx context.Context, rc connectors.RemoteContact) (string, error) {
	in := contactInput(rc)
	var id, ext string
	var hadTags []Tag
	found, err := c.client.ResolveContact(ctx, resolveIdentities(rc))
	switch {
	case err == nil:
		if _, err := c.client.UpdateContact(ctx, found.ID, in); err != nil {
			return "", err
		}
		id, ext = found.ID, externalIDOf(found)
		if len(rc.Tags) > 0 {
			if hadTags, err = c.client.Tags(ctx, id); err != nil {
				return "", err
			}
		}
	case IsNotFound(err):
		if rc.ExternalID != "" {
			in.ExternalSource, in.ExternalID = ptr(ExternalSource), ptr(rc.ExternalID)
		}
		created, err := c.client.CreateContact(ctx, in)
		if err != nil {
			return "", err
		}
		id, ext = created.ID, rc.ExternalID
		if ext == "" {
			ext = created.ID
		}
	default:
		return "", err
	}
	return ext, c.assignTags(ctx, id, hadTags, rc.Tags)
}

// assignTags assigns the tags of want that have (compared without case)
// lacks, each once.
func (c *Connector) assignTags(ctx context.Context, id string, have []Tag, want []string) error {
	seen := map[string]bool{}
	for _, t := range have {
		seen[strings.ToLower(t.Name)] = true
	}
	for _, t := range want {
		t = strings.TrimSpace(t)
		if t == "" || seen[strings.ToLower(t)] {
			continue
		}
		seen[strings.ToLower(t)] = true
		if _, err := c.client.AssignTag(ctx, id, t); err != nil {
			return err
		}
	}
	return nil
}

// DeleteContacts deletes each contact by its ExternalID and returns the
// ids Wazapin did not have. It stops at the first other error: contacts
// deleted before it are reported missing when the call is repeated.
func (c *Connector) DeleteContacts(ctx context.Context, externalIDs []string) ([]string, error) {
	if err := checkBatch("deleting contacts", len(externalIDs)); err != nil {
		return nil, err
	}
	missing := []string{}
	for _, ext := range externalIDs {
		id, err := c.contactID(ctx, ext)
		if err == nil {
			err = c.client.DeleteContact(ctx, id)
		}
		switch {
		case err == nil:
		case IsNotFound(err), errors.Is(err, errEmptyID):
			missing = append(missing, ext)
		default:
			return nil, err
		}
	}
	return missing, nil
}

// contactID is the Wazapin id of the contact the hub knows as ext: the
// contact created under that crmhub external id, else ext itself, which
// is then Wazapin's id (of a contact first pulled from Wazapin) or no
// contact at all, answered 404 by the route it is used on.
func (c *Connector) contactID(ctx context.Context, ext string) (string, error) {
	if strings.TrimSpace(ext) == "" {
		return "", errEmptyID
	}
	found, err := c.client.ResolveContact(ctx, []Identity{{Type: IdentifierExternalID, Source: ExternalSource, Value: ext}})
	switch {
	case err == nil:
		return found.ID, nil
	case IsNotFound(err):
		return ext, nil
	}
	return "", err
}

// checkBatch refuses a batch larger than MaxBatch before anything is sent.
func checkBatch(what string, n int) error {
	if n > MaxBatch {
		return fmt.Errorf("wazapin: %s: %d records, limit %d: %w", what, n, MaxBatch, ErrBatchTooLarge)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// Check reads one contact (GET /v1/contacts with a page of one): the cheapest
// call that needs a valid API key, made before a run reads or writes
// anything.
func (c *Connector) Check(ctx context.Context) error {
	_, err := c.client.ListContacts(ctx, ListParams{Limit: 1})
	return err
}

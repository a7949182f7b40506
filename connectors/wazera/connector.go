package wazera

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/crmhub/crmhub/connectors"
)

// Connection options the connector reads.
const (
	// OptionPlan is the account's plan ("starter", "professional",
	// "enterprise"); it sets the client-side rate limit. Starter when
	// absent.
	OptionPlan = "plan"
	// OptionWhatsAppAccountID is the whatsapp_account_id messages are
	// sent from. Sending needs it; syncing does not.
	OptionWhatsAppAccountID = "whatsapp_account_id"
)

// MaxBatch is the most records one UpsertContacts or DeleteContacts call
// takes. Wazera has no batch route, so each record is one request; the
// cap keeps a call, and the engine's retry of it, short.
const MaxBatch = 100

// ErrBatchTooLarge is wrapped by the error a write returns, without
// sending anything, when it gets more than MaxBatch records.
var ErrBatchTooLarge = errors.New("batch exceeds the connector limit")

var (
	_ connectors.Factory   = NewConnector
	_ connectors.Connector = (*Connector)(nil)
	_ connectors.Checker   = (*Connector)(nil)
)

// Connector is the connectors.Connector of Wazera: contacts only, since
// the document has no deals or users.
//
// Wazera assigns contact ids itself and the hub knows a Wazera contact by
// that id: listings give it, and UpsertContacts reports the id a create
// was given, which the engine links the hub record by. A record whose
// external id is not a Wazera id (the hub's own id, on a first push) is
// created. The connector remembers the contacts it created, by the
// external id they were sent under, so that the engine's resend of a batch
// after a whole-request error updates them instead of creating them again;
// a Connector lives for one sync run.
type Connector struct {
	client    *Client
	accountID int64 // 0 when OptionWhatsAppAccountID is not set

	mu      sync.Mutex
	created map[string]string // external id sent -> Wazera id it was created under
}

// NewConnector builds the Wazera connector of one connection. Its
// signature is a connectors.Factory, for the registry built in cmd.
func NewConnector(cfg connectors.Config) (connectors.Connector, error) {
	return newConnector(cfg, Config{})
}

// newConnector is NewConnector with client settings (clock, limiter) that
// tests set.
func newConnector(cfg connectors.Config, base Config) (*Connector, error) {
	var planName string
	switch v := cfg.Options[OptionPlan].(type) {
	case nil:
	case string:
		planName = v
	default:
		return nil, fmt.Errorf("wazera: option %s must be a string, not %T", OptionPlan, v)
	}
	plan, err := ParsePlan(planName)
	if err != nil {
		return nil, err
	}
	account, err := optionInt(cfg.Options, OptionWhatsAppAccountID)
	if err != nil {
		return nil, err
	}
	base.BaseURL, base.APIKey, base.HTTPClient, base.Plan = cfg.BaseURL, cfg.APIKey, cfg.HTTPClient, plan
	return &Connector{client: New(base), accountID: account, created: map[string]string{}}, nil
}

// optionInt reads a positive integer option given as a JSON number or a
// numeric string; 0 when absent.
func optionInt(opts map[string]any, key string) (int64, error) {
	var s string
	switch v := opts[key].(type) {
	case nil:
		return 0, nil
	case string:
		s = strings.TrimSpace(v)
	case json.Number:
		s = v.String()
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	default:
		return 0, fmt.Errorf("wazera: option %s must be a number, not %T", key, v)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("wazera: option %s: %q is not a positive integer", key, s)
	}
	return n, nil
}

// Client returns the wire client, for callers that need a route the
// Connector does not use.
func (c *Connector) Client() *Client { return c.client }

// Capabilities: MaxBatch records per call, no lookup by identifier (the
// document's search parameter is free text).
func (c *Connector) Capabilities() connectors.Capabilities {
	return connectors.Capabilities{MaxBatch: MaxBatch}
}

// ListContacts returns the page of contacts at cursor, which is the page
// number as text ("" is page 1), MaxPerPage contacts a page. A contact
// created or deleted between two pages shifts the later ones, so a record
// may be seen twice or missed until the next full run.
func (c *Connector) ListContacts(ctx context.Context, cursor string) (connectors.Page[connectors.RemoteContact], error) {
	var p connectors.Page[connectors.RemoteContact]
	page := 1
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 1 {
			return p, fmt.Errorf("wazera: cursor %q is not a page number", cursor)
		}
		page = n
	}
	wp, err := c.client.ListContacts(ctx, ListOptions{Page: page, PerPage: MaxPerPage})
	if err != nil {
		return p, err
	}
	p.Items = make([]connectors.RemoteContact, len(wp.Data))
	for i, w := range wp.Data {
		p.Items[i] = contactFromWire(w)
	}
	p.Total = max(wp.Meta.Total, 0)
	if wp.More(page, MaxPerPage) {
		p.Next = strconv.Itoa(page + 1)
	}
	return p, nil
}

// UpsertContacts writes items one request each, in order: PUT for a record
// whose external id is a Wazera id, POST for the others and for one whose
// Wazera contact is gone. Each record written is reported under its
// Wazera id: the one sent, or the one a POST answered with. A record the
// remote refuses (a 4xx such as 422) becomes an ItemError and the others
// go on; an error about the whole request (401/403, 429, 5xx, transport)
// stops the call and is returned, the records written before it staying
// written: a resend of the batch to this Connector updates those it
// created instead of creating them again.
func (c *Connector) UpsertContacts(ctx context.Context, items []connectors.RemoteContact) ([]connectors.UpsertResult, error) {
	if err := checkBatch("upserting contacts", len(items)); err != nil {
		return nil, err
	}
	return connectors.UpsertEach(ctx, items, c.upsertContact, func(i int, rc connectors.RemoteContact, err error) (connectors.ItemError, bool) {
		ie, ok := itemError(err, i, rc.ExternalID).(connectors.ItemError)
		return ie, ok
	})
}

// upsertContact writes one record and returns its Wazera id.
func (c *Connector) upsertContact(ctx context.Context, rc connectors.RemoteContact) (string, error) {
	w := contactToWire(rc)
	rid, ok := c.createdAs(rc.ExternalID)
	if !ok && isRemoteID(rc.ExternalID) {
		rid, ok = rc.ExternalID, true
	}
	if ok {
		_, err := c.client.UpdateContact(ctx, rid, w)
		if !IsNotFound(err) {
			return rid, err
		}
		// Gone from Wazera: create it again, under a new id.
	}
	created, err := c.client.CreateContact(ctx, w)
	if err != nil {
		return "", err
	}
	if created.ID == "" {
		return "", fmt.Errorf("wazera: creating contact %q: the answer carries no id", rc.ExternalID)
	}
	c.mu.Lock()
	c.created[rc.ExternalID] = string(created.ID)
	c.mu.Unlock()
	return string(created.ID), nil
}

// createdAs returns the Wazera id of the contact this Connector created
// for external id ext, if it did.
func (c *Connector) createdAs(ext string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rid, ok := c.created[ext]
	return rid, ok && ext != ""
}

// DeleteContacts deletes records one request each and returns the
// external ids Wazera did not have; an id that is not a Wazera id cannot
// be there.
func (c *Connector) DeleteContacts(ctx context.Context, externalIDs []string) ([]string, error) {
	if err := checkBatch("deleting contacts", len(externalIDs)); err != nil {
		return nil, err
	}
	missing := []string{}
	for _, ext := range externalIDs {
		if !isRemoteID(ext) {
			missing = append(missing, ext)
			continue
		}
		err := c.client.DeleteContact(ctx, ext)
		switch {
		case IsNotFound(err):
			missing = append(missing, ext)
		case err != nil:
			return nil, err
		}
	}
	return missing, nil
}

// isRemoteID reports whether ext has the form of a Wazera id, a positive
// integer.
func isRemoteID(ext string) bool {
	n, err := strconv.ParseInt(ext, 10, 64)
	return err == nil && n > 0 && strconv.FormatInt(n, 10) == ext
}

// checkBatch refuses more than MaxBatch records before anything is sent.
func checkBatch(what string, n int) error {
	if n > MaxBatch {
		return fmt.Errorf("wazera: %s: %d records, limit %d: %w", what, n, MaxBatch, ErrBatchTooLarge)
	}
	return nil
}

// Check reads one contact (GET /contacts with a page of one): the cheapest
// call that needs a valid API key, made before a run reads or writes
// anything.
func (c *Connector) Check(ctx context.Context) error {
	_, err := c.client.ListContacts(ctx, ListOptions{PerPage: 1})
	return err
}

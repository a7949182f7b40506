package wazelo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/opt"
)

// MaxBatch is the most records one UpsertContacts or DeleteContacts call
// takes. Wazelo has no bulk routes: each record is its own request, so the
// cap only bounds how much one call can redo after a rate limit.
const MaxBatch = 100

// ErrBatchTooLarge is wrapped by the error a write method returns, without
// sending anything, when its batch exceeds MaxBatch.
var ErrBatchTooLarge = errors.New("batch exceeds the connector's limit")

var (
	_ connectors.Factory       = NewConnector
	_ connectors.Connector     = (*Connector)(nil)
	_ connectors.Checker       = (*Connector)(nil)
	_ connectors.WebhookParser = (*Connector)(nil)
	_ connectors.MessageSender = (*Connector)(nil)
)

// Connector is the connectors.Connector of Wazelo: contacts both ways,
// WhatsApp messages out, message webhooks in. Wazelo documents no deals
// or users, so it is neither a connectors.DealSyncer nor a UserSyncer.
type Connector struct {
	client *Client
}

// NewConnector builds the Wazelo connector of one connection. Its
// signature is a connectors.Factory, for the registry built in cmd.
// cfg.Options are not used.
func NewConnector(cfg connectors.Config) (connectors.Connector, error) {
	return &Connector{client: New(Config{BaseURL: cfg.BaseURL, APIKey: cfg.APIKey, HTTPClient: cfg.HTTPClient})}, nil
}

// Client returns the wire client the connector uses.
func (c *Connector) Client() *Client { return c.client }

// Capabilities: MaxBatch records per call, and no lookup by identifier
// the engine could use (the phone search only serves the duplicate-phone
// case inside UpsertContacts). Contacts are all it syncs.
func (c *Connector) Capabilities() connectors.Capabilities {
	return connectors.Capabilities{MaxBatch: MaxBatch}
}

// ListContacts returns the page of contacts at cursor, the 1-based page
// number as text ("" is page 1), MaxPageSize records a page. A contact
// created or deleted between two pages shifts the later ones, so a record
// may be seen twice or missed until the next full run.
func (c *Connector) ListContacts(ctx context.Context, cursor string) (connectors.Page[connectors.RemoteContact], error) {
	var p connectors.Page[connectors.RemoteContact]
	page, err := parseCursor(cursor)
	if err != nil {
		return p, err
	}
	items, meta, err := c.client.ListContacts(ctx, ListQuery{Page: page, Limit: MaxPageSize})
	if err != nil {
		return p, err
	}
	p.Items = make([]connectors.RemoteContact, len(items))
	for i, w := range items {
		p.Items[i] = contactFromWire(w)
	}
	if hasNext(page, len(items), meta) {
		p.Next = strconv.Itoa(page + 1)
	}
	if meta != nil {
		p.Total = max(meta.Total, 0)
	}
	return p, nil
}

// hasNext reports whether a page follows page, which held n records: by
// meta's total when the remote sent one (with its own limit, should it cap
// the one asked for), else by a full page.
func hasNext(page, n int, meta *Meta) bool {
	if n == 0 {
		return false
	}
	if meta == nil || meta.Total <= 0 {
		return n >= MaxPageSize
	}
	limit := meta.Limit
	if limit <= 0 {
		limit = MaxPageSize
	}
	return page*limit < meta.Total
}

// parseCursor reads a list cursor: the page number as text, "" for 1.
func parseCursor(cursor string) (int, error) {
	if cursor == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(cursor)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("wazelo: cursor %q is not a page number", cursor)
	}
	return n, nil
}

// UpsertContacts writes each record with its own requests, in order: an
// update of the record's ExternalID, and a create (asking for that id)
// when the remote does not know it. A create refused for a phone number
// another contact has updates that contact instead. Each record taken is
// reported under the id the remote answered with: the one sent, the one
// it assigned on create, or the id of the contact that has the phone. A
// record the remote refuses fails alone as a connectors.ItemError; a rate
// limit, an auth failure or a transient error ends the call, and the
// records before it stay written (writing them again is harmless when
// the remote kept the ids asked for).
func (c *Connector) UpsertContacts(ctx context.Context, items []connectors.RemoteContact) ([]connectors.UpsertResult, error) {
	if err := checkBatch("upserting contacts", len(items)); err != nil {
		return nil, err
	}
	return connectors.UpsertEach(ctx, items, c.upsertContact, func(i int, rc connectors.RemoteContact, err error) (connectors.ItemError, bool) {
		return itemError(i, rc.ExternalID, err)
	})
}

// upsertContact writes one record and returns its id at Wazelo; see
// UpsertContacts.
func (c *Connector) upsertContact(ctx context.Context, rc connectors.RemoteContact) (string, error) {
	w := contactToWire(rc)
	if rc.ExternalID != "" {
		got, err := c.client.UpdateContact(ctx, rc.ExternalID, w)
		if !IsNotFound(err) {
			return idOr(got, rc.ExternalID), err
		}
	}
	w.ID = rc.ExternalID
	created, err := c.client.CreateContact(ctx, w)
	if err == nil {
		return idOr(created, rc.ExternalID), nil
	}
	if !IsConflict(err) || w.Phone == nil {
		return "", err
	}
	existing, found, ferr := c.FindByPhone(ctx, *w.Phone)
	if ferr != nil || !found {
		return "", errors.Join(err, ferr) // the 409 stays the record's error
	}
	got, err := c.client.UpdateContact(ctx, existing.ID, w)
	return idOr(got, existing.ID), err
}

// idOr is the id of the contact a write answered with, or id when the
// answer carried none.
func idOr(answer Contact, id string) string {
	if answer.ID != "" {
		return answer.ID
	}
	return id
}

// FindByPhone returns the contact whose phone has the digits of phone,
// searching by it and paging until the search is exhausted.
func (c *Connector) FindByPhone(ctx context.Context, phone string) (Contact, bool, error) {
	want := digits(phone)
	if want == "" {
		return Contact{}, false, nil
	}
	for page := 1; ; page++ {
		items, meta, err := c.client.ListContacts(ctx, ListQuery{Page: page, Limit: MaxPageSize, Search: want})
		if err != nil {
			return Contact{}, false, fmt.Errorf("wazelo: searching the contact with phone %s: %w", want, err)
		}
		for _, it := range items {
			if digits(opt.Deref(it.Phone)) == want {
				return it, true, nil
			}
		}
		if !hasNext(page, len(items), meta) {
			return Contact{}, false, nil
		}
	}
}

// DeleteContacts deletes each contact with its own request and returns
// the ids the remote did not have. It stops at the first other error; the
// contacts deleted before it are reported missing when the call is
// repeated.
func (c *Connector) DeleteContacts(ctx context.Context, externalIDs []string) ([]string, error) {
	if err := checkBatch("deleting contacts", len(externalIDs)); err != nil {
		return nil, err
	}
	missing := []string{}
	for _, id := range externalIDs {
		if id == "" {
			missing = append(missing, id) // no remote record has it
			continue
		}
		err := c.client.DeleteContact(ctx, id)
		switch {
		case IsNotFound(err):
			missing = append(missing, id)
		case err != nil:
			return nil, err
		}
	}
	return missing, nil
}

// checkBatch refuses a batch larger than MaxBatch before anything is sent.
func checkBatch(what string, n int) error {
	if n > MaxBatch {
		return fmt.Errorf("wazelo: %s: %d records, limit %d: %w", what, n, MaxBatch, ErrBatchTooLarge)
	}
	return nil
}

// Send-side codes the connector itself gives a *crmhub.SendError, for a
// message it cannot express on Wazelo and so never sends.
const (
	CodeUnsupportedChannel = "UNSUPPORTED_CHANNEL"
	CodeUnsupportedType    = "UNSUPPORTED_TYPE"
)

// SendMessage sends m on WhatsApp through POST /messages: text freeform,
// media with its URL (and text as caption), a template by name. The
// message's id is the Idempotency-Key. A refusal by the remote (outside
// the 24-hour window, invalid number, ...) is a *crmhub.SendError with the
// remote's code; 429 and 5xx come back as RateLimitError and
// TransientError so the message stays queued.
func (c *Connector) SendMessage(ctx context.Context, m crmhub.OutboundMessage) (crmhub.SendResult, error) {
	if m.Message == nil {
		return crmhub.SendResult{}, errors.New("wazelo: sending a message: no message")
	}
	if m.Channel != crmhub.ChannelWhatsApp {
		return crmhub.SendResult{}, &crmhub.SendError{Code: CodeUnsupportedChannel,
			Message: fmt.Sprintf("Wazelo sends WhatsApp messages only, not %s", m.Channel)}
	}
	req, err := sendRequest(m)
	if err != nil {
		return crmhub.SendResult{}, err
	}
	sent, err := c.client.SendMessage(ctx, req, m.Message.GlobalID())
	var re *connectors.RequestError
	if errors.As(err, &re) {
		msg := re.Message
		var ve *ValidationError
		if errors.As(err, &ve) {
			msg = ve.Error()
		}
		return crmhub.SendResult{}, &crmhub.SendError{Code: re.Code, Message: msg}
	}
	if err != nil {
		return crmhub.SendResult{}, err
	}
	return crmhub.SendResult{ExternalID: sent.MessageID}, nil
}

// Check reads one contact (GET /contacts with a page of one): the cheapest
// call that needs a valid API key, made before a run reads or writes
// anything.
func (c *Connector) Check(ctx context.Context) error {
	_, _, err := c.client.ListContacts(ctx, ListQuery{Limit: 1})
	return err
}

package wazzup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/opt"
)

// OptionDefaultResponsibleUserID names the connection option that gives the
// responsibleUserId of contacts whose hub record has no responsible user.
const OptionDefaultResponsibleUserID = "defaultResponsibleUserId"

var (
	_ connectors.Factory    = NewConnector
	_ connectors.Connector  = (*Connector)(nil)
	_ connectors.DealSyncer = (*Connector)(nil)
	_ connectors.UserSyncer = (*Connector)(nil)
	_ connectors.Checker    = (*Connector)(nil)
)

// Connector is the connectors.Connector of Wazzup: contacts through the v3
// routes, and, as a connectors.DealSyncer and UserSyncer, deals and users
// through the v2 routes.
//
// Wazzup requires a responsibleUserId on every contact. A record without
// one gets the connection's "defaultResponsibleUserId" option; without that
// option, the first user GET /v2/users lists (the oldest one), looked up
// once per Connector and kept. When Wazzup has no user either, the contact
// is sent without one and comes back as an ItemError.
type Connector struct {
	client             *Client
	defaultResponsible string
	// channelID is the "channelId" option: the channel of messages whose
	// conversation names none.
	channelID string

	// limit is the batch size Wazzup accepts (see sendWithinLimit).
	limit batchLimit

	mu            sync.Mutex
	firstUserID   string // cached fallback responsible user, "" until found
	firstUserSeen bool
	lastDealID    int64 // the highest id NewDealIDs handed out
}

// NewConnector builds the Wazzup connector of one connection. Its
// signature is a connectors.Factory, for the registry built in cmd.
func NewConnector(cfg connectors.Config) (connectors.Connector, error) {
	def, err := optionID(cfg.Options, OptionDefaultResponsibleUserID)
	if err != nil {
		return nil, err
	}
	channel, err := optionID(cfg.Options, OptionChannelID)
	if err != nil {
		return nil, err
	}
	return &Connector{
		client:             New(Config{BaseURL: cfg.BaseURL, APIKey: cfg.APIKey, HTTPClient: cfg.HTTPClient}),
		defaultResponsible: def,
		channelID:          channel,
	}, nil
}

// Check lists the integration's channels (GET /v2/channels): the
// cheapest call that needs a valid API key, made before a run reads or
// writes anything.
func (c *Connector) Check(ctx context.Context) error {
	_, err := c.client.ListChannels(ctx)
	return err
}

// optionID reads an id option given as a JSON string or number.
func optionID(opts map[string]any, key string) (string, error) {
	switch v := opts[key].(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(v), nil
	case json.Number:
		return v.String(), nil
	case float64:
		if v != float64(int64(v)) {
			return "", fmt.Errorf("wazzup: option %s: %v is not an integer", key, v)
		}
		return strconv.FormatInt(int64(v), 10), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	default:
		return "", fmt.Errorf("wazzup: option %s must be a string or a number, not %T", key, v)
	}
}

// Capabilities: 100 records per write, and no lookup by identifier
// (Wazzup only finds a contact by the CRM's id).
func (c *Connector) Capabilities() connectors.Capabilities {
	return connectors.Capabilities{MaxBatch: MaxBatch}
}

// ListContacts returns the page of contacts at cursor, which is the offset
// in Wazzup's ascending-id order. A contact created or deleted between two
// pages shifts the later ones, so a record may be seen twice or missed
// until the next full run.
func (c *Connector) ListContacts(ctx context.Context, cursor string) (connectors.Page[connectors.RemoteContact], error) {
	var p connectors.Page[connectors.RemoteContact]
	offset, err := parseCursor(cursor)
	if err != nil {
		return p, err
	}
	page, count, err := c.client.ListContacts(ctx, offset)
	if err != nil {
		return p, err
	}
	p.Items = make([]connectors.RemoteContact, len(page))
	for i, w := range page {
		p.Items[i] = contactFromWire(w)
	}
	p.Total = max(count, 0)
	if len(page) == PageSize && (count < 0 || offset+len(page) < count) {
		p.Next = strconv.Itoa(offset + len(page))
	}
	return p, nil
}

// UpsertContacts sends items in one request. Wazzup refuses a whole batch
// when one record is invalid; the refused records become ItemErrors and
// the rest is sent again, so only the bad records fail. Wazzup keeps the
// ids the CRM gives, so each record taken is reported under the id sent.
func (c *Connector) UpsertContacts(ctx context.Context, items []connectors.RemoteContact) ([]connectors.UpsertResult, error) {
	if err := checkBatch("upserting contacts", len(items), MaxBatch); err != nil {
		return nil, err
	}
	def, err := c.responsibleFallback(ctx, items)
	if err != nil {
		return nil, err
	}
	wire := make([]Contact, len(items))
	ids := make([]string, len(items))
	for i, rc := range items {
		wire[i] = contactToWire(rc, def)
		ids[i] = string(wire[i].ID)
	}
	errs := make([]error, len(items))
	err = sendWithinLimit(&c.limit, wire, allPositions(len(items)), errs, func(b []Contact) error {
		return c.client.UpsertContacts(ctx, b)
	})
	return upsertResults(ids, errs, err)
}

// upsertResults pairs the ids sent with each record's error; nil after an
// error of the whole call.
func upsertResults(ids []string, errs []error, err error) ([]connectors.UpsertResult, error) {
	if err != nil {
		return nil, err
	}
	out := make([]connectors.UpsertResult, len(ids))
	for i := range out {
		if errs[i] != nil {
			out[i].Err = errs[i]
		} else {
			out[i].ExternalID = ids[i]
		}
	}
	return out, nil
}

// responsibleFallback returns the responsible user for records that have
// none: the option, else the first remote user. It asks Wazzup only when
// one of items needs it and no user was found before.
func (c *Connector) responsibleFallback(ctx context.Context, items []connectors.RemoteContact) (string, error) {
	if c.defaultResponsible != "" {
		return c.defaultResponsible, nil
	}
	needed := false
	for _, rc := range items {
		if opt.Deref(rc.ResponsibleUserExternalID) == "" {
			needed = true
			break
		}
	}
	if !needed {
		return "", nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.firstUserSeen {
		return c.firstUserID, nil
	}
	users, err := c.client.ListUsers(ctx)
	if err != nil {
		return "", fmt.Errorf("wazzup: finding a default responsible user: %w", err)
	}
	if len(users) == 0 {
		return "", nil // look again next time: a user may be added
	}
	c.firstUserID, c.firstUserSeen = string(users[0].ID), true
	return c.firstUserID, nil
}

// DeleteContacts deletes up to MaxBatch contacts with one bulk_delete and
// returns the ids Wazzup did not have.
func (c *Connector) DeleteContacts(ctx context.Context, externalIDs []string) ([]string, error) {
	missing, err := c.client.BulkDeleteContacts(ctx, externalIDs)
	if missing == nil && err == nil {
		missing = []string{}
	}
	return missing, err
}

// ListDeals returns the page of deals at cursor, the offset in ascending
// id order.
func (c *Connector) ListDeals(ctx context.Context, cursor string) (connectors.Page[connectors.RemoteDeal], error) {
	var p connectors.Page[connectors.RemoteDeal]
	offset, err := parseCursor(cursor)
	if err != nil {
		return p, err
	}
	page, err := c.client.ListDeals(ctx, offset, OrderByID, Asc)
	if err != nil {
		return p, err
	}
	p.Items = make([]connectors.RemoteDeal, len(page))
	for i, d := range page {
		p.Items[i] = dealFromWire(d)
	}
	if len(page) == PageSize {
		p.Next = strconv.Itoa(offset + len(page))
	}
	return p, nil
}

// UpsertDeals sends items with PATCH /v2/deals. A deal whose id is not an
// integer fails alone without being sent; records the remote refuses fail
// alone as with contacts.
func (c *Connector) UpsertDeals(ctx context.Context, items []connectors.RemoteDeal) ([]connectors.UpsertResult, error) {
	if err := checkBatch("upserting deals", len(items), MaxBatch); err != nil {
		return nil, err
	}
	errs := make([]error, len(items))
	ids := make([]string, len(items))
	var wire []Deal
	var pos []int
	for i, rd := range items {
		d, err := dealToWire(rd)
		if err != nil {
			errs[i] = connectors.ItemError{Index: i, ID: rd.ExternalID, Code: CodeValidation,
				Fields: []string{"id"}, Message: err.Error()}
			continue
		}
		ids[i] = strconv.FormatInt(d.ID, 10)
		wire = append(wire, d)
		pos = append(pos, i)
	}
	err := sendWithinLimit(&c.limit, wire, pos, errs, func(b []Deal) error {
		return c.client.UpsertDeals(ctx, b)
	})
	return upsertResults(ids, errs, err)
}

var _ connectors.UserDeleter = (*Connector)(nil)

// DeleteUsers deletes users one by one (DELETE /v2/users/{id}; there is
// no bulk delete) and returns the ids Wazzup did not have. It stops at the
// first other error, like DeleteDeals.
func (c *Connector) DeleteUsers(ctx context.Context, externalIDs []string) ([]string, error) {
	if err := checkBatch("deleting users", len(externalIDs), MaxBatch); err != nil {
		return nil, err
	}
	missing := []string{}
	for _, id := range externalIDs {
		err := c.client.DeleteUser(ctx, id)
		switch {
		case err == nil:
		case IsNotFound(err):
			missing = append(missing, id)
		default:
			return nil, err
		}
	}
	return missing, nil
}

// DeleteDeals deletes deals one by one, since v2 has no bulk delete, and
// returns the ids Wazzup did not have; an id that is not an integer cannot
// exist there and counts as missing. It stops at the first other error:
// the deals deleted before it stay deleted and are reported missing when
// the call is repeated.
func (c *Connector) DeleteDeals(ctx context.Context, externalIDs []string) ([]string, error) {
	if err := checkBatch("deleting deals", len(externalIDs), MaxBatch); err != nil {
		return nil, err
	}
	missing := []string{}
	for _, s := range externalIDs {
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err == nil {
			err = c.client.DeleteDeal(ctx, id)
		}
		switch {
		case err == nil:
		case errors.Is(err, strconv.ErrSyntax), errors.Is(err, strconv.ErrRange), IsNotFound(err):
			missing = append(missing, s)
		default:
			return nil, err
		}
	}
	return missing, nil
}

// ListUsers returns every user in one page: GET /v2/users has no
// pagination. Only the first cursor, "", is valid.
func (c *Connector) ListUsers(ctx context.Context, cursor string) (connectors.Page[connectors.RemoteUser], error) {
	var p connectors.Page[connectors.RemoteUser]
	if cursor != "" {
		return p, fmt.Errorf("wazzup: listing users: cursor %q, but users come in one page", cursor)
	}
	users, err := c.client.ListUsers(ctx)
	if err != nil {
		return p, err
	}
	p.Items = make([]connectors.RemoteUser, len(users))
	for i, u := range users {
		p.Items[i] = userFromWire(u)
	}
	return p, nil
}

// UpsertUsers adds or renames users with PATCH /v2/users; records the
// remote refuses fail alone.
func (c *Connector) UpsertUsers(ctx context.Context, items []connectors.RemoteUser) ([]connectors.UpsertResult, error) {
	if err := checkBatch("upserting users", len(items), MaxBatch); err != nil {
		return nil, err
	}
	wire := make([]User, len(items))
	ids := make([]string, len(items))
	for i, u := range items {
		wire[i] = userToWire(u)
		ids[i] = string(wire[i].ID)
	}
	errs := make([]error, len(items))
	err := sendWithinLimit(&c.limit, wire, allPositions(len(items)), errs, func(b []User) error {
		return c.client.UpsertUsers(ctx, b)
	})
	return upsertResults(ids, errs, err)
}

// sendDroppingRejected sends batch, whose records sit at pos in the
// caller's input. While the remote refuses the batch naming records, it
// stores an ItemError for each of them in results (indexed like the
// caller's input) and sends the rest again. Any other error ends it.
func sendDroppingRejected[T any](batch []T, pos []int, results []error, send func([]T) error) error {
	for len(batch) > 0 {
		err := send(batch)
		if err == nil {
			return nil
		}
		valid, rejected, ok := DropRejected(batch, err)
		if !ok || len(valid) == len(batch) {
			return err // nothing named that we could drop: do not loop
		}
		for _, it := range rejected {
			if it.Index < 0 || it.Index >= len(pos) {
				continue
			}
			it.Index = pos[it.Index]
			results[it.Index] = it
		}
		pos, _, _ = DropRejected(pos, err)
		batch = valid
	}
	return nil
}

func allPositions(n int) []int {
	pos := make([]int, n)
	for i := range pos {
		pos[i] = i
	}
	return pos
}

// parseCursor reads a list cursor: the offset as decimal text, "" for 0.
func parseCursor(cursor string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(cursor)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("wazzup: cursor %q is not an offset", cursor)
	}
	return n, nil
}

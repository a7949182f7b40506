package wazzup

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"

	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

// Sort fields and directions GET /v2/deals accepts.
const (
	OrderByID                = "id"
	OrderByName              = "name"
	OrderByResponsibleUserID = "responsibleUserId"

	Asc  = "asc"
	Desc = "desc"
)

// Deal is a v2 deal. Its id is a number, as the v2 document says; the
// mapping layer must give Wazzup numeric deal ids.
type Deal struct {
	ID int64 `json:"id"`
	// ResponsibleUserID is the lead manager's user id; optional.
	ResponsibleUserID ID     `json:"responsibleUserId,omitempty"`
	Name              string `json:"name"`
	Closed            bool   `json:"closed"`
	// Contacts holds the CRM ids of the deal's contacts.
	Contacts []ID `json:"contacts"`
}

// UpsertDeals creates or updates up to MaxBatch deals by id
// (PATCH /v2/deals). An empty batch sends nothing.
func (c *Client) UpsertDeals(ctx context.Context, deals []Deal) error {
	if len(deals) == 0 {
		return nil
	}
	if err := checkBatch("upserting deals", len(deals), MaxBatch); err != nil {
		return err
	}
	out := make([]Deal, len(deals))
	for i, d := range deals {
		if d.Contacts == nil {
			d.Contacts = []ID{} // the document wants an array, not null
		}
		out[i] = d
	}
	err := c.http.Do(ctx, httpclient.Request{Method: "PATCH", Path: "/v2/deals", In: out})
	return nameItems(err, func(i int) string { return strconv.FormatInt(deals[i].ID, 10) }, len(deals))
}

// ListDeals returns the page of up to PageSize deals that starts at offset.
// Empty orderBy and dir leave the remote's defaults (id, asc).
func (c *Client) ListDeals(ctx context.Context, offset int, orderBy, dir string) ([]Deal, error) {
	if offset < 0 {
		return nil, fmt.Errorf("wazzup: listing deals: negative offset %d", offset)
	}
	q := url.Values{"offset": {strconv.Itoa(offset)}}
	switch orderBy {
	case "":
	case OrderByID, OrderByName, OrderByResponsibleUserID:
		q.Set("orderBy", orderBy)
	default:
		return nil, fmt.Errorf("wazzup: listing deals: unknown orderBy %q", orderBy)
	}
	switch dir {
	case "":
	case Asc, Desc:
		q.Set("orderDirection", dir)
	default:
		return nil, fmt.Errorf("wazzup: listing deals: unknown orderDirection %q", dir)
	}
	var deals []Deal
	err := c.http.Do(ctx, httpclient.Request{Method: "GET", Path: "/v2/deals", Query: q, Out: &deals})
	return deals, err
}

// AllDeals pages through every deal by offset, stopping at the first short
// page or error.
func (c *Client) AllDeals(ctx context.Context, orderBy, dir string) iter.Seq2[Deal, error] {
	return paginate(func(offset int) ([]Deal, bool, error) {
		page, err := c.ListDeals(ctx, offset, orderBy, dir)
		return page, len(page) == PageSize, err
	})
}

// GetDeal returns one deal (GET /v2/deals/{id}).
func (c *Client) GetDeal(ctx context.Context, id int64) (Deal, error) {
	return getByID[Deal](ctx, c, "/v2/deals", strconv.FormatInt(id, 10))
}

// DeleteDeal deletes one deal (DELETE /v2/deals/{id}).
func (c *Client) DeleteDeal(ctx context.Context, id int64) error {
	return c.deleteByID(ctx, "/v2/deals", strconv.FormatInt(id, 10))
}

package wazzup

import (
	"context"
	"fmt"
	"strconv"

	"github.com/crmhub/crmhub/connectors"
)

var _ connectors.DealIDAllocator = (*Connector)(nil)

// NewDealIDs returns n integer deal ids above every deal Wazzup lists
// (GET /v2/deals ordered by id, descending: one request) and above every
// id this connector handed out before, so a deal another integration
// created is never overwritten by a PATCH meant to create one. A deal
// created on Wazzup between this call and the push could still take one;
// Wazzup offers no conditional create to rule that out.
func (c *Connector) NewDealIDs(ctx context.Context, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	top, err := c.client.ListDeals(ctx, 0, OrderByID, Desc)
	if err != nil {
		return nil, err
	}
	var highest int64
	for _, d := range top {
		highest = max(highest, d.ID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	start := max(highest, c.lastDealID) + 1
	if start <= 0 || start > maxDealID-int64(n) {
		return nil, fmt.Errorf("wazzup: no deal ids left above %d", start-1)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.FormatInt(start+int64(i), 10)
	}
	c.lastDealID = start + int64(n) - 1
	return ids, nil
}

// maxDealID keeps allocated ids exact in JSON readers that hold numbers as
// doubles (JavaScript's Number.MAX_SAFE_INTEGER).
const maxDealID = 1<<53 - 1

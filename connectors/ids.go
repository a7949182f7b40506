package connectors

import "context"

// DealIDAllocator is optional: a DealSyncer whose remote wants the CRM to
// choose the id of a new deal, in a form the hub's own ids do not have
// (Wazzup's deal ids are integers), implements it. Before pushing a hub
// deal the connection has no id for yet, the engine asks it for one,
// drops ids the connection already links, stores the id on the hub deal
// (an external ref whose source is the connection) and pushes the deal
// under it; the link keeps it from then on.
type DealIDAllocator interface {
	// NewDealIDs returns n distinct ids no remote deal has. Successive
	// calls on one connector never return an id twice, so the engine can
	// ask again when the hub already uses one of them.
	NewDealIDs(ctx context.Context, n int) ([]string, error)
}

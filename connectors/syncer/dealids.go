package syncer

import (
	"errors"
	"slices"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/google/uuid"
)

// maxAllocRounds bounds how often allocateDealIDs asks the remote again for
// ids the hub turned out to use already.
const maxAllocRounds = 10

// errAllocExhausted ends a push whose remote kept handing out ids the hub
// already uses.
var errAllocExhausted = errors.New("the remote's new deal ids are all in use in the hub")

// allocateDealIDs gives each deal of need an id the remote's
// DealIDAllocator chooses, and returns them by hub id. Ids the connection
// already links, or that another hub deal holds as this connection's
// external ref, are skipped and others asked for. Each id is stored on its
// deal as the connection's external ref before anything is sent, so a run
// that dies after the push resends the same id instead of creating a
// second remote deal, and a pull matches the remote deal to the hub one.
// A deal deleted meanwhile gets none. A dry run allocates nothing.
func (r *runner) allocateDealIDs(alloc connectors.DealIDAllocator, need []*crmhub.Deal) (map[uuid.UUID]string, error) {
	out := map[uuid.UUID]string{}
	if r.run.DryRun {
		return out, nil
	}
	for round := 0; len(need) > 0; round++ {
		if round == maxAllocRounds {
			return out, errAllocExhausted
		}
		var again []*crmhub.Deal
		for chunk := range slices.Chunk(need, crmhub.MaxBatch) {
			retry, err := r.allocateChunk(alloc, chunk, out)
			if err != nil {
				return out, err
			}
			again = append(again, retry...)
		}
		need = again
	}
	return out, nil
}

// allocateChunk allocates ids for up to MaxBatch deals into out and
// returns the deals whose id turned out to be taken in the hub.
func (r *runner) allocateChunk(alloc connectors.DealIDAllocator, deals []*crmhub.Deal, out map[uuid.UUID]string) ([]*crmhub.Deal, error) {
	var ids []string
	err := r.call("allocate deal ids", func() (err error) {
		ids, err = alloc.NewDealIDs(r.as, len(deals))
		return err
	})
	if err != nil {
		return nil, err
	}
	linked, err := r.e.Store.Links(r.as, r.ws, r.conn.ID, crmhub.SyncDeals, ids)
	if err != nil {
		return nil, err
	}
	free := slices.DeleteFunc(ids, func(id string) bool { _, ok := linked[id]; return ok })
	n := min(len(free), len(deals))
	in := make([]crmhub.DealUpsertInput, n)
	for i := range n {
		in[i] = crmhub.DealUpsertInput{ID: &deals[i].ID, ExternalRef: &crmhub.ExternalRef{Source: r.connGID(), ExternalID: free[i]}}
	}
	var retry []*crmhub.Deal
	if n > 0 {
		res, err := r.e.Deals.UpsertDeals(r.write, in)
		if err != nil {
			return nil, err
		}
		for i, got := range res {
			switch {
			case got.Status != crmhub.UpsertFailed:
				out[deals[i].ID] = free[i]
			case len(got.Errors) > 0 && got.Errors[0].Code == crmhub.ECONFLICT:
				retry = append(retry, deals[i]) // another deal holds the ref
			}
		}
	}
	return append(retry, deals[n:]...), nil
}

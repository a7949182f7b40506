package syncer_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/google/uuid"
)

// TestHubDealsGetRemoteIDs: deals created in the hub reach Wazzup under
// integer ids the hub allocates above the remote's deals and its own
// links, keep them as the connection's external ref and link, and come
// back from the next full pull as the same deals; a hub deal whose
// remote copy was deleted is sent again by the full run's backfill under
// the id it holds.
func TestHubDealsGetRemoteIDs(t *testing.T) {
	e := newEnv(t, wazzuptest.Options{Users: users(), Deals: []wazzuptest.Deal{
		{ID: 5, Name: "Theirs", Contacts: []string{}}, {ID: 40, Name: "Also theirs", Contacts: []string{}}}},
		crmhub.ConnectionInput{Direction: crmhub.SyncBoth})
	ref41 := crmhub.ExternalRef{Source: e.conn.GlobalID(), ExternalID: "41"}
	res, err := e.deals.UpsertDeals(e.ctx, []crmhub.DealUpsertInput{{Name: ptr("Linked"), ExternalRef: &ref41},
		{Name: ptr("A")}, {Name: ptr("B")}})
	if err != nil {
		t.Fatal(err)
	}
	linked, a, b := res[0].Deal, res[1].Deal, res[2].Deal
	// A deal pulled as 41 and deleted on Wazzup since: the allocator must
	// not hand 41 out again.
	if err := e.syncs.SaveLinks(e.ctx, e.ws, e.conn.ID, crmhub.SyncDeals,
		[]crmhub.SyncLink{{ExternalID: "41", LocalID: linked.ID, Fingerprint: []byte("stale")}}, nil); err != nil {
		t.Fatal(err)
	}

	// Incremental: a full run would unlink 41, which Wazzup does not list.
	run := e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded || run.Stats.Failed != 0 {
		t.Fatalf("run %s %+v %+v", run.Status, run.Stats, run.Errors)
	}
	var ids []int64
	for _, d := range e.fake.Deals() {
		ids = append(ids, d.ID)
	}
	// 41 is not sent again: its link says Wazzup holds the deal as the hub
	// does, and an incremental run does not look for remote deletions.
	if !slices.Equal(ids, []int64{5, 40, 42, 43}) {
		t.Fatalf("remote deal ids %v", ids)
	}
	got, err := e.deals.DealsByIDs(e.ctx, []uuid.UUID{a.ID, b.ID, linked.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[2].ExternalRefs, []crmhub.ExternalRef{ref41}) {
		t.Fatalf("the linked deal was given another id: %v", got[2].ExternalRefs)
	}
	want := map[string]string{"A": "42", "B": "43"}
	for _, d := range got[:2] {
		ref := crmhub.ExternalRef{Source: e.conn.GlobalID(), ExternalID: want[*d.Name]}
		if !slices.Contains(d.ExternalRefs, ref) {
			t.Errorf("deal %s refs %v, want %v", *d.Name, d.ExternalRefs, ref)
		}
		if remote, ok := e.fake.Deal(mustInt(t, want[*d.Name])); !ok || remote.Name != *d.Name {
			t.Errorf("remote deal %s: %+v", want[*d.Name], remote)
		}
	}
	links, err := e.syncs.LinksByLocal(e.ctx, e.ws, e.conn.ID, crmhub.SyncDeals, []uuid.UUID{a.ID, b.ID})
	if err != nil || links[a.ID].ExternalID != "42" || links[b.ID].ExternalID != "43" {
		t.Fatalf("links %+v, %v", links, err)
	}

	// The next full run pulls the pushed deals back onto the same hub
	// deals and allocates nothing.
	before := e.fake.Calls(wazzuptest.RouteListDeals)
	run = e.run(crmhub.SyncFull, false)
	if run.Status != crmhub.SyncSucceeded {
		t.Fatalf("second run %s %+v", run.Status, run.Errors)
	}
	if n, _ := e.deals.CountDeals(e.ctx, crmhub.DealFilter{}); n != 5 {
		t.Fatalf("%d hub deals after the pull, want 5", n)
	}
	if n := e.fake.Calls(wazzuptest.RouteListDeals) - before; n != 1 {
		t.Fatalf("%d deal listings, want the pull's one (no allocation)", n)
	}
	// The full run finds 41 gone from Wazzup and unlinks it; its backfill
	// then sends the hub deal again under the id it already holds.
	ids = ids[:0]
	for _, d := range e.fake.Deals() {
		ids = append(ids, d.ID)
	}
	if !slices.Equal(ids, []int64{5, 40, 41, 42, 43}) {
		t.Fatalf("remote deal ids after the full run %v", ids)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

package wazzup

import (
	"slices"
	"testing"

	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

// TestNewDealIDs: ids start above the highest remote deal, asked for with
// one descending listing, and never repeat on one connector.
func TestNewDealIDs(t *testing.T) {
	f := startFake(t, wazzuptest.Options{Deals: []wazzuptest.Deal{{ID: 7, Name: "a"}, {ID: 130, Name: "b"}, {ID: 12, Name: "c"}}}, nil)
	ids, err := f.conn.NewDealIDs(t.Context(), 2)
	if err != nil || !slices.Equal(ids, []string{"131", "132"}) {
		t.Fatalf("%v, %v", ids, err)
	}
	reqs := f.s.Requests()
	if last := reqs[len(reqs)-1]; last.Route != wazzuptest.RouteListDeals || last.RawQuery != "offset=0&orderBy=id&orderDirection=desc" {
		t.Fatalf("request %+v", last)
	}
	ids, err = f.conn.NewDealIDs(t.Context(), 1)
	if err != nil || !slices.Equal(ids, []string{"133"}) {
		t.Fatalf("second call %v, %v", ids, err)
	}
	if ids, err := f.conn.NewDealIDs(t.Context(), 0); err != nil || ids != nil {
		t.Fatalf("zero: %v, %v", ids, err)
	}
	// An empty remote starts at 1.
	empty := startFake(t, wazzuptest.Options{}, nil)
	if ids, err := empty.conn.NewDealIDs(t.Context(), 1); err != nil || !slices.Equal(ids, []string{"1"}) {
		t.Fatalf("empty remote: %v, %v", ids, err)
	}
}

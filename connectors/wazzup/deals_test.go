package wazzup_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

func TestDealsRoundTrip(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{})
	ctx := t.Context()
	var batch []wazzup.Deal
	connectortest.DecodeTestdata(t, "deals_upsert_request.json", &batch) // contact ids given as "1" and 2
	batch = append(batch, wazzup.Deal{ID: 1003, Name: "no contacts"})
	if err := c.UpsertDeals(ctx, batch); err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "s.Deals()", s.Deals(), []wazzuptest.Deal{
		{ID: 1001, ResponsibleUserID: "2e0df379-0e3c-470f-9b36-06b9e34c3bdb", Name: "Deal 1001", Contacts: []string{"1", "2"}},
		{ID: 1002, ResponsibleUserID: "5", Name: "Deal 1002", Closed: true, Contacts: []string{}},
		{ID: 1003, Name: "no contacts", Contacts: []string{}},
	})

	got, err := c.ListDeals(ctx, 0, wazzup.OrderByID, wazzup.Desc)
	if err != nil || len(got) != 3 || got[0].ID != 1003 || got[2].ID != 1001 {
		t.Fatalf("list: %v %+v", err, got)
	}
	d, err := c.GetDeal(ctx, 1002)
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "d", d, wazzup.Deal{ID: 1002, ResponsibleUserID: "5", Name: "Deal 1002", Closed: true, Contacts: []wazzup.ID{}})

	if err := c.DeleteDeal(ctx, 1002); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteDeal(ctx, 1002); !wazzup.IsNotFound(err) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := c.GetDeal(ctx, 1002); !wazzup.IsNotFound(err) {
		t.Fatalf("get deleted: %v", err)
	}
	if s.Requests()[0].AuthScheme != "Basic" {
		t.Fatal("v2 routes use Basic")
	}
}

func TestListDealsQuery(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{})
	for i := 1; i <= 250; i++ {
		s.PutDeals(wazzuptest.Deal{ID: int64(i), Name: fmt.Sprintf("%03d", 251-i)})
	}
	page, err := c.ListDeals(t.Context(), 200, wazzup.OrderByName, wazzup.Asc)
	if err != nil || len(page) != 50 || page[0].ID != 50 || page[49].ID != 1 {
		t.Fatalf("%v %d deals", err, len(page))
	}
	if q := s.Requests()[0].RawQuery; q != "offset=200&orderBy=name&orderDirection=asc" {
		t.Fatalf("query %q", q)
	}
	if _, err := c.ListDeals(t.Context(), 0, "", ""); err != nil || s.Requests()[1].RawQuery != "offset=0" {
		t.Fatalf("defaults: %v %q", err, s.Requests()[1].RawQuery)
	}

	var ids []int64
	for d, err := range c.AllDeals(t.Context(), wazzup.OrderByID, wazzup.Asc) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	if len(ids) != 250 || ids[0] != 1 || ids[249] != 250 {
		t.Fatalf("%d deals", len(ids))
	}

	before := len(s.Requests())
	for _, q := range [][2]string{{"closed", ""}, {"", "up"}} {
		if _, err := c.ListDeals(t.Context(), 0, q[0], q[1]); err == nil {
			t.Errorf("%v accepted", q)
		}
	}
	if _, err := c.ListDeals(t.Context(), -1, "", ""); err == nil {
		t.Error("negative offset accepted")
	}
	if len(s.Requests()) != before {
		t.Fatal("invalid queries must not be sent")
	}
}

func TestUpsertDealsLimitsAndValidation(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{RequireKnownUsers: true, Users: []wazzuptest.User{{ID: "u1", Name: "U"}}})
	if err := c.UpsertDeals(t.Context(), make([]wazzup.Deal, 101)); !errors.Is(err, wazzup.ErrBatchTooLarge) {
		t.Fatalf("101 deals: %v", err)
	}
	if len(s.Requests()) != 0 {
		t.Fatal("an oversized batch was sent")
	}
	batch := []wazzup.Deal{{ID: 1, ResponsibleUserID: "u1"}, {ID: 2, ResponsibleUserID: "ghost"}}
	err := c.UpsertDeals(t.Context(), batch)
	be := connectortest.ErrorAs[*wazzup.BatchError](t, err)
	connectortest.WantEqual(t, "be.Items", be.Items, []connectors.ItemError{{Index: 1, ID: "2", Code: wazzup.CodeValidation, Fields: []string{"responsibleUserId"}, Message: be.Description}})
	if be.Status != http.StatusBadRequest {
		t.Fatalf("%+v", be)
	}
	valid, _, _ := wazzup.DropRejected(batch, err)
	if err := c.UpsertDeals(t.Context(), valid); err != nil || len(s.Deals()) != 1 {
		t.Fatalf("resend: %v, %d deals", err, len(s.Deals()))
	}
}

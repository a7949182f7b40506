package resolver_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub/db/dbtest"
)

func dealStatuses(rs []dealResult) string {
	return itemStatuses(rs, func(r dealResult) (int, string) { return r.Index, r.Status })
}

func ref(source, id string) map[string]any { return map[string]any{"source": source, "externalId": id} }

// contactDeals lists the names of a contact's deals, newest first.
func (c *client) contactDeals(id string) []string {
	c.t.Helper()
	var out struct {
		Contact struct {
			Deals struct {
				TotalCount int
				Edges      []struct{ Node deal }
			}
		}
	}
	c.do(`query($id: ID!) { contact(id: $id) { deals(first: 10) { totalCount edges { node { name } } } } }`,
		map[string]any{"id": id}, &out)
	names := []string{}
	for _, e := range out.Contact.Deals.Edges {
		names = append(names, deref(e.Node.Name))
	}
	if out.Contact.Deals.TotalCount != len(names) {
		c.t.Errorf("contact deals totalCount %d for %v", out.Contact.Deals.TotalCount, names)
	}
	return names
}

func TestUpsertDeals(t *testing.T) {
	clock := dbtest.NewClock()
	c := newEnvClock(t, clock).workspace()
	c1 := c.createContact("One", ident("EMAIL", "one@example.com"))
	c2 := c.createContact("Two", ident("EMAIL", "two@example.com"))
	u := c.newUser("u1", "Ann")

	a := map[string]any{"name": "Alpha", "externalRef": ref("crm", "1"), "amount": 100.5, "currency": "usd", "stage": "new",
		"responsibleUserId": u, "contactIds": []string{c1.ID, c2.ID, c1.ID}}
	b := map[string]any{"name": "Beta", "externalRef": ref("crm", "2"), "status": "WON"}
	res := c.upsertDeals(a, b)
	if got := dealStatuses(res); got != "CREATED,CREATED" {
		t.Fatalf("upsertDeals = %s %+v", got, res)
	}
	alpha := *res[0].Deal
	if deref(alpha.Name) != "Alpha" || alpha.Status != "OPEN" || alpha.Closed || deref(alpha.Amount) != 100.5 ||
		deref(alpha.Currency) != "USD" || deref(alpha.Stage) != "new" || alpha.ResponsibleUser == nil || alpha.ResponsibleUser.ID != u ||
		len(alpha.ExternalRefs) != 1 || alpha.ExternalRefs[0].ExternalID != "1" || alpha.ClosedAt != nil {
		t.Fatalf("created deal = %+v", alpha)
	}
	if ids := alpha.contactIDs(); len(ids) != 2 || !slices.Contains(ids, c1.ID) || !slices.Contains(ids, c2.ID) {
		t.Errorf("deal contacts = %v", ids)
	}
	if beta := res[1].Deal; beta.Status != "WON" || !beta.Closed || beta.ClosedAt == nil {
		t.Errorf("a deal created WON = %+v", beta)
	}
	// Links in both directions.
	if got := c.contactDeals(c1.ID); !slices.Equal(got, []string{"Alpha"}) {
		t.Errorf("contact 1 deals = %v", got)
	}

	if got := dealStatuses(c.upsertDeals(a, b)); got != "UNCHANGED,UNCHANGED" {
		t.Fatalf("re-sent upsert = %s", got)
	}

	// Matched by id, then by external ref; the status moves and closes.
	clock.Advance(time.Hour)
	res = c.upsertDeals(map[string]any{"id": alpha.ID, "status": "WON", "contactIds": []string{c2.ID}},
		map[string]any{"externalRef": ref("crm", "1"), "amount": 200})
	if got := dealStatuses(res); got != "UPDATED,UPDATED" || res[0].Deal.ID != alpha.ID || res[1].Deal.ID != alpha.ID {
		t.Fatalf("updates = %s %+v", got, res)
	}
	won := res[1].Deal
	if won.Status != "WON" || !won.Closed || won.ClosedAt == nil || !parseTime(t, *won.ClosedAt).Equal(clock.Now()) ||
		deref(won.Amount) != 200 || deref(won.Name) != "Alpha" || !slices.Equal(won.contactIDs(), []string{c2.ID}) {
		t.Fatalf("won deal = %+v", won)
	}
	if got := c.contactDeals(c1.ID); len(got) != 0 {
		t.Errorf("contact 1 still lists %v after relinking", got)
	}
	if got := c.contactDeals(c2.ID); !slices.Equal(got, []string{"Alpha"}) {
		t.Errorf("contact 2 deals = %v", got)
	}
	lost := c.upsertDeals(map[string]any{"id": alpha.ID, "status": "LOST"})[0].Deal
	if lost.Status != "LOST" || !lost.Closed {
		t.Errorf("lost deal = %+v", lost)
	}
	open := c.upsertDeals(map[string]any{"id": alpha.ID, "status": "OPEN", "externalRef": ref("erp", "A-1")})[0].Deal
	if open.Status != "OPEN" || open.Closed || open.ClosedAt != nil || len(open.ExternalRefs) != 2 {
		t.Errorf("reopened deal = %+v", open)
	}
	if got := dealStatuses(c.upsertDeals(map[string]any{"externalRef": ref("erp", "A-1"), "name": "Alpha"})); got != "UNCHANGED" {
		t.Errorf("the attached ref matches: %s", got)
	}

	// Items fail alone, each with its code and field.
	missing := "deal_" + strings.Repeat("0", 32)
	res = c.upsertDeals(
		map[string]any{"id": missing, "name": "x"},
		map[string]any{"id": "deal_garbage", "name": "x"},
		map[string]any{"name": "x", "responsibleUserId": "usr_" + strings.Repeat("1", 32)},
		map[string]any{"name": "x", "contactIds": []string{c1.ID, "ct_" + strings.Repeat("2", 32)}},
		map[string]any{"id": alpha.ID, "externalRef": ref("crm", "2")},
		map[string]any{"name": "x", "currency": "dollars"},
		map[string]any{"name": "x", "amount": -1},
		map[string]any{"name": "Gamma", "externalRef": ref("crm", "3")},
	)
	want := []struct{ code, field string }{{"NOT_FOUND", "id"}, {"NOT_FOUND", "id"}, {"NOT_FOUND", "responsibleUserId"},
		{"NOT_FOUND", "contactIds[1]"}, {"CONFLICT", "externalRef"}, {"VALIDATION_ERROR", "currency"}, {"VALIDATION_ERROR", "amount"}}
	if got := dealStatuses(res); got != "FAILED,FAILED,FAILED,FAILED,FAILED,FAILED,FAILED,CREATED" {
		t.Fatalf("mixed upsert = %s %+v", got, res)
	}
	for i, w := range want {
		if e := res[i].Errors; len(e) != 1 || e[0].Code != w.code || e[0].Field != w.field || res[i].Deal != nil {
			t.Errorf("item %d = %+v, want %s on %s", i, res[i], w.code, w.field)
		}
	}
}

// TestUpsertDealClearsResponsibleUser: responsibleUserId left out keeps
// the deal's user; given as null, it removes the user.
func TestUpsertDealClearsResponsibleUser(t *testing.T) {
	c := newEnv(t).workspace()
	u := c.newUser("u1", "Ann")
	created := c.upsertDeals(map[string]any{"name": "Alpha", "responsibleUserId": u})[0].Deal
	kept := c.upsertDeals(map[string]any{"id": created.ID, "name": "Alpha 2"})
	if d := kept[0].Deal; kept[0].Status != "UPDATED" || d.ResponsibleUser == nil || d.ResponsibleUser.ID != u {
		t.Fatalf("left out: %+v", kept[0])
	}
	cleared := c.upsertDeals(map[string]any{"id": created.ID, "responsibleUserId": nil})
	if cleared[0].Status != "UPDATED" || cleared[0].Deal.ResponsibleUser != nil {
		t.Fatalf("explicit null: %+v", cleared[0])
	}
	if again := c.upsertDeals(map[string]any{"id": created.ID, "responsibleUserId": nil}); again[0].Status != "UNCHANGED" {
		t.Fatalf("null again: %+v", again[0])
	}
	var read struct{ Node deal }
	c.do(`query($id: ID!) { node(id: $id) { ... on Deal { name responsibleUser { id } } } }`, map[string]any{"id": created.ID}, &read)
	if read.Node.ResponsibleUser != nil || deref(read.Node.Name) != "Alpha 2" {
		t.Fatalf("stored deal: %+v", read.Node)
	}
}

func TestDealBadInput(t *testing.T) {
	c := newEnv(t).workspace()
	c.newDeal(map[string]any{"name": "Existing"})
	many := make([]map[string]any, 101)
	for i := range many {
		many[i] = map[string]any{"name": fmt.Sprintf("D%d", i)}
	}
	del := `mutation($ids: [ID!]!) { deleteDeals(ids: $ids) }`
	manyIDs := make([]string, 101)
	for i := range manyIDs {
		manyIDs[i] = fmt.Sprintf("deal_%032x", i)
	}
	runErrorCases(t, c, []errorCase{
		{"101 items", upsertDealsMutation, map[string]any{"input": many}, "TOO_MANY_ENTITIES", "-"},
		{"unknown status", upsertDealsMutation, map[string]any{"input": []any{map[string]any{"name": "x", "status": "MAYBE"}}},
			"VALIDATION_ERROR", "input[0].status"},
		{"delete 101 ids", del, map[string]any{"ids": manyIDs}, "TOO_MANY_ENTITIES", "-"},
		{"bad filter status", `{ deals(filter: {status: MAYBE}) { totalCount } }`, nil, "VALIDATION_ERROR", "-"},
		{"first over 100", `{ deals(first: 101) { totalCount } }`, nil, "VALIDATION_ERROR", "first"},
	})
	e := c.fail(upsertDealsMutation, map[string]any{"input": many}, "TOO_MANY_ENTITIES")
	if e.Extensions["count"] != float64(101) || e.Extensions["limit"] != float64(100) {
		t.Errorf("extensions = %v", e.Extensions)
	}
}

func TestDeleteDeals(t *testing.T) {
	e := newEnv(t)
	c, other := e.workspace(), e.workspace()
	ct := c.createContact("One", ident("EMAIL", "one@example.com"))
	d1 := c.newDeal(map[string]any{"name": "D1", "contactIds": []string{ct.ID}})
	d2 := c.newDeal(map[string]any{"name": "D2"})
	c.newDeal(map[string]any{"name": "D3", "contactIds": []string{ct.ID}})
	foreign := other.newDeal(map[string]any{"name": "Foreign"})
	missing := "deal_" + strings.Repeat("0", 32)

	var out struct{ DeleteDeals []string }
	c.do(`mutation($ids: [ID!]!) { deleteDeals(ids: $ids) }`, map[string]any{"ids": []string{
		d1.ID, "garbage", foreign.ID, d2.ID, missing, d1.ID, ct.ID}}, &out)
	if want := []string{"garbage", foreign.ID, missing, ct.ID}; !slices.Equal(out.DeleteDeals, want) {
		t.Fatalf("deleteDeals = %v, want %v", out.DeleteDeals, want)
	}
	if got := c.dealNames(nil); !slices.Equal(got, []string{"D3"}) {
		t.Errorf("deals left = %v", got)
	}
	if got := c.contactDeals(ct.ID); !slices.Equal(got, []string{"D3"}) {
		t.Errorf("contact deals = %v", got)
	}
	var gone struct{ Deal *deal }
	c.do(`query($id: ID!) { deal(id: $id) { id } }`, map[string]any{"id": d1.ID}, &gone)
	if gone.Deal != nil {
		t.Error("a deleted deal is readable")
	}
	if got := other.dealNames(nil); !slices.Equal(got, []string{"Foreign"}) {
		t.Errorf("the other workspace lost its deal: %v", got)
	}
}

// dealNames lists the names of the deals a filter keeps, newest first, and
// checks totalCount against them.
func (c *client) dealNames(filter map[string]any) []string {
	c.t.Helper()
	var out struct {
		Deals struct {
			TotalCount int
			Edges      []struct{ Node deal }
		}
	}
	c.do(`query($f: DealFilter) { deals(first: 100, filter: $f) { totalCount edges { node { name } } } }`,
		map[string]any{"f": filter}, &out)
	names := []string{}
	for _, e := range out.Deals.Edges {
		names = append(names, deref(e.Node.Name))
	}
	if out.Deals.TotalCount != len(names) {
		c.t.Errorf("totalCount %d for %v (filter %v)", out.Deals.TotalCount, names, filter)
	}
	return names
}

func TestDealsConnection(t *testing.T) {
	clock := dbtest.NewClock()
	e := newEnvClock(t, clock)
	c, other := e.workspace(), e.workspace()
	ann, bob := c.newUser("ann", "Ann"), c.newUser("bob", "Bob")
	c1 := c.createContact("One", ident("EMAIL", "one@example.com"))
	c2 := c.createContact("Two", ident("EMAIL", "two@example.com"))
	merged := c.createContact("Merged", ident("EMAIL", "m@example.com"))
	first := c.newDeal(map[string]any{"name": "D1", "responsibleUserId": ann, "contactIds": []string{c1.ID}})
	clock.Advance(time.Minute)
	c.newDeal(map[string]any{"name": "D2", "status": "WON", "responsibleUserId": bob, "contactIds": []string{c1.ID, c2.ID}})
	clock.Advance(time.Minute)
	since := clock.Now()
	c.newDeal(map[string]any{"name": "D3", "status": "LOST", "contactIds": []string{merged.ID}})
	clock.Advance(time.Minute)
	c.newDeal(map[string]any{"name": "D4", "responsibleUserId": ann})
	clock.Advance(time.Minute)
	c.newDeal(map[string]any{"externalRef": ref("x", "5"), "name": "D5"})
	// Updating D1 makes it recent for updatedSince, not for the order.
	c.upsertDeals(map[string]any{"id": first.ID, "stage": "late"})
	all := c.dealNames(nil)
	if !slices.Equal(all, []string{"D5", "D4", "D3", "D2", "D1"}) {
		t.Fatalf("deals, newest first = %v", all)
	}
	c.do(mergeQuery, map[string]any{"t": c2.ID, "s": []string{merged.ID}}, nil)
	other.newDeal(map[string]any{"name": "Foreign"})

	for name, tc := range map[string]struct {
		filter map[string]any
		want   []string
	}{
		"OPEN":                 {map[string]any{"status": "OPEN"}, []string{"D5", "D4", "D1"}},
		"WON":                  {map[string]any{"status": "WON"}, []string{"D2"}},
		"LOST":                 {map[string]any{"status": "LOST"}, []string{"D3"}},
		"responsible Ann":      {map[string]any{"responsibleUserId": ann}, []string{"D4", "D1"}},
		"responsible Ann, WON": {map[string]any{"responsibleUserId": ann, "status": "WON"}, []string{}},
		"contact 1":            {map[string]any{"contactId": c1.ID}, []string{"D2", "D1"}},
		"contact 2 (merged)":   {map[string]any{"contactId": c2.ID}, []string{"D3", "D2"}},
		"merged contact's id":  {map[string]any{"contactId": merged.ID}, []string{"D3", "D2"}},
		"updatedSince":         {map[string]any{"updatedSince": since.Format(time.RFC3339)}, []string{"D5", "D4", "D3", "D1"}},
		"unknown user":         {map[string]any{"responsibleUserId": "usr_" + strings.Repeat("0", 32)}, []string{}},
	} {
		t.Run(name, func(t *testing.T) {
			c := *c
			c.t = t
			if got := c.dealNames(tc.filter); !slices.Equal(got, tc.want) {
				t.Errorf("deals = %v, want %v", got, tc.want)
			}
		})
	}

	// Paging, two at a time.
	var names []string
	var after any
	for range 4 {
		var p struct {
			Deals struct {
				TotalCount int
				PageInfo   struct {
					HasNextPage bool
					EndCursor   string
				}
				Edges []struct{ Node deal }
			}
		}
		c.do(`query($after: String) { deals(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
			edges { node { name } } } }`, map[string]any{"after": after}, &p)
		if p.Deals.TotalCount != 5 {
			t.Errorf("totalCount of a page = %d", p.Deals.TotalCount)
		}
		for _, e := range p.Deals.Edges {
			names = append(names, deref(e.Node.Name))
		}
		if !p.Deals.PageInfo.HasNextPage {
			break
		}
		after = p.Deals.PageInfo.EndCursor
	}
	if !slices.Equal(names, all) {
		t.Errorf("paged deals = %v", names)
	}
}

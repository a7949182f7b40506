package db_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
)

// dealClock moves one second forward each time it is read, so that deals
// made by different calls have different creation times.
type dealClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *dealClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func dealStatus(r crmhub.UpsertDealResult) crmhub.UpsertStatus { return r.Status }

func ref(source, id string) *crmhub.ExternalRef {
	return &crmhub.ExternalRef{Source: source, ExternalID: id}
}

// dealFixture is a workspace with a user and contacts to point deals at.
type dealFixture struct {
	d        *db.DB
	svc      *db.DealService
	ctx      context.Context
	ws       uuid.UUID
	user     *crmhub.User
	contacts []*crmhub.Contact
}

func newDealFixture(t *testing.T, clock crmhub.Clock, contacts int) *dealFixture {
	t.Helper()
	d := dbtest.Open(t, clock)
	ctx, ws, _ := dbtest.Workspace(t, d)
	f := &dealFixture{d: d, svc: db.NewDealService(d), ctx: ctx, ws: ws.ID}
	res, err := db.NewUserService(d).UpsertUsers(ctx, []crmhub.UserInput{{ExternalID: "owner", Name: "Owner"}})
	if err != nil {
		t.Fatal(err)
	}
	f.user = res[0].User
	for i := range contacts {
		c, err := db.NewContactService(d).CreateContact(ctx, crmhub.ContactInput{
			Identifiers: []crmhub.Identifier{email(fmt.Sprintf("deal%d@x.io", i))}})
		if err != nil {
			t.Fatal(err)
		}
		f.contacts = append(f.contacts, c)
	}
	return f
}

func (f *dealFixture) upsert(t *testing.T, items ...crmhub.DealUpsertInput) []crmhub.UpsertDealResult {
	t.Helper()
	res, err := f.svc.UpsertDeals(f.ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *dealFixture) contactIDs(t *testing.T, deal uuid.UUID) []uuid.UUID {
	t.Helper()
	m, err := f.svc.ContactIDsByDeal(f.ctx, []uuid.UUID{deal})
	if err != nil {
		t.Fatal(err)
	}
	return m[deal]
}

func TestUpsertDeals(t *testing.T) {
	f := newDealFixture(t, nil, 2)
	c1, c2 := f.contacts[0].ID, f.contacts[1].ID
	items := []crmhub.DealUpsertInput{
		{ExternalRef: ref("crm", "d1"), Name: ptr("Deal 1"), Amount: ptr(100.5), Currency: ptr("usd"),
			ResponsibleUserID: &f.user.ID, ContactIDs: &[]uuid.UUID{c1, c1}},
		{ExternalRef: ref("crm", "d2"), Name: ptr("Deal 2"), Status: ptr(crmhub.DealWon)},
		// Matches the deal item 0 created.
		{ExternalRef: ref(" crm ", "d1"), Stage: ptr("negotiation")},
		{ID: ptr(uuid.New()), Name: ptr("ghost")},
		{Name: ptr("no user"), ResponsibleUserID: ptr(uuid.New())},
		{Name: ptr("no contact"), ContactIDs: &[]uuid.UUID{c1, uuid.New()}},
		{Name: ptr("bad currency"), Currency: ptr("US")},
		{Name: ptr("negative"), Amount: ptr(-1.0)},
		{Name: ptr("not a number"), Amount: ptr(math.NaN())},
		{Name: ptr("bad status"), Status: ptr(crmhub.DealStatus("PENDING"))},
	}
	res := f.upsert(t, items...)
	want := []crmhub.UpsertStatus{crmhub.UpsertCreated, crmhub.UpsertCreated, crmhub.UpsertUpdated}
	for range 7 {
		want = append(want, crmhub.UpsertFailed)
	}
	if got := statusesOf(res, dealStatus); !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v (%+v)", got, want, res)
	}
	wantErr := map[int][2]string{3: {crmhub.ENOTFOUND, "id"}, 4: {crmhub.ENOTFOUND, "responsibleUserId"},
		5: {crmhub.ENOTFOUND, "contactIds[1]"}, 6: {crmhub.EINVALID, "currency"}, 7: {crmhub.EINVALID, "amount"},
		8: {crmhub.EINVALID, "amount"}, 9: {crmhub.EINVALID, "status"}}
	for i, w := range wantErr {
		if e := res[i].Errors; len(e) != 1 || e[0].Code != w[0] || e[0].Field != w[1] || res[i].Deal != nil {
			t.Errorf("item %d: %+v, want %s on %s", i, res[i], w[0], w[1])
		}
	}
	d1 := res[0].Deal
	if res[2].Deal.ID != d1.ID || res[1].Deal.ID == d1.ID {
		t.Fatalf("item 2 did not match item 0's deal by its ref")
	}
	got, err := f.svc.Deal(f.ctx, d1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Name != "Deal 1" || *got.Amount != 100.5 || *got.Currency != "USD" || *got.Stage != "negotiation" ||
		*got.ResponsibleUserID != f.user.ID || got.Status != crmhub.DealOpen || got.ClosedAt != nil ||
		!slices.Equal(got.ExternalRefs, []crmhub.ExternalRef{{Source: "crm", ExternalID: "d1"}}) {
		t.Errorf("stored deal: %+v", got)
	}
	if ids := f.contactIDs(t, d1.ID); !slices.Equal(ids, []uuid.UUID{c1}) {
		t.Errorf("contacts %v, want [%s]", ids, c1)
	}
	d2 := res[1].Deal
	if d2.Status != crmhub.DealWon || d2.ClosedAt == nil || !d2.Closed() {
		t.Errorf("deal created WON: %+v", d2)
	}
	if n, _ := f.svc.CountDeals(f.ctx, crmhub.DealFilter{}); n != 2 {
		t.Errorf("%d deals, want 2: failed items must write nothing", n)
	}
	if c, u := countEvents(t, f.d, f.ws, "deal.created"), countEvents(t, f.d, f.ws, "deal.updated"); c != 2 || u != 1 {
		t.Errorf("events: %d created, %d updated; want 2 and 1", c, u)
	}

	// The same input again changes nothing and emits nothing.
	events := countAllEvents(t, f.d, f.ws)
	res = f.upsert(t, items[:3]...)
	if got := statusesOf(res, dealStatus); !slices.Equal(got, []crmhub.UpsertStatus{crmhub.UpsertUnchanged,
		crmhub.UpsertUnchanged, crmhub.UpsertUnchanged}) {
		t.Errorf("re-send: %v", got)
	}
	if n := countAllEvents(t, f.d, f.ws); n != events {
		t.Errorf("re-send emitted %d events", n-events)
	}

	// Closing by ref sets closed_at; reopening clears it.
	res = f.upsert(t, crmhub.DealUpsertInput{ExternalRef: ref("crm", "d1"), Status: ptr(crmhub.DealLost)})
	if r := res[0]; r.Status != crmhub.UpsertUpdated || r.Deal.ID != d1.ID || r.Deal.ClosedAt == nil {
		t.Errorf("close: %+v", r)
	}
	res = f.upsert(t, crmhub.DealUpsertInput{ExternalRef: ref("crm", "d1"), Status: ptr(crmhub.DealOpen)})
	if got, _ := f.svc.Deal(f.ctx, d1.ID); res[0].Status != crmhub.UpsertUpdated || got.ClosedAt != nil || got.Status != crmhub.DealOpen {
		t.Errorf("reopen: %+v", got)
	}

	// With an id and a free ref, the ref is attached; a taken one conflicts.
	res = f.upsert(t, crmhub.DealUpsertInput{ID: &d1.ID, ExternalRef: ref("other", "X")})
	if r := res[0]; r.Status != crmhub.UpsertUpdated || len(r.Deal.ExternalRefs) != 2 {
		t.Errorf("attach ref: %+v", r)
	}
	res = f.upsert(t, crmhub.DealUpsertInput{ExternalRef: ref("other", "X"), Name: ptr("by new ref")})
	if res[0].Deal.ID != d1.ID {
		t.Errorf("the attached ref matched %v", res[0].Deal)
	}
	res = f.upsert(t, crmhub.DealUpsertInput{ID: &d1.ID, ExternalRef: ref("crm", "d2"), Name: ptr("stolen")})
	if e := res[0].Errors; res[0].Status != crmhub.UpsertFailed || len(e) != 1 || e[0].Code != crmhub.ECONFLICT ||
		e[0].Field != "externalRef" || e[0].Extensions["dealId"] != d2.GlobalID() {
		t.Errorf("taken ref: %+v", res[0])
	}
	if got, _ := f.svc.Deal(f.ctx, d1.ID); *got.Name != "by new ref" {
		t.Errorf("a conflicting item changed the deal: %+v", got)
	}

	// Contact ids replace the links; nil leaves them; a merged contact's id
	// links the contact it was merged into.
	f.upsert(t, crmhub.DealUpsertInput{ID: &d1.ID, ContactIDs: &[]uuid.UUID{c2}})
	if ids := f.contactIDs(t, d1.ID); !slices.Equal(ids, []uuid.UUID{c2}) {
		t.Errorf("replaced contacts: %v, want [%s]", ids, c2)
	}
	f.upsert(t, crmhub.DealUpsertInput{ID: &d1.ID, Name: ptr("renamed")})
	if ids := f.contactIDs(t, d1.ID); !slices.Equal(ids, []uuid.UUID{c2}) {
		t.Errorf("contacts after a patch without contactIds: %v", ids)
	}
	if _, err := db.NewContactService(f.d).MergeContacts(f.ctx, c1, []uuid.UUID{c2}, false); err != nil {
		t.Fatal(err)
	}
	res = f.upsert(t, crmhub.DealUpsertInput{ID: &d1.ID, ContactIDs: &[]uuid.UUID{c2, c1}})
	if ids := f.contactIDs(t, d1.ID); res[0].Status == crmhub.UpsertFailed || !slices.Equal(ids, []uuid.UUID{c1}) {
		t.Errorf("merged contact id: %+v, links %v, want [%s]", res[0], ids, c1)
	}
	f.upsert(t, crmhub.DealUpsertInput{ID: &d1.ID, ContactIDs: &[]uuid.UUID{}, ClearResponsibleUser: true})
	if got, _ := f.svc.Deal(f.ctx, d1.ID); len(f.contactIDs(t, d1.ID)) != 0 || got.ResponsibleUserID != nil {
		t.Errorf("cleared links and user: %+v", got)
	}

	// More than 100 items write nothing.
	many := make([]crmhub.DealUpsertInput, crmhub.MaxBatch+1)
	for i := range many {
		many[i] = crmhub.DealUpsertInput{Name: ptr("many")}
	}
	_, err = f.svc.UpsertDeals(f.ctx, many)
	if e, ok := err.(*crmhub.Error); !ok || e.Code != crmhub.ETOOMANY || e.Extensions["count"] != 101 || e.Extensions["limit"] != 100 {
		t.Fatalf("101 deals: %v", err)
	}
	if n, _ := f.svc.CountDeals(f.ctx, crmhub.DealFilter{}); n != 2 {
		t.Errorf("101 deals wrote %d deals", n-2)
	}
}

func TestDeleteDeals(t *testing.T) {
	f := newDealFixture(t, nil, 1)
	res := f.upsert(t, crmhub.DealUpsertInput{Name: ptr("a"), ExternalRef: ref("crm", "a"), ContactIDs: &[]uuid.UUID{f.contacts[0].ID}},
		crmhub.DealUpsertInput{Name: ptr("b")}, crmhub.DealUpsertInput{Name: ptr("c")})
	a, b := res[0].Deal.ID, res[1].Deal.ID
	ghost := uuid.New()
	missing, err := f.svc.DeleteDeals(f.ctx, []uuid.UUID{a, ghost, b, a, ghost})
	if err != nil || !slices.Equal(missing, []uuid.UUID{ghost}) {
		t.Fatalf("missing %v (%v), want [%s]", missing, err, ghost)
	}
	if _, err := f.svc.Deal(f.ctx, a); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("deleted deal: %v", err)
	}
	if n := countEvents(t, f.d, f.ws, "deal.deleted"); n != 2 {
		t.Errorf("deal.deleted events = %d, want 2", n)
	}
	// Its ref is free again.
	if res := f.upsert(t, crmhub.DealUpsertInput{ExternalRef: ref("crm", "a")}); res[0].Status != crmhub.UpsertCreated {
		t.Errorf("reusing a deleted deal's ref: %+v", res[0])
	}
	if missing, err := f.svc.DeleteDeals(f.ctx, nil); err != nil || len(missing) != 0 || missing == nil {
		t.Errorf("deleting nothing: %v %v", missing, err)
	}
	if _, err := f.svc.DeleteDeals(f.ctx, make([]uuid.UUID, crmhub.MaxBatch+1)); crmhub.ErrorCode(err) != crmhub.ETOOMANY {
		t.Errorf("101 ids: %v", err)
	}
}

func TestDealsPaginationAndFilters(t *testing.T) {
	clock := &dealClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := newDealFixture(t, clock, 2)
	c1 := f.contacts[0].ID
	for batch := range 3 {
		var items []crmhub.DealUpsertInput
		for j := range 15 {
			i := batch*15 + j
			it := crmhub.DealUpsertInput{Name: ptr(fmt.Sprint("deal ", i)), ExternalRef: ref("crm", fmt.Sprint(i))}
			if i%3 == 0 {
				it.Status = ptr(crmhub.DealWon)
			}
			if i%5 == 0 {
				it.ResponsibleUserID = &f.user.ID
			}
			if i%4 == 0 {
				it.ContactIDs = &[]uuid.UUID{c1}
			}
			items = append(items, it)
		}
		f.upsert(t, items...)
	}

	list := func(filter crmhub.DealFilter) []*crmhub.Deal {
		t.Helper()
		deals, _ := allPages(t, func(after string) ([]*crmhub.Deal, crmhub.PageInfo, error) {
			page, err := f.svc.Deals(f.ctx, filter, 10, after)
			if err != nil {
				return nil, crmhub.PageInfo{}, err
			}
			if page.Edges == nil || len(page.Edges) > 10 {
				t.Fatalf("a page of %d edges (nil: %v)", len(page.Edges), page.Edges == nil)
			}
			nodes := make([]*crmhub.Deal, len(page.Edges))
			for i, e := range page.Edges {
				nodes[i] = e.Node
			}
			return nodes, page.PageInfo, nil
		})
		return deals
	}
	all := list(crmhub.DealFilter{})
	seen := map[uuid.UUID]bool{}
	for i, d := range all {
		if seen[d.ID] {
			t.Fatalf("deal %s listed twice", *d.Name)
		}
		seen[d.ID] = true
		if i > 0 {
			prev := all[i-1]
			if prev.CreatedAt.Before(d.CreatedAt) || prev.CreatedAt.Equal(d.CreatedAt) && compareUUID(prev.ID, d.ID) < 0 {
				t.Errorf("not newest first at %d", i)
			}
		}
		if len(d.ExternalRefs) != 1 {
			t.Errorf("deal %s lists refs %v", *d.Name, d.ExternalRefs)
		}
	}
	if len(all) != 45 {
		t.Fatalf("listed %d deals, want 45", len(all))
	}
	if *all[0].Name != "deal 44" || *all[44].Name != "deal 0" {
		t.Errorf("listed %s first and %s last, want deal 44 and deal 0", *all[0].Name, *all[44].Name)
	}

	// Touch two deals later, for updatedSince.
	since := clock.Now()
	f.upsert(t, crmhub.DealUpsertInput{ExternalRef: ref("crm", "1"), Stage: ptr("late")},
		crmhub.DealUpsertInput{ExternalRef: ref("crm", "2"), Stage: ptr("late")})

	for _, tc := range []struct {
		name   string
		filter crmhub.DealFilter
		want   int
	}{
		{"won", crmhub.DealFilter{Status: ptr(crmhub.DealWon)}, 15},
		{"open", crmhub.DealFilter{Status: ptr(crmhub.DealOpen)}, 30},
		{"user", crmhub.DealFilter{ResponsibleUserID: &f.user.ID}, 9},
		{"contact", crmhub.DealFilter{ContactID: &c1}, 12},
		{"other contact", crmhub.DealFilter{ContactID: &f.contacts[1].ID}, 0},
		{"updated since", crmhub.DealFilter{UpdatedSince: &since}, 2},
		{"won for user", crmhub.DealFilter{Status: ptr(crmhub.DealWon), ResponsibleUserID: &f.user.ID}, 3},
	} {
		n, err := f.svc.CountDeals(f.ctx, tc.filter)
		if err != nil || n != tc.want {
			t.Errorf("%s: count %d (%v), want %d", tc.name, n, err, tc.want)
		}
		if got := list(tc.filter); len(got) != tc.want {
			t.Errorf("%s: listed %d, want %d", tc.name, len(got), tc.want)
		}
	}

	if _, err := f.svc.Deals(f.ctx, crmhub.DealFilter{}, 101, ""); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("first=101: %v", err)
	}
	if _, err := f.svc.Deals(f.ctx, crmhub.DealFilter{}, 10, "bm90IGEgY3Vyc29y"); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("bad cursor: %v", err)
	}
	if _, err := f.svc.Deals(f.ctx, crmhub.DealFilter{Status: ptr(crmhub.DealStatus("X"))}, 10, ""); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("bad status filter: %v", err)
	}
}

func compareUUID(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) }

func TestDealsByContact(t *testing.T) {
	clock := &dealClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := newDealFixture(t, clock, 3)
	c1, c2, c3 := f.contacts[0].ID, f.contacts[1].ID, f.contacts[2].ID
	var ofC2 []uuid.UUID // newest first
	for i := range 12 {
		contacts := []uuid.UUID{c2}
		if i < 3 {
			contacts = append(contacts, c1)
		}
		res := f.upsert(t, crmhub.DealUpsertInput{Name: ptr(fmt.Sprint("d", i)), ContactIDs: &contacts})
		ofC2 = append([]uuid.UUID{res[0].Deal.ID}, ofC2...)
	}
	f.upsert(t, crmhub.DealUpsertInput{Name: ptr("unlinked")})

	k1, k2, k3 := crmhub.PageKey{ParentID: c1, First: 10}, crmhub.PageKey{ParentID: c2, First: 10}, crmhub.PageKey{ParentID: c3, First: 10}
	small := crmhub.PageKey{ParentID: c2, First: 5}
	pages, err := f.svc.DealsByContact(f.ctx, []crmhub.PageKey{k1, k2, k3, small, k2})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(c *crmhub.DealConnection) []uuid.UUID {
		var out []uuid.UUID
		for _, e := range c.Edges {
			out = append(out, e.Node.ID)
		}
		return out
	}
	if got := ids(pages[k1]); !slices.Equal(got, ofC2[9:]) || pages[k1].PageInfo.HasNextPage {
		t.Errorf("c1's deals %v, want %v", got, ofC2[9:])
	}
	if got := ids(pages[k2]); !slices.Equal(got, ofC2[:10]) || !pages[k2].PageInfo.HasNextPage {
		t.Errorf("c2's first page %v, want %v", got, ofC2[:10])
	}
	if got := ids(pages[small]); !slices.Equal(got, ofC2[:5]) {
		t.Errorf("c2's page of 5 %v, want %v", got, ofC2[:5])
	}
	if p := pages[k3]; p == nil || p.Edges == nil || len(p.Edges) != 0 || p.PageInfo.HasNextPage {
		t.Errorf("c3's page: %+v", p)
	}
	next := crmhub.PageKey{ParentID: c2, First: 10, After: *pages[k2].PageInfo.EndCursor}
	pages, err = f.svc.DealsByContact(f.ctx, []crmhub.PageKey{next})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pages[next]); !slices.Equal(got, ofC2[10:]) || pages[next].PageInfo.HasNextPage || !pages[next].PageInfo.HasPreviousPage {
		t.Errorf("c2's second page %v, want %v", got, ofC2[10:])
	}

	links, err := f.svc.ContactIDsByDeal(f.ctx, []uuid.UUID{ofC2[11], ofC2[0], uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	want := []uuid.UUID{c1, c2}
	slices.SortFunc(want, compareUUID)
	if !slices.Equal(links[ofC2[11]], want) || !slices.Equal(links[ofC2[0]], []uuid.UUID{c2}) || len(links) != 2 {
		t.Errorf("ContactIDsByDeal: %v", links)
	}
}

func TestDealIsolation(t *testing.T) {
	a := newDealFixture(t, nil, 1)
	res := a.upsert(t, crmhub.DealUpsertInput{ExternalRef: ref("crm", "1"), Name: ptr("A's"), ResponsibleUserID: &a.user.ID,
		ContactIDs: &[]uuid.UUID{a.contacts[0].ID}})
	deal := res[0].Deal
	ctxB, _, _ := dbtest.Workspace(t, a.d)
	b := &dealFixture{d: a.d, svc: a.svc, ctx: ctxB}

	if _, err := b.svc.Deal(ctxB, deal.ID); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("B reads A's deal: %v", err)
	}
	if got, err := b.svc.DealsByIDs(ctxB, []uuid.UUID{deal.ID}); err != nil || got[0] != nil {
		t.Errorf("B loads A's deal: %v %v", got, err)
	}
	if n, err := b.svc.CountDeals(ctxB, crmhub.DealFilter{}); err != nil || n != 0 {
		t.Errorf("B counts %d deals (%v)", n, err)
	}
	if page, err := b.svc.Deals(ctxB, crmhub.DealFilter{ContactID: &a.contacts[0].ID}, 10, ""); err != nil || len(page.Edges) != 0 {
		t.Errorf("B lists A's contact's deals: %v", err)
	}
	key := crmhub.PageKey{ParentID: a.contacts[0].ID, First: 10}
	if pages, err := b.svc.DealsByContact(ctxB, []crmhub.PageKey{key}); err != nil || len(pages[key].Edges) != 0 {
		t.Errorf("B pages A's contact's deals: %v", err)
	}
	if links, err := b.svc.ContactIDsByDeal(ctxB, []uuid.UUID{deal.ID}); err != nil || len(links) != 0 {
		t.Errorf("B reads A's deal's contacts: %v %v", links, err)
	}

	res = b.upsert(t,
		crmhub.DealUpsertInput{ID: &deal.ID, Name: ptr("hijacked")},
		crmhub.DealUpsertInput{Name: ptr("x"), ResponsibleUserID: &a.user.ID},
		crmhub.DealUpsertInput{Name: ptr("y"), ContactIDs: &[]uuid.UUID{a.contacts[0].ID}},
		// The same ref is another deal in B.
		crmhub.DealUpsertInput{ExternalRef: ref("crm", "1"), Name: ptr("B's")},
	)
	for i, field := range []string{"id", "responsibleUserId", "contactIds[0]"} {
		if e := res[i].Errors; res[i].Status != crmhub.UpsertFailed || len(e) != 1 || e[0].Code != crmhub.ENOTFOUND || e[0].Field != field {
			t.Errorf("B item %d: %+v, want NOT_FOUND on %s", i, res[i], field)
		}
	}
	if res[3].Status != crmhub.UpsertCreated || res[3].Deal.ID == deal.ID {
		t.Errorf("B's deal with A's ref: %+v", res[3])
	}
	if missing, err := b.svc.DeleteDeals(ctxB, []uuid.UUID{deal.ID}); err != nil || !slices.Equal(missing, []uuid.UUID{deal.ID}) {
		t.Errorf("B deletes A's deal: missing %v (%v)", missing, err)
	}

	got, err := a.svc.Deal(a.ctx, deal.ID)
	if err != nil || *got.Name != "A's" || !got.UpdatedAt.Equal(deal.UpdatedAt) || *got.ResponsibleUserID != a.user.ID {
		t.Errorf("A's deal after B's calls: %+v %v", got, err)
	}
	if ids := a.contactIDs(t, deal.ID); !slices.Equal(ids, []uuid.UUID{a.contacts[0].ID}) {
		t.Errorf("A's deal's contacts after B's calls: %v", ids)
	}
	if res := a.upsert(t, crmhub.DealUpsertInput{ExternalRef: ref("crm", "1")}); res[0].Deal.ID != deal.ID {
		t.Errorf("A's ref now matches %v", res[0].Deal)
	}

	p := crmhub.FromContext(a.ctx)
	reader := crmhub.NewContext(context.Background(), &crmhub.Principal{WorkspaceID: p.WorkspaceID,
		Scopes: []crmhub.Scope{crmhub.ScopeDealsRead}})
	if _, err := a.svc.UpsertDeals(reader, []crmhub.DealUpsertInput{{Name: ptr("r")}}); crmhub.ErrorCode(err) != crmhub.EFORBIDDEN {
		t.Errorf("upsert with deals:read: %v", err)
	}
	if _, err := a.svc.DeleteDeals(reader, []uuid.UUID{deal.ID}); crmhub.ErrorCode(err) != crmhub.EFORBIDDEN {
		t.Errorf("delete with deals:read: %v", err)
	}
}

// TestConcurrentDealUpserts races writers on one external ref.
func TestConcurrentDealUpserts(t *testing.T) {
	f := newDealFixture(t, nil, 0)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = f.svc.UpsertDeals(f.ctx, []crmhub.DealUpsertInput{
				{ExternalRef: ref("crm", "shared"), Amount: ptr(float64(i))}})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.svc.CountDeals(f.ctx, crmhub.DealFilter{}); n != 1 {
		t.Errorf("8 concurrent upserts of one ref made %d deals, want 1", n)
	}
}

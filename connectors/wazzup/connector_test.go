package wazzup

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Start:          func(t *testing.T) connectortest.Fake { return startFake(t, wazzuptest.Options{}, nil) },
		Contact:        sampleContact,
		InvalidContact: invalidContact,
		Deal:           sampleDeal,
		User: func(i int) connectors.RemoteUser {
			return connectors.RemoteUser{ExternalID: fmt.Sprintf("u%d", i), Name: fmt.Sprintf("User %d", i)}
		},
	})
}

// fake is a wazzuptest server seen in domain terms, for connectortest.
type fake struct {
	connectortest.ServerFake
	s    *wazzuptest.Server
	conn *Connector
}

// startFake starts a fake with opts and a connector with options.
func startFake(t *testing.T, opts wazzuptest.Options, options map[string]any) *fake {
	s := wazzuptest.NewServer(t, opts)
	good, bad := connectortest.Connectors(t, NewConnector,
		connectors.Config{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client(), Options: options})
	f := &fake{s: s, conn: good.(*Connector)}
	f.ServerFake = connectortest.ServerFake{Conn: good, Bad: bad, Put: f.seed, Get: f.stored, Fail: f.fail, Total: s.Total}
	return f
}

// seed stores contacts through the same JSON shape the API carries.
func (f *fake) seed(t *testing.T, contacts []connectors.RemoteContact) {
	f.s.PutContacts(connectortest.ToFake[wazzuptest.Contact](t, contacts,
		func(rc connectors.RemoteContact) Contact { return contactToWire(rc, "") })...)
}

func (f *fake) stored(t *testing.T) []connectors.RemoteContact {
	return connectortest.FromFake(t, f.s.Contacts(), contactFromWire)
}

// fail answers the next request with status and, when not empty,
// retryAfter.
func (f *fake) fail(status int, retryAfter string) {
	f.s.InjectNext(wazzuptest.Fault{Status: status, RetryAfter: retryAfter})
}

// sampleContact is a contact Wazzup keeps in full, with every chat type
// the hub maps over the samples.
func sampleContact(i int) connectors.RemoteContact {
	c := connectors.RemoteContact{
		ExternalID:                fmt.Sprintf("c%04d", i),
		Name:                      ptr(fmt.Sprintf("Contact %d", i)),
		ResponsibleUserExternalID: ptr(fmt.Sprintf("u%d", i%3)),
		Identifiers:               []crmhub.Identifier{wa(fmt.Sprintf("+7999%07d", i))},
	}
	if i%2 == 0 {
		c.URI = ptr(fmt.Sprintf("https://crm.example.com/contacts/%d", i))
	}
	switch i % 4 {
	case 1:
		c.Identifiers = append(c.Identifiers, tg(fmt.Sprintf("user_%d", i)), ph(fmt.Sprintf("+7988%07d", i)))
	case 2:
		c.Identifiers = append(c.Identifiers, ig(fmt.Sprintf("insta.%d", i)))
	case 3:
		c.Identifiers = append(c.Identifiers, vk(fmt.Sprintf("id%d", i)))
	}
	return c
}

// invalidContact has a WhatsApp number too short for Wazzup.
func invalidContact(i int) connectors.RemoteContact {
	c := sampleContact(i)
	c.Identifiers = []crmhub.Identifier{wa("+7999")}
	return c
}

func sampleDeal(i int) connectors.RemoteDeal {
	status := crmhub.DealOpen
	if i%2 == 1 {
		status = crmhub.DealWon
	}
	return connectors.RemoteDeal{
		ExternalID:                strconv.Itoa(1000 + i),
		Name:                      ptr(fmt.Sprintf("Deal %d", i)),
		Status:                    &status,
		ResponsibleUserExternalID: ptr("u1"),
		ContactExternalIDs:        []string{fmt.Sprintf("c%04d", i)},
	}
}

// noResponsible returns n sample contacts without a responsible user.
func noResponsible(n int) []connectors.RemoteContact {
	out := make([]connectors.RemoteContact, n)
	for i := range out {
		out[i] = sampleContact(i)
		out[i].ResponsibleUserExternalID = nil
	}
	return out
}

func TestResponsibleFromOption(t *testing.T) {
	for _, opt := range []any{"m-7", float64(7), json.Number("7")} {
		t.Run(fmt.Sprintf("%T", opt), func(t *testing.T) {
			f := startFake(t, wazzuptest.Options{Users: []wazzuptest.User{{ID: "first", Name: "First"}}},
				map[string]any{OptionDefaultResponsibleUserID: opt})
			results, err := f.conn.UpsertContacts(t.Context(), noResponsible(2))
			if err != nil || results[0].Err != nil || results[1].Err != nil {
				t.Fatalf("upsert: %v %v", results, err)
			}
			want := fmt.Sprint(opt)
			for _, c := range f.s.Contacts() {
				if c.ResponsibleUserID != want {
					t.Errorf("contact %s: responsible %q, want the option's %q", c.ID, c.ResponsibleUserID, want)
				}
			}
			if n := f.s.Calls(wazzuptest.RouteListUsers); n != 0 {
				t.Errorf("%d user listings, want none when the option is set", n)
			}
		})
	}
	_, err := NewConnector(connectors.Config{Options: map[string]any{OptionDefaultResponsibleUserID: true}})
	if err == nil {
		t.Error("a boolean option was accepted")
	}
}

func TestResponsibleFallsBackToFirstUser(t *testing.T) {
	f := startFake(t, wazzuptest.Options{Users: []wazzuptest.User{{ID: "first", Name: "First"}, {ID: "second", Name: "Second"}}}, nil)
	ctx := t.Context()
	batch := noResponsible(3)
	batch[2].ResponsibleUserExternalID = ptr("second") // its own wins
	for range 2 {
		if results, err := f.conn.UpsertContacts(ctx, batch); err != nil || results[0].Err != nil {
			t.Fatalf("upsert: %v %v", results, err)
		}
	}
	got := map[string]string{}
	for _, c := range f.s.Contacts() {
		got[c.ID] = c.ResponsibleUserID
	}
	if want := map[string]string{"c0000": "first", "c0001": "first", "c0002": "second"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("responsible users %v, want %v", got, want)
	}
	if n := f.s.Calls(wazzuptest.RouteListUsers); n != 1 {
		t.Errorf("%d user listings for two upserts, want 1 (cached)", n)
	}

	// Records that all name their user need no lookup.
	g := startFake(t, wazzuptest.Options{}, nil)
	if _, err := g.conn.UpsertContacts(ctx, []connectors.RemoteContact{sampleContact(0)}); err != nil {
		t.Fatal(err)
	}
	if n := g.s.Calls(wazzuptest.RouteListUsers); n != 0 {
		t.Errorf("%d user listings, want none", n)
	}
}

func TestNoResponsibleAnywhereFailsThoseRecords(t *testing.T) {
	f := startFake(t, wazzuptest.Options{}, nil)
	batch := noResponsible(2)
	batch[0] = sampleContact(0)
	results, err := f.conn.UpsertContacts(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	var ie connectors.ItemError
	if results[0].Err != nil || !errors.As(results[1].Err, &ie) || ie.ID != "c0001" || fmt.Sprint(ie.Fields) != "[responsibleUserId]" {
		t.Errorf("results %v, want the record without a responsible user refused on responsibleUserId", results)
	}
	// No user was found: a user added later is picked up.
	f.s.PutUsers(wazzuptest.User{ID: "late", Name: "Late"})
	if results, err := f.conn.UpsertContacts(t.Context(), batch[1:]); err != nil || results[0].Err != nil {
		t.Errorf("after a user was added: %v %v", results, err)
	}
}

func TestUpsertContactsSeveralInvalid(t *testing.T) {
	f := startFake(t, wazzuptest.Options{}, nil)
	batch := make([]connectors.RemoteContact, 60)
	for i := range batch {
		batch[i] = sampleContact(i)
	}
	batch[3], batch[50] = invalidContact(3), invalidContact(50)
	results, err := f.conn.UpsertContacts(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, res := range results {
		var ie connectors.ItemError
		isBad := i == 3 || i == 50
		if isBad != errors.As(res.Err, &ie) || (isBad && (ie.Index != i || ie.ID != batch[i].ExternalID || ie.Code != CodeInvalidContactsData)) {
			t.Errorf("result %d = %#v", i, res)
		}
		// Wazzup keeps the CRM's ids: a record taken is reported under
		// the id sent, a refused one under none.
		if want := map[bool]string{false: batch[i].ExternalID, true: ""}[isBad]; res.ExternalID != want {
			t.Errorf("result %d: ExternalID %q, want %q", i, res.ExternalID, want)
		}
	}
	if n := len(f.s.Contacts()); n != 58 {
		t.Errorf("%d contacts stored, want 58", n)
	}
	if n := f.s.Calls(wazzuptest.RouteUpsertContacts); n != 2 {
		t.Errorf("%d upsert requests, want 2 (refused, then the valid rest)", n)
	}
}

func TestContactCursor(t *testing.T) {
	f := startFake(t, wazzuptest.Options{}, nil)
	f.Seed(t, []connectors.RemoteContact{sampleContact(0), sampleContact(1)})
	for _, bad := range []string{"x", "-1", "1.5"} {
		if _, err := f.conn.ListContacts(t.Context(), bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
	p, err := f.conn.ListContacts(t.Context(), "1")
	if err != nil || len(p.Items) != 1 || p.Items[0].ExternalID != "c0001" || p.Next != "" {
		t.Errorf("page at 1: %+v %v", p, err)
	}
}

func TestDeals(t *testing.T) {
	f := startFake(t, wazzuptest.Options{RequireKnownUsers: true, Users: []wazzuptest.User{{ID: "u1", Name: "U"}}}, nil)
	ctx := t.Context()
	ghost := sampleDeal(3)
	ghost.ResponsibleUserExternalID = ptr("ghost") // refused by the remote
	batch := []connectors.RemoteDeal{sampleDeal(0), {ExternalID: "deal-x"}, sampleDeal(2), ghost}
	results, err := f.conn.UpsertDeals(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	var ie, ie3 connectors.ItemError
	if results[0].Err != nil || results[2].Err != nil || !errors.As(results[1].Err, &ie) || ie.Index != 1 || ie.ID != "deal-x" ||
		!errors.As(results[3].Err, &ie3) || ie3.Index != 3 || ie3.ID != "1003" || fmt.Sprint(ie3.Fields) != "[responsibleUserId]" {
		t.Fatalf("results %v, want the non-numeric id refused here and the unknown user by the remote, at their input places", results)
	}
	if n := len(f.s.Deals()); n != 2 {
		t.Errorf("%d deals stored, want 2", n)
	}

	// Paging over 250 deals: three pages, ascending ids.
	for i := range 250 {
		f.s.PutDeals(wazzuptest.Deal{ID: int64(5000 + i), Name: "d"})
	}
	var ids []string
	cursor, pages := "", 0
	for {
		p, err := f.conn.ListDeals(ctx, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, d := range p.Items {
			ids = append(ids, d.ExternalID)
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(ids) != 252 || ids[0] != "1000" || ids[251] != "5249" || pages != 3 {
		t.Errorf("listed %d deals in %d pages, from %s to %s", len(ids), pages, ids[0], ids[len(ids)-1])
	}
	for _, r := range f.s.Requests() {
		if r.Route == wazzuptest.RouteListDeals && r.RawQuery != "offset=0&orderBy=id&orderDirection=asc" &&
			r.RawQuery != "offset=100&orderBy=id&orderDirection=asc" && r.RawQuery != "offset=200&orderBy=id&orderDirection=asc" {
			t.Errorf("deal listing query %q", r.RawQuery)
		}
	}

	missing, err := f.conn.DeleteDeals(ctx, []string{"1000", "deal-x", "999"})
	if err != nil || fmt.Sprint(missing) != "[deal-x 999]" {
		t.Errorf("delete: missing %q, %v", missing, err)
	}
	if _, ok := f.s.Deal(1000); ok {
		t.Error("deal 1000 still stored")
	}
}

func TestUsers(t *testing.T) {
	f := startFake(t, wazzuptest.Options{}, nil)
	ctx := t.Context()
	results, err := f.conn.UpsertUsers(ctx, []connectors.RemoteUser{{ExternalID: "u1", Name: "Ann"}, {ExternalID: "u2", Name: ""}})
	if err != nil {
		t.Fatal(err)
	}
	var ie connectors.ItemError
	if results[0].Err != nil || !errors.As(results[1].Err, &ie) || ie.Index != 1 {
		t.Errorf("results %v, want the nameless user refused alone", results)
	}
	p, err := f.conn.ListUsers(ctx, "")
	if err != nil || len(p.Items) != 1 || p.Items[0] != (connectors.RemoteUser{ExternalID: "u1", Name: "Ann"}) || p.Next != "" {
		t.Errorf("users: %+v %v", p, err)
	}
	if _, err := f.conn.ListUsers(ctx, "100"); err == nil {
		t.Error("a users cursor other than \"\" was accepted")
	}
}

// DeleteUsers deletes each user Wazzup has and reports the others
// missing, so that a hub user deletion reaches Wazzup once.
func TestDeleteUsers(t *testing.T) {
	f := startFake(t, wazzuptest.Options{Users: []wazzuptest.User{{ID: "u1", Name: "Ann"}, {ID: "u2", Name: "Bob"}}}, nil)
	missing, err := f.conn.DeleteUsers(t.Context(), []string{"u1", "u9"})
	if err != nil || len(missing) != 1 || missing[0] != "u9" {
		t.Fatalf("DeleteUsers = %v, %v; want u9 missing", missing, err)
	}
	if users := f.s.Users(); len(users) != 1 || users[0].ID != "u2" {
		t.Fatalf("users left: %+v", users)
	}
	ids := make([]string, MaxBatch+1)
	if _, err := f.conn.DeleteUsers(t.Context(), ids); !errors.Is(err, ErrBatchTooLarge) {
		t.Errorf("over the batch limit: error %v, want ErrBatchTooLarge", err)
	}
}

func TestDeleteContactsOverBatch(t *testing.T) {
	f := startFake(t, wazzuptest.Options{}, nil)
	ids := make([]string, MaxBatch+1)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	if _, err := f.conn.DeleteContacts(t.Context(), ids); !errors.Is(err, ErrBatchTooLarge) {
		t.Errorf("error %v, want ErrBatchTooLarge", err)
	}
	if _, err := f.conn.DeleteDeals(t.Context(), ids); !errors.Is(err, ErrBatchTooLarge) {
		t.Errorf("deals: error %v, want ErrBatchTooLarge", err)
	}
	if n := f.Requests(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

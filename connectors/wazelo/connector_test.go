package wazelo

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/internal/opt"
	"github.com/crmhub/crmhub/connectors/wazelo/wazelotest"
)

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Start:          func(t *testing.T) connectortest.Fake { return startFake(t, wazelotest.Options{}) },
		Contact:        sampleContact,
		InvalidContact: invalidContact,
	})
}

// TestConformanceRemoteAssignsIDs runs the suite against a Wazelo that
// gives new contacts ids of its own: the connector reports them.
func TestConformanceRemoteAssignsIDs(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Start:          func(t *testing.T) connectortest.Fake { return startFake(t, wazelotest.Options{AssignIDs: true}) },
		Contact:        sampleContact,
		InvalidContact: invalidContact,
	})
}

// A remote that assigns its own ids: the create is reported under the id
// it gave, and a write by that id updates the same contact.
func TestCreateReportsTheAssignedID(t *testing.T) {
	f := startFake(t, wazelotest.Options{AssignIDs: true})
	rc := sampleContact(0)
	results, err := f.conn.UpsertContacts(t.Context(), []connectors.RemoteContact{rc})
	if err != nil || results[0].Err != nil {
		t.Fatalf("upsert: %v %v", results, err)
	}
	stored := f.s.Contacts()
	if len(stored) != 1 || stored[0].ID == rc.ExternalID || results[0].ExternalID != stored[0].ID {
		t.Fatalf("reported %q; stored %+v", results[0].ExternalID, stored)
	}
	rc.ExternalID, rc.Name = results[0].ExternalID, ptr("Renamed")
	results, err = f.conn.UpsertContacts(t.Context(), []connectors.RemoteContact{rc})
	if err != nil || results[0].Err != nil || results[0].ExternalID != stored[0].ID {
		t.Fatalf("update: %v %v", results, err)
	}
	if stored := f.s.Contacts(); len(stored) != 1 || opt.Deref(stored[0].Name) != "Renamed" {
		t.Errorf("after the update by the reported id: %+v", stored)
	}
}

// fake is a wazelotest server seen in domain terms, for connectortest.
type fake struct {
	connectortest.ServerFake
	s    *wazelotest.Server
	conn *Connector
}

// startFake starts a fake with opts and a connector pointed at it.
func startFake(t *testing.T, opts wazelotest.Options) *fake {
	s := wazelotest.NewServer(t, opts)
	good, bad := connectortest.Connectors(t, NewConnector, connectors.Config{BaseURL: s.BaseURL, APIKey: s.APIKey(), HTTPClient: s.Client()})
	f := &fake{s: s, conn: good.(*Connector)}
	f.ServerFake = connectortest.ServerFake{Conn: good, Bad: bad, Put: f.seed, Get: f.stored, Fail: f.fail, Total: s.Total}
	return f
}

// connectorFor returns a connector that uses s with key.
func connectorFor(s *wazelotest.Server, key string) *Connector {
	c, err := NewConnector(connectors.Config{BaseURL: s.BaseURL, APIKey: key, HTTPClient: s.Client()})
	if err != nil {
		panic(err) // NewConnector refuses no config
	}
	return c.(*Connector)
}

// seed stores contacts through the JSON shape the API carries.
func (f *fake) seed(t *testing.T, contacts []connectors.RemoteContact) {
	f.s.PutContacts(connectortest.ToFake[wazelotest.Contact](t, contacts, func(rc connectors.RemoteContact) Contact {
		w := contactToWire(rc)
		w.ID = rc.ExternalID
		return w
	})...)
}

func (f *fake) stored(t *testing.T) []connectors.RemoteContact {
	return connectortest.FromFake(t, f.s.Contacts(), contactFromWire)
}

// fail answers the next request with status and, when not empty,
// retryAfter.
func (f *fake) fail(status int, retryAfter string) {
	f.s.InjectNext(wazelotest.Fault{Status: status, RetryAfter: retryAfter})
}

// sampleContact is a contact Wazelo keeps in full: a WhatsApp number, an
// email on every other one, tags and custom fields.
func sampleContact(i int) connectors.RemoteContact {
	c := connectors.RemoteContact{
		ExternalID:   fmt.Sprintf("cnt_s%04d", i),
		Name:         ptr(fmt.Sprintf("Contact %d", i)),
		Identifiers:  []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: fmt.Sprintf("+91987%07d", i)}},
		Tags:         []string{"lead"},
		CustomFields: map[string]any{"city": "Pune"},
	}
	if i%2 == 0 {
		c.Identifiers = append(c.Identifiers, crmhub.Identifier{Type: crmhub.IdentityEmail, Value: fmt.Sprintf("c%d@example.com", i)})
	}
	return c
}

// invalidContact has a phone number too short for Wazelo.
func invalidContact(i int) connectors.RemoteContact {
	c := sampleContact(i)
	c.Identifiers = []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "+9199"}}
	return c
}

func ptr[T any](v T) *T { return &v }

func TestDuplicatePhoneUpdatesTheExistingContact(t *testing.T) {
	f := startFake(t, wazelotest.Options{})
	// The remote already has the number under its own id, and another
	// contact whose number contains it, which the search also finds.
	f.s.PutContacts(
		wazelotest.Contact{ID: "cnt_other", Phone: "1919876543210"},
		wazelotest.Contact{ID: "cnt_01HX4K9", Phone: "919876543210", Name: ptr("Old name")},
	)
	rc := sampleContact(1)
	rc.ExternalID = "contact_hub1"
	rc.Identifiers = []crmhub.Identifier{{Type: crmhub.IdentityPhone, Value: "+91 98765 43210"}}
	results, err := f.conn.UpsertContacts(t.Context(), []connectors.RemoteContact{rc})
	if err != nil || results[0].Err != nil {
		t.Fatalf("upsert: %v %v", results, err)
	}
	if results[0].ExternalID != "cnt_01HX4K9" {
		t.Errorf("reported %q, want the id of the contact that has the phone", results[0].ExternalID)
	}
	got, _ := f.s.Contact("cnt_01HX4K9")
	if opt.Deref(got.Name) != "Contact 1" || got.Phone != "919876543210" {
		t.Errorf("existing contact after upsert: %+v", got)
	}
	if other, _ := f.s.Contact("cnt_other"); other.Name != nil {
		t.Errorf("the contact the search also found was changed: %+v", other)
	}
	if n := len(f.s.Contacts()); n != 2 {
		t.Errorf("%d contacts, want 2: no new one", n)
	}
	var routes []string
	for _, r := range f.s.Requests() {
		routes = append(routes, fmt.Sprint(r.Route, " ", r.Status))
	}
	want := []string{
		wazelotest.RouteUpdateContact + " 404",
		wazelotest.RouteCreateContact + " 409",
		wazelotest.RouteListContacts + " 200",
		wazelotest.RouteUpdateContact + " 200",
	}
	connectortest.WantEqual(t, "requests", routes, want)
	if q := f.s.Requests()[2].RawQuery; q != "limit=100&page=1&search=919876543210" {
		t.Errorf("search query %q", q)
	}
}

func TestConflictWithoutMatchFailsTheRecord(t *testing.T) {
	// A 409 whose phone the search cannot find (a conflicting id, say)
	// fails that record alone.
	f := startFake(t, wazelotest.Options{Inject: func(route string, _ int) *wazelotest.Fault {
		if route == wazelotest.RouteCreateContact {
			return &wazelotest.Fault{Status: 409, Message: "A contact with ID cnt_s0000 already exists"}
		}
		return nil
	}})
	batch := []connectors.RemoteContact{sampleContact(0), sampleContact(1)}
	batch[1].Identifiers = nil // no phone: no search either
	results, err := f.conn.UpsertContacts(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, res := range results {
		ie := connectortest.ErrorAs[connectors.ItemError](t, res.Err)
		if ie.Index != i || ie.ID != batch[i].ExternalID || ie.Code != CodeConflict {
			t.Errorf("result %d: %+v", i, ie)
		}
	}
	if n := f.s.Calls(wazelotest.RouteListContacts); n != 1 {
		t.Errorf("%d searches, want 1 (only the record with a phone)", n)
	}
}

func TestUpdateToAnotherContactsPhoneFails(t *testing.T) {
	f := startFake(t, wazelotest.Options{})
	f.Seed(t, []connectors.RemoteContact{sampleContact(0), sampleContact(1)})
	rc := sampleContact(0)
	rc.Identifiers = sampleContact(1).Identifiers
	results, err := f.conn.UpsertContacts(t.Context(), []connectors.RemoteContact{rc})
	if err != nil {
		t.Fatal(err)
	}
	if ie := connectortest.ErrorAs[connectors.ItemError](t, results[0].Err); ie.Code != CodeConflict {
		t.Errorf("got %+v, want CONFLICT", ie)
	}
}

func TestInvalidRecordNamesItsFields(t *testing.T) {
	f := startFake(t, wazelotest.Options{})
	rc := sampleContact(0)
	rc.Identifiers = []crmhub.Identifier{{Type: crmhub.IdentityEmail, Value: "no-phone@example.com"}}
	results, err := f.conn.UpsertContacts(t.Context(), []connectors.RemoteContact{sampleContact(1), rc})
	if err != nil {
		t.Fatal(err)
	}
	ie := connectortest.ErrorAs[connectors.ItemError](t, results[1].Err)
	connectortest.WantEqual(t, "item error", ie, connectors.ItemError{Index: 1, ID: "cnt_s0000", Code: CodeValidation,
		Fields: []string{"phone"}, Message: "Request body failed validation"})
	if results[0].Err != nil {
		t.Errorf("the valid record failed: %v", results[0])
	}
}

func TestRateLimitMidBatchEndsTheCall(t *testing.T) {
	ctx := t.Context()
	batch := []connectors.RemoteContact{sampleContact(0), sampleContact(1), sampleContact(2)}
	// Record 0 costs two requests (404, create); record 1's update is
	// refused.
	f := startFake(t, wazelotest.Options{Inject: func(_ string, n int) *wazelotest.Fault {
		if n == 3 {
			return &wazelotest.Fault{Status: 429, RetryAfter: "5"}
		}
		return nil
	}})
	results, err := f.conn.UpsertContacts(ctx, batch)
	if rl := connectortest.ErrorAs[*connectors.RateLimitError](t, err); rl.RetryAfter != 5*time.Second || results != nil {
		t.Errorf("got %v %v", results, rl)
	}
	if n := len(f.s.Contacts()); n != 1 {
		t.Errorf("%d contacts stored, want the one before the 429", n)
	}
	// The engine's retry writes the whole batch again, harmlessly.
	results, err = f.conn.UpsertContacts(ctx, batch)
	if err != nil || results[0].Err != nil || results[1].Err != nil || results[2].Err != nil {
		t.Fatalf("retry: %v %v", results, err)
	}
	if n := len(f.s.Contacts()); n != 3 {
		t.Errorf("%d contacts after the retry, want 3", n)
	}
}

func TestListContactsCursorAndTotal(t *testing.T) {
	f := startFake(t, wazelotest.Options{})
	seeded := make([]connectors.RemoteContact, 205)
	for i := range seeded {
		seeded[i] = sampleContact(i)
	}
	f.Seed(t, seeded)
	var cursors []string
	n := 0
	for cursor := ""; ; {
		p, err := f.conn.ListContacts(t.Context(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 205 {
			t.Errorf("cursor %q: Total %d", cursor, p.Total)
		}
		n += len(p.Items)
		cursors = append(cursors, p.Next)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	connectortest.WantEqual(t, "cursors", cursors, []string{"2", "3", ""})
	if n != 205 {
		t.Errorf("%d listed", n)
	}
	p, err := f.conn.ListContacts(t.Context(), "3")
	if err != nil || len(p.Items) != 5 || p.Items[4].ExternalID != "cnt_s0204" {
		t.Errorf("page 3: %d items, %v", len(p.Items), err)
	}
	for _, bad := range []string{"0", "-1", "x", "1.5"} {
		if _, err := f.conn.ListContacts(t.Context(), bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

func TestHasNext(t *testing.T) {
	tests := []struct {
		page, n int
		meta    *Meta
		want    bool
	}{
		{1, 100, &Meta{Page: 1, Limit: 100, Total: 250}, true},
		{3, 50, &Meta{Page: 3, Limit: 100, Total: 250}, false},
		{2, 100, &Meta{Page: 2, Limit: 100, Total: 200}, false},
		// The remote capped the limit at 50: page 4 of 250 still follows.
		{3, 50, &Meta{Page: 3, Limit: 50, Total: 250}, true},
		// Without meta, a full page means more may follow.
		{1, 100, nil, true},
		{1, 99, nil, false},
		{1, 0, &Meta{Total: 10}, false},
	}
	for _, tt := range tests {
		if got := hasNext(tt.page, tt.n, tt.meta); got != tt.want {
			t.Errorf("hasNext(%d, %d, %+v) = %v", tt.page, tt.n, tt.meta, got)
		}
	}
}

func TestOverBatchSendsNothing(t *testing.T) {
	f := startFake(t, wazelotest.Options{})
	ids := make([]string, MaxBatch+1)
	if _, err := f.conn.DeleteContacts(t.Context(), ids); !errors.Is(err, ErrBatchTooLarge) {
		t.Errorf("delete: %v", err)
	}
	if _, err := f.conn.UpsertContacts(t.Context(), make([]connectors.RemoteContact, MaxBatch+1)); !errors.Is(err, ErrBatchTooLarge) {
		t.Errorf("upsert: %v", err)
	}
	if n := f.s.Total(); n != 0 {
		t.Errorf("%d requests", n)
	}
}

func TestDeleteStopsAtAnOtherError(t *testing.T) {
	f := startFake(t, wazelotest.Options{Inject: func(_ string, n int) *wazelotest.Fault {
		if n == 2 {
			return &wazelotest.Fault{Status: 500}
		}
		return nil
	}})
	f.Seed(t, []connectors.RemoteContact{sampleContact(0), sampleContact(1)})
	missing, err := f.conn.DeleteContacts(t.Context(), []string{"cnt_s0000", "cnt_s0001"})
	if te := connectortest.ErrorAs[*connectors.TransientError](t, err); te.Status != 500 || missing != nil {
		t.Errorf("got %v %+v", missing, te)
	}
	missing, err = f.conn.DeleteContacts(t.Context(), []string{"", "cnt_s0000", "cnt_s0001"})
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "missing on the repeat", missing, []string{"", "cnt_s0000"})
	if n := len(f.s.Contacts()); n != 0 {
		t.Errorf("%d contacts left", n)
	}
}

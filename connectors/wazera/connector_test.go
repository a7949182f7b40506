package wazera

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
)

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Start:          startFake,
		Contact:        sampleContact,
		InvalidContact: invalidContact,
	})
}

// fake is a wazeratest server seen in domain terms, for connectortest.
// It enforces the Enterprise plan and the connector paces for it, with
// the real clock: the suite's batches fit in the limiter's burst.
type fake struct {
	connectortest.ServerFake
	s *wazeratest.Server
}

func startFake(t *testing.T) connectortest.Fake {
	s := wazeratest.NewServer(t, wazeratest.Options{Plan: string(PlanEnterprise)})
	good, bad := connectortest.Connectors(t, NewConnector, connectors.Config{BaseURL: s.URL, APIKey: s.APIKey(),
		HTTPClient: s.Client(), Options: map[string]any{OptionPlan: "Enterprise"}})
	f := &fake{s: s}
	f.ServerFake = connectortest.ServerFake{Conn: good, Bad: bad, Put: f.seed, Get: f.stored, Fail: f.fail, Total: s.Total}
	return f
}

// seed stores contacts under their external ids, which are Wazera ids.
func (f *fake) seed(t *testing.T, contacts []connectors.RemoteContact) {
	f.s.PutContacts(connectortest.ToFake[wazeratest.Contact](t, contacts, func(rc connectors.RemoteContact) Contact {
		w := contactToWire(rc)
		w.ID = ID(rc.ExternalID)
		return w
	})...)
}

func (f *fake) stored(t *testing.T) []connectors.RemoteContact {
	return connectortest.FromFake(t, f.s.Contacts(), contactFromWire)
}

// fail answers the next request with status and, when not empty,
// retryAfter.
func (f *fake) fail(status int, retryAfter string) {
	f.s.InjectNext(wazeratest.Fault{Status: status, RetryAfter: retryAfter})
}

// sampleContact is a contact Wazera keeps in full: a Wazera id (so that
// Seed can store it; an upsert finds no such contact and creates it under
// a new id, which it reports), a name, a WhatsApp number and, for odd i,
// an email.
func sampleContact(i int) connectors.RemoteContact {
	c := connectors.RemoteContact{
		ExternalID:   strconv.Itoa(100000 + i),
		Name:         ptr(fmt.Sprintf("Contact %d", i)),
		Identifiers:  []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: fmt.Sprintf("+7999%07d", i)}},
		Tags:         []string{"customer"},
		CustomFields: map[string]any{"company": fmt.Sprintf("Acme %d", i)},
	}
	if i%2 == 1 {
		c.Identifiers = append(c.Identifiers, crmhub.Identifier{Type: crmhub.IdentityEmail, Value: fmt.Sprintf("c%d@example.com", i)})
	}
	return c
}

// invalidContact has no phone, which Wazera requires.
func invalidContact(i int) connectors.RemoteContact {
	c := sampleContact(i)
	c.Identifiers = []crmhub.Identifier{{Type: crmhub.IdentityEmail, Value: "nophone@example.com"}}
	return c
}

func TestUpsertUpdatesAKnownWazeraID(t *testing.T) {
	c, s := newTestConnector(t, wazeratest.Options{}, nil)
	seeded := s.PutContacts(wazeratest.Contact{Name: ptr("Old"), Phone: "+79990000001", Tags: []string{"old"}})
	id := strconv.FormatInt(seeded[0].ID, 10)
	rc := sampleContact(1)
	rc.ExternalID = id
	results, err := c.UpsertContacts(t.Context(), []connectors.RemoteContact{rc})
	if err != nil || results[0].Err != nil || results[0].ExternalID != id {
		t.Fatalf("upsert: %+v %v, want it reported as %s", results, err, id)
	}
	wantCalls(t, s, map[string]int{wazeratest.RouteUpdateContact: 1})
	got, _ := s.Contact(seeded[0].ID)
	if *got.Name != "Contact 1" || got.Phone != "+79990000001" || *got.Email != "c1@example.com" ||
		!slices.Equal(got.Tags, []string{"customer"}) || !reflect.DeepEqual(got.CustomFields, map[string]any{"company": "Acme 1"}) {
		t.Errorf("stored %+v", got)
	}
}

func TestUpsertOfAGoneWazeraIDCreatesIt(t *testing.T) {
	c, s := newTestConnector(t, wazeratest.Options{}, nil)
	rc := sampleContact(0)
	rc.ExternalID = "77"
	results, err := c.UpsertContacts(t.Context(), []connectors.RemoteContact{rc})
	if err != nil || results[0].Err != nil {
		t.Fatalf("upsert: %v %v", results, err)
	}
	wantCalls(t, s, map[string]int{wazeratest.RouteUpdateContact: 1, wazeratest.RouteCreateContact: 1})
	stored := s.Contacts()
	if len(stored) != 1 || results[0].ExternalID != strconv.FormatInt(stored[0].ID, 10) || results[0].ExternalID == "77" {
		t.Fatalf("reported %q; stored %+v", results[0].ExternalID, stored)
	}
	p, err := c.ListContacts(t.Context(), "")
	if err != nil || len(p.Items) != 1 || p.Items[0].ExternalID != results[0].ExternalID {
		t.Fatalf("listed %+v %v, want the contact under its new id", p.Items, err)
	}
}

// A first push (the hub's ids) creates each record without looking for
// it, reports Wazera's ids and sends nothing of the hub's id; a write by
// the id reported updates the record.
func TestCreateReportsWazeraIDs(t *testing.T) {
	c, s := newTestConnector(t, wazeratest.Options{}, nil)
	ctx := t.Context()
	batch := []connectors.RemoteContact{sampleContact(0), sampleContact(1), sampleContact(2)}
	for i := range batch {
		batch[i].ExternalID = fmt.Sprintf("contact_%04d", i)
	}
	results, err := c.UpsertContacts(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls(t, s, map[string]int{wazeratest.RouteCreateContact: 3})
	stored := s.Contacts()
	for i, res := range results {
		if res.Err != nil || res.ExternalID != strconv.FormatInt(stored[i].ID, 10) {
			t.Errorf("result %d = %+v, want Wazera id %d", i, res, stored[i].ID)
		}
		if !reflect.DeepEqual(stored[i].CustomFields, batch[i].CustomFields) {
			t.Errorf("contact %d custom fields %v, want the record's only", i, stored[i].CustomFields)
		}
	}
	changed := sampleContact(9)
	changed.ExternalID = results[1].ExternalID
	if res, err := c.UpsertContacts(ctx, []connectors.RemoteContact{changed}); err != nil || res[0].ExternalID != changed.ExternalID {
		t.Fatalf("update: %v %v", res, err)
	}
	wantCalls(t, s, map[string]int{wazeratest.RouteCreateContact: 3, wazeratest.RouteUpdateContact: 1})
	if stored := s.Contacts(); len(stored) != 3 || *stored[1].Name != "Contact 9" {
		t.Errorf("after the update: %+v", stored)
	}
}

func TestWholeRequestErrorStopsTheBatch(t *testing.T) {
	// Request 1 is the first create, 2 the second.
	c, s := newTestConnector(t, wazeratest.Options{Inject: func(_ string, n int) *wazeratest.Fault {
		if n == 2 {
			return &wazeratest.Fault{Status: 503}
		}
		return nil
	}}, nil)
	batch := []connectors.RemoteContact{sampleContact(0), sampleContact(1), sampleContact(2)}
	for i := range batch {
		batch[i].ExternalID = fmt.Sprintf("contact_%04d", i)
	}
	results, err := c.UpsertContacts(t.Context(), batch)
	connectortest.ErrorAs[*connectors.TransientError](t, err)
	if results != nil {
		t.Errorf("results %v with a whole-request error", results)
	}
	if n := len(s.Contacts()); n != 1 {
		t.Fatalf("%d contacts stored before the 503, want 1", n)
	}
	// The engine's resend of the batch updates what was written.
	results, err = c.UpsertContacts(t.Context(), batch)
	if err != nil || slices.ContainsFunc(results, func(r connectors.UpsertResult) bool { return r.Err != nil }) {
		t.Fatalf("retry: %v %v", results, err)
	}
	stored := s.Contacts()
	if len(stored) != 3 {
		t.Errorf("%d contacts stored after the retry, want 3 (no duplicates)", len(stored))
	}
	for i, res := range results {
		if i < len(stored) && res.ExternalID != strconv.FormatInt(stored[i].ID, 10) {
			t.Errorf("result %d reported %q, want %d", i, res.ExternalID, stored[i].ID)
		}
	}
	wantCalls(t, s, map[string]int{wazeratest.RouteCreateContact: 4, wazeratest.RouteUpdateContact: 1})
}

func TestListContactsPagesByNumber(t *testing.T) {
	c, s := newTestConnector(t, wazeratest.Options{}, nil)
	for i := range 150 {
		s.PutContacts(wazeratest.Contact{Phone: fmt.Sprintf("+7999%07d", i)})
	}
	p, err := c.ListContacts(t.Context(), "")
	if err != nil || len(p.Items) != 100 || p.Next != "2" || p.Total != 150 {
		t.Fatalf("page 1: %d items, Next %q, Total %d, %v", len(p.Items), p.Next, p.Total, err)
	}
	if p.Items[0].ExternalID != "1" || p.Items[0].Name != nil {
		t.Errorf("first item %+v, want Wazera id 1 and no name", p.Items[0])
	}
	p, err = c.ListContacts(t.Context(), "2")
	if err != nil || len(p.Items) != 50 || p.Next != "" {
		t.Fatalf("page 2: %d items, Next %q, %v", len(p.Items), p.Next, err)
	}
	if q := s.Requests()[1].RawQuery; q != "page=2&per_page=100" {
		t.Errorf("query %q", q)
	}
	for _, bad := range []string{"0", "-1", "x"} {
		if _, err := c.ListContacts(t.Context(), bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

func TestDeleteByWazeraID(t *testing.T) {
	c, s := newTestConnector(t, wazeratest.Options{}, nil)
	seeded := s.PutContacts(wazeratest.Contact{Phone: "+79990000001"}, wazeratest.Contact{Phone: "+79990000002"})
	id := strconv.FormatInt(seeded[0].ID, 10)
	missing, err := c.DeleteContacts(t.Context(), []string{id, "999", "contact_0001"})
	if err != nil || !slices.Equal(missing, []string{"999", "contact_0001"}) {
		t.Fatalf("missing %v, %v", missing, err)
	}
	if stored := s.Contacts(); len(stored) != 1 || stored[0].ID != seeded[1].ID {
		t.Errorf("stored %+v", stored)
	}
}

func TestConnectorOptions(t *testing.T) {
	tests := []struct {
		opts    map[string]any
		ok      bool
		account int64
	}{
		{nil, true, 0},
		{map[string]any{OptionPlan: "professional", OptionWhatsAppAccountID: float64(3)}, true, 3},
		{map[string]any{OptionWhatsAppAccountID: "4"}, true, 4},
		{map[string]any{OptionWhatsAppAccountID: json.Number("5")}, true, 5},
		{map[string]any{OptionPlan: "gold"}, false, 0},
		{map[string]any{OptionPlan: 2}, false, 0},
		{map[string]any{OptionWhatsAppAccountID: 1.5}, false, 0},
		{map[string]any{OptionWhatsAppAccountID: "x"}, false, 0},
		{map[string]any{OptionWhatsAppAccountID: true}, false, 0},
	}
	for _, tt := range tests {
		c, err := newConnector(connectors.Config{Options: tt.opts}, Config{})
		if (err == nil) != tt.ok || (err == nil && c.accountID != tt.account) {
			t.Errorf("%v: %v", tt.opts, err)
		}
	}
	c, _ := newConnector(connectors.Config{Options: map[string]any{OptionPlan: "Professional"}}, Config{})
	if got := c.client.limiter.Burst(); got != 50 {
		t.Errorf("professional burst %d, want 50", got)
	}
}

// wantCalls fails unless the fake counted exactly calls per route.
func wantCalls(t *testing.T, s *wazeratest.Server, calls map[string]int) {
	t.Helper()
	connectortest.WantEqual(t, "calls", s.CallCounts(), calls)
}

package wazapin

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
)

// A record whose phone is known to Wazapin updates that contact (no
// create), which keeps its ids: the record is reported under Wazapin's id,
// the one the next pull lists it under.
func TestUpsertResolvesByIdentifier(t *testing.T) {
	f := startFake(t, wazapintest.Options{Contacts: []wazapintest.Contact{
		{ID: "cnt_1", PhoneNumber: "+6281234567890", Name: "Old", Tags: []string{"VIP"}},
	}})
	rc := sampleContact(1)
	rc.ExternalID = "contact_hub1"
	rc.Identifiers[0].Value = "+62 812-3456-7890"
	rc.Tags = []string{"vip", "new", "new"}
	res, err := f.conn.UpsertContacts(t.Context(), []connectors.RemoteContact{rc})
	if err != nil || res[0].Err != nil || res[0].ExternalID != "cnt_1" {
		t.Fatalf("upsert: %+v %v, want it reported as cnt_1", res, err)
	}
	if n := f.s.Calls(wazapintest.RouteCreateContact); n != 0 {
		t.Errorf("%d creates, want none", n)
	}
	got, _ := f.s.Contact("cnt_1")
	if got.Name != "Contact 1" || got.Email != "c1@example.com" || got.ExternalSource != "" || got.ExternalID != "" {
		t.Errorf("stored %+v", got)
	}
	connectortest.WantEqual(t, "tags", got.Tags, []string{"VIP", "new"})

	// The next pull lists it under the id reported.
	p, err := f.conn.ListContacts(t.Context(), "")
	if err != nil || len(p.Items) != 1 || p.Items[0].ExternalID != "cnt_1" {
		t.Fatalf("pull: %+v, %v", p.Items, err)
	}
}

// A contact found by its phone that has another source's external id
// keeps it, and is reported under Wazapin's id, which the next pull lists.
func TestUpsertMatchedByPhoneKeepsItsExternalID(t *testing.T) {
	f := startFake(t, wazapintest.Options{Contacts: []wazapintest.Contact{
		{ID: "cnt_9", PhoneNumber: "+628120000001", ExternalSource: "shopify", ExternalID: "cust_9"},
	}})
	rc := sampleContact(1)
	rc.ExternalID = "contact_hub9"
	res, err := f.conn.UpsertContacts(t.Context(), []connectors.RemoteContact{rc})
	if err != nil || res[0].Err != nil || res[0].ExternalID != "cnt_9" {
		t.Fatalf("upsert: %+v %v, want it reported as cnt_9", res, err)
	}
	if got, _ := f.s.Contact("cnt_9"); got.ExternalSource != "shopify" || got.ExternalID != "cust_9" {
		t.Errorf("stored %+v", got)
	}
	p, err := f.conn.ListContacts(t.Context(), "")
	if err != nil || len(p.Items) != 1 || p.Items[0].ExternalID != "cnt_9" {
		t.Fatalf("pull: %+v, %v", p.Items, err)
	}
	// A push by the id reported finds it again.
	rc.ExternalID, rc.Name = "cnt_9", ptr("Nine")
	res, err = f.conn.UpsertContacts(t.Context(), []connectors.RemoteContact{rc})
	if err != nil || res[0].Err != nil || res[0].ExternalID != "cnt_9" || len(f.s.Contacts()) != 1 {
		t.Fatalf("second upsert: %+v %v; %d contacts", res, err, len(f.s.Contacts()))
	}
}

// A contact first pulled from Wazapin is pushed back by its Wazapin id and
// keeps its other source's external id.
func TestUpsertByRemoteID(t *testing.T) {
	f := startFake(t, wazapintest.Options{Contacts: []wazapintest.Contact{
		{ID: "cnt_7", Email: "old@example.com", ExternalSource: "shopify", ExternalID: "cust_7"},
	}})
	rc := connectors.RemoteContact{ExternalID: "cnt_7", Name: ptr("Seven")}
	if res, err := f.conn.UpsertContacts(t.Context(), []connectors.RemoteContact{rc}); err != nil || res[0].Err != nil ||
		res[0].ExternalID != "cnt_7" {
		t.Fatalf("upsert: %+v %v", res, err)
	}
	got, _ := f.s.Contact("cnt_7")
	if got.Name != "Seven" || got.ExternalSource != "shopify" || got.ExternalID != "cust_7" || len(f.s.Contacts()) != 1 {
		t.Errorf("stored %+v", got)
	}
}

// A new record is created with the crmhub external id and its tags.
func TestUpsertCreates(t *testing.T) {
	f := startFake(t, wazapintest.Options{})
	rc := sampleContact(2)
	rc.Tags = []string{"a", "b"}
	rc.CustomFields = map[string]any{"tier": "gold"}
	if res, err := f.conn.UpsertContacts(t.Context(), []connectors.RemoteContact{rc}); err != nil || res[0].Err != nil ||
		res[0].ExternalID != rc.ExternalID {
		t.Fatalf("upsert: %+v %v, want it reported under its crmhub external id", res, err)
	}
	cs := f.s.Contacts()
	if len(cs) != 1 || cs[0].ExternalSource != ExternalSource || cs[0].ExternalID != rc.ExternalID ||
		cs[0].PhoneNumber != "+628120000002" || cs[0].CustomFields["tier"] != "gold" {
		t.Fatalf("stored %+v", cs)
	}
	connectortest.WantEqual(t, "tags", cs[0].Tags, []string{"a", "b"})
	if n := f.s.Calls(wazapintest.RouteListTags); n != 0 {
		t.Errorf("a new contact's tags were read %d times", n)
	}
}

// Identifiers on two contacts fail that record alone with
// IDENTITY_CONFLICT.
func TestUpsertIdentityConflict(t *testing.T) {
	f := startFake(t, wazapintest.Options{Contacts: []wazapintest.Contact{
		{ID: "cnt_a", PhoneNumber: "+628120000001"},
		{ID: "cnt_b", Email: "c1@example.com"},
		{ID: "cnt_c", PhoneNumber: "+628120000009", ExternalSource: ExternalSource, ExternalID: "contact_c"},
	}})
	// Its id finds cnt_c, its WhatsApp number cnt_a.
	moved := connectors.RemoteContact{ExternalID: "contact_c", Identifiers: []crmhub.Identifier{
		{Type: crmhub.IdentityWhatsApp, Value: "+628120000001"}}}
	items := []connectors.RemoteContact{sampleContact(0), sampleContact(1), sampleContact(3)}
	items[0] = moved
	res, err := f.conn.UpsertContacts(t.Context(), items)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false} {
		var ie connectors.ItemError
		if got := errors.As(res[i].Err, &ie); got != want {
			t.Errorf("result %d = %v, want an ItemError: %v", i, res[i], want)
			continue
		}
		if want && (ie.Code != CodeIdentityConflict || ie.Index != i || ie.ID != items[i].ExternalID) {
			t.Errorf("result %d = %+v", i, ie)
		}
	}
	if c, _ := f.s.Contact("cnt_c"); c.PhoneNumber != "+628120000009" {
		t.Errorf("the conflicting record changed cnt_c: %+v", c)
	}
	if len(f.s.Contacts()) != 4 {
		t.Errorf("%d contacts, want the 3 seeded and 1 created", len(f.s.Contacts()))
	}
}

// A 429 in the middle of a batch stops it; resending the batch creates
// nothing twice.
func TestUpsertRateLimitedMidBatch(t *testing.T) {
	n := 0
	f := startFake(t, wazapintest.Options{Inject: func(route string, _ int) *wazapintest.Fault {
		if route == wazapintest.RouteCreateContact {
			if n++; n == 3 {
				return &wazapintest.Fault{Status: 429, RetryAfter: "1"}
			}
		}
		return nil
	}})
	items := samplesOf(0, 5)
	_, err := f.conn.UpsertContacts(t.Context(), items)
	if rl := connectortest.ErrorAs[*connectors.RateLimitError](t, err); rl.RetryAfter != time.Second {
		t.Errorf("RetryAfter %s", rl.RetryAfter)
	}
	if got := len(f.s.Contacts()); got != 2 {
		t.Errorf("%d contacts stored before the 429, want 2", got)
	}
	res, err := f.conn.UpsertContacts(t.Context(), items)
	if err != nil || slices.ContainsFunc(res, func(r connectors.UpsertResult) bool { return r.Err != nil }) {
		t.Fatalf("resend: %v %v", res, err)
	}
	if got := len(f.s.Contacts()); got != 5 {
		t.Errorf("%d contacts after the resend, want 5", got)
	}
}

func TestPullDetails(t *testing.T) {
	f := startFake(t, wazapintest.Options{Contacts: []wazapintest.Contact{{
		ID: "cnt_1", PhoneNumber: "+6281234567890", Name: "Ujang",
		Identities: []wazapintest.Identity{{Type: "whatsapp", Value: "+6281234567891"}, {Type: "telegram", Value: "ujang"}},
		Tags:       []string{"vip"},
	}}})
	p, err := f.conn.ListContacts(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	want := connectors.RemoteContact{ExternalID: "cnt_1", Name: ptr("Ujang"), Tags: []string{"vip"}, Identifiers: []crmhub.Identifier{
		{Type: crmhub.IdentityPhone, Value: "+6281234567890"},
		{Type: crmhub.IdentityWhatsApp, Value: "+6281234567891"},
		{Type: crmhub.IdentityTelegram, Value: "ujang"},
	}}
	got := p.Items[0]
	got.UpdatedAt = nil
	connectortest.WantEqual(t, "pulled", got, want)
	if p.Items[0].UpdatedAt == nil || p.Total != 1 || p.Next != "" {
		t.Errorf("page %+v", p)
	}
}

func TestListCursor(t *testing.T) {
	f := startFake(t, wazapintest.Options{})
	f.Seed(t, samplesOf(0, 201))
	var pages []string
	for cursor := ""; ; {
		p, err := f.conn.ListContacts(t.Context(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, cursor)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	connectortest.WantEqual(t, "cursors", pages, []string{"", "2", "3"})
	for _, bad := range []string{"0", "x", "-1", "c:"} {
		if _, err := f.conn.ListContacts(t.Context(), bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

func TestDeleteByEitherID(t *testing.T) {
	f := startFake(t, wazapintest.Options{Contacts: []wazapintest.Contact{
		{ID: "cnt_1", PhoneNumber: "+628120000001"},
		{ID: "cnt_2", PhoneNumber: "+628120000002", ExternalSource: ExternalSource, ExternalID: "contact_2"},
		{ID: "cnt_3", PhoneNumber: "+628120000003"},
	}})
	missing, err := f.conn.DeleteContacts(t.Context(), []string{"cnt_1", "contact_2", "cnt_9", ""})
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "missing", missing, []string{"cnt_9", ""})
	if cs := f.s.Contacts(); len(cs) != 1 || cs[0].ID != "cnt_3" {
		t.Errorf("left %+v", cs)
	}
	if _, err := f.conn.DeleteContacts(t.Context(), make([]string, MaxBatch+1)); !errors.Is(err, ErrBatchTooLarge) {
		t.Errorf("over batch: %v", err)
	}
}

func TestUnsupportedEntities(t *testing.T) {
	f := startFake(t, wazapintest.Options{})
	caps := f.conn.Capabilities()
	if !caps.ResolveByIdentifier || connectors.Supports(f.conn, crmhub.SyncDeals) || connectors.Supports(f.conn, crmhub.SyncUsers) ||
		!connectors.Supports(f.conn, crmhub.SyncContacts) {
		t.Errorf("capabilities %+v", caps)
	}
	if _, err := NewConnector(connectors.Config{}); err == nil {
		t.Error("a connector without an API key was built")
	}
}

func samplesOf(from, n int) []connectors.RemoteContact {
	out := make([]connectors.RemoteContact, n)
	for i := range out {
		out[i] = sampleContact(from + i)
	}
	return out
}

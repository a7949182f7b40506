package wazzup

import (
	"errors"
	"net/http"
	"testing"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

// TestTooManyEntitiesDecoded reads the count and limit of the documented
// TOO_MACH_ENTITIES body, and still answers errors.As RequestError.
func TestTooManyEntitiesDecoded(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{ContactLimit: 3})
	c := New(Config{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client()})
	batch := make([]Contact, 5)
	for i := range batch {
		batch[i] = contactToWire(sampleContact(i), "u1")
	}
	err := c.UpsertContacts(t.Context(), batch)
	var tm *TooManyEntitiesError
	if !errors.As(err, &tm) || tm.Count != 5 || tm.Limit != 3 || tm.Status != http.StatusBadRequest {
		t.Fatalf("got %#v", err)
	}
	if re := connectortest.ErrorAs[*connectors.RequestError](t, err); re.Code != CodeTooManyEntities {
		t.Fatalf("code %q", re.Code)
	}
}

// TestUpsertUsesTheNamedLimit: when Wazzup takes fewer records than the
// connector sent, the connector resends in batches of the limit it named,
// keeps that limit for the next calls, and a bad record still fails alone.
func TestUpsertUsesTheNamedLimit(t *testing.T) {
	f := startFake(t, wazzuptest.Options{ContactLimit: 3}, nil)
	items := make([]connectors.RemoteContact, 8)
	for i := range items {
		items[i] = sampleContact(i)
	}
	items[4] = invalidContact(4)
	res, err := f.conn.UpsertContacts(t.Context(), items)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if (i == 4) != (r.Err != nil) {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if n := len(f.s.Contacts()); n != 7 {
		t.Fatalf("stored %d contacts, want 7", n)
	}
	// 8 refused whole, then 3, 3 (refused for #4), 2 again, and 2.
	if n := f.s.Calls(wazzuptest.RouteUpsertContacts); n != 5 {
		t.Fatalf("%d upserts, want 5", n)
	}
	before := f.s.Calls(wazzuptest.RouteUpsertContacts)
	if _, err := f.conn.UpsertContacts(t.Context(), items[:3]); err != nil {
		t.Fatal(err)
	}
	if n := f.s.Calls(wazzuptest.RouteUpsertContacts) - before; n != 1 {
		t.Fatalf("the learned limit took %d requests for 3 records", n)
	}
}

package wazapin

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
)

// The document's create example goes out byte for byte as documented and
// its answer decodes into the fields it shows.
func TestGoldenCreate(t *testing.T) {
	c, s := newClient(t, wazapintest.Options{})
	var in ContactInput
	connectortest.DecodeTestdata(t, "contact_create_request.json", &in)
	got, err := c.CreateContact(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantJSONEqual(t, "request body", lastBody(t, s, wazapintest.RouteCreateContact), connectortest.ReadTestdata(t, "contact_create_request.json"))

	var want Contact
	if err := decodeData("golden", connectortest.ReadTestdata(t, "contact_create_response.json"), &want); err != nil {
		t.Fatal(err)
	}
	if want.ID != "cnt_123" || *want.Name != "Ujang" || want.ExternalSource != "shopify" || want.ExternalID != "cust_123" {
		t.Fatalf("the document's answer decoded as %+v", want)
	}
	if got.ID == "" {
		t.Error("the fake's answer has no id")
	}
	got.ID, got.CustomFields, got.CreatedAt, got.UpdatedAt = want.ID, nil, Time{}, Time{}
	connectortest.WantEqual(t, "created contact", got, want)
}

func TestGoldenResolve(t *testing.T) {
	c, s := newClient(t, wazapintest.Options{Contacts: []wazapintest.Contact{{
		ID: "cnt_123", PhoneNumber: "+6281234567890", Name: "Ujang", Email: "ujang@example.com",
		ExternalSource: "shopify", ExternalID: "cust_123",
	}}})
	var want Contact
	if err := decodeData("golden", connectortest.ReadTestdata(t, "resolve_response.json"), &want); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"resolve_phone_request.json", "resolve_external_request.json"} {
		var body struct{ Identifiers []Identity }
		connectortest.DecodeTestdata(t, name, &body)
		got, err := c.ResolveContact(t.Context(), body.Identifiers)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		connectortest.WantJSONEqual(t, name, lastBody(t, s, wazapintest.RouteResolve), connectortest.ReadTestdata(t, name))
		if got.ID != want.ID || *got.Name != *want.Name || got.PhoneNumber != want.PhoneNumber || got.Email != want.Email {
			t.Errorf("%s: resolved %+v, want %+v", name, got, want)
		}
	}
}

// The fake answers the document's 404 and 409 bodies exactly, and the
// client reads them as the typed errors.
func TestGoldenResolveErrors(t *testing.T) {
	f := wazapintest.New(wazapintest.Options{Contacts: []wazapintest.Contact{
		{ID: "cnt_1", PhoneNumber: "+6281111111111"}, {ID: "cnt_2", Email: "b@example.com"},
	}})
	for _, tt := range []struct {
		body, golden string
		status       int
	}{
		{`{"identifiers":[{"type":"phone","value":"+6289999999999"}]}`, "resolve_not_found_response.json", 404},
		{`{"identifiers":[{"type":"phone","value":"+6281111111111"},{"type":"email","value":"b@example.com"}]}`, "resolve_conflict_response.json", 409},
	} {
		req := httptest.NewRequest("POST", "/v1/contacts/resolve", strings.NewReader(tt.body))
		req.Header.Set("X-Api-Key", wazapintest.DefaultAPIKey)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("%s: status %d, want %d", tt.golden, rec.Code, tt.status)
		}
		connectortest.WantJSONEqual(t, tt.golden, rec.Body.Bytes(), connectortest.ReadTestdata(t, tt.golden))

		var re remoteError
		if err := json.Unmarshal(rec.Body.Bytes(), &re); err != nil {
			t.Fatal(err)
		}
		err := re.Err(rec.Code, re.Error) // neither status is one connectors.StatusError takes
		if tt.status == 404 && !IsNotFound(err) || tt.status == 409 && !IsConflict(err) {
			t.Errorf("%s: %v, want the %d RequestError", tt.golden, err, tt.status)
		}
	}
}

func TestGoldenUpdate(t *testing.T) {
	c, s := newClient(t, wazapintest.Options{Contacts: []wazapintest.Contact{{ID: "cnt_123", PhoneNumber: "+6281234567890", Name: "Ujang"}}})
	var in ContactInput
	connectortest.DecodeTestdata(t, "contact_update_request.json", &in)
	got, err := c.UpdateContact(t.Context(), "cnt_123", in)
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantJSONEqual(t, "request body", lastBody(t, s, wazapintest.RouteUpdateContact), connectortest.ReadTestdata(t, "contact_update_request.json"))
	if *got.Name != "Ujang Updated" || got.Email != "ujang-updated@example.com" || got.PhoneNumber != "+6281234567890" {
		t.Errorf("updated contact %+v", got)
	}
}

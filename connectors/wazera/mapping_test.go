package wazera

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
)

// TestCreateExampleRoundTrips decodes the document's Create Contact body
// into Contact, maps it to the domain and back, and encodes it: the JSON
// must come out the same, so no field is misnamed, dropped or added.
func TestCreateExampleRoundTrips(t *testing.T) {
	raw := connectortest.ReadTestdata(t, "contact_create_request.json")
	var w Contact
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	rc := contactFromWire(w)
	connectortest.WantEqual(t, "domain", rc, connectors.RemoteContact{
		Name: ptr("John Doe"),
		Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "+1234567890"},
			{Type: crmhub.IdentityEmail, Value: "john@example.com"}},
		Tags:         []string{"customer", "vip"},
		CustomFields: map[string]any{"company": "Acme Inc"},
	})
	got, err := json.Marshal(contactToWire(rc))
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantJSONEqual(t, "re-encoded", got, raw)
}

func TestErrorExampleDecodes(t *testing.T) {
	var eb errorEnvelope
	if err := json.Unmarshal(connectortest.ReadTestdata(t, "error_response.json"), &eb); err != nil {
		t.Fatal(err)
	}
	if eb.Error.Code != CodeValidation || eb.Error.Message != "The phone field is required." || detailFields(eb.Error.Details) != nil {
		t.Errorf("decoded %+v", eb.Error)
	}
}

func TestContactFromWire(t *testing.T) {
	w := Contact{ID: "17", Name: ptr(""), Phone: ptr(" 1 (234) 567-890 "), Email: ptr(""),
		CustomFields: map[string]any{"crmhub_id": "contact_ab", "plan": float64(3)},
		UpdatedAt:    "2026-03-15 10:00:00"}
	rc := contactFromWire(w)
	// The external id is Wazera's; every custom field is the contact's,
	// even one named like the hub's id, which the connector once wrote.
	connectortest.WantEqual(t, "contact", rc, connectors.RemoteContact{
		ExternalID:   "17",
		Identifiers:  []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "+1234567890"}},
		CustomFields: map[string]any{"crmhub_id": "contact_ab", "plan": float64(3)},
		UpdatedAt:    ptr(time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)),
	})
	if rc := contactFromWire(Contact{ID: "1", CustomFields: map[string]any{}}); rc.CustomFields != nil {
		t.Errorf("custom fields %v, want nil when the contact has none", rc.CustomFields)
	}
}

func TestContactToWire(t *testing.T) {
	rc := connectors.RemoteContact{
		ExternalID: "contact_ab",
		Identifiers: []crmhub.Identifier{
			{Type: crmhub.IdentityPhone, Value: "+79990000001"},
			{Type: crmhub.IdentityTelegram, Value: "someone"},
			{Type: crmhub.IdentityEmail, Value: " First@Example.com "},
			{Type: crmhub.IdentityWhatsApp, Value: "8 (999) 000-00-02"},
			{Type: crmhub.IdentityEmail, Value: "second@example.com"},
		},
		URI:          ptr("https://crm.example.com/1"),
		CustomFields: map[string]any{"a": "b"},
	}
	got, _ := json.Marshal(contactToWire(rc))
	// WHATSAPP wins over PHONE whatever the order; unparsable national
	// numbers keep their digits; email is normalized; uri and telegram
	// have no field; the external id is not sent.
	connectortest.WantJSONEqual(t, "hub id", got, []byte(`{"name":null,"phone":"+89990000002","email":"first@example.com",
		"tags":[],"custom_fields":{"a":"b"}}`))

	got, _ = json.Marshal(contactToWire(connectors.RemoteContact{ExternalID: "5",
		Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityWAID, Value: "+79990000003"}, {Type: crmhub.IdentityPhone, Value: "+79990000004"}}}))
	connectortest.WantJSONEqual(t, "own id", got, []byte(`{"name":null,"phone":"+79990000003","email":null,"tags":[],"custom_fields":{}}`))
}

func TestIDDecoding(t *testing.T) {
	for in, want := range map[string]ID{`12`: "12", `"ab"`: "ab", `null`: ""} {
		var id ID
		if err := json.Unmarshal([]byte(in), &id); err != nil || id != want {
			t.Errorf("%s: %q %v", in, id, err)
		}
	}
	var id ID
	if err := json.Unmarshal([]byte(`true`), &id); err == nil {
		t.Error("true accepted as an id")
	}
	if b, _ := json.Marshal(ID("12")); string(b) != `12` {
		t.Errorf("integer id sent as %s", b)
	}
	if b, _ := json.Marshal(ID("ab")); string(b) != `"ab"` {
		t.Errorf("text id sent as %s", b)
	}
}

func TestTagsAcceptObjects(t *testing.T) {
	var tags Tags
	if err := json.Unmarshal([]byte(`["vip",{"id":1,"name":"customer"}]`), &tags); err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "tags", tags, Tags{"vip", "customer"})
	if err := json.Unmarshal([]byte(`[1]`), &tags); err == nil {
		t.Error("a number accepted as a tag")
	}
}

package wazelo

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
)

func TestContactToWire(t *testing.T) {
	id := func(ty crmhub.IdentityType, v string) crmhub.Identifier { return crmhub.Identifier{Type: ty, Value: v} }
	tests := []struct {
		name string
		in   connectors.RemoteContact
		want Contact
	}{
		{"whatsapp wins over phone, first email, others dropped", connectors.RemoteContact{
			Name: ptr("Priya"),
			Identifiers: []crmhub.Identifier{id(crmhub.IdentityPhone, "+91 11111 11111"), id(crmhub.IdentityTelegram, "priya"),
				id(crmhub.IdentityWhatsApp, "+919876543210"), id(crmhub.IdentityEmail, " p@example.com "), id(crmhub.IdentityEmail, "q@example.com")},
			Tags: []string{"vip"}, CustomFields: map[string]any{"city": "Pune"},
		}, Contact{Name: ptr("Priya"), Phone: ptr("919876543210"), Email: ptr("p@example.com"),
			Tags: []string{"vip"}, CustomFields: map[string]any{"city": "Pune"}}},
		{"wa_id before phone", connectors.RemoteContact{
			Identifiers: []crmhub.Identifier{id(crmhub.IdentityPhone, "+911111111111"), id(crmhub.IdentityWAID, "919876543210")},
		}, Contact{Phone: ptr("919876543210"), Tags: []string{}, CustomFields: map[string]any{}}},
		{"no phone, blank name: both left out or cleared", connectors.RemoteContact{Name: ptr("  ")},
			Contact{Tags: []string{}, CustomFields: map[string]any{}}},
	}
	for _, tt := range tests {
		connectortest.WantEqual(t, tt.name, contactToWire(tt.in), tt.want)
	}
}

func TestContactFromWire(t *testing.T) {
	at := time.Date(2025, 4, 19, 10, 14, 33, 0, time.UTC)
	got := contactFromWire(Contact{ID: "cnt_1", Name: ptr(""), Phone: ptr("+91 98765-43210"), Email: ptr("p@example.com"),
		Tags: []string{"a"}, CustomFields: map[string]any{"n": 1.0}, UpdatedAt: &at})
	connectortest.WantEqual(t, "contact", got, connectors.RemoteContact{
		ExternalID: "cnt_1",
		Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "+919876543210"},
			{Type: crmhub.IdentityEmail, Value: "p@example.com"}},
		Tags: []string{"a"}, CustomFields: map[string]any{"n": 1.0}, UpdatedAt: &at,
	})
	if got := contactFromWire(Contact{ID: "cnt_2"}); got.Identifiers != nil || got.Name != nil {
		t.Errorf("empty contact: %+v", got)
	}
}

func TestMessageTypeFromWire(t *testing.T) {
	tests := []struct {
		in      string
		hasText bool
		want    crmhub.MessageType
	}{
		{"text", true, crmhub.MessageText}, {"", true, crmhub.MessageText}, {"IMAGE", false, crmhub.MessageImage},
		{"voice", false, crmhub.MessageAudio}, {"video", false, crmhub.MessageVideo}, {"file", false, crmhub.MessageDocument},
		{"template", true, crmhub.MessageTemplate}, {"location", true, crmhub.MessageText}, {"location", false, crmhub.MessageDocument},
	}
	for _, tt := range tests {
		if got := messageTypeFromWire(tt.in, tt.hasText); got != tt.want {
			t.Errorf("%q (text %v) = %s, want %s", tt.in, tt.hasText, got, tt.want)
		}
	}
}

// TestDocumentedBodies feeds the documented answers to the client as a
// remote would send them.
func TestDocumentedBodies(t *testing.T) {
	serve := func(status int, file string) *Client {
		body := connectortest.ReadTestdata(t, file)
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}))
		t.Cleanup(s.Close)
		return New(Config{BaseURL: s.URL})
	}
	items, meta, err := serve(200, "contacts_list_response.json").ListContacts(t.Context(), ListQuery{})
	if err != nil || len(items) != 1 || *meta != (Meta{Page: 1, Limit: 20, Total: 145}) {
		t.Fatalf("list: %+v %+v %v", items, meta, err)
	}
	at := time.Date(2025, 4, 19, 10, 14, 33, 0, time.UTC)
	connectortest.WantEqual(t, "listed contact", items[0], Contact{ID: "cnt_01HX4K9", Name: ptr("Priya Sharma"), Phone: ptr("919876543210"),
		Email: ptr("priya@example.com"), Tags: []string{"site-visit"}, CustomFields: map[string]any{"city": "Pune"},
		CreatedAt: &at, UpdatedAt: &at})
	// Through the connector: page 1 of 145 at the remote's limit of 20.
	conn := &Connector{client: serve(200, "contacts_list_response.json")}
	p, err := conn.ListContacts(t.Context(), "")
	if err != nil || p.Total != 145 || p.Next != "2" {
		t.Errorf("connector page: total %d next %q %v", p.Total, p.Next, err)
	}

	_, err = serve(404, "error_contact_not_found.json").GetContact(t.Context(), "cnt_invalid")
	connectortest.WantEqual(t, "404", *connectortest.ErrorAs[*connectors.RequestError](t, err),
		connectors.RequestError{Status: 404, Code: "CONTACT_NOT_FOUND", Message: "No contact found with ID cnt_invalid"})

	_, err = serve(422, "validation_error_response.json").CreateContact(t.Context(), Contact{})
	ve := connectortest.ErrorAs[*ValidationError](t, err)
	connectortest.WantEqual(t, "422 fields", ve.Fields, []FieldError{{Field: "phone", Message: "must be a phone number with country code, 8 to 15 digits"}})

	sent, err := serve(201, "send_message_response.json").SendMessage(t.Context(), SendMessageRequest{}, "")
	if err != nil || sent != (SentMessage{MessageID: "msg_01HXA2B", Status: "queued"}) {
		t.Errorf("send: %+v %v", sent, err)
	}
	if _, err := serve(200, "error_contact_not_found.json").SendMessage(t.Context(), SendMessageRequest{}, ""); err == nil {
		t.Error("a 2xx without message_id was taken as sent")
	}
}

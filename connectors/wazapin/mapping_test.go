package wazapin

import (
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
)

func TestContactFromWire(t *testing.T) {
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	w := Contact{ID: "cnt_1", PhoneNumber: "+6281234567890", Name: ptr("Ujang"), Email: "ujang@example.com",
		ExternalSource: "shopify", ExternalID: "cust_123", CustomFields: map[string]any{"tier": "premium"},
		UpdatedAt: Time{at}}
	idents := []Identity{
		{Type: "phone", Value: "+6281234567890"},                    // repeats phone_number
		{Type: "external_id", Source: "shopify", Value: "cust_123"}, // repeats the pair
		{Type: "WhatsApp", Value: "6281234567890"},
		{Type: "telegram", Value: "@ujang"},
		{Type: "external_id", Source: ExternalSource, Value: "contact_9"}, // the hub's own id
		{Type: "external_id", Value: "no-source"},
		{Type: "fax", Value: "123"},
		{Type: "email", Value: ""},
	}
	got := contactFromWire(w, idents, []Tag{{Name: "vip"}, {Name: " "}, {Name: "new"}})
	want := connectors.RemoteContact{
		ExternalID:   "cnt_1",
		Name:         ptr("Ujang"),
		CustomFields: map[string]any{"tier": "premium"},
		UpdatedAt:    &at,
		Identifiers: []crmhub.Identifier{
			{Type: crmhub.IdentityPhone, Value: "+6281234567890"},
			{Type: crmhub.IdentityEmail, Value: "ujang@example.com"},
			{Type: crmhub.IdentityExternalID, Value: "cust_123", Source: "shopify"},
			{Type: crmhub.IdentityWhatsApp, Value: "6281234567890"},
			{Type: crmhub.IdentityTelegram, Value: "@ujang"},
		},
		Tags: []string{"vip", "new"},
	}
	connectortest.WantEqual(t, "contact", got, want)
}

func TestExternalIDOf(t *testing.T) {
	for _, tt := range []struct {
		c    Contact
		want string
	}{
		{Contact{ID: "cnt_1", ExternalSource: ExternalSource, ExternalID: "contact_abc"}, "contact_abc"},
		{Contact{ID: "cnt_1", ExternalSource: "shopify", ExternalID: "cust_1"}, "cnt_1"},
		{Contact{ID: "cnt_1", ExternalSource: ExternalSource}, "cnt_1"},
		{Contact{ID: "cnt_1"}, "cnt_1"},
	} {
		if got := externalIDOf(tt.c); got != tt.want {
			t.Errorf("externalIDOf(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestContactInput(t *testing.T) {
	rc := connectors.RemoteContact{
		Name: ptr("A"),
		Identifiers: []crmhub.Identifier{
			{Type: crmhub.IdentityWhatsApp, Value: "62 811 1111 111"},
			{Type: crmhub.IdentityPhone, Value: "+62 (812) 2222-222"},
			{Type: crmhub.IdentityEmail, Value: " A@Example.com "},
			{Type: crmhub.IdentityEmail, Value: "second@example.com"},
		},
		CustomFields: map[string]any{"k": "v"},
	}
	got := contactInput(rc)
	connectortest.WantEqual(t, "input", got, ContactInput{Name: ptr("A"), PhoneNumber: ptr("+628122222222"), Email: ptr("a@example.com"),
		CustomFields: map[string]any{"k": "v"}})

	// Without a PHONE, the WhatsApp number is the phone; nothing else is sent.
	got = contactInput(connectors.RemoteContact{Identifiers: rc.Identifiers[:1]})
	connectortest.WantEqual(t, "whatsapp only", got, ContactInput{PhoneNumber: ptr("+628111111111")})

	// A number that does not normalize goes as given, for the remote to refuse.
	got = contactInput(connectors.RemoteContact{Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityPhone, Value: "12ab"}}})
	connectortest.WantEqual(t, "bad phone", got, ContactInput{PhoneNumber: ptr("12ab")})
}

func TestResolveIdentities(t *testing.T) {
	rc := connectors.RemoteContact{ExternalID: "contact_1", Identifiers: []crmhub.Identifier{
		{Type: crmhub.IdentityPhone, Value: "+62 812 2222 222"},
		{Type: crmhub.IdentityWhatsApp, Value: "628122222222"},
		{Type: crmhub.IdentityWAID, Value: "628122222222"},
		{Type: crmhub.IdentityEmail, Value: "A@example.com"},
		{Type: crmhub.IdentityTelegram, Value: "@a"},
		{Type: crmhub.IdentityExternalID, Value: "cust_1", Source: "shopify"},
		{Type: crmhub.IdentityExternalID, Value: "x"},        // no source: cannot be resolved
		{Type: crmhub.IdentityPhone, Value: "+628122222222"}, // the same phone again
	}}
	want := []Identity{
		{Type: IdentifierExternalID, Source: ExternalSource, Value: "contact_1"},
		{Type: IdentifierContactID, Value: "contact_1"},
		{Type: IdentifierPhone, Value: "+628122222222"},
		{Type: IdentifierWhatsApp, Value: "+628122222222"},
		{Type: IdentifierWAID, Value: "+628122222222"},
		{Type: IdentifierEmail, Value: "a@example.com"},
		{Type: IdentifierExternalID, Source: "shopify", Value: "cust_1"},
	}
	connectortest.WantEqual(t, "identifiers", resolveIdentities(rc), want)

	many := connectors.RemoteContact{ExternalID: "e"}
	for i := range 40 {
		many.Identifiers = append(many.Identifiers, crmhub.Identifier{Type: crmhub.IdentityEmail, Value: string(rune('a'+i%26)) + "@x" + string(rune('a'+i/26)) + ".com"})
	}
	if got := resolveIdentities(many); len(got) != MaxResolveIdentifiers || got[0].Type != IdentifierExternalID {
		t.Errorf("%d identifiers, first %+v; want %d starting with the external id", len(got), got[0], MaxResolveIdentifiers)
	}
}

func TestConsentMapping(t *testing.T) {
	for _, s := range crmhub.ConsentStatuses {
		back, ok := consentFromWire(consentToWire(s))
		if !ok || back != s {
			t.Errorf("%s -> %q -> %s", s, consentToWire(s), back)
		}
	}
	for wire, want := range map[string]crmhub.ConsentStatus{"granted": crmhub.ConsentOptedIn, "Revoked": crmhub.ConsentOptedOut, "unknown": crmhub.ConsentPending} {
		if got, ok := consentFromWire(wire); !ok || got != want {
			t.Errorf("%q = %s, want %s", wire, got, want)
		}
	}
	if _, ok := consentFromWire("maybe"); ok {
		t.Error("an unknown status was accepted")
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	got, ok := consentFromWireRow(Consent{Channel: "whatsapp", Status: "opted_out", Source: "form", UpdatedAt: Time{at}})
	connectortest.WantEqual(t, "row", got, connectors.RemoteConsent{Channel: crmhub.ChannelWhatsApp, Status: crmhub.ConsentOptedOut, Source: ptr("form"), At: &at})
	if !ok {
		t.Error("row refused")
	}
	if _, ok := consentFromWireRow(Consent{Channel: "fax", Status: "opted_in"}); ok {
		t.Error("an unknown channel was accepted")
	}
	for _, ch := range crmhub.Channels {
		if back, ok := channelFromWire(channelToWire(ch)); !ok || back != ch {
			t.Errorf("channel %s round-trips to %s", ch, back)
		}
	}
}

func TestSuppressionFromWire(t *testing.T) {
	s, ok := suppressionFromWire(Suppression{ID: "sup_1", Channel: "sms", Active: false})
	if !ok || s.Channel != crmhub.ChannelSMS || s.LiftedAt == nil {
		t.Errorf("inactive suppression without lifted_at: %+v, %v; want lifted", s, ok)
	}
	s, _ = suppressionFromWire(Suppression{ID: "sup_1", Channel: "sms", Active: true})
	if s.LiftedAt != nil {
		t.Errorf("active suppression lifted: %+v", s)
	}
}

package wazelo

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazelo/wazelotest"
)

const secret = "whsec_test"

func signed(body []byte) http.Header {
	return http.Header{SignatureHeader: {Sign(body, secret)}}
}

func TestParseWebhookDocumentExample(t *testing.T) {
	body := connectortest.ReadTestdata(t, "message_received_webhook.json")
	if string(body) != wazelotest.ExampleMessageReceived+"\n" {
		t.Fatal("testdata and wazelotest.ExampleMessageReceived disagree")
	}
	got, err := (&Connector{}).ParseWebhook(signed(body), body, secret)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 4, 19, 10, 14, 33, 0, time.UTC)
	want := []connectors.Inbound{{ID: "msg_01HX9T7", Message: &connectors.InboundMessage{
		ExternalID:  "msg_01HX9T7",
		Direction:   crmhub.Inbound,
		Channel:     crmhub.ChannelWhatsApp,
		ChatID:      "+919876543210",
		Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityExternalID, Value: "cnt_01HX4K9"}},
		Type:        crmhub.MessageText,
		Text:        ptr("Hi, I want to book a site visit"),
		SentAt:      &at,

		ConversationID: "conv_01HX7Q1",
	}}}
	connectortest.WantEqual(t, "inbound", got, want)
}

func TestWebhookSignature(t *testing.T) {
	body := []byte(wazelotest.ExampleMessageReceived)
	good := Sign(body, secret)
	// A vector from openssl dgst -sha256 -hmac secret.
	if got := Sign(body, "secret"); got != "9b2f2bb75459e2050a6ee05b88bd4b84a40f6dfa3e6be22b81f1ae976c3ac646" {
		t.Fatalf("Sign = %s", got)
	}
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		secret string
		ok     bool
	}{
		{"valid", http.Header{SignatureHeader: {good}}, body, secret, true},
		{"upper case with prefix", http.Header{SignatureHeader: {"sha256=" + strings.ToUpper(good)}}, body, secret, true},
		{"missing", http.Header{}, body, secret, false},
		{"not hex", http.Header{SignatureHeader: {"zz" + good[2:]}}, body, secret, false},
		{"other secret", http.Header{SignatureHeader: {Sign(body, "other")}}, body, secret, false},
		{"tampered body", http.Header{SignatureHeader: {good}}, append([]byte(" "), body...), secret, false},
		{"truncated", http.Header{SignatureHeader: {good[:32]}}, body, secret, false},
		{"no secret configured", http.Header{SignatureHeader: {Sign(body, "")}}, body, "", false},
	}
	for _, tt := range tests {
		got, err := (&Connector{}).ParseWebhook(tt.header, tt.body, tt.secret)
		switch {
		case tt.ok && (err != nil || len(got) != 1):
			t.Errorf("%s: %v %v", tt.name, got, err)
		case !tt.ok && (!errors.Is(err, connectors.ErrBadSignature) || got != nil):
			t.Errorf("%s: %v %v, want ErrBadSignature", tt.name, got, err)
		}
	}
}

func TestWebhookStatusesAndSkippedEvents(t *testing.T) {
	body := []byte(`[
	 {"event":"message.delivered","timestamp":"2025-04-19T10:15:00Z","data":{"message_id":"msg_1"}},
	 {"event":"message.read","timestamp":"2025-04-19T10:16:00Z","data":{"message_id":"msg_1","read_at":"2025-04-19T10:15:30Z"}},
	 {"event":"conversation.assigned","timestamp":"2025-04-19T10:16:00Z","data":{"conversation_id":"conv_1"}},
	 {"event":"contact.created","timestamp":"2025-04-19T10:16:00Z","data":{"id":"cnt_1"}},
	 {"event":"campaign.completed","timestamp":"2025-04-19T10:16:00Z","data":{}}
	]`)
	got, err := (&Connector{}).ParseWebhook(signed(body), body, secret)
	if err != nil {
		t.Fatal(err)
	}
	delivered := time.Date(2025, 4, 19, 10, 15, 0, 0, time.UTC)
	read := time.Date(2025, 4, 19, 10, 15, 30, 0, time.UTC)
	// The assignment without an agent and the campaign without an id
	// are skipped; the contact has its id.
	connectortest.WantEqual(t, "statuses", got, []connectors.Inbound{
		{ID: "msg_1:delivered", Status: &connectors.StatusUpdate{ExternalID: "msg_1", Status: crmhub.MessageDelivered, At: &delivered}},
		{ID: "msg_1:read", Status: &connectors.StatusUpdate{ExternalID: "msg_1", Status: crmhub.MessageRead, At: &read}},
		{ID: "cnt_1", Contact: &connectors.RemoteContact{ExternalID: "cnt_1"}},
	})
}

func TestWebhookUnreadable(t *testing.T) {
	for _, body := range []string{
		`{"event":`,
		`{"event":"message.received","data":{"from":"919876543210"}}`,
		`{"event":"message.read","data":"msg_1"}`,
	} {
		b := []byte(body)
		got, err := (&Connector{}).ParseWebhook(signed(b), b, secret)
		if err == nil || errors.Is(err, connectors.ErrBadSignature) {
			t.Errorf("%s: %v %v, want a decoding error", body, got, err)
		}
	}
}

// TestFakeWebhooksParse: the fake's signed webhooks are what the parser
// reads, so hub tests can rely on them.
func TestFakeWebhooksParse(t *testing.T) {
	now := time.Date(2025, 4, 19, 10, 0, 0, 0, time.UTC)
	s := wazelotest.NewServer(t, wazelotest.Options{Now: func() time.Time { return now },
		Contacts: []wazelotest.Contact{{ID: "cnt_priya", Phone: "919876543210"}}})
	c := connectorFor(s, s.APIKey())
	body, header, err := s.Webhook(s.Receive("+91 98765 43210", "Hello"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.ParseWebhook(header, body, s.WebhookSecret())
	if err != nil || len(got) != 1 || got[0].Message == nil {
		t.Fatalf("%v %v", got, err)
	}
	m := got[0].Message
	if m.ChatID != "+919876543210" || *m.Text != "Hello" || m.Identifiers[0].Value != "cnt_priya" || !m.SentAt.Equal(now) {
		t.Errorf("message %+v", m)
	}
	body, header, _ = s.Webhook(s.StatusEvent(EventMessageRead, m.ExternalID))
	got, err = c.ParseWebhook(header, body, s.WebhookSecret())
	if err != nil || len(got) != 1 || got[0].Status.Status != crmhub.MessageRead || got[0].Status.ExternalID != m.ExternalID {
		t.Errorf("status: %v %v", got, err)
	}
	req, err := wazelotest.NewWebhookRequest(t.Context(), "http://hub/hooks/x", body, s.WebhookSecret())
	if err != nil || req.Header.Get(SignatureHeader) != Sign(body, s.WebhookSecret()) || req.Method != http.MethodPost {
		t.Errorf("webhook request: %v %v", req, err)
	}
}

package wazera

import (
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
)

var update = flag.Bool("update", false, "rewrite testdata/webhook_*.json from wazeratest.Examples")

const secret = "your_webhook_secret"

// parse signs e as Wazera would and parses it.
func parse(t *testing.T, e wazeratest.Event) []connectors.Inbound {
	t.Helper()
	body, header, err := e.Signed(secret)
	if err != nil {
		t.Fatal(err)
	}
	got, err := (&Connector{}).ParseWebhook(header, body, secret)
	if err != nil {
		t.Fatalf("%s: %v", e.Event, err)
	}
	return got
}

// TestWebhookExamples keeps testdata/webhook_*.json equal to the events
// the fake builds, and parses each as the hub would.
func TestWebhookExamples(t *testing.T) {
	at := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	closed := crmhub.ConversationClosed
	want := map[string][]connectors.Inbound{
		EventMessageReceived: {{ID: "988", Message: &connectors.InboundMessage{
			ExternalID: "988", Direction: crmhub.Inbound, Channel: crmhub.ChannelWhatsApp, ChatID: "+1234567890",
			ChannelID: "1", SenderName: ptr("John Doe"), Type: crmhub.MessageText, Text: ptr("Hello from WhatsApp!"),
			Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityExternalID, Value: "12"}}, SentAt: &at,
			ConversationID: "45"}}},
		EventMessageSent:         {{ID: "987", Status: &connectors.StatusUpdate{ExternalID: "987", Status: crmhub.MessageSent, At: &at}}},
		EventMessageDelivered:    {{ID: "987", Status: &connectors.StatusUpdate{ExternalID: "987", Status: crmhub.MessageDelivered, At: &at}}},
		EventMessageRead:         {{ID: "987", Status: &connectors.StatusUpdate{ExternalID: "987", Status: crmhub.MessageRead, At: &at}}},
		EventConversationCreated: {{ID: "45:conversation.created", Conversation: conversation(nil)}},
		EventConversationClosed:  {{ID: "45:conversation.closed", Conversation: conversation(&closed)}},
		EventContactCreated:      {{ID: "12:contact.created", Contact: johnDoe(at)}},
		EventContactUpdated:      {{ID: "12:contact.updated", Contact: johnDoe(at)}},
	}
	examples := wazeratest.Examples()
	if len(examples) != len(want) {
		t.Errorf("%d examples, want one per documented event (%d)", len(examples), len(want))
	}
	for event, e := range examples {
		t.Run(event, func(t *testing.T) {
			body, _, err := e.Signed(secret)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join("testdata", "webhook_"+strings.ReplaceAll(event, ".", "_")+".json")
			if *update {
				if err := os.WriteFile(file, append(body, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			connectortest.WantJSONEqual(t, file, body, connectortest.ReadTestdata(t, filepath.Base(file)))
			connectortest.WantEqual(t, "parsed", parse(t, e), want[event])
		})
	}
}

// conversation is the examples' conversation 45 with John Doe, moved to
// status when not nil.
func conversation(status *crmhub.ConversationStatus) *connectors.ConversationEvent {
	return &connectors.ConversationEvent{ExternalID: "45", Channel: crmhub.ChannelWhatsApp, ChatID: "+1234567890",
		SenderName: ptr("John Doe"), Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityExternalID, Value: "12"}},
		Status: status}
}

// johnDoe is the document's example contact, id 12.
func johnDoe(at time.Time) *connectors.RemoteContact {
	return &connectors.RemoteContact{ExternalID: "12", Name: ptr("John Doe"),
		Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityWhatsApp, Value: "+1234567890"},
			{Type: crmhub.IdentityEmail, Value: "john@example.com"}},
		Tags: []string{"customer", "vip"}, CustomFields: map[string]any{"company": "Acme Inc"}, UpdatedAt: &at}
}

// TestConversationAssignee: an assigned conversation names its agent by
// Wazera's user id; a creation sets no status.
func TestConversationAssignee(t *testing.T) {
	agent := int64(3)
	got := parse(t, wazeratest.Event{Event: EventConversationCreated, Data: wazeratest.WebhookConversation{ID: 46,
		Status: "pending", AssignedTo: &agent}})
	c := got[0].Conversation
	if c == nil || c.Status != nil || c.Assignee == nil || c.Assignee.ExternalID != "3" || c.ChatID != "" {
		t.Fatalf("parsed %+v", c)
	}
	// Without its id the event is skipped.
	if got := parse(t, wazeratest.Event{Event: EventContactUpdated, Data: map[string]any{"name": "x"}}); len(got) != 0 {
		t.Fatalf("a contact without id parsed to %+v", got)
	}
}

func TestWebhookSignature(t *testing.T) {
	e := wazeratest.Examples()[EventMessageReceived]
	body, header, err := e.Signed(secret)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(header.Get(SignatureHeader), "sha256=") {
		t.Fatalf("header %q", header.Get(SignatureHeader))
	}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-2] ^= 1
	upper := http.Header{}
	upper.Set(SignatureHeader, "SHA256="+strings.ToUpper(strings.TrimPrefix(header.Get(SignatureHeader), "sha256=")))
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		secret string
		ok     bool
	}{
		{"valid", header, body, secret, true},
		{"upper-case hex and scheme", upper, body, secret, true},
		{"other secret", header, body, "other", false},
		{"no secret configured", header, body, "", false},
		{"tampered body", header, tampered, secret, false},
		{"missing header", http.Header{}, body, secret, false},
		{"no scheme", http.Header{SignatureHeader: {strings.TrimPrefix(header.Get(SignatureHeader), "sha256=")}}, body, secret, false},
		{"other scheme", http.Header{SignatureHeader: {"sha1=" + strings.TrimPrefix(header.Get(SignatureHeader), "sha256=")}}, body, secret, false},
		{"not hex", http.Header{SignatureHeader: {"sha256=zz"}}, body, secret, false},
	}
	for _, tt := range tests {
		got, err := ParseWebhook(tt.header, tt.body, tt.secret)
		if tt.ok && (err != nil || len(got) != 1) {
			t.Errorf("%s: %v %v", tt.name, got, err)
		}
		if !tt.ok && !errors.Is(err, connectors.ErrBadSignature) {
			t.Errorf("%s: error %v, want ErrBadSignature", tt.name, err)
		}
	}
}

func TestWebhookVariants(t *testing.T) {
	sign := func(body string) []connectors.Inbound {
		t.Helper()
		h := http.Header{SignatureHeader: {wazeratest.Sign([]byte(body), secret)}}
		got, err := ParseWebhook(h, []byte(body), secret)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return got
	}
	// Media with a caption, a nested message, unix timestamps, "type"
	// instead of "event".
	got := sign(`{"type":"message.received","timestamp":1773568800,"data":{"contact":{"id":"c-1","name":" Ann ","email":"ann@example.com"},
		"message":{"message_id":"wamid.1","from":"1 234 567 890","type":"image","content":{"link":"https://x.test/a.jpg","caption":"look"}}}}`)
	at := time.Unix(1773568800, 0).UTC()
	connectortest.WantEqual(t, "media", got, []connectors.Inbound{{ID: "wamid.1", Message: &connectors.InboundMessage{
		ExternalID: "wamid.1", Direction: crmhub.Inbound, Channel: crmhub.ChannelWhatsApp, ChatID: "+1234567890",
		SenderName: ptr("Ann"), Type: crmhub.MessageImage, Text: ptr("look"), ContentURL: ptr("https://x.test/a.jpg"),
		Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityExternalID, Value: "c-1"}, {Type: crmhub.IdentityEmail, Value: "ann@example.com"}},
		SentAt:      &at}}})
	// A failed delivery, by status or by the undocumented event.
	for _, body := range []string{
		`{"event":"message.delivered","data":{"id":5,"status":"failed","error":{"code":"131026","message":"Undeliverable"}}}`,
		`{"event":"message.failed","data":{"id":5,"error":{"code":"131026"}}}`,
	} {
		got = sign(body)
		if len(got) != 1 || got[0].Status == nil || got[0].Status.Status != crmhub.MessageFailed || *got[0].Status.ErrorCode != "131026" {
			t.Errorf("%s: %+v", body, got)
		}
	}
	// Skipped: a location (no hub type), no sender, an unknown event.
	for _, body := range []string{
		`{"event":"message.received","data":{"id":6,"from":"+1234567890","type":"location"}}`,
		`{"event":"message.received","data":{"id":7,"type":"text","content":{"body":"hi"}}}`,
		`{"event":"campaign.completed","data":{"id":8}}`,
	} {
		if got := sign(body); len(got) != 0 {
			t.Errorf("%s: %+v, want skipped", body, got)
		}
	}
	// Unreadable bodies are errors, not skips.
	for _, body := range []string{`not json`, `{"data":{}}`, `{"event":"message.read","data":{"status":"read"}}`} {
		h := http.Header{SignatureHeader: {wazeratest.Sign([]byte(body), secret)}}
		if _, err := ParseWebhook(h, []byte(body), secret); err == nil || errors.Is(err, connectors.ErrBadSignature) {
			t.Errorf("%s: error %v, want a decoding error", body, err)
		}
	}
}

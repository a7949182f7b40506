package wazera

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
)

func outbound(msg *crmhub.Message) crmhub.OutboundMessage {
	return crmhub.OutboundMessage{WorkspaceID: uuid.New(), Message: msg, Channel: crmhub.ChannelWhatsApp, ChatID: "+1234567890"}
}

func textMessage(s string) *crmhub.Message {
	return &crmhub.Message{ID: uuid.New(), Type: crmhub.MessageText, Text: &s}
}

// TestSendBodiesAreTheDocumentedOnes sends the document's two examples
// and compares the bodies the fake received with them.
func TestSendBodiesAreTheDocumentedOnes(t *testing.T) {
	c, s := newTestConnector(t, wazeratest.Options{}, map[string]any{OptionWhatsAppAccountID: float64(1)})
	ctx := t.Context()
	res, err := c.SendMessage(ctx, outbound(textMessage("Hello from the API!")))
	if err != nil || res.ExternalID != "1" {
		t.Fatalf("text: %+v %v", res, err)
	}
	tmpl := &crmhub.Message{ID: uuid.New(), Type: crmhub.MessageTemplate,
		Template: &crmhub.Template{Name: "hello_world", Language: "en"}}
	res, err = c.SendMessage(ctx, outbound(tmpl))
	if err != nil || res.ExternalID != "2" {
		t.Fatalf("template: %+v %v", res, err)
	}
	reqs := s.Requests()
	connectortest.WantJSONEqual(t, "text body", reqs[0].Body, connectortest.ReadTestdata(t, "send_text_request.json"))
	connectortest.WantJSONEqual(t, "template body", reqs[1].Body, connectortest.ReadTestdata(t, "send_template_request.json"))
	if sent := s.Messages(); len(sent) != 2 || sent[0].Body != "Hello from the API!" || sent[1].Template != "hello_world" {
		t.Errorf("fake recorded %+v", sent)
	}
	// The id answered is the one the status webhooks carry.
	e, ok := s.StatusEvent(1, wazeratest.EventMessageDelivered)
	if !ok {
		t.Fatal("no event for message 1")
	}
	if got := parse(t, e); len(got) != 1 || got[0].Status.ExternalID != "1" || got[0].Status.Status != crmhub.MessageDelivered {
		t.Errorf("status webhook %+v", got)
	}
}

func TestSendRefusalsAreSendErrors(t *testing.T) {
	c, s := newTestConnector(t, wazeratest.Options{WhatsAppAccounts: []int64{1, 2},
		RefuseMessage: func(m wazeratest.Message) string {
			if m.Body == "spam" {
				return "MESSAGE_BLOCKED"
			}
			return ""
		}}, map[string]any{OptionWhatsAppAccountID: "2"})
	long := strings.Repeat("x", wazeratest.MaxTextBody+1)
	tests := []struct {
		name string
		m    crmhub.OutboundMessage
		code string
		sent bool // whether the request reached Wazera
	}{
		{"remote code", outbound(textMessage("spam")), "MESSAGE_BLOCKED", true},
		{"remote validation", outbound(textMessage(long)), CodeValidation, true},
		{"bad recipient", func() crmhub.OutboundMessage { m := outbound(textMessage("hi")); m.ChatID = "+12"; return m }(), CodeValidation, true},
		{"other channel", func() crmhub.OutboundMessage {
			m := outbound(textMessage("hi"))
			m.Channel = crmhub.ChannelTelegram
			return m
		}(),
			CodeChannelNotSupported, false},
		{"media", outbound(&crmhub.Message{Type: crmhub.MessageImage, ContentURL: ptr("https://x.test/a.jpg")}), CodeTypeNotSupported, false},
		{"empty text", outbound(&crmhub.Message{Type: crmhub.MessageText}), CodeInvalidMessage, false},
		{"no chat id", func() crmhub.OutboundMessage { m := outbound(textMessage("hi")); m.ChatID = ""; return m }(), CodeInvalidMessage, false},
	}
	for _, tt := range tests {
		before := s.Calls(wazeratest.RouteSendMessage)
		_, err := c.SendMessage(t.Context(), tt.m)
		se := connectortest.ErrorAs[*crmhub.SendError](t, err)
		if se.Code != tt.code || se.Message == "" {
			t.Errorf("%s: %+v, want code %s", tt.name, se, tt.code)
		}
		if sent := s.Calls(wazeratest.RouteSendMessage) > before; sent != tt.sent {
			t.Errorf("%s: reached Wazera %v, want %v", tt.name, sent, tt.sent)
		}
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages sent, want none", n)
	}
	// Without the account option nothing can be sent.
	c2, s2 := newTestConnector(t, wazeratest.Options{}, nil)
	_, err := c2.SendMessage(t.Context(), outbound(textMessage("hi")))
	if se := connectortest.ErrorAs[*crmhub.SendError](t, err); se.Code != CodeNoWhatsAppAccount || s2.Total() != 0 {
		t.Errorf("no account: %+v after %d requests", se, s2.Total())
	}
}

func TestSendFailuresKeepTheMessageQueued(t *testing.T) {
	c, s := newTestConnector(t, wazeratest.Options{}, map[string]any{OptionWhatsAppAccountID: 1})
	s.InjectNext(wazeratest.Fault{Status: 429, RetryAfter: "3"}, wazeratest.Fault{Status: 502}, wazeratest.Fault{Status: 401})
	_, err := c.SendMessage(t.Context(), outbound(textMessage("hi")))
	connectortest.ErrorAs[*connectors.RateLimitError](t, err)
	_, err = c.SendMessage(t.Context(), outbound(textMessage("hi")))
	connectortest.ErrorAs[*connectors.TransientError](t, err)
	_, err = c.SendMessage(t.Context(), outbound(textMessage("hi")))
	connectortest.ErrorAs[*connectors.AuthError](t, err)
	if errors.As(err, new(*crmhub.SendError)) {
		t.Error("a refused key failed the message")
	}
}

func TestTemplateComponents(t *testing.T) {
	got, _ := json.Marshal(templateComponents(map[string]any{
		"body":   []any{map[string]any{"type": "text", "text": "Ann"}},
		"header": map[string]any{"parameters": []any{}},
	}))
	connectortest.WantJSONEqual(t, "by key", got, []byte(`[{"type":"body","parameters":[{"type":"text","text":"Ann"}]},{"type":"header","parameters":[]}]`))
	list := []any{map[string]any{"type": "body"}}
	got, _ = json.Marshal(templateComponents(map[string]any{"components": list}))
	connectortest.WantJSONEqual(t, "as given", got, []byte(`[{"type":"body"}]`))
	got, _ = json.Marshal(templateComponents(nil))
	connectortest.WantJSONEqual(t, "none", got, []byte(`[]`))
}

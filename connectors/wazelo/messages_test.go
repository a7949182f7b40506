package wazelo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazelo/wazelotest"
	"github.com/google/uuid"
)

func outbound(typ crmhub.MessageType, text string) crmhub.OutboundMessage {
	m := &crmhub.Message{ID: uuid.New(), Type: typ}
	if text != "" {
		m.Text = &text
	}
	return crmhub.OutboundMessage{Message: m, Channel: crmhub.ChannelWhatsApp, ChatID: "+919876543210"}
}

func TestSendMessageBodies(t *testing.T) {
	tests := []struct {
		file string
		m    func() crmhub.OutboundMessage
	}{
		{"send_text_request.json", func() crmhub.OutboundMessage {
			return outbound(crmhub.MessageText, "Your site visit is booked for Saturday 11:00")
		}},
		{"send_template_request.json", func() crmhub.OutboundMessage {
			m := outbound(crmhub.MessageTemplate, "")
			m.Message.Template = &crmhub.Template{Name: "visit_reminder", Language: "en",
				Components: map[string]any{"body": []any{"Saturday", "11:00"}}}
			return m
		}},
	}
	for _, tt := range tests {
		f := startFake(t, wazelotest.Options{})
		f.s.OpenWindow("919876543210")
		m := tt.m()
		res, err := f.conn.SendMessage(t.Context(), m)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		sent := f.s.Messages()
		if len(sent) != 1 || res.ExternalID != sent[0].MessageID || sent[0].IdempotencyKey != m.Message.GlobalID() {
			t.Errorf("%s: result %+v, fake holds %+v", tt.file, res, sent)
		}
		var got, want any
		reqs := f.s.Requests()
		_ = json.Unmarshal(reqs[len(reqs)-1].Body, &got)
		_ = json.Unmarshal(connectortest.ReadTestdata(t, tt.file), &want)
		connectortest.WantEqual(t, tt.file, got, want)
	}
}

func TestSendMessageWindowAndRefusals(t *testing.T) {
	now := time.Date(2025, 4, 19, 10, 0, 0, 0, time.UTC)
	clock := now
	f := startFake(t, wazelotest.Options{Now: func() time.Time { return clock }})
	ctx := t.Context()

	// Freeform outside the window: refused with the remote's code.
	_, err := f.conn.SendMessage(ctx, outbound(crmhub.MessageText, "hi"))
	if se := connectortest.ErrorAs[*crmhub.SendError](t, err); se.Code != CodeOutsideWindow {
		t.Errorf("outside the window: %+v", se)
	}
	// A template any time.
	tpl := outbound(crmhub.MessageTemplate, "")
	tpl.Message.Template = &crmhub.Template{Name: "hello", Language: "en"}
	if _, err := f.conn.SendMessage(ctx, tpl); err != nil {
		t.Errorf("template outside the window: %v", err)
	}
	// Inside the window after the contact writes, and no longer 24h later.
	f.s.Receive("919876543210", "hello")
	clock = now.Add(23 * time.Hour)
	if _, err := f.conn.SendMessage(ctx, outbound(crmhub.MessageText, "hi")); err != nil {
		t.Errorf("inside the window: %v", err)
	}
	clock = now.Add(24*time.Hour + time.Second)
	if _, err := f.conn.SendMessage(ctx, outbound(crmhub.MessageText, "hi")); err == nil {
		t.Error("sent after the window closed")
	}
	clock = now

	// Validation: the fields come back in the message.
	_, err = f.conn.SendMessage(ctx, outbound(crmhub.MessageText, ""))
	if se := connectortest.ErrorAs[*crmhub.SendError](t, err); se.Code != CodeValidation || !strings.Contains(se.Message, "text") {
		t.Errorf("empty text: %+v", se)
	}
	img := outbound(crmhub.MessageImage, "caption")
	img.Message.ContentURL = ptr("ftp://x")
	if se := connectortest.ErrorAs[*crmhub.SendError](t, mustErr(f.conn.SendMessage(ctx, img))); !strings.Contains(se.Message, "media_url") {
		t.Errorf("bad media url: %+v", se)
	}
	// 429 and 5xx leave the message to be retried.
	f.s.InjectNext(wazelotest.Fault{Status: 429, RetryAfter: "30"}, wazelotest.Fault{Status: 502})
	if rl := connectortest.ErrorAs[*connectors.RateLimitError](t, mustErr(f.conn.SendMessage(ctx, tpl))); rl.RetryAfter != 30*time.Second {
		t.Errorf("429: %+v", rl)
	}
	connectortest.ErrorAs[*connectors.TransientError](t, mustErr(f.conn.SendMessage(ctx, tpl)))
}

func TestSendMessageOtherOutcomes(t *testing.T) {
	f := startFake(t, wazelotest.Options{RefuseMessage: func(m wazelotest.Message) *wazelotest.Fault {
		if m.To == "910000000000" {
			return &wazelotest.Fault{Status: 404, Code: "CONTACT_NOT_FOUND", Message: "No contact found"}
		}
		return nil
	}})
	ctx := t.Context()
	tpl := outbound(crmhub.MessageTemplate, "")
	tpl.Message.Template = &crmhub.Template{Name: "hello", Language: "en"}

	// A retry of the same message is one message at the remote.
	first, err1 := f.conn.SendMessage(ctx, tpl)
	again, err2 := f.conn.SendMessage(ctx, tpl)
	if err1 != nil || err2 != nil || first != again || len(f.s.Messages()) != 1 {
		t.Errorf("retry: %v %v %v %v, %d messages", first, again, err1, err2, len(f.s.Messages()))
	}
	// Any documented refusal carries the remote's code.
	to := tpl
	to.ChatID = "+910000000000"
	to.Message = &crmhub.Message{ID: uuid.New(), Type: crmhub.MessageTemplate, Template: tpl.Message.Template}
	if se := connectortest.ErrorAs[*crmhub.SendError](t, mustErr(f.conn.SendMessage(ctx, to))); se.Code != "CONTACT_NOT_FOUND" {
		t.Errorf("refusal: %+v", se)
	}
	// What Wazelo cannot carry is refused without a request.
	before := f.s.Total()
	sms := outbound(crmhub.MessageText, "hi")
	sms.Channel = crmhub.ChannelSMS
	if se := connectortest.ErrorAs[*crmhub.SendError](t, mustErr(f.conn.SendMessage(ctx, sms))); se.Code != CodeUnsupportedChannel {
		t.Errorf("sms: %+v", se)
	}
	odd := outbound("STICKER", "")
	if se := connectortest.ErrorAs[*crmhub.SendError](t, mustErr(f.conn.SendMessage(ctx, odd))); se.Code != CodeUnsupportedType {
		t.Errorf("unknown type: %+v", se)
	}
	if n := f.s.Total() - before; n != 0 {
		t.Errorf("%d requests for messages refused locally", n)
	}
	// A refused key is not the message's fault.
	bad := connectorFor(f.s, "wzl_wrong")
	err := mustErr(bad.SendMessage(ctx, tpl))
	connectortest.ErrorAs[*connectors.AuthError](t, err)
	var se *crmhub.SendError
	if errors.As(err, &se) {
		t.Error("an auth failure became a SendError")
	}
}

// mustErr drops the result of a send.
func mustErr(_ crmhub.SendResult, err error) error { return err }

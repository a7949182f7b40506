package wazzup_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

func TestSendMessage(t *testing.T) {
	var channels []wazzuptest.Channel
	connectortest.DecodeTestdata(t, "channels_response.json", &channels)
	channels = append(channels, wazzuptest.Channel{ChannelID: "off", Transport: "whatsapp", State: "disabled"})
	c, s := newClient(t, wazzuptest.Options{
		Channels: channels,
		RefuseMessage: func(m wazzuptest.Message) string {
			if m.Text == "boom" {
				return wazzup.CodeMessagesCanNotAdd
			}
			return ""
		},
	})
	ctx := t.Context()

	var req wazzup.SendMessageRequest
	connectortest.DecodeTestdata(t, "send_message_request.json", &req)
	resp, err := c.SendMessage(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	sent := s.Messages()
	if len(sent) != 1 || sent[0].MessageID != resp.MessageID || sent[0].Content != req.Content {
		t.Fatalf("sent %+v, answer %+v", sent, resp)
	}

	quote := wazzup.SendMessageRequest{ChannelID: req.ChannelID, ChatType: wazzup.ChatWhatsApp, ChatID: req.ChatID, Text: "re", RefMessageID: resp.MessageID}
	if _, err := c.SendMessage(ctx, quote); err != nil {
		t.Fatalf("quote: %v", err)
	}

	refusals := []struct {
		edit func(*wazzup.SendMessageRequest)
		code string
	}{
		{func(m *wazzup.SendMessageRequest) { m.ChannelID = "off" }, wazzup.CodeChannelBlocked},
		{func(m *wazzup.SendMessageRequest) { m.ChannelID = "missing" }, wazzup.CodeChannelNotFound},
		{func(m *wazzup.SendMessageRequest) { m.Text = strings.Repeat("x", wazzup.MaxTextLength+1) }, wazzup.CodeMessageTextTooLong},
		{func(m *wazzup.SendMessageRequest) { m.Text = "" }, wazzup.CodeMessageNothingToSend},
		{func(m *wazzup.SendMessageRequest) { m.ChatID = "+7 999" }, wazzup.CodeChatIncorrectChatIDWhatsApp},
		{func(m *wazzup.SendMessageRequest) { m.Content = "https://x.io/a.png" }, wazzup.CodeMessageOnlyTextOrContent},
		{func(m *wazzup.SendMessageRequest) { m.RefMessageID = "nope" }, wazzup.CodeReferenceMessageNotFound},
	}
	for _, tt := range refusals {
		m := wazzup.SendMessageRequest{ChannelID: req.ChannelID, ChatType: wazzup.ChatWhatsApp, ChatID: req.ChatID, Text: "hi"}
		tt.edit(&m)
		_, err := c.SendMessage(ctx, m)
		wantRequestError(t, err, http.StatusBadRequest, tt.code)
	}

	_, err = c.SendMessage(ctx, wazzup.SendMessageRequest{ChannelID: req.ChannelID, ChatType: wazzup.ChatWhatsApp, ChatID: req.ChatID, Text: "boom"})
	if te := connectortest.ErrorAs[*connectors.TransientError](t, err); te.Status != http.StatusInternalServerError ||
		!strings.Contains(te.Error(), wazzup.CodeMessagesCanNotAdd) {
		t.Fatalf("%v", te)
	}
}

func TestListChannels(t *testing.T) {
	var want []wazzup.Channel
	connectortest.DecodeTestdata(t, "channels_response.json", &want)
	var seed []wazzuptest.Channel
	connectortest.DecodeTestdata(t, "channels_response.json", &seed)
	c, _ := newClient(t, wazzuptest.Options{Channels: seed})
	got, err := c.ListChannels(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "got", got, want)
	if got[0].State != wazzup.StateActive || got[0].Transport != wazzup.ChatWhatsApp {
		t.Fatalf("%+v", got)
	}
}

package outbound_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/loopback"
	"github.com/crmhub/crmhub/connectors/outbound"
	"github.com/crmhub/crmhub/connectors/wazera"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func ptr[T any](v T) *T { return &v }

// TestRepliesLeaveThroughTheConnection: a conversation that came through a
// Wazzup connection is answered through Wazzup's send_message with the
// documented body; Wazzup's refusal shows on the message; a conversation
// of the hub's own channel still uses the fallback.
func TestRepliesLeaveThroughTheConnection(t *testing.T) {
	refuse := ""
	fake := wazzuptest.NewServer(t, wazzuptest.Options{
		Channels:      []wazzuptest.Channel{{ChannelID: "11111111-1111-4111-8111-111111111111", Transport: "whatsapp", PlainID: "79001234567", State: "active"}},
		RefuseMessage: func(wazzuptest.Message) string { return refuse },
	})
	d := dbtest.Open(t, nil)
	ctx, _, _ := dbtest.Workspace(t, d)
	conns := db.NewConnectionService(d, db.ConnectionConfig{Sealer: db.NewDevSealer(), AllowPrivate: true})
	fallback := &loopback.Channel{}
	convs := db.NewConversationService(d, &outbound.Router{Connections: conns, Fallback: fallback,
		Registry: connectors.Registry{crmhub.ConnectorWazzup: wazzup.NewConnector}})
	conn, err := conns.CreateConnection(ctx, crmhub.ConnectionInput{Kind: crmhub.ConnectorWazzup, Name: "w", BaseURL: fake.URL, APIKey: fake.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	in, err := convs.RecordInboundMessage(ctx, crmhub.InboundMessageInput{Channel: crmhub.ChannelWhatsApp, ChatID: "79124698489",
		Type: crmhub.MessageText, Text: ptr("Hi"), ExternalID: ptr("wz-in-1"), ConnectionID: &conn.ID,
		RemoteChannelID: ptr("11111111-1111-4111-8111-111111111111")})
	if err != nil {
		t.Fatal(err)
	}
	first, err := convs.SendMessage(ctx, crmhub.SendMessageInput{ConversationID: &in.ConversationID, Type: crmhub.MessageText,
		Text: ptr("Hello")})
	if err != nil {
		t.Fatal(err)
	}
	// The reply quotes the first message (the fake knows only the messages
	// sent through it).
	sent, err := convs.SendMessage(ctx, crmhub.SendMessageInput{ConversationID: &in.ConversationID, Type: crmhub.MessageText,
		Text: ptr("Hello from the hub"), ReplyToID: &first.ID})
	if err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages()
	if len(msgs) != 2 {
		m, _ := convs.Message(ctx, sent.ID)
		t.Fatalf("Wazzup got %d messages; message %s %v; requests %+v", len(msgs), m.Status, m.ErrorCode, fake.Requests())
	}
	got := msgs[1]
	if got.ChannelID != "11111111-1111-4111-8111-111111111111" || got.ChatType != "whatsapp" || got.ChatID != "79124698489" ||
		got.Text != "Hello from the hub" || got.RefMessageID != msgs[0].MessageID {
		t.Fatalf("send_message body %+v", got)
	}
	sent, _ = convs.Message(ctx, sent.ID)
	if sent.Status != crmhub.MessageSent || sent.ExternalID == nil || *sent.ExternalID != got.MessageID {
		t.Fatalf("sent message %+v", sent)
	}
	if len(fallback.Sent()) != 0 {
		t.Fatal("the fallback channel was used for a connection's conversation")
	}

	// Wazzup refuses: the message is FAILED with Wazzup's code.
	refuse = wazzup.CodeMessageTextTooLong
	failed, err := convs.SendMessage(ctx, crmhub.SendMessageInput{ConversationID: &in.ConversationID, Type: crmhub.MessageText,
		Text: ptr("too long, says the fake")})
	if err != nil {
		t.Fatal(err)
	}
	failed, _ = convs.Message(ctx, failed.ID)
	if failed.Status != crmhub.MessageFailed || failed.ErrorCode == nil || *failed.ErrorCode != wazzup.CodeMessageTextTooLong {
		t.Fatalf("refused message %s %v", failed.Status, failed.ErrorCode)
	}

	// Wazzup down (a gateway's 502, no documented code): the message
	// stays QUEUED for the outbox to retry. UNKNOWN_ERROR, the fake's
	// default 500 body, is a permanent refusal (see wazzup's
	// sendErrorTemporary).
	refuse = ""
	fake.InjectNext(wazzuptest.Fault{Status: 502, Code: "BAD_GATEWAY", Description: "upstream unavailable"})
	queued, err := convs.SendMessage(ctx, crmhub.SendMessageInput{ConversationID: &in.ConversationID, Type: crmhub.MessageText,
		Text: ptr("later")})
	if err != nil {
		t.Fatal(err)
	}
	if queued, _ = convs.Message(ctx, queued.ID); queued.Status != crmhub.MessageQueued {
		t.Fatalf("message during an outage: %s", queued.Status)
	}

	// A conversation of the hub's own channel uses the fallback.
	own, err := convs.RecordInboundMessage(ctx, crmhub.InboundMessageInput{Channel: crmhub.ChannelTelegram, ChatID: "someone",
		Type: crmhub.MessageText, Text: ptr("hi"), ReceivedAt: ptr(time.Now().Add(-time.Second))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := convs.SendMessage(ctx, crmhub.SendMessageInput{ConversationID: &own.ConversationID, Type: crmhub.MessageText,
		Text: ptr("via loopback")}); err != nil {
		t.Fatal(err)
	}
	if len(fallback.Sent()) != 1 || len(fake.Messages()) != 2 {
		t.Fatalf("fallback sent %d, Wazzup got %d", len(fallback.Sent()), len(fake.Messages()))
	}
}

// TestRepliesThroughWazera: the documented messages/send body, and a
// refusal visible on the message.
func TestRepliesThroughWazera(t *testing.T) {
	refuse := ""
	fake := wazeratest.NewServer(t, wazeratest.Options{RefuseMessage: func(wazeratest.Message) string { return refuse }})
	d := dbtest.Open(t, nil)
	ctx, _, _ := dbtest.Workspace(t, d)
	conns := db.NewConnectionService(d, db.ConnectionConfig{Sealer: db.NewDevSealer(), AllowPrivate: true})
	convs := db.NewConversationService(d, &outbound.Router{Connections: conns, Fallback: &loopback.Channel{},
		Registry: connectors.Registry{crmhub.ConnectorWazera: wazera.NewConnector}})
	conn, err := conns.CreateConnection(ctx, crmhub.ConnectionInput{Kind: crmhub.ConnectorWazera, Name: "w", BaseURL: fake.URL,
		APIKey: wazeratest.DefaultAPIKey, Options: map[string]any{wazera.OptionWhatsAppAccountID: 1}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := convs.RecordInboundMessage(ctx, crmhub.InboundMessageInput{Channel: crmhub.ChannelWhatsApp, ChatID: "+14155550123",
		Type: crmhub.MessageText, Text: ptr("Hi"), ExternalID: ptr("988"), ConnectionID: &conn.ID})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := convs.SendMessage(ctx, crmhub.SendMessageInput{ConversationID: &in.ConversationID, Type: crmhub.MessageText,
		Text: ptr("Hello from the hub")})
	if err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].To != "+14155550123" || msgs[0].WhatsAppAccountID != 1 || msgs[0].Type != "text" ||
		msgs[0].Body != "Hello from the hub" {
		t.Fatalf("messages/send: %+v", msgs)
	}
	if sent, _ = convs.Message(ctx, sent.ID); sent.Status != crmhub.MessageSent || *sent.ExternalID != fmt.Sprint(msgs[0].ID) {
		t.Fatalf("sent message %+v", sent)
	}
	refuse = "TEMPLATE_REQUIRED"
	failed, err := convs.SendMessage(ctx, crmhub.SendMessageInput{ConversationID: &in.ConversationID, Type: crmhub.MessageText,
		Text: ptr("refused")})
	if err != nil {
		t.Fatal(err)
	}
	if failed, _ = convs.Message(ctx, failed.ID); failed.Status != crmhub.MessageFailed || *failed.ErrorCode != "TEMPLATE_REQUIRED" {
		t.Fatalf("refused message %s %v", failed.Status, failed.ErrorCode)
	}
}

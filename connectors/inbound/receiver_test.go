package inbound_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/inbound"
	"github.com/crmhub/crmhub/connectors/loopback"
	"github.com/crmhub/crmhub/connectors/wazelo"
	"github.com/crmhub/crmhub/connectors/wazelo/wazelotest"
	"github.com/crmhub/crmhub/connectors/wazera"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/resolver"
	"github.com/google/uuid"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type env struct {
	t     *testing.T
	d     *db.DB
	ctx   context.Context
	ws    uuid.UUID
	base  string
	conns *db.ConnectionService
	convs *db.ConversationService
	conn  *crmhub.Connection
	token string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	d := dbtest.Open(t, nil)
	ctx, ws, _ := dbtest.Workspace(t, d)
	e := &env{t: t, d: d, ctx: ctx, ws: ws.ID, conns: db.NewConnectionService(d, db.ConnectionConfig{Sealer: db.NewDevSealer(), AllowPrivate: true}),
		convs: db.NewConversationService(d, &loopback.Channel{})}
	log := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(resolver.NewHandler(resolver.Config{Auth: db.NewAuthService(d), Logger: log,
		Hooks: &inbound.Receiver{Hooks: e.conns, Registry: connectors.Registry{crmhub.ConnectorWazzup: wazzup.NewConnector,
			crmhub.ConnectorWazelo: wazelo.NewConnector, crmhub.ConnectorWazera: wazera.NewConnector},
			Conversations: e.convs, Contacts: db.NewContactService(d), Users: db.NewUserService(d), Log: log}}))
	t.Cleanup(srv.Close)
	e.base = srv.URL
	var err error
	e.conn, err = e.conns.CreateConnection(ctx, crmhub.ConnectionInput{Kind: crmhub.ConnectorWazzup, Name: "w",
		BaseURL: "http://127.0.0.1:1", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if e.token, err = e.conns.SetWebhookSecret(ctx, e.conn.ID, nil); err != nil {
		t.Fatal(err)
	}
	return e
}

// post sends a webhook body to the connection's hook URL with token.
func (e *env) post(connID, token, body string) (int, string) {
	e.t.Helper()
	url := e.base + "/hooks/" + connID
	if token != "" {
		url += "?token=" + token
	}
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// messagesHook is a Wazzup messages webhook sent a minute ago: two
// messages from the client and one sent from the phone.
var messagesHook = strings.NewReplacer("{at}", fmt.Sprint(time.Now().Add(-time.Minute).UnixMilli())).Replace(`{"messages": [
  {"messageId": "wz-1", "channelId": "ch-1", "chatType": "whatsapp", "chatId": "79124698489", "dateTime": {at},
   "type": 1, "status": 99, "text": "Hello", "authorType": 99, "authorName": "Ivan"},
  {"messageId": "wz-2", "channelId": "ch-1", "chatType": "whatsapp", "chatId": "79124698489", "dateTime": {at},
   "type": 2, "status": 99, "content": "https://store.example/pic.jpg", "authorType": 99},
  {"messageId": "wz-3", "channelId": "ch-1", "chatType": "whatsapp", "chatId": "79124698489", "dateTime": {at},
   "type": 1, "status": 1, "text": "from the phone", "authorType": 0}
]}`)

func TestWazzupMessagesBecomeConversations(t *testing.T) {
	e := newEnv(t)
	code, body := e.post(e.conn.GlobalID(), e.token, messagesHook)
	if code != 200 || body != "{\"received\":3,\"skipped\":0}\n" {
		t.Fatalf("webhook: %d %s", code, body)
	}
	page, err := e.convs.Conversations(e.ctx, crmhub.ConversationFilter{}, 10, "")
	if err != nil || len(page.Edges) != 1 {
		t.Fatalf("conversations %+v %v", page, err)
	}
	cv := page.Edges[0].Node
	// The last message was sent from the phone: the conversation is
	// answered.
	if cv.Channel != crmhub.ChannelWhatsApp || cv.ChatID != "+79124698489" || cv.Unanswered ||
		cv.ConnectionID == nil || *cv.ConnectionID != e.conn.ID || cv.RemoteChannelID == nil || *cv.RemoteChannelID != "ch-1" {
		t.Fatalf("conversation %+v", cv)
	}
	msgs := func() []*crmhub.Message {
		t.Helper()
		m, err := e.convs.MessagesByConversation(e.ctx, []crmhub.PageKey{{ParentID: cv.ID, First: 10}})
		if err != nil {
			t.Fatal(err)
		}
		var out []*crmhub.Message
		for _, edge := range m[crmhub.PageKey{ParentID: cv.ID, First: 10}].Edges {
			out = append(out, edge.Node)
		}
		return out
	}
	got := msgs()
	if len(got) != 3 || *got[2].Text != "Hello" || got[2].Direction != crmhub.Inbound ||
		*got[1].ContentURL != "https://store.example/pic.jpg" || got[1].Type != crmhub.MessageImage ||
		*got[0].Text != "from the phone" || got[0].Direction != crmhub.Outbound || got[0].Status != crmhub.MessageSent {
		t.Fatalf("messages %+v", got)
	}
	// A replay of the same webhook stores nothing twice.
	if code, _ := e.post(e.conn.GlobalID(), e.token, messagesHook); code != 200 {
		t.Fatalf("replay: %d", code)
	}
	if n := len(msgs()); n != 3 {
		t.Fatalf("%d messages after a replay", n)
	}
}

func TestWazzupHookAuthentication(t *testing.T) {
	e := newEnv(t)
	other, _ := e.conns.CreateConnection(e.ctx, crmhub.ConnectionInput{Kind: crmhub.ConnectorWazzup, Name: "no secret",
		BaseURL: "http://127.0.0.1:1", APIKey: "k"})
	for _, c := range []struct {
		name, conn, token, body string
		want                    int
	}{
		{"no token", e.conn.GlobalID(), "", messagesHook, 401},
		{"wrong token", e.conn.GlobalID(), e.token + "x", messagesHook, 401},
		{"no secret set", other.GlobalID(), e.token, messagesHook, 401},
		{"unknown connection", crmhub.GlobalID(crmhub.KindConnection, uuid.New()), e.token, messagesHook, 404},
		{"not a connection id", "ct_00", e.token, messagesHook, 404},
		{"malformed body", e.conn.GlobalID(), e.token, `{"messages": [`, 400},
	} {
		if code, body := e.post(c.conn, c.token, c.body); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
	}
	res, _ := http.Get(e.base + "/hooks/" + e.conn.GlobalID() + "?token=" + e.token)
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %s", res.Status)
	}
	if page, _ := e.convs.Conversations(e.ctx, crmhub.ConversationFilter{}, 10, ""); len(page.Edges) != 0 {
		t.Fatalf("a refused webhook stored %d conversations", len(page.Edges))
	}
}

func TestWazzupStatusesAndChannels(t *testing.T) {
	e := newEnv(t)
	if code, body := e.post(e.conn.GlobalID(), e.token, messagesHook); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	page, _ := e.convs.Conversations(e.ctx, crmhub.ConversationFilter{}, 10, "")
	cv := page.Edges[0].Node
	var sent []*crmhub.Message
	for _, text := range []string{"first reply", "second reply"} {
		m, err := e.convs.SendMessage(e.ctx, crmhub.SendMessageInput{ConversationID: &cv.ID, Type: crmhub.MessageText, Text: &text})
		if err != nil {
			t.Fatal(err)
		}
		if m, err = e.convs.Message(e.ctx, m.ID); err != nil || m.ExternalID == nil {
			t.Fatalf("sent message has no external id: %+v %v", m, err)
		}
		sent = append(sent, m)
	}
	hook := fmt.Sprintf(`{"statuses": [{"messageId": %q, "status": "3"}, {"messageId": %q, "status": "14"},
	  {"messageId": "not-ours", "status": "2"}],
	 "channels": [{"channelId": "ch-1", "transport": "whatsapp", "plainId": "79001234567", "state": "active"}]}`,
		*sent[0].ExternalID, *sent[1].ExternalID)
	code, body := e.post(e.conn.GlobalID(), e.token, hook)
	var res inbound.Result
	if json.Unmarshal([]byte(body), &res); code != 200 || res != (inbound.Result{Received: 3, Skipped: 1}) {
		t.Fatalf("statuses: %d %s", code, body)
	}
	if m, _ := e.convs.Message(e.ctx, sent[0].ID); m.Status != crmhub.MessageRead {
		t.Errorf("first reply %s, want READ", m.Status)
	}
	if m, _ := e.convs.Message(e.ctx, sent[1].ID); m.Status != crmhub.MessageFailed || m.ErrorCode == nil || *m.ErrorCode != "MESSAGE_TEXT_TOO_LONG" {
		t.Errorf("second reply %s %v, want FAILED MESSAGE_TEXT_TOO_LONG", m.Status, m.ErrorCode)
	}
	// A late "sent" does not move READ back.
	e.post(e.conn.GlobalID(), e.token, fmt.Sprintf(`{"statuses": [{"messageId": %q, "status": "1"}]}`, *sent[0].ExternalID))
	if m, _ := e.convs.Message(e.ctx, sent[0].ID); m.Status != crmhub.MessageRead {
		t.Errorf("first reply regressed to %s", m.Status)
	}
	// Wazzup echoes the messages the hub sent through it: stored once.
	before, _ := e.convs.CountMessages(e.ctx, cv.ID)
	echo := fmt.Sprintf(`{"messages": [{"messageId": %q, "channelId": "ch-1", "chatType": "whatsapp", "chatId": "79124698489",
	  "dateTime": %d, "type": 1, "status": 1, "text": "first reply", "authorType": 9}]}`, *sent[0].ExternalID, time.Now().UnixMilli())
	if code, body := e.post(e.conn.GlobalID(), e.token, echo); code != 200 {
		t.Fatalf("echo: %d %s", code, body)
	}
	if after, _ := e.convs.CountMessages(e.ctx, cv.ID); after != before {
		t.Fatalf("the echo of a sent message was stored again: %d messages, were %d", after, before)
	}
	chans, err := e.conns.ChannelsByConnection(e.ctx, []uuid.UUID{e.conn.ID})
	if err != nil || len(chans[e.conn.ID]) != 1 || chans[e.conn.ID][0].State != "active" || chans[e.conn.ID][0].PlainID != "79001234567" {
		t.Fatalf("channels %+v %v", chans, err)
	}
	e.post(e.conn.GlobalID(), e.token, `{"channels": [{"channelId": "ch-1", "transport": "whatsapp", "plainId": "79001234567", "state": "disabled"}]}`)
	if chans, _ := e.conns.ChannelsByConnection(e.ctx, []uuid.UUID{e.conn.ID}); chans[e.conn.ID][0].State != "disabled" {
		t.Fatalf("channel state not updated: %+v", chans[e.conn.ID][0])
	}

	// A new channels list replaces the old: ch-1, absent, is removed.
	if code, body := e.post(e.conn.GlobalID(), e.token, `{"channelsList": [
	  {"channelId": "ch-2", "transport": "instagram", "plainId": "shop", "state": "active"},
	  {"channelId": "ch-3", "transport": "telegram", "plainId": "bot", "state": "qr"}]}`); code != 200 {
		t.Fatalf("channelsList: %d %s", code, body)
	}
	chans, _ = e.conns.ChannelsByConnection(e.ctx, []uuid.UUID{e.conn.ID})
	if got := chans[e.conn.ID]; len(got) != 2 || got[0].ChannelID != "ch-2" || got[1].ChannelID != "ch-3" || got[1].State != "qr" {
		t.Fatalf("channels after the new list: %+v", got)
	}
	// Another connection's channels are not touched by this one's list.
	other, err := e.conns.CreateConnection(e.ctx, crmhub.ConnectionInput{Kind: crmhub.ConnectorWazzup, Name: "other",
		BaseURL: "http://127.0.0.1:1", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.conns.SaveChannels(e.ctx, e.ws, other.ID, []crmhub.ConnectionChannel{{ChannelID: "x", Transport: "vk", State: "active"}}); err != nil {
		t.Fatal(err)
	}
	e.post(e.conn.GlobalID(), e.token, `{"channelsList": []}`)
	chans, _ = e.conns.ChannelsByConnection(e.ctx, []uuid.UUID{e.conn.ID, other.ID})
	if len(chans[e.conn.ID]) != 0 || len(chans[other.ID]) != 1 {
		t.Fatalf("after an empty list: %+v", chans)
	}
}

// postSigned posts body with header to the connection's hook URL (no token:
// these CRMs sign).
func (e *env) postSigned(connID string, body []byte, header http.Header) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+"/hooks/"+connID, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// signedConnection makes a connection of kind whose webhook secret is secret.
func (e *env) signedConnection(kind crmhub.ConnectorKind, secret string) *crmhub.Connection {
	e.t.Helper()
	c, err := e.conns.CreateConnection(e.ctx, crmhub.ConnectionInput{Kind: kind, Name: string(kind), BaseURL: "http://127.0.0.1:1", APIKey: "k"})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.conns.SetWebhookSecret(e.ctx, c.ID, &secret); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// onlyConversation returns the workspace's one conversation with its
// messages, newest first.
func (e *env) onlyConversation() (*crmhub.Conversation, []*crmhub.Message) {
	e.t.Helper()
	page, err := e.convs.Conversations(e.ctx, crmhub.ConversationFilter{}, 10, "")
	if err != nil || len(page.Edges) != 1 {
		e.t.Fatalf("conversations %+v %v", page, err)
	}
	cv := page.Edges[0].Node
	key := crmhub.PageKey{ParentID: cv.ID, First: 10}
	m, err := e.convs.MessagesByConversation(e.ctx, []crmhub.PageKey{key})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*crmhub.Message
	for _, edge := range m[key].Edges {
		out = append(out, edge.Node)
	}
	return cv, out
}

// TestSignedWebhookExamples posts the documents' webhook examples of
// Wazelo and Wazera, signed with the connection's secret, and with a bad
// signature.
func TestSignedWebhookExamples(t *testing.T) {
	t.Run("wazelo", func(t *testing.T) {
		e := newEnv(t)
		const secret = "wazelo-signing-secret-1234"
		conn := e.signedConnection(crmhub.ConnectorWazelo, secret)
		body := []byte(wazelotest.ExampleMessageReceived)
		if code := e.postSigned(conn.GlobalID(), body, wazelotest.WebhookHeader(body, "another-secret-entirely")); code != 401 {
			t.Fatalf("bad signature: %d", code)
		}
		if code := e.postSigned(conn.GlobalID(), body, http.Header{}); code != 401 {
			t.Fatalf("no signature: %d", code)
		}
		for range 2 { // the second is a replay
			if code := e.postSigned(conn.GlobalID(), body, wazelotest.WebhookHeader(body, secret)); code != 200 {
				t.Fatalf("signed example: %d", code)
			}
		}
		cv, msgs := e.onlyConversation()
		if cv.Channel != crmhub.ChannelWhatsApp || cv.ChatID != "+919876543210" || *cv.ConnectionID != conn.ID ||
			len(msgs) != 1 || *msgs[0].Text != "Hi, I want to book a site visit" || msgs[0].Direction != crmhub.Inbound {
			t.Fatalf("conversation %+v, messages %+v", cv, msgs)
		}
	})
	t.Run("wazera", func(t *testing.T) {
		e := newEnv(t)
		const secret = "wazera-signing-secret-1234"
		conn := e.signedConnection(crmhub.ConnectorWazera, secret)
		ex := wazeratest.Examples()
		// The document's example number, +1234567890, is not a valid phone
		// number: the hub skips that message (and says so) rather than
		// store a chat it could never answer.
		b, h, _ := ex[wazeratest.EventMessageReceived].Signed(secret)
		if code := e.postSigned(conn.GlobalID(), b, h); code != 200 {
			t.Fatalf("the example: %d", code)
		}
		if page, _ := e.convs.Conversations(e.ctx, crmhub.ConversationFilter{}, 10, ""); len(page.Edges) != 0 {
			t.Fatalf("a message from an invalid number was stored")
		}
		// The same message from a valid number.
		received := ex[wazeratest.EventMessageReceived]
		m := received.Data.(wazeratest.WebhookMessage)
		m.From = "+14155550123"
		received.Data = m
		body, header, err := received.Signed(secret)
		if err != nil {
			t.Fatal(err)
		}
		bad := header.Clone()
		bad.Set(wazeratest.SignatureHeader, "sha256="+wazeratest.Sign(body, "another-secret-entirely"))
		if code := e.postSigned(conn.GlobalID(), body, bad); code != 401 {
			t.Fatalf("bad signature: %d", code)
		}
		for range 2 {
			if code := e.postSigned(conn.GlobalID(), body, header); code != 200 {
				t.Fatalf("signed example: %d", code)
			}
		}
		// The other documented events are accepted: the conversation's
		// (45, which the message named) ends closed; the example contact's
		// number is invalid, so contact.created is skipped.
		for name, ev := range ex {
			if name == wazeratest.EventMessageReceived {
				continue
			}
			b, h, _ := ev.Signed(secret)
			if code := e.postSigned(conn.GlobalID(), b, h); code != 200 {
				t.Errorf("%s: %d", name, code)
			}
		}
		cv, msgs := e.onlyConversation()
		if cv.ChatID != "+14155550123" || *cv.ConnectionID != conn.ID || len(msgs) != 1 || *msgs[0].Text != "Hello from WhatsApp!" ||
			cv.Status != crmhub.ConversationClosed {
			t.Fatalf("conversation %+v, messages %+v", cv, msgs)
		}
	})
}

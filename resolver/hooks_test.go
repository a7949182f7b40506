package resolver_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestInboundWazzupWebhookThroughHandler: a Wazzup connection made over
// GraphQL gets its webhook secret, the CRM posts to the path the API
// names, and the results show up in GraphQL.
func TestInboundWazzupWebhookThroughHandler(t *testing.T) {
	e := newEnv(t)
	a := e.workspace()
	conn := a.wazzupConnection()
	if conn.WebhookPath != "/hooks/"+conn.ID {
		t.Fatalf("webhookPath %q", conn.WebhookPath)
	}
	post := func(token, body string) int {
		t.Helper()
		res, err := http.Post(e.srv.URL+conn.WebhookPath+"?token="+token, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	at := time.Now().Add(-time.Minute).UnixMilli()
	hook := fmt.Sprintf(`{"messages": [{"messageId": "m1", "channelId": "ch-1", "chatType": "whatsapp", "chatId": "79124698489",
	  "dateTime": %d, "type": 1, "status": 99, "text": "Hi", "authorType": 99, "authorName": "Ivan"}],
	 "channels": [{"channelId": "ch-1", "transport": "whatsapp", "plainId": "79001234567", "state": "active"}]}`, at)
	if code := post("anything", hook); code != http.StatusUnauthorized {
		t.Fatalf("before a secret is set: %d", code)
	}

	var secret struct{ SetConnectionWebhookSecret string }
	a.do(`mutation($id: ID!) { setConnectionWebhookSecret(id: $id) }`, map[string]any{"id": conn.ID}, &secret)
	token := secret.SetConnectionWebhookSecret
	if !strings.HasPrefix(token, "whk_") || len(token) < 30 {
		t.Fatalf("token %q", token)
	}
	a.fail(`mutation($id: ID!) { setConnectionWebhookSecret(id: $id, secret: "short") }`, map[string]any{"id": conn.ID},
		"VALIDATION_ERROR", "secret")
	if code := post(token+"x", hook); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	if code := post(token, hook); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}

	var got struct {
		Conversations struct {
			Edges []struct {
				Node struct {
					ChatID     string
					Connection struct{ ID string }
					Contact    struct{ Name string }
				}
			}
		}
		Connection struct {
			Channels []struct{ ChannelID, Transport, PlainID, State string }
		}
	}
	a.do(`query($id: ID!) { conversations { edges { node { chatId connection { id } contact { name } } } }
		connection(id: $id) { channels { channelId transport plainId state } } }`, map[string]any{"id": conn.ID}, &got)
	if len(got.Conversations.Edges) != 1 {
		t.Fatalf("conversations %+v", got.Conversations)
	}
	n := got.Conversations.Edges[0].Node
	if n.ChatID != "+79124698489" || n.Connection.ID != conn.ID || n.Contact.Name != "Ivan" {
		t.Fatalf("conversation %+v", n)
	}
	if ch := got.Connection.Channels; len(ch) != 1 || ch[0].ChannelID != "ch-1" || ch[0].State != "active" || ch[0].PlainID != "79001234567" {
		t.Fatalf("channels %+v", ch)
	}

	// Another workspace cannot set the secret; a key without
	// connectors:manage cannot either.
	b := e.workspace()
	b.fail(`mutation($id: ID!) { setConnectionWebhookSecret(id: $id) }`, map[string]any{"id": conn.ID}, "NOT_FOUND")
	reader := e.client(a.createKey("reader", "conversations:read").Secret)
	reader.fail(`mutation($id: ID!) { setConnectionWebhookSecret(id: $id) }`, map[string]any{"id": conn.ID}, "FORBIDDEN")
	if code := post(token, hook); code != http.StatusOK {
		t.Fatalf("the secret changed: %d", code)
	}
}

// TestPoisonMessageInAWebhookBatch: one message the hub cannot store (a
// NUL in its text or sender name) is skipped and counted; the others of
// the batch are stored and the CRM gets a 2xx, so it does not retry the
// batch forever. The retry it may still make stores nothing twice.
func TestPoisonMessageInAWebhookBatch(t *testing.T) {
	e := newEnv(t)
	a := e.workspace()
	conn := a.wazzupConnection()
	var secret struct{ SetConnectionWebhookSecret string }
	a.do(`mutation($id: ID!) { setConnectionWebhookSecret(id: $id) }`, map[string]any{"id": conn.ID}, &secret)
	at := time.Now().Add(-time.Minute).UnixMilli()
	msg := func(id, chat, text, author string) string {
		b, _ := json.Marshal(map[string]any{"messageId": id, "channelId": "ch-1", "chatType": "whatsapp", "chatId": chat,
			"dateTime": at, "type": 1, "status": 99, "text": text, "authorType": 99, "authorName": author})
		return string(b)
	}
	hook := `{"messages": [` + msg("m1", "79124698481", "first", "Ann") + `,` + msg("m2", "79124698482", "bad\u0000text", "Bob") +
		`,` + msg("m3", "79124698483", "third", "Cid\u0000") + `,` + msg("m4", "79124698484", "fourth", "Dan") + `]}`
	for range 2 {
		res, err := http.Post(e.srv.URL+conn.WebhookPath+"?token="+secret.SetConnectionWebhookSecret, "application/json", strings.NewReader(hook))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"skipped":2`) {
			t.Fatalf("webhook: %d %s", res.StatusCode, body)
		}
	}
	var got struct {
		Conversations struct {
			Edges []struct {
				Node struct {
					ChatID   string
					Messages struct {
						Edges []struct{ Node struct{ Text string } }
					}
				}
			}
		}
	}
	a.do(`{ conversations { edges { node { chatId messages { edges { node { text } } } } } } }`, nil, &got)
	texts := map[string][]string{}
	for _, c := range got.Conversations.Edges {
		for _, m := range c.Node.Messages.Edges {
			texts[c.Node.ChatID] = append(texts[c.Node.ChatID], m.Node.Text)
		}
	}
	if len(texts) != 2 || len(texts["+79124698481"]) != 1 || len(texts["+79124698484"]) != 1 {
		t.Fatalf("stored %v, want the first and fourth message once each", texts)
	}
}

// hookConnection is a connection's id and the path its CRM posts to.
type hookConnection struct{ ID, WebhookPath string }

// wazzupConnection creates a Wazzup connection (its base URL unreachable:
// the tests post its webhooks themselves).
func (c *client) wazzupConnection() hookConnection {
	c.t.Helper()
	var created struct{ CreateConnection hookConnection }
	c.do(`mutation { createConnection(input: {kind: WAZZUP, name: "W", baseUrl: "http://127.0.0.1:1", apiKey: "k"}) { id webhookPath } }`,
		nil, &created)
	return created.CreateConnection
}

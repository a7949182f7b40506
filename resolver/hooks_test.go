package resolver_test

import (
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
	var created struct {
		CreateConnection struct{ ID, WebhookPath string }
	}
	a.do(`mutation { createConnection(input: {kind: WAZZUP, name: "W", baseUrl: "http://127.0.0.1:1", apiKey: "k"}) { id webhookPath } }`,
		nil, &created)
	conn := created.CreateConnection
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

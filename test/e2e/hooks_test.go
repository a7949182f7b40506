package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors/wazelo/wazelotest"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

// publicFront is the server's public address: a reverse proxy started
// before the server (whose port is only known once it listens), so that
// CRMHUB_PUBLIC_URL can name it.
type publicFront struct {
	*httptest.Server
	target atomic.Pointer[url.URL]
}

func newPublicFront(t *testing.T) *publicFront {
	p := &publicFront{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := p.target.Load()
		if u == nil {
			http.Error(w, "the hub is not up yet", http.StatusBadGateway)
			return
		}
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// hookServer starts `crmhub serve` behind a public front.
func hookServer(t *testing.T) (*server, *publicFront) {
	t.Helper()
	front := newPublicFront(t)
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + dbtest.URL(t), "CRMHUB_SECRET_KEY=" + db.NewSecretKey(), "CRMHUB_PUBLIC_URL=" + front.URL,
		"CRMHUB_CONNECTOR_ALLOW_PRIVATE=true", "CRMHUB_LOG_FORMAT=text"}
	s := start(t, build(t, dir), filepath.Join(dir, "dev-key"), env)
	u, err := url.Parse(s.Base)
	if err != nil {
		t.Fatal(err)
	}
	front.target.Store(u)
	return s, front
}

// connect creates a connection and returns its id.
func (s *server) connect(t *testing.T, kind, baseURL, apiKey string) string {
	t.Helper()
	var out struct{ CreateConnection struct{ ID string } }
	s.do(t, `mutation($kind: ConnectorKind!, $url: String!, $key: String!) {
		createConnection(input: {kind: $kind, name: "e2e", baseUrl: $url, apiKey: $key}) { id } }`,
		map[string]any{"kind": kind, "url": baseURL, "key": apiKey}, &out)
	return out.CreateConnection.ID
}

type hookRegistration struct {
	Status, Note string
	URL          *string
}

// awaitHook waits until the connection's hook registration has status.
func (s *server) awaitHook(t *testing.T, id, status string) hookRegistration {
	t.Helper()
	return eventually(t, s, "hook of "+id+" "+status, func() (hookRegistration, bool) {
		var out struct {
			Connection struct{ HookRegistration hookRegistration }
		}
		s.do(t, `query($id: ID!) { connection(id: $id) { hookRegistration { status note url } } }`, map[string]any{"id": id}, &out)
		return out.Connection.HookRegistration, out.Connection.HookRegistration.Status == status
	})
}

// eventually polls check until it reports done, for at most 60 s: the
// server is another process, so there is no signal to wait on.
func eventually[T any](t *testing.T, s *server, what string, check func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, done := check()
		if done {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within 60 s: %s (last %+v); server log:\n%s", what, v, s.Stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type hubConversation struct {
	ChatID   string
	Status   string
	Assignee *struct{ ExternalID, Name string }
	Messages struct {
		Edges []struct{ Node struct{ Text string } }
	}
}

// conversations lists the workspace's conversations.
func (s *server) conversations(t *testing.T) []hubConversation {
	t.Helper()
	var out struct {
		Conversations struct {
			Edges []struct{ Node hubConversation }
		}
	}
	s.do(t, `{ conversations(first: 10) { edges { node { chatId status assignee { externalId name }
		messages(first: 10) { edges { node { text } } } } } } }`, nil, &out)
	var cs []hubConversation
	for _, e := range out.Conversations.Edges {
		cs = append(cs, e.Node)
	}
	return cs
}

// TestHooksRegisterThroughTheServer: with CRMHUB_PUBLIC_URL, creating a
// Wazzup and a Wazera connection registers the hook URL at the fakes
// (Wazzup's test request reaching the server and answered 200), the
// fakes' webhooks then reach the hub, and deleting the connections
// removes the registrations.
func TestHooksRegisterThroughTheServer(t *testing.T) {
	s, front := hookServer(t)
	ctx := context.Background()
	wz := wazzuptest.NewServer(t, wazzuptest.Options{})
	wr := wazeratest.NewServer(t, wazeratest.Options{})

	wzID := s.connect(t, "WAZZUP", wz.URL, wz.APIKey())
	hook := s.awaitHook(t, wzID, "REGISTERED")
	want := front.URL + "/hooks/" + wzID
	if hook.URL == nil || *hook.URL != want || !strings.HasPrefix(wz.WebhooksURL(), want+"?token=whk_") {
		t.Fatalf("Wazzup hook %+v, Wazzup's webhooksUrl %q", hook, wz.WebhooksURL())
	}
	at := time.Now().Add(-time.Minute).UnixMilli()
	status, err := wz.SendWebhook(ctx, wazzup.Webhook{Messages: []wazzup.WebhookMessage{{MessageID: "wz-e2e-1", ChannelID: "ch-1",
		ChatType: "whatsapp", ChatID: "79124698489", DateTime: at, Type: 1, Status: 99, Text: "Hi from Wazzup", AuthorType: 99}}})
	if err != nil || status != http.StatusOK {
		t.Fatalf("Wazzup's webhook: %d %v\n%s", status, err, s.Stderr)
	}

	wrID := s.connect(t, "WAZERA", wr.URL, wr.APIKey())
	s.awaitHook(t, wrID, "REGISTERED")
	if hooks := wr.Webhooks(); len(hooks) != 1 || hooks[0].URL != front.URL+"/hooks/"+wrID || !strings.HasPrefix(hooks[0].Secret, "whk_") {
		t.Fatalf("Wazera's webhooks %+v", hooks)
	}
	received := wazeratest.Examples()[wazeratest.EventMessageReceived]
	m := received.Data.(wazeratest.WebhookMessage)
	m.From, m.Contact.Phone = "+14155550123", "+14155550123"
	received.Data = m
	if st, err := wr.Deliver(ctx, received); err != nil || st[0] != http.StatusOK {
		t.Fatalf("Wazera's webhook: %v %v\n%s", st, err, s.Stderr)
	}
	chats := map[string]string{}
	for _, c := range s.conversations(t) {
		chats[c.ChatID] = c.Messages.Edges[0].Node.Text
	}
	if chats["+79124698489"] != "Hi from Wazzup" || chats["+14155550123"] != "Hello from WhatsApp!" {
		t.Fatalf("conversations %v", chats)
	}

	for _, id := range []string{wzID, wrID} {
		s.do(t, `mutation($id: ID!) { deleteConnection(id: $id) { id } }`, map[string]any{"id": id}, nil)
	}
	eventually(t, s, "the registrations removed", func() (string, bool) {
		return wz.WebhooksURL(), wz.WebhooksURL() == "" && len(wr.Webhooks()) == 0
	})
}

// TestWazeloConversationThroughTheServer: Wazelo cannot register (the
// connection says so), its secret is set by hand, and a message, an
// assignment and a resolution signed by the fake reach the hub
// conversation.
func TestWazeloConversationThroughTheServer(t *testing.T) {
	s, front := hookServer(t)
	fake := wazelotest.NewServer(t, wazelotest.Options{Contacts: []wazelotest.Contact{{ID: "cnt_priya", Phone: "919876543210"}}})
	id := s.connect(t, "WAZELO", fake.URL+"/v1", fake.APIKey())
	if hook := s.awaitHook(t, id, "MANUAL"); !strings.Contains(hook.Note, "no API to register webhooks") {
		t.Fatalf("Wazelo hook %+v", hook)
	}
	s.do(t, `mutation($id: ID!, $secret: String) { setConnectionWebhookSecret(id: $id, secret: $secret) }`,
		map[string]any{"id": id, "secret": fake.WebhookSecret()}, nil)
	deliver := func(ev wazelotest.Event) {
		t.Helper()
		body, _, err := fake.Webhook(ev)
		if err != nil {
			t.Fatal(err)
		}
		req, err := wazelotest.NewWebhookRequest(t.Context(), front.URL+"/hooks/"+id, body, fake.WebhookSecret())
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %v %v\n%s", ev.Event, res, err, s.Stderr)
		}
		res.Body.Close()
	}
	deliver(fake.Receive("919876543210", "I want to book a site visit"))
	deliver(fake.Assign("919876543210", wazelotest.Agent{ID: "agt_7", Name: "Asha"}))
	cs := s.conversations(t)
	if len(cs) != 1 || cs[0].Status != "OPEN" || cs[0].Assignee == nil || cs[0].Assignee.ExternalID != "agt_7" || cs[0].Assignee.Name != "Asha" {
		t.Fatalf("after the assignment: %+v", cs)
	}
	deliver(fake.Resolve("919876543210"))
	if cs = s.conversations(t); len(cs) != 1 || cs[0].Status != "CLOSED" || cs[0].Assignee == nil {
		t.Fatalf("after the resolution: %+v", cs)
	}
}

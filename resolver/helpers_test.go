package resolver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/resolver"
	"github.com/crmhub/crmhub/webhook"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// env is one API server over the package's test database.
type env struct {
	t   *testing.T
	db  *db.DB
	srv *httptest.Server
	// handler is what srv serves; its Shutdown runs at the test's end.
	handler *resolver.Handler
	// ch is the outbound channel sendMessage delivers to.
	ch *loopback.Channel
	// hub fans events out to subscriptions; it listens before newEnv returns.
	hub           *db.Hub
	conversations *db.ConversationService
	// webhooks signs with the development key and may target loopback; no
	// River runs unless a test starts one (see db.NewRiver).
	webhooks *db.WebhookService
	// connections seals with the development key and allows loopback base
	// URLs; sync queues runs that nothing works unless a test starts River.
	connections *db.ConnectionService
	sync        *db.SyncService
	// auth authenticates with the key cache on; its test signals are on.
	auth *db.AuthService
}

// newEnv starts the real handler, as cmd/crmhub wires it, over services on
// PostgreSQL. Options adjust the Config before the handler is built.
func newEnv(t *testing.T, opts ...func(*resolver.Config)) *env {
	t.Helper()
	d := dbtest.Open(t, nil)
	return newEnvOn(t, d, opts...)
}

// newEnvClock is newEnv with the services on a settable clock, for time
// rules (the service window, expiries).
func newEnvClock(t *testing.T, clock *dbtest.Clock, opts ...func(*resolver.Config)) *env {
	t.Helper()
	return newEnvOn(t, dbtest.Open(t, clock), opts...)
}

func newEnvOn(t *testing.T, d *db.DB, opts ...func(*resolver.Config)) *env {
	t.Helper()
	return newEnvHub(t, d, db.HubConfig{}, opts...)
}

// newEnvHub is newEnvOn with the event hub's settings (buffer, send
// timeout) given.
func newEnvHub(t *testing.T, d *db.DB, hubCfg db.HubConfig, opts ...func(*resolver.Config)) *env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := &env{t: t, db: d, ch: &loopback.Channel{}}
	hubCfg.Log = log
	e.hub = db.NewHub(d, hubCfg)
	e.hub.TestSignals.SubscribersChanged.Init()
	auth := db.NewAuthService(d)
	auth.TestSignals.UseRecorded.Init()
	auth.TestSignals.KeyNotified.Init()
	auth.UseHub(e.hub) // as cmd/crmhub wires it: the key cache on
	e.auth = auth
	// Before the database closes (its cleanup was registered first, so it
	// runs last): a key-use write cut off by the close would log into
	// this test's output after the test ended, a data race.
	t.Cleanup(auth.Wait)
	ctx, cancel := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() { e.hub.Run(ctx); close(hubDone) }()
	t.Cleanup(func() { cancel(); <-hubDone })
	<-e.hub.Listening()
	e.conversations = db.NewConversationService(d, e.ch)
	var err error
	e.webhooks, err = db.NewWebhookService(d, db.WebhookConfig{Sealer: db.NewDevSealer(), AllowPrivate: true, Log: log,
		Sender: webhook.NewSender(webhook.Config{AllowPrivate: true})})
	if err != nil {
		t.Fatal(err)
	}
	e.connections = db.NewConnectionService(d, db.ConnectionConfig{Sealer: db.NewDevSealer(), AllowPrivate: true})
	if e.sync, err = db.NewSyncService(d, db.SyncConfig{Log: log}); err != nil {
		t.Fatal(err)
	}
	cfg := resolver.Config{
		// Snapshots read whole workspaces (pages of 100 in pages of 100);
		// the tests of the limit set their own.
		ComplexityLimit: 1 << 24,
		Contacts:        db.NewContactService(d),
		Auth:            auth,
		APIKeys:         auth,
		Workspaces:      auth,
		Consents:        db.NewConsentService(d),
		Users:           db.NewUserService(d),
		Deals:           db.NewDealService(d),
		Conversations:   e.conversations,
		Events:          db.NewEventService(d, e.hub),
		Webhooks:        e.webhooks,
		Connections:     e.connections,
		Sync:            e.sync,
		Hooks: &inbound.Receiver{Hooks: e.connections, Conversations: e.conversations, Log: log,
			Contacts: db.NewContactService(d), Users: db.NewUserService(d),
			Registry: connectors.Registry{crmhub.ConnectorWazzup: wazzup.NewConnector}},
		Clock:       d,
		Ready:       d.Ping,
		ReadScope:   d.ReadScope,
		Idempotency: db.NewIdempotencyService(d),
		Logger:      log,
	}
	for _, o := range opts {
		o(&cfg)
	}
	h := resolver.NewHandler(cfg)
	e.handler = h
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	// Before the server and the hub close (cleanups run last first): the
	// sockets' operations may log through t until they have ended.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("handler shutdown: %v", err)
		}
	})
	return e
}

// workspace creates a workspace and returns a client holding its admin key.
func (e *env) workspace() *client {
	e.t.Helper()
	_, _, secret := dbtest.Workspace(e.t, e.db)
	return e.client(secret)
}

func (e *env) client(key string) *client {
	return &client{t: e.t, url: e.srv.URL + "/graphql", key: key}
}

// client speaks GraphQL over HTTP with one API key.
type client struct {
	t   *testing.T
	url string
	key string
}

// gqlError is one entry of a response's errors array.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

func (e gqlError) code() string {
	s, _ := e.Extensions["code"].(string)
	return s
}

func (e gqlError) field() string {
	s, _ := e.Extensions["field"].(string)
	return s
}

type response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
	Raw    string
}

// post sends one operation and decodes the response whatever its status.
func (c *client) post(query string, vars map[string]any) response {
	c.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		c.t.Fatalf("encode request: %v", err)
	}
	req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json, application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("post: %v", err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	out := response{Status: res.StatusCode, Raw: buf.String()}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		c.t.Fatalf("decode response (status %d): %v\n%s", res.StatusCode, err, buf.String())
	}
	return out
}

// do runs an operation that must succeed and decodes its data into out.
func (c *client) do(query string, vars map[string]any, out any) {
	c.t.Helper()
	res := c.post(query, vars)
	if len(res.Errors) > 0 || res.Status != http.StatusOK {
		c.t.Fatalf("unexpected errors (status %d) for\n%s\n%s", res.Status, query, res.Raw)
	}
	if out != nil {
		if err := json.Unmarshal(res.Data, out); err != nil {
			c.t.Fatalf("decode data: %v\n%s", err, res.Raw)
		}
	}
}

// fail runs an operation that must fail and returns its first error after
// checking its code (and its field when one is given).
func (c *client) fail(query string, vars map[string]any, code string, field ...string) gqlError {
	c.t.Helper()
	res := c.post(query, vars)
	if len(res.Errors) == 0 {
		c.t.Fatalf("want error %s, got success for\n%s\n%s", code, query, res.Raw)
	}
	e := res.Errors[0]
	if e.code() != code {
		c.t.Fatalf("want code %s, got %q\n%s", code, e.code(), res.Raw)
	}
	if len(field) > 0 && e.field() != field[0] {
		c.t.Fatalf("want extensions.field %q, got %q\n%s", field[0], e.field(), res.Raw)
	}
	return e
}

// Shapes of the objects the tests read back.

const contactFields = `id name email phone uri customFields tags identities { type value source }`

type identity struct {
	Type   string  `json:"type"`
	Value  string  `json:"value"`
	Source *string `json:"source"`
}

type contact struct {
	ID           string         `json:"id"`
	Name         *string        `json:"name"`
	Email        *string        `json:"email"`
	Phone        *string        `json:"phone"`
	URI          *string        `json:"uri"`
	CustomFields map[string]any `json:"customFields"`
	Tags         []string       `json:"tags"`
	Identities   []identity     `json:"identities"`
}

func (c contact) identityValues() []string {
	out := make([]string, len(c.Identities))
	for i, id := range c.Identities {
		out[i] = id.Type + ":" + id.Value
	}
	return out
}

// ident builds an IdentifierInput variable.
func ident(typ, value string) map[string]any {
	return map[string]any{"type": typ, "value": value}
}

// createContact creates a contact with a name and identifiers.
func (c *client) createContact(name string, ids ...map[string]any) contact {
	c.t.Helper()
	var out struct{ CreateContact contact }
	c.do(`mutation($in: ContactInput!) { createContact(input: $in) { `+contactFields+` } }`,
		map[string]any{"in": map[string]any{"name": name, "identifiers": ids}}, &out)
	return out.CreateContact
}

// getContact reads a contact by id; nil when the API answers null.
func (c *client) getContact(id string) *contact {
	c.t.Helper()
	var out struct{ Contact *contact }
	c.do(`query($id: ID!) { contact(id: $id) { `+contactFields+` } }`, map[string]any{"id": id}, &out)
	return out.Contact
}

// count is the workspace's number of contacts, through the API.
func (c *client) count() int {
	c.t.Helper()
	var out struct{ Contacts struct{ TotalCount int } }
	c.do(`{ contacts { totalCount } }`, nil, &out)
	return out.Contacts.TotalCount
}

// addNote adds a note and returns its id.
func (c *client) addNote(contactID, body string) string {
	c.t.Helper()
	var out struct{ AddNote struct{ ID string } }
	c.do(`mutation($c: ID!, $b: String!) { addNote(contactId: $c, body: $b) { id } }`,
		map[string]any{"c": contactID, "b": body}, &out)
	return out.AddNote.ID
}

// snapshot renders everything the API shows of a workspace's contacts, so a
// test can assert that a failed or foreign operation changed nothing.
func (c *client) snapshot() string {
	c.t.Helper()
	var out struct {
		Contacts struct {
			TotalCount int
			Edges      []struct {
				Node json.RawMessage
			}
		}
	}
	c.do(`{ contacts(first: 100) { totalCount edges { node { `+contactFields+` updatedAt
		notes(first: 100) { totalCount edges { node { id body updatedAt } } } } } } }`, nil, &out)
	var b strings.Builder
	fmt.Fprintf(&b, "total=%d\n", out.Contacts.TotalCount)
	for _, e := range out.Contacts.Edges {
		b.Write(e.Node)
		b.WriteByte('\n')
	}
	return b.String()
}

var _ = context.Background

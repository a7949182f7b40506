package resolver_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/internal/stdwebhook"
	"github.com/crmhub/crmhub/resolver"
	"github.com/crmhub/crmhub/webhook"
	"github.com/crmhub/crmhub/webhook/webhooktest"
)

// hookQueues numbers the River queue of each test, so that each test's
// River works its own deliveries.
var hookQueues atomic.Int64

// newHookEnv starts the API with a webhook service of its own (unless cfg
// has a sender, a webhooktest one, retries 10 ms apart, that allows private
// addresses when the service does) and, with run, River and the dispatcher
// as `crmhub serve` runs them, until the test ends.
func newHookEnv(t *testing.T, cfg db.WebhookConfig, run bool) *env {
	t.Helper()
	d := dbtest.Open(t, nil)
	if cfg.Sealer == nil {
		cfg.Sealer = db.NewDevSealer()
	}
	if cfg.Sender == nil {
		cfg.Sender = webhooktest.NewSender(webhook.Config{AllowPrivate: cfg.AllowPrivate})
	}
	cfg.Queue = fmt.Sprintf("resolver_hooks_%d", hookQueues.Add(1))
	svc, err := db.NewWebhookService(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, d, func(c *resolver.Config) { c.Webhooks = svc })
	e.webhooks = svc
	if !run {
		return e
	}
	riv, err := db.NewRiver(d, db.RiverConfig{FetchPollInterval: 20 * time.Millisecond, TestOnly: true}, svc)
	if err != nil {
		t.Fatal(err)
	}
	if err := riv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	disp := db.NewWebhookDispatcher(svc, 20*time.Millisecond)
	disp.Start(context.Background())
	t.Cleanup(func() {
		disp.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := riv.Stop(ctx); err != nil {
			t.Errorf("stop river: %v", err)
		}
	})
	return e
}

// hookPayload is the body of a webhook request, as the tests read it.
type hookPayload struct {
	ID, Type, SubjectID, Actor string
	Cursor                     *string
	Payload                    map[string]any
}

// hookMsg is one request a receiver got.
type hookMsg = webhooktest.Received[hookPayload]

// whReceiver is a webhook endpoint that verifies every request per
// Standard Webhooks, independently of the code under test: every secret
// it holds must verify one of the request's signatures, and it must hold
// one.
type whReceiver struct {
	*webhooktest.Receiver[hookPayload]
	t *testing.T
}

// newWhReceiver starts a receiver; answer (nil: 204) answers the n-th
// request, counting from 1.
func newWhReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *whReceiver {
	return &whReceiver{Receiver: webhooktest.NewReceiver[hookPayload](t, answer,
		webhooktest.Checks{MaxAge: 5 * time.Minute, RequireSecret: true}), t: t}
}

// next waits for the next request.
func (rc *whReceiver) next() hookMsg {
	rc.t.Helper()
	return rc.Next(rc.t)
}

const createHook = `mutation($url: String!, $events: [String!]!, $d: String) {
	createWebhookEndpoint(url: $url, events: $events, description: $d) {
		endpoint { id url events enabled description } secret } }`

type hookEndpoint struct {
	ID, URL                 string
	Events                  []string
	Enabled                 bool
	Description             *string
	DisabledReason          *string
	PreviousSecretExpiresAt *string
}

// hook registers rc for the event types and has it verify with the secret.
func (c *client) hook(rc *whReceiver, types ...string) hookEndpoint {
	c.t.Helper()
	var out struct {
		CreateWebhookEndpoint struct {
			Endpoint hookEndpoint
			Secret   string
		}
	}
	c.do(createHook, map[string]any{"url": rc.URL, "events": types}, &out)
	rc.SetSecrets(out.CreateWebhookEndpoint.Secret)
	return out.CreateWebhookEndpoint.Endpoint
}

const deliveriesQuery = `query($ep: ID, $first: Int, $after: String) {
	webhookDeliveries(endpointId: $ep, first: $first, after: $after) {
		totalCount edges { node { id webhookId eventType status attemptCount endpoint { id }
			attempts { statusCode error responseSnippet latencyMs } } }
		pageInfo { hasNextPage endCursor } } }`

type hookDelivery struct {
	ID, WebhookID, EventType, Status string
	AttemptCount                     int
	Endpoint                         *struct{ ID string }
	Attempts                         []struct {
		StatusCode      int
		Error           string
		ResponseSnippet string
		LatencyMs       int
	}
}

// deliveries lists the deliveries (of one endpoint, or all), newest first.
func (c *client) deliveries(endpointID string) []hookDelivery {
	c.t.Helper()
	vars := map[string]any{"first": 100}
	if endpointID != "" {
		vars["ep"] = endpointID
	}
	var out struct {
		WebhookDeliveries struct {
			Edges []struct{ Node hookDelivery }
		}
	}
	c.do(deliveriesQuery, vars, &out)
	ds := make([]hookDelivery, len(out.WebhookDeliveries.Edges))
	for i, e := range out.WebhookDeliveries.Edges {
		ds[i] = e.Node
	}
	return ds
}

// waitDeliveries polls the deliveries until cond holds for them.
func (c *client) waitDeliveries(endpointID, what string, cond func([]hookDelivery) bool) []hookDelivery {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds := c.deliveries(endpointID)
		if cond(ds) {
			return ds
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting until %s: %+v", what, ds)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebhookEndpointSecretIsShownOnce(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	var out struct {
		CreateWebhookEndpoint struct {
			Endpoint hookEndpoint
			Secret   string
		}
	}
	c.do(createHook, map[string]any{"url": "https://hooks.example.com/crm", "events": []string{"contact.created", "deal.created"},
		"d": "CRM mirror"}, &out)
	ep, secret := out.CreateWebhookEndpoint.Endpoint, out.CreateWebhookEndpoint.Secret
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if !strings.HasPrefix(secret, "whsec_") || err != nil || len(key) < 24 {
		t.Fatalf("secret %q is not whsec_<base64 key>", secret)
	}
	if !strings.HasPrefix(ep.ID, "wh_") || ep.URL != "https://hooks.example.com/crm" || !ep.Enabled ||
		!slices.Equal(ep.Events, []string{"contact.created", "deal.created"}) || ep.Description == nil || *ep.Description != "CRM mirror" {
		t.Fatalf("endpoint = %+v", ep)
	}
	secretParts := []string{secret, strings.TrimPrefix(secret, "whsec_")}
	noSecret := func(what, raw string) {
		t.Helper()
		for _, s := range secretParts {
			if strings.Contains(raw, s) {
				t.Fatalf("%s returns the secret: %s", what, raw)
			}
		}
	}
	all := `id url events description enabled disabledReason previousSecretExpiresAt createdAt updatedAt`
	for what, q := range map[string]string{
		"webhookEndpoints": `{ webhookEndpoints(first: 10) { totalCount edges { cursor node { ` + all + ` } } } }`,
		"webhookEndpoint":  `query($id: ID!) { webhookEndpoint(id: $id) { ` + all + ` } }`,
		"node":             `query($id: ID!) { node(id: $id) { id ... on WebhookEndpoint { ` + all + ` } } }`,
	} {
		res := c.post(q, map[string]any{"id": ep.ID})
		if len(res.Errors) > 0 || !strings.Contains(res.Raw, ep.ID) || !strings.Contains(res.Raw, "CRM mirror") {
			t.Fatalf("%s: %s", what, res.Raw)
		}
		noSecret(what, res.Raw)
	}
	// The schema has no field that could return it.
	c.fail(`query($id: ID!) { webhookEndpoint(id: $id) { secret } }`, map[string]any{"id": ep.ID}, "GRAPHQL_VALIDATION_FAILED")

	// Rotation shows the new secret once, and only the new one.
	var rot struct {
		RotateWebhookSecret struct {
			Endpoint hookEndpoint
			Secret   string
		}
	}
	c.do(`mutation($id: ID!) { rotateWebhookSecret(id: $id, graceSeconds: 60) {
		endpoint { id previousSecretExpiresAt } secret } }`, map[string]any{"id": ep.ID}, &rot)
	if s := rot.RotateWebhookSecret.Secret; !strings.HasPrefix(s, "whsec_") || s == secret ||
		rot.RotateWebhookSecret.Endpoint.PreviousSecretExpiresAt == nil {
		t.Fatalf("rotation = %+v", rot.RotateWebhookSecret)
	}
	secretParts = append(secretParts, rot.RotateWebhookSecret.Secret)
	res := c.post(`{ webhookEndpoints { edges { node { `+all+` } } } }`, nil)
	noSecret("webhookEndpoints after rotation", res.Raw)
	c.fail(`mutation($id: ID!) { rotateWebhookSecret(id: $id, graceSeconds: -1) { secret } }`, map[string]any{"id": ep.ID},
		"VALIDATION_ERROR", "graceSeconds")

	// webhooks:manage is needed for all of it.
	reader := e.client(c.createKey("reader", "contacts:read", "events:read").Secret)
	reader.fail(`{ webhookEndpoints { totalCount } }`, nil, "FORBIDDEN")
	reader.fail(createHook, map[string]any{"url": "https://hooks.example.com/x", "events": []string{"contact.created"}}, "FORBIDDEN")
	reader.fail(deliveriesQuery, nil, "FORBIDDEN")
}

func TestWebhookEndpointURLRules(t *testing.T) {
	e := newEnv(t) // AllowPrivate: loopback is fine, other schemes are not
	c := e.workspace()
	for _, u := range []string{"ftp://hooks.example.com/x", "hooks.example.com/x", "javascript:alert(1)", "", "file:///etc/passwd",
		"http://", "https://user:pass@/x"} {
		c.fail(createHook, map[string]any{"url": u, "events": []string{"contact.created"}}, "VALIDATION_ERROR", "url")
	}
	c.fail(createHook, map[string]any{"url": "https://hooks.example.com/x", "events": []string{"contact.exploded"}},
		"VALIDATION_ERROR", "events[0]")
	var ok struct {
		CreateWebhookEndpoint struct{ Endpoint hookEndpoint }
	}
	c.do(createHook, map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"contact.created"}}, &ok)
	c.fail(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {url: "gopher://x"}) { id } }`,
		map[string]any{"id": ok.CreateWebhookEndpoint.Endpoint.ID}, "VALIDATION_ERROR", "input.url")

	// A server that does not allow private addresses refuses loopback,
	// private and link-local targets.
	strict := newHookEnv(t, db.WebhookConfig{AllowPrivate: false}, false)
	s := strict.workspace()
	for _, u := range []string{"http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/hook", "http://10.1.2.3/hook",
		"http://192.168.0.10/hook", "http://169.254.169.254/latest/meta-data", "https://0.0.0.0/",
		"http://[::127.0.0.1]/hook", "http://[2002:7f00:1::]/hook", "http://[::ffff:127.0.0.1]/hook"} {
		s.fail(createHook, map[string]any{"url": u, "events": []string{"contact.created"}}, "VALIDATION_ERROR", "url")
	}
	if n := len(s.allHooks()); n != 0 {
		t.Fatalf("refused URLs created %d endpoints", n)
	}
	s.do(createHook, map[string]any{"url": "https://93.184.215.14/hook", "events": []string{"contact.created"}}, nil)
}

// allHooks lists the workspace's endpoints.
func (c *client) allHooks() []hookEndpoint {
	c.t.Helper()
	var out struct {
		WebhookEndpoints struct {
			Edges []struct{ Node hookEndpoint }
		}
	}
	c.do(`{ webhookEndpoints(first: 100) { edges { node { id url events enabled disabledReason } } } }`, nil, &out)
	var eps []hookEndpoint
	for _, e := range out.WebhookEndpoints.Edges {
		eps = append(eps, e.Node)
	}
	return eps
}

// TestWebhookDeliveries: committed events reach the endpoint signed, with
// the event as the API shows it, and every attempt is listed.
func TestWebhookDeliveries(t *testing.T) {
	e := newHookEnv(t, db.WebhookConfig{AllowPrivate: true}, true)
	c := e.workspace()
	c.createContact("before", ident("EMAIL", "before@example.com")) // before the endpoint: not sent
	rc := newWhReceiver(t, nil)
	ep := c.hook(rc, "contact.created", "contact.deleted")
	var ids []string
	for i := range 3 {
		ids = append(ids, c.createContact("", ident("EMAIL", fmt.Sprintf("d%d@example.com", i))).ID)
	}
	c.do(`mutation($id: ID!) { updateContact(id: $id, input: {name: "not subscribed"}) { id } }`, map[string]any{"id": ids[0]}, nil)
	c.do(`mutation($id: ID!) { deleteContact(id: $id) }`, map[string]any{"id": ids[1]}, nil)

	log := c.allEvents(map[string]any{"types": []string{"contact.created", "contact.deleted"}})[1:]
	// Deliveries run in parallel: the order of arrival is not the log's.
	byEvent := map[string]hookMsg{}
	seen := map[string]bool{}
	for range log {
		m := rc.next()
		if seen[m.ID] || byEvent[m.Msg.ID].ID != "" {
			t.Fatalf("webhook-id %s or event %s sent twice", m.ID, m.Msg.ID)
		}
		seen[m.ID], byEvent[m.Msg.ID] = true, m
	}
	for _, want := range log {
		m := byEvent[want.ID]
		if m.Msg.Type != want.Type || m.Msg.SubjectID != want.SubjectID || m.Msg.Cursor == nil ||
			*m.Msg.Cursor != want.Cursor || m.Msg.Actor != want.Actor {
			t.Fatalf("delivered %s, want %+v", m.Body, want)
		}
	}
	ds := c.waitDeliveries(ep.ID, "four deliveries are DELIVERED", func(ds []hookDelivery) bool {
		return len(ds) == 4 && !slices.ContainsFunc(ds, func(d hookDelivery) bool { return d.Status != "DELIVERED" })
	})
	for i, d := range ds { // newest first
		want := log[len(log)-1-i]
		if d.EventType != want.Type || !seen[d.WebhookID] || d.AttemptCount != 1 || len(d.Attempts) != 1 ||
			d.Attempts[0].StatusCode != 204 || d.Endpoint == nil || d.Endpoint.ID != ep.ID {
			t.Fatalf("delivery %d = %+v, want %s", i, d, want.Type)
		}
	}
	// Paged, and the deliveries are nodes.
	var page struct {
		WebhookDeliveries struct {
			Edges    []struct{ Node hookDelivery }
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	c.do(deliveriesQuery, map[string]any{"first": 3}, &page)
	if len(page.WebhookDeliveries.Edges) != 3 || !page.WebhookDeliveries.PageInfo.HasNextPage {
		t.Fatalf("first page: %+v", page)
	}
	c.do(deliveriesQuery, map[string]any{"first": 3, "after": page.WebhookDeliveries.PageInfo.EndCursor}, &page)
	if len(page.WebhookDeliveries.Edges) != 1 || page.WebhookDeliveries.Edges[0].Node.ID != ds[3].ID {
		t.Fatalf("second page: %+v", page)
	}
	var node struct{ Node struct{ ID, Status string } }
	c.do(`query($id: ID!) { node(id: $id) { id ... on WebhookDelivery { status } } }`, map[string]any{"id": ds[0].ID}, &node)
	if node.Node.ID != ds[0].ID || node.Node.Status != "DELIVERED" {
		t.Fatalf("node = %+v", node)
	}
}

// TestWebhookRetries: a 500 and then a timeout are retried with the same
// webhook-id until the endpoint answers 2xx; every attempt is listed.
func TestWebhookRetries(t *testing.T) {
	e := newHookEnv(t, db.WebhookConfig{AllowPrivate: true,
		Sender: webhooktest.NewSender(webhook.Config{AllowPrivate: true, Timeout: 300 * time.Millisecond})}, true)
	c := e.workspace()
	rc := newWhReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			http.Error(w, "database on fire", http.StatusInternalServerError)
		case 2:
			<-r.Context().Done() // hangs until the sender gives up
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	ep := c.hook(rc, "contact.created")
	x := c.createContact("", ident("EMAIL", "x@example.com"))
	var got []hookMsg
	for range 3 {
		got = append(got, rc.next())
	}
	for _, m := range got {
		if m.ID != got[0].ID || m.Msg.SubjectID != x.ID {
			t.Fatalf("attempts sent %s %s, want the same webhook-id for %s", m.ID, m.Body, x.ID)
		}
	}
	ds := c.waitDeliveries(ep.ID, "the delivery is DELIVERED", func(ds []hookDelivery) bool {
		return len(ds) == 1 && ds[0].Status == "DELIVERED"
	})
	d := ds[0]
	if d.WebhookID != got[0].ID || d.AttemptCount != 3 || len(d.Attempts) != 3 {
		t.Fatalf("delivery = %+v", d)
	}
	a := d.Attempts
	if a[0].StatusCode != 500 || !strings.Contains(a[0].ResponseSnippet, "database on fire") ||
		a[1].StatusCode != 0 || !strings.Contains(a[1].Error, "timed out") || a[2].StatusCode != 200 {
		t.Fatalf("attempts = %+v", a)
	}
}

// TestWebhookRetriesEnd: an endpoint that keeps failing gets the whole
// schedule and the delivery ends FAILED.
func TestWebhookRetriesEnd(t *testing.T) {
	e := newHookEnv(t, db.WebhookConfig{AllowPrivate: true}, true)
	c := e.workspace()
	rc := newWhReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	ep := c.hook(rc, "contact.created")
	c.createContact("", ident("EMAIL", "x@example.com"))
	for range 4 { // the first attempt and three retries
		rc.next()
	}
	ds := c.waitDeliveries(ep.ID, "the delivery FAILED", func(ds []hookDelivery) bool { return len(ds) == 1 && ds[0].Status == "FAILED" })
	if ds[0].AttemptCount != 4 {
		t.Fatalf("delivery = %+v", ds[0])
	}
	if eps := c.allHooks(); len(eps) != 1 || !eps[0].Enabled {
		t.Fatalf("failures alone disabled the endpoint: %+v", eps)
	}
}

// TestWebhookGoneDisablesEndpoint: a 410 ends the delivery and disables
// the endpoint, which receives nothing more.
func TestWebhookGoneDisablesEndpoint(t *testing.T) {
	e := newHookEnv(t, db.WebhookConfig{AllowPrivate: true}, true)
	c := e.workspace()
	var back atomic.Bool // once set, the endpoint answers 204 again
	gone := newWhReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if back.Load() {
			w.WriteHeader(http.StatusNoContent)
		} else {
			w.WriteHeader(http.StatusGone)
		}
	})
	ep := c.hook(gone, "contact.created")
	witness := newWhReceiver(t, nil)
	c.hook(witness, "contact.created")

	c.createContact("", ident("EMAIL", "a@example.com"))
	gone.next()
	witness.next()
	c.waitDeliveries(ep.ID, "the delivery FAILED", func(ds []hookDelivery) bool {
		return len(ds) == 1 && ds[0].Status == "FAILED" && ds[0].AttemptCount == 1
	})
	var got struct{ WebhookEndpoint hookEndpoint }
	c.do(`query($id: ID!) { webhookEndpoint(id: $id) { id enabled disabledReason } }`, map[string]any{"id": ep.ID}, &got)
	if got.WebhookEndpoint.Enabled || got.WebhookEndpoint.DisabledReason == nil || !strings.Contains(*got.WebhookEndpoint.DisabledReason, "410") {
		t.Fatalf("after 410: %+v", got.WebhookEndpoint)
	}
	// The next event reaches the witness only (both would be created in
	// the same dispatch).
	b := c.createContact("", ident("EMAIL", "b@example.com"))
	if m := witness.next(); m.Msg.SubjectID != b.ID {
		t.Fatalf("witness got %s", m.Body)
	}
	if ds := c.deliveries(ep.ID); len(ds) != 1 {
		t.Fatalf("disabled endpoint has %d deliveries", len(ds))
	}
	// Enabling it again resumes from then on.
	c.do(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: true}) { id } }`, map[string]any{"id": ep.ID}, nil)
	back.Store(true)
	d := c.createContact("", ident("EMAIL", "d@example.com"))
	if m := gone.next(); m.Msg.SubjectID != d.ID {
		t.Fatalf("re-enabled endpoint got %s, want only the new event", m.Body)
	}
}

// TestWebhookSecretRotation: during the grace period every request
// carries a signature by each secret; afterwards only the new one signs.
func TestWebhookSecretRotation(t *testing.T) {
	e := newHookEnv(t, db.WebhookConfig{AllowPrivate: true}, true)
	c := e.workspace()
	rc := newWhReceiver(t, nil)
	ep := c.hook(rc, "contact.created")
	old := rc.Secrets()[0]
	c.createContact("", ident("EMAIL", "a@example.com"))
	if m := rc.next(); strings.Count(m.Signature, "v1,") != 1 {
		t.Fatalf("before rotation: %q", m.Signature)
	}

	rotate := `mutation($id: ID!, $g: Int) { rotateWebhookSecret(id: $id, graceSeconds: $g) { secret endpoint { previousSecretExpiresAt } } }`
	var rot struct{ RotateWebhookSecret struct{ Secret string } }
	c.do(rotate, map[string]any{"id": ep.ID, "g": 3600}, &rot)
	fresh := rot.RotateWebhookSecret.Secret
	rc.SetSecrets(old, fresh) // both must verify every request
	c.createContact("", ident("EMAIL", "b@example.com"))
	if m := rc.next(); strings.Count(m.Signature, "v1,") != 2 {
		t.Fatalf("during grace: %q", m.Signature)
	}
	// A test webhook is signed the same way.
	c.do(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, map[string]any{"id": ep.ID}, nil)
	rc.next()

	// Rotating without grace drops the old secrets at once.
	c.do(rotate, map[string]any{"id": ep.ID, "g": 0}, &rot)
	newest := rot.RotateWebhookSecret.Secret
	rc.SetSecrets(newest)
	c.createContact("", ident("EMAIL", "c@example.com"))
	m := rc.next()
	if strings.Count(m.Signature, "v1,") != 1 || stdwebhook.Verify(fresh, m.ID, m.Timestamp, m.Body, m.Signature) ||
		stdwebhook.Verify(old, m.ID, m.Timestamp, m.Body, m.Signature) {
		t.Fatalf("after a rotation without grace: %q", m.Signature)
	}
}

// TestWebhookReplayAndTest: a replay resends the event with the same
// webhook-id; a test webhook is a webhook.test message.
func TestWebhookReplayAndTest(t *testing.T) {
	e := newHookEnv(t, db.WebhookConfig{AllowPrivate: true}, true)
	c := e.workspace()
	rc := newWhReceiver(t, nil)
	ep := c.hook(rc, "contact.created")
	x := c.createContact("", ident("EMAIL", "x@example.com"))
	first := rc.next()
	ds := c.waitDeliveries(ep.ID, "delivered", func(ds []hookDelivery) bool { return len(ds) == 1 && ds[0].Status == "DELIVERED" })

	var rep struct{ ReplayWebhookDelivery hookDelivery }
	c.do(`mutation($id: ID!) { replayWebhookDelivery(id: $id) { id webhookId eventType status } }`, map[string]any{"id": ds[0].ID}, &rep)
	if r := rep.ReplayWebhookDelivery; r.ID == ds[0].ID || r.WebhookID != first.ID || r.EventType != "contact.created" {
		t.Fatalf("replay = %+v", r)
	}
	again := rc.next()
	if again.ID != first.ID || string(again.Body) != string(first.Body) || again.Msg.SubjectID != x.ID {
		t.Fatalf("replay sent %s %s, want %s %s", again.ID, again.Body, first.ID, first.Body)
	}

	var test struct{ SendTestWebhook hookDelivery }
	c.do(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id webhookId eventType status } }`, map[string]any{"id": ep.ID}, &test)
	m := rc.next()
	if m.ID != test.SendTestWebhook.WebhookID || m.Msg.Type != "webhook.test" || test.SendTestWebhook.EventType != "webhook.test" ||
		m.Msg.SubjectID != ep.ID {
		t.Fatalf("test webhook %+v sent %s", test.SendTestWebhook, m.Body)
	}
	c.waitDeliveries(ep.ID, "three deliveries DELIVERED", func(ds []hookDelivery) bool {
		return len(ds) == 3 && !slices.ContainsFunc(ds, func(d hookDelivery) bool { return d.Status != "DELIVERED" })
	})

	c.fail(`mutation($id: ID!) { replayWebhookDelivery(id: $id) { id } }`, map[string]any{"id": "whd_nope"}, "NOT_FOUND")
	c.fail(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, map[string]any{"id": "wh_nope"}, "NOT_FOUND")
}

// TestWebhookWorkspaceIsolation: B sees none of A's endpoints or
// deliveries and its endpoint never receives A's events.
func TestWebhookWorkspaceIsolation(t *testing.T) {
	e := newHookEnv(t, db.WebhookConfig{AllowPrivate: true}, true)
	a, b := e.workspace(), e.workspace()
	ra, rb := newWhReceiver(t, nil), newWhReceiver(t, nil)
	epA := a.hook(ra, "contact.created")
	epB := b.hook(rb, "contact.created")
	a.createContact("", ident("EMAIL", "a@example.com"))
	ra.next()
	dsA := a.waitDeliveries(epA.ID, "delivered", func(ds []hookDelivery) bool { return len(ds) == 1 && ds[0].Status == "DELIVERED" })
	cb := b.createContact("", ident("EMAIL", "b@example.com"))
	if m := rb.next(); m.Msg.SubjectID != cb.ID {
		t.Fatalf("B's endpoint got %s", m.Body)
	}

	if eps := b.allHooks(); len(eps) != 1 || eps[0].ID != epB.ID {
		t.Fatalf("B lists endpoints %+v", eps)
	}
	for _, q := range []string{
		`query($id: ID!) { webhookEndpoint(id: $id) { id } }`,
		`query($id: ID!) { node(id: $id) { id } }`,
	} {
		var out map[string]any
		b.do(q, map[string]any{"id": epA.ID}, &out)
		for k, v := range out {
			if v != nil {
				t.Fatalf("B reads A's endpoint through %s: %v", k, out)
			}
		}
	}
	var node struct{ Node *struct{ ID string } }
	b.do(`query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": dsA[0].ID}, &node)
	if node.Node != nil {
		t.Fatalf("B reads A's delivery: %+v", node)
	}
	if ds := b.deliveries(""); len(ds) != 1 || ds[0].Endpoint.ID != epB.ID {
		t.Fatalf("B lists deliveries %+v", ds)
	}
	// A's endpoint id is to B what an id that does not exist is.
	gone := a.hook(newWhReceiver(t, nil), "deal.created").ID
	a.do(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, map[string]any{"id": gone}, nil)
	for _, id := range []string{epA.ID, gone} {
		b.fail(deliveriesQuery, map[string]any{"ep": id}, "NOT_FOUND")
	}
	before := a.allHooks()
	for _, q := range []string{
		`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: false}) { id } }`,
		`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`,
		`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`,
		`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`,
	} {
		b.fail(q, map[string]any{"id": epA.ID}, "NOT_FOUND")
	}
	b.fail(`mutation($id: ID!) { replayWebhookDelivery(id: $id) { id } }`, map[string]any{"id": dsA[0].ID}, "NOT_FOUND")
	if after := a.allHooks(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("B changed A's endpoints: %+v -> %+v", before, after)
	}
	if ds := a.deliveries(""); len(ds) != 1 {
		t.Fatalf("A has %d deliveries after B's attempts", len(ds))
	}
}

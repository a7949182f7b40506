package resolver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/crmhub/crmhub/resolver"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

const createKey = `mutation($name: String!, $scopes: [String!]!) {
	createApiKey(name: $name, scopes: $scopes) { secret apiKey { id name prefix scopes revokedAt } } }`

type newKey struct {
	Secret string
	APIKey struct {
		ID, Name, Prefix string
		Scopes           []string
		RevokedAt        *string
	}
}

func (c *client) createKey(name string, scopes ...string) newKey {
	c.t.Helper()
	var out struct{ CreateApiKey newKey }
	c.do(createKey, map[string]any{"name": name, "scopes": scopes}, &out)
	return out.CreateApiKey
}

func TestUnauthenticatedRequestsGet401(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	revoked := admin.createKey("soon revoked", "contacts:read")
	admin.do(`mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, map[string]any{"id": revoked.APIKey.ID}, nil)
	// A well-formed key whose secret is wrong: the admin key with its last
	// characters changed.
	forged := admin.key[:len(admin.key)-4] + "AAAA"
	if forged == admin.key {
		forged = admin.key[:len(admin.key)-4] + "BBBB"
	}

	for _, tc := range []struct{ name, header string }{
		{"no header", ""},
		{"not bearer", "Basic " + admin.key},
		{"empty bearer", "Bearer "},
		{"malformed key", "Bearer not-a-key"},
		{"forged secret", "Bearer " + forged},
		{"revoked key", "Bearer " + revoked.Secret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", strings.NewReader(
				`{"query":"mutation { createContact(input: {identifiers: [{type: EMAIL, value: \"x@example.com\"}]}) { id } }"}`))
			req.Header.Set("Content-Type", "application/json")
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct{ Errors []gqlError }
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusUnauthorized || len(body.Errors) != 1 || body.Errors[0].code() != "UNAUTHENTICATED" {
				t.Fatalf("got status %d, errors %+v; want 401 UNAUTHENTICATED", res.StatusCode, body.Errors)
			}
		})
	}

	// Nothing was written, and the same kind of request with a good key
	// passes, so the 401s above are about the key and nothing else.
	if n := admin.count(); n != 0 {
		t.Fatalf("unauthenticated requests created %d contacts", n)
	}
	var v struct{ Viewer struct{ Scopes []string } }
	admin.do(`{ viewer { scopes } }`, nil, &v)
	if len(v.Viewer.Scopes) != 1 || v.Viewer.Scopes[0] != "admin" {
		t.Fatalf("admin key scopes = %v", v.Viewer.Scopes)
	}
}

func TestRevokedKeyStopsWorking(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	k := admin.createKey("ci", "contacts:read")
	user := e.client(k.Secret)
	if n := user.count(); n != 0 {
		t.Fatalf("fresh workspace has %d contacts", n)
	}
	var out struct{ RevokeApiKey struct{ RevokedAt *string } }
	admin.do(`mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, map[string]any{"id": k.APIKey.ID}, &out)
	if out.RevokeApiKey.RevokedAt == nil {
		t.Fatal("revokeApiKey returned no revokedAt")
	}
	res := user.post(`{ contacts { totalCount } }`, nil)
	if res.Status != http.StatusUnauthorized || len(res.Errors) == 0 || res.Errors[0].code() != "UNAUTHENTICATED" {
		t.Fatalf("revoked key: status %d %s", res.Status, res.Raw)
	}
}

// TestKeysManageGrantsOnlyWhatItHolds: a keys:manage key can make and
// revoke keys within its own scopes, never an admin key or a scope it
// lacks (it was admin in disguise).
func TestKeysManageGrantsOnlyWhatItHolds(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	other := admin.createKey("another admin", "admin")
	reader := admin.createKey("reader", "contacts:read")
	manager := e.client(admin.createKey("manager", "keys:manage", "contacts:read").Secret)
	before := admin.snapshot()

	for _, scopes := range [][]string{{"admin"}, {"contacts:write"}, {"contacts:read", "webhooks:manage"}} {
		manager.fail(createKey, map[string]any{"name": "escalate", "scopes": scopes}, "FORBIDDEN")
	}
	revoke := `mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`
	manager.fail(revoke, map[string]any{"id": other.APIKey.ID}, "FORBIDDEN")
	var keys struct {
		ApiKeys []struct{ ID, RevokedAt *string }
	}
	admin.do(`{ apiKeys { id revokedAt } }`, nil, &keys)
	for _, k := range keys.ApiKeys {
		if k.RevokedAt != nil {
			t.Fatalf("a key was revoked: %v", *k.ID)
		}
	}
	if after := admin.snapshot(); after != before {
		t.Fatalf("a forbidden call changed data")
	}
	// Within its scopes it works.
	made := manager.createKey("helper", "contacts:read")
	if len(made.APIKey.Scopes) != 1 || made.APIKey.Scopes[0] != "contacts:read" {
		t.Fatalf("made %v", made.APIKey.Scopes)
	}
	manager.do(revoke, map[string]any{"id": reader.APIKey.ID}, nil)
	manager.do(revoke, map[string]any{"id": made.APIKey.ID}, nil)
	// An admin key may do all of it.
	admin.do(revoke, map[string]any{"id": other.APIKey.ID}, nil)
}

func TestMissingScopeIsForbidden(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	reader := e.client(admin.createKey("reader", "contacts:read").Secret)
	before := admin.snapshot()

	reader.fail(`mutation { createContact(input: {name: "x", identifiers: [{type: EMAIL, value: "x@example.com"}]}) { id } }`,
		nil, "FORBIDDEN")
	reader.fail(`{ apiKeys { id } }`, nil, "FORBIDDEN")
	reader.fail(`mutation { createApiKey(name: "escalate", scopes: ["admin"]) { secret } }`, nil, "FORBIDDEN")
	if n := reader.count(); n != 0 { // reading is what the key may do
		t.Fatalf("count = %d", n)
	}
	if after := admin.snapshot(); after != before {
		t.Fatalf("a forbidden call changed data:\n%s\n%s", before, after)
	}

	writer := e.client(admin.createKey("writer", "contacts:write").Secret)
	writer.fail(`{ contacts { totalCount } }`, nil, "FORBIDDEN")
}

func TestAPIKeySecretIsShownOnce(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	k := admin.createKey("integration", "contacts:read", "contacts:write", "contacts:read")
	if !strings.HasPrefix(k.Secret, k.APIKey.Prefix) || len(k.Secret) <= len(k.APIKey.Prefix)+8 {
		t.Fatalf("secret %q does not extend prefix %q", k.Secret, k.APIKey.Prefix)
	}
	if got := strings.Join(k.APIKey.Scopes, ","); got != "contacts:read,contacts:write" {
		t.Fatalf("scopes = %s", got)
	}

	res := admin.post(`{ apiKeys { id name prefix scopes createdAt lastUsedAt revokedAt } }`, nil)
	if len(res.Errors) > 0 {
		t.Fatal(res.Raw)
	}
	if !strings.Contains(res.Raw, k.APIKey.ID) || !strings.Contains(res.Raw, k.APIKey.Prefix) {
		t.Fatalf("apiKeys does not list the new key: %s", res.Raw)
	}
	if strings.Contains(res.Raw, k.Secret) || strings.Contains(res.Raw, k.Secret[len(k.APIKey.Prefix):]) {
		t.Fatalf("apiKeys leaks the secret: %s", res.Raw)
	}
	// And the key works.
	if n := e.client(k.Secret).count(); n != 0 {
		t.Fatalf("count = %d", n)
	}

	admin.fail(`mutation { createApiKey(name: "bad", scopes: ["contacts:read", "root"]) { secret } }`, nil,
		"VALIDATION_ERROR", "scopes")
	admin.fail(`mutation { createApiKey(name: "  ", scopes: ["contacts:read"]) { secret } }`, nil,
		"VALIDATION_ERROR", "name")
}

func TestViewer(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	var out struct {
		Viewer struct {
			Workspace struct{ ID, Name string }
			ApiKey    struct{ ID, Name string }
			Scopes    []string
		}
	}
	admin.do(`{ viewer { workspace { id name } apiKey { id name } scopes } }`, nil, &out)
	if !strings.HasPrefix(out.Viewer.Workspace.ID, "ws_") || out.Viewer.ApiKey.Name != "admin" {
		t.Fatalf("viewer = %+v", out.Viewer)
	}
	// A key without keys:manage still sees its workspace and scopes.
	reader := e.client(admin.createKey("reader", "contacts:read").Secret)
	var r struct {
		Viewer struct {
			Workspace struct{ ID string }
			Scopes    []string
		}
	}
	reader.do(`{ viewer { workspace { id } scopes } }`, nil, &r)
	if r.Viewer.Workspace.ID != out.Viewer.Workspace.ID || strings.Join(r.Viewer.Scopes, ",") != "contacts:read" {
		t.Fatalf("reader viewer = %+v", r.Viewer)
	}
}

// wsDial opens a graphql-transport-ws socket and sends connection_init with
// the payload; it returns the socket and the first message or error read.
func wsDial(t *testing.T, e *env, header http.Header, payload map[string]any) (*websocket.Conn, map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: header})
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { conn.CloseNow() })
	if conn.Subprotocol() != "graphql-transport-ws" {
		t.Fatalf("negotiated subprotocol %q", conn.Subprotocol())
	}
	init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": payload})
	if err := conn.Write(ctx, websocket.MessageText, init); err != nil {
		t.Fatal(err)
	}
	msg, err := wsRead(ctx, conn)
	return conn, msg, err
}

func wsRead(ctx context.Context, conn *websocket.Conn) (map[string]any, error) {
	_, b, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	var msg map[string]any
	return msg, json.Unmarshal(b, &msg)
}

func TestWebsocketAuthenticatesConnectionInit(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	revoked := admin.createKey("revoked", "contacts:read")
	admin.do(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, map[string]any{"id": revoked.APIKey.ID}, nil)

	for _, tc := range []struct {
		name    string
		payload map[string]any
	}{
		{"no payload", nil},
		{"malformed key", map[string]any{"Authorization": "Bearer nope"}},
		{"revoked key", map[string]any{"Authorization": "Bearer " + revoked.Secret}},
		{"not a bearer", map[string]any{"Authorization": "Token " + admin.key}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, msg, err := wsDial(t, e, nil, tc.payload)
			if err == nil {
				t.Fatalf("socket stayed open, got %v", msg)
			}
			if s := websocket.CloseStatus(err); s != 4401 && s != 4403 {
				t.Fatalf("close status %d (%v), want 4401 or 4403", s, err)
			}
		})
	}

	for _, payload := range []map[string]any{
		{"Authorization": "Bearer " + admin.key},
		{"authToken": admin.key},
		{"apiKey": admin.key},
	} {
		conn, msg, err := wsDial(t, e, nil, payload)
		if err != nil || msg["type"] != "connection_ack" {
			t.Fatalf("payload %v: got %v, %v; want connection_ack", payload, msg, err)
		}
		// An operation on the socket runs as the key of connection_init.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sub, _ := json.Marshal(map[string]any{"id": "1", "type": "subscribe",
			"payload": map[string]any{"query": "{ viewer { scopes } contacts { totalCount } }"}})
		if err := conn.Write(ctx, websocket.MessageText, sub); err != nil {
			t.Fatal(err)
		}
		next, err := wsRead(ctx, conn)
		if err != nil || next["type"] != "next" {
			t.Fatalf("want next, got %v %v", next, err)
		}
		b, _ := json.Marshal(next["payload"])
		if !strings.Contains(string(b), `"scopes":["admin"]`) || strings.Contains(string(b), "errors") {
			t.Fatalf("payload = %s", b)
		}
		conn.Close(websocket.StatusNormalClosure, "")
	}
}

func TestWebsocketOriginCheck(t *testing.T) {
	e := newEnv(t, func(c *resolver.Config) { c.CORSOrigins = []string{"https://app.example.com", "*.trusted.test"} })
	admin := e.workspace()
	init := map[string]any{"Authorization": "Bearer " + admin.key}
	for origin, ok := range map[string]bool{
		"https://app.example.com":  true,
		"https://ui.trusted.test":  true,
		"https://evil.example.com": false,
		"http://app.example.com":   false,
	} {
		_, msg, err := wsDial(t, e, http.Header{"Origin": {origin}}, init)
		if ok && (err != nil || msg["type"] != "connection_ack") {
			t.Errorf("origin %s refused: %v %v", origin, msg, err)
		}
		if !ok && err == nil {
			t.Errorf("origin %s accepted", origin)
		}
	}
	// The server's own origin is always allowed.
	if _, msg, err := wsDial(t, e, http.Header{"Origin": {e.srv.URL}}, init); err != nil || msg["type"] != "connection_ack" {
		t.Errorf("same origin refused: %v %v", msg, err)
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t, func(c *resolver.Config) { c.CORSOrigins = []string{"https://app.example.com"} })
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, e.srv.URL+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	res := preflight("https://app.example.com")
	if res.StatusCode/100 != 2 || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("allowed preflight: %d %v", res.StatusCode, res.Header)
	}
	if res := preflight("https://evil.example.com"); res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin allowed: %v", res.Header)
	}

	// An actual request from an allowed origin is readable by it.
	admin := e.workspace()
	req, _ := http.NewRequest(http.MethodPost, admin.url, strings.NewReader(`{"query":"{ viewer { scopes } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+admin.key)
	req.Header.Set("Origin", "https://app.example.com")
	got, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if got.StatusCode != 200 || got.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("request: %d %v", got.StatusCode, got.Header)
	}
}

func TestPublicEndpoints(t *testing.T) {
	var ready error
	e := newEnv(t, func(c *resolver.Config) { c.Ready = func(context.Context) error { return ready } })
	e.workspace().count() // one GraphQL request, so its metrics exist

	get := func(path string) (int, string) {
		res, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("/readyz: %d", code)
	}
	ready = errors.New("database down")
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while not ready: %d", code)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(strings.ToLower(body), "graphiql") {
		t.Fatalf("/: %d", code)
	}
	if code, _ := get("/graphiql/assets/graphiql-4.1.2/graphiql.min.js"); code != 200 {
		t.Fatalf("GraphiQL's script: %d", code)
	}
	code, body := get("/metrics")
	if code != 200 || !strings.Contains(body, `crmhub_graphql_operations_total{operation="query contacts",result="ok"} 1`) ||
		!strings.Contains(body, `crmhub_http_requests_total{code="200",route="/graphql"}`) ||
		!strings.Contains(body, "go_goroutines") || !strings.Contains(body, "crmhub_websockets 0") {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
}

// TestWebsocketsMetric: crmhub_websockets counts the sockets open. The
// socket's request span, which ends when its handler returns, says when
// the server is done with a closed socket.
func TestWebsocketsMetric(t *testing.T) {
	tr := newTracer(t)
	e := newTracedEnv(t, tr)
	sock := e.ws(e.workspace().key)
	// The request's span ends once the socket is accepted: the socket
	// outlives its handler, and the gauge counts it until it closes.
	tr.await("websocket request", func(s sdktrace.ReadOnlySpan) bool { return s.Name() == "GET /graphql" })
	if body := e.metrics(); !strings.Contains(body, "crmhub_websockets 1\n") {
		t.Fatalf("one socket open; /metrics:\n%s", body)
	}
	sock.conn.Close(websocket.StatusNormalClosure, "")
	// The server's side of the close ends a moment after the client's.
	deadline := time.Now().Add(10 * time.Second)
	for body := e.metrics(); !strings.Contains(body, "crmhub_websockets 0\n"); body = e.metrics() {
		if time.Now().After(deadline) {
			t.Fatalf("socket closed 10 s ago; /metrics:\n%s", body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metrics scrapes /metrics.
func (e *env) metrics() string {
	e.t.Helper()
	res, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func TestRequestBodyLimit(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	big := `{"query":"{ viewer { scopes } }","variables":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	req, _ := http.NewRequest(http.MethodPost, admin.url, strings.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+admin.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", res.StatusCode)
	}
}

func TestGraphQLOverHTTP(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	send := func(method, accept string) (*http.Response, string) {
		var req *http.Request
		if method == http.MethodGet {
			req, _ = http.NewRequest(method, admin.url+"?query="+url.QueryEscape("{ viewer { scopes } }"), nil)
		} else {
			req, _ = http.NewRequest(method, admin.url, strings.NewReader(`{"query":"{ viewer { scopes } }"}`))
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+admin.key)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	for _, tc := range []struct{ method, accept, contentType string }{
		{http.MethodPost, "application/json", "application/json"},
		{http.MethodPost, "application/graphql-response+json", "application/graphql-response+json"},
		{http.MethodGet, "application/json", "application/json"},
		{http.MethodGet, "application/graphql-response+json", "application/graphql-response+json"},
	} {
		res, body := send(tc.method, tc.accept)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), tc.contentType) ||
			body != `{"data":{"viewer":{"scopes":["admin"]}}}` {
			t.Errorf("%s Accept %s: %d %s %s", tc.method, tc.accept, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
	// Mutations are not allowed over GET.
	req, _ := http.NewRequest(http.MethodGet, admin.url+"?query="+url.QueryEscape(`mutation { deleteContact(id: "x") }`), nil)
	req.Header.Set("Authorization", "Bearer "+admin.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode < 400 {
		t.Errorf("mutation over GET: %d", res.StatusCode)
	}
}

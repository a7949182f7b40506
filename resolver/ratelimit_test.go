package resolver_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/resolver"
)

// TestRateLimitPerKey: a burst from one key runs through its budget and
// gets 429 with Retry-After and RATE_LIMITED, while another key of the same
// workspace is served; every answer carries the RateLimit-* headers, and
// costlier queries take more points.
func TestRateLimitPerKey(t *testing.T) {
	e := newEnv(t, func(c *resolver.Config) { c.RateLimitPoints = 30 })
	admin := e.workspace()
	other := e.client(admin.createKey("other", "contacts:read").Secret)
	send := func(c *client, query string) rawAnswer {
		req, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(`{"query":`+strconv.Quote(query)+`}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.key)
		return e.raw(t, req)
	}
	// createKey above cost the admin key one point.
	const cheap = `{ contacts(first: 1) { totalCount } }`
	first := send(admin, cheap)
	if first.status != 200 || first.header.Get("RateLimit-Limit") != "30" || first.header.Get("RateLimit-Remaining") != "28" ||
		first.header.Get("RateLimit-Reset") == "" {
		t.Fatalf("first answer: %d %v %s", first.status, first.header, first.body)
	}
	// A page of 20 contacts with their notes pages costs more than one
	// point.
	costly := send(admin, `{ contacts(first: 20) { edges { node { id notes(first: 5) { edges { node { body } } } } } } }`)
	left, _ := strconv.Atoi(costly.header.Get("RateLimit-Remaining"))
	if costly.status != 200 || left > 26 {
		t.Fatalf("costly query: %d, %d points left, want fewer than 27", costly.status, left)
	}
	var denied rawAnswer
	for range 40 {
		if denied = send(admin, cheap); denied.status != 200 {
			break
		}
	}
	if denied.status != http.StatusTooManyRequests || denied.code() != "RATE_LIMITED" || denied.hasData {
		t.Fatalf("over budget: %d %s", denied.status, denied.body)
	}
	if s, err := strconv.Atoi(denied.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Fatalf("Retry-After %q", denied.header.Get("Retry-After"))
	}
	if denied.header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("RateLimit-Remaining %q when denied", denied.header.Get("RateLimit-Remaining"))
	}
	// The other key is served, its budget whole.
	if a := send(other, cheap); a.status != 200 || a.header.Get("RateLimit-Remaining") != "29" {
		t.Fatalf("other key: %d %s %v", a.status, a.body, a.header)
	}
	// A new subscription over budget ends with RATE_LIMITED.
	ws := e.ws(admin.key)
	sub := ws.subscribe(`subscription { events { type } }`, nil)
	sub.fails("RATE_LIMITED")
}

// TestRateLimitPerHookURL: a CRM hammering its hook URL gets 429 with
// Retry-After once the URL's budget is spent; API keys are untouched.
func TestRateLimitPerHookURL(t *testing.T) {
	e := newEnv(t, func(c *resolver.Config) { c.RateLimitPoints = 5 })
	a := e.workspace()
	var created struct {
		CreateConnection struct{ ID, WebhookPath string }
	}
	a.do(`mutation { createConnection(input: {kind: WAZZUP, name: "W", baseUrl: "http://127.0.0.1:1", apiKey: "k"}) { id webhookPath } }`,
		nil, &created)
	var last *http.Response
	for range 10 {
		res, err := http.Post(e.srv.URL+created.CreateConnection.WebhookPath+"?token=x", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		last = res
		if res.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("hook URL over budget: %d %v", last.StatusCode, last.Header)
	}
	// The key that made the connection still has its budget.
	if res := a.post(`{ viewer { scopes } }`, nil); res.Status != 200 {
		t.Fatalf("API key after the hook burst: %d %s", res.Status, res.Raw)
	}
}

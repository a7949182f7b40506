package resolver_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

// idem posts body with an Idempotency-Key.
func (e *env) idem(t *testing.T, c *client, key, body string) rawAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Idempotency-Key", key)
	return e.raw(t, req)
}

// TestIdempotencyKey: a repeated mutation with the same Idempotency-Key and
// body writes once and gets the first answer again, marked
// Idempotent-Replayed; the key with another body is 422
// IDEMPOTENCY_KEY_REUSED; keys belong to their API key; queries ignore it.
func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	other := e.client(c.createKey("other", "contacts:write", "contacts:read").Secret)
	create := `{"query":"mutation { createContact(input: {name: \"Ann\", identifiers: [{type: EMAIL, value: \"ann@example.com\"}]}) { id name } }"}`

	first := e.idem(t, c, "create-ann-1", create)
	if first.status != 200 || len(first.errors) > 0 || first.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	again := e.idem(t, c, "create-ann-1", create)
	if again.status != 200 || again.body != first.body || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %q %v, want the first answer %q", again.status, again.body, again.header, first.body)
	}
	if n := c.count(); n != 1 {
		t.Fatalf("%d contacts after a replay, want 1", n)
	}
	var events struct{ Events struct{ TotalCount int } }
	c.do(`{ events(first: 1) { totalCount } }`, nil, &events)
	if events.Events.TotalCount != 1 {
		t.Fatalf("%d events, want 1", events.Events.TotalCount)
	}

	reused := e.idem(t, c, "create-ann-1", strings.Replace(create, "Ann", "Bob", 1))
	if reused.status != http.StatusUnprocessableEntity || reused.code() != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("key reused: %d %s", reused.status, reused.body)
	}
	// The same key from another API key is another key: it runs (and here
	// meets the contact the first key made).
	if a := e.idem(t, other, "create-ann-1", create); a.header.Get("Idempotent-Replayed") != "" || a.code() != "CONFLICT" {
		t.Fatalf("another API key: %d %s", a.status, a.body)
	}
	// A failed mutation's answer is kept too.
	if a, b := e.idem(t, other, "k2", create), e.idem(t, other, "k2", create); b.body != a.body || b.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("failed answer not replayed: %s / %s", a.body, b.body)
	}
	// Malformed keys.
	for _, bad := range []string{strings.Repeat("k", 256), "has space"} {
		if a := e.idem(t, c, bad, create); a.status != http.StatusBadRequest || a.code() != "BAD_REQUEST" {
			t.Fatalf("key %q: %d %s", bad, a.status, a.body)
		}
	}
	// Queries run every time.
	q := `{"query":"{ contacts(first: 1) { totalCount } }"}`
	if a, b := e.idem(t, c, "q", q), e.idem(t, c, "q", q); a.status != 200 || b.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("query with a key: %d %v", b.status, b.header)
	}
}

// TestIdempotencyKeyConcurrent: the same request sent many times at once
// with one key writes once; each answer is the first one, a replay, or 409
// CONFLICT while the first still runs.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	body := `{"query":"mutation { upsertContacts(input: [{identifiers: [{type: EMAIL, value: \"x@example.com\"}], tags: [\"a\"]}]) { results { status } } }"}`
	var wg sync.WaitGroup
	answers := make([]rawAnswer, 8)
	for i := range answers {
		wg.Go(func() { answers[i] = e.idem(t, c, "burst", body) })
	}
	wg.Wait()
	ran := 0
	for _, a := range answers {
		switch {
		case a.status == 200 && a.header.Get("Idempotent-Replayed") == "":
			ran++
		case a.status == 200 || (a.status == http.StatusConflict && a.code() == "CONFLICT"):
		default:
			t.Errorf("answer %d %s", a.status, a.body)
		}
	}
	if ran != 1 || c.count() != 1 {
		t.Fatalf("%d answers ran the mutation and %d contacts exist, want 1 and 1", ran, c.count())
	}
}

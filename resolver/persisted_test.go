package resolver_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/resolver"
)

func hashOf(q string) string {
	sum := sha256.Sum256([]byte(q))
	return hex.EncodeToString(sum[:])
}

// persisted posts a request with the automatic persisted queries
// extension: the hash, and the document when query is not "".
func (e *env) persisted(t *testing.T, c *client, query, hash string) rawAnswer {
	t.Helper()
	body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
	if query != "" {
		body["query"] = query
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.key)
	return e.raw(t, req)
}

// TestAutomaticPersistedQueries: a client sends the hash alone; the server
// that does not know it asks for the document (PERSISTED_QUERY_NOT_FOUND),
// the client sends both once, and the hash alone works from then on.
func TestAutomaticPersistedQueries(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	const q = `{ viewer { scopes } }`
	if a := e.persisted(t, c, "", hashOf(q)); a.code() != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("unknown hash: %d %s", a.status, a.body)
	}
	if a := e.persisted(t, c, q, hashOf("something else")); len(a.errors) == 0 {
		t.Fatalf("a hash that is not the document's was taken: %s", a.body)
	}
	want := `{"data":{"viewer":{"scopes":["admin"]}}}`
	if a := e.persisted(t, c, q, hashOf(q)); a.body != want {
		t.Fatalf("document and hash: %s", a.body)
	}
	if a := e.persisted(t, c, "", hashOf(q)); a.body != want {
		t.Fatalf("hash alone after registering: %s", a.body)
	}
}

// TestPersistedQueryAllowList: with an allow-list the server runs only its
// documents, by hash or in full; any other document is FORBIDDEN.
func TestPersistedQueryAllowList(t *testing.T) {
	const q = `{ viewer { scopes } }`
	list, err := resolver.ParsePersistedQueries([]byte(`{"` + hashOf(q) + `": "{ viewer { scopes } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resolver.ParsePersistedQueries([]byte(`{"` + hashOf("x") + `": "{ viewer { scopes } }"}`)); err == nil {
		t.Fatal("a manifest whose hash is not its document's was taken")
	}
	// graphql-codegen's client preset writes "sha256:<hex>" keys; the
	// documents are then named by the bare hex, as clients send it.
	codegen, err := resolver.ParsePersistedQueries([]byte(`{"sha256:` + hashOf(q) + `": "{ viewer { scopes } }"}`))
	if err != nil || codegen[hashOf(q)] != q {
		t.Fatalf("codegen's manifest: %v %v", codegen, err)
	}
	if _, err := resolver.ParsePersistedQueries([]byte(`{"sha256:` + hashOf("x") + `": "{ viewer { scopes } }"}`)); err == nil {
		t.Fatal("a codegen manifest whose hash is not its document's was taken")
	}
	e := newEnv(t, func(c *resolver.Config) { c.PersistedQueries = list })
	c := e.workspace()
	want := `{"data":{"viewer":{"scopes":["admin"]}}}`
	if a := e.persisted(t, c, "", hashOf(q)); a.body != want {
		t.Fatalf("by hash: %s", a.body)
	}
	if res := c.post(q, nil); string(res.Data) != `{"viewer":{"scopes":["admin"]}}` {
		t.Fatalf("in full: %s", res.Raw)
	}
	c.fail(`{ contacts { totalCount } }`, nil, "FORBIDDEN")
	if a := e.persisted(t, c, "", hashOf("{ contacts { totalCount } }")); a.code() != "FORBIDDEN" {
		t.Fatalf("unknown hash: %s", a.body)
	}
	if a := e.persisted(t, c, `{ contacts { totalCount } }`, hashOf(q)); a.code() != "FORBIDDEN" {
		t.Fatalf("another document under a listed hash: %s", a.body)
	}
}

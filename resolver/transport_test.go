package resolver_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rawAnswer is an HTTP answer to a hand-made request.
type rawAnswer struct {
	status int
	header http.Header
	body   string
	errors []gqlError
	// hasData tells whether the body has a "data" entry at all.
	hasData bool
}

func (e *env) raw(t *testing.T, req *http.Request) rawAnswer {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := rawAnswer{status: res.StatusCode, header: res.Header, body: string(b)}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) == nil {
		_, a.hasData = m["data"]
		json.Unmarshal(m["errors"], &a.errors)
	}
	return a
}

func (a rawAnswer) code() string {
	if len(a.errors) == 0 {
		return ""
	}
	return a.errors[0].code()
}

// TestRequestsThatAreNotGraphQL: each answer has the contract's status and
// code BAD_REQUEST, and none echoes the request body.
func TestRequestsThatAreNotGraphQL(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	const secret = "s3cr3t-payload"
	deep := `{"query":"{ viewer { scopes } }","variables":{"v":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}`
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
	}{
		{"malformed JSON", "application/json", `{"query": "` + secret, http.StatusBadRequest},
		{"batch", "application/json", `[{"query":"{ viewer { scopes } }"},{"query":"` + secret + `"}]`, http.StatusBadRequest},
		{"not an object", "application/json", `"` + secret + `"`, http.StatusBadRequest},
		{"query not a string", "application/json", `{"query": 5, "x": "` + secret + `"}`, http.StatusBadRequest},
		{"variables not an object", "application/json", `{"query": "{ viewer { scopes } }", "variables": ["` + secret + `"]}`, http.StatusBadRequest},
		{"too deep", "application/json", deep, http.StatusBadRequest},
		{"media type", "text/plain", `{"query":"{ viewer { scopes } }","x":"` + secret + `"}`, http.StatusUnsupportedMediaType},
		{"no media type", "", `{"query":"{ viewer { scopes } }"}`, http.StatusUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, admin.url, strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			req.Header.Set("Authorization", "Bearer "+admin.key)
			a := e.raw(t, req)
			if a.status != tc.status || a.code() != "BAD_REQUEST" || a.hasData {
				t.Errorf("got %d %s", a.status, a.body)
			}
			if strings.Contains(a.body, secret) {
				t.Errorf("the answer echoes the body: %s", a.body)
			}
		})
	}
	t.Run("GET with malformed variables", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, admin.url+"?query="+url.QueryEscape("{ viewer { scopes } }")+
			"&variables="+url.QueryEscape(`{"a": "`+secret), nil)
		req.Header.Set("Authorization", "Bearer "+admin.key)
		if a := e.raw(t, req); a.status != http.StatusBadRequest || a.code() != "BAD_REQUEST" || strings.Contains(a.body, secret) {
			t.Errorf("got %d %s", a.status, a.body)
		}
	})
	t.Run("other method", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, admin.url, strings.NewReader(`{"query":"{ viewer { scopes } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin.key)
		if a := e.raw(t, req); a.status < 400 || a.status >= 500 {
			t.Errorf("got %d %s", a.status, a.body)
		}
	})
}

// TestChunkedBodyOverLimit: a body over 1 MiB sent without a declared
// length is refused with 413 like a declared one.
func TestChunkedBodyOverLimit(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	body := `{"query":"{ viewer { scopes } }","variables":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(body); i += 64 << 10 {
			if _, err := pw.Write([]byte(body[i:min(i+64<<10, len(body))])); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, admin.url, pr)
	req.ContentLength = -1 // chunked
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+admin.key)
	a := e.raw(t, req)
	pr.Close()
	if a.status != http.StatusRequestEntityTooLarge || a.code() != "BAD_REQUEST" {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}

// TestParseAndValidationFailuresHaveNoData: a document that fails to parse
// or validate, or whose variables do not coerce, never executed, so the
// answer has no "data" entry, in either media type; its status is what the
// GraphQL-over-HTTP spec asks: 200 for application/json, 400 for
// application/graphql-response+json.
func TestParseAndValidationFailuresHaveNoData(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	for _, body := range []map[string]any{
		{"query": "{ viewer { scopes }"},
		{"query": "{ noSuchField }"},
		{"query": "query($id: ID!) { node(id: $id) { id } }", "variables": map[string]any{"id": nil}},
	} {
		for _, accept := range []string{"application/json", "application/graphql-response+json"} {
			b, _ := json.Marshal(body)
			req, _ := http.NewRequest(http.MethodPost, admin.url, strings.NewReader(string(b)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", accept)
			req.Header.Set("Authorization", "Bearer "+admin.key)
			a := e.raw(t, req)
			want := http.StatusOK
			if accept == "application/graphql-response+json" {
				want = http.StatusBadRequest
			}
			if a.hasData || len(a.errors) == 0 || a.status != want {
				t.Errorf("%s with Accept %s: %d %s", b, accept, a.status, a.body)
			}
		}
	}
}

// TestRequestWithoutQuery: a request that carries neither a document nor a
// persisted query's hash (e.g. a misspelt "query" key) is not a GraphQL
// request: 400 BAD_REQUEST, over POST and GET.
func TestRequestWithoutQuery(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	post, _ := http.NewRequest(http.MethodPost, admin.url, strings.NewReader(`{"qeury":"{ viewer { scopes } }"}`))
	post.Header.Set("Content-Type", "application/json")
	get, _ := http.NewRequest(http.MethodGet, admin.url+"?operationName=x", nil)
	for _, req := range []*http.Request{post, get} {
		req.Header.Set("Authorization", "Bearer "+admin.key)
		if a := e.raw(t, req); a.status != http.StatusBadRequest || a.code() != "BAD_REQUEST" || a.hasData {
			t.Errorf("%s without a query: %d %s", req.Method, a.status, a.body)
		}
	}
}

// TestRequestID: every answer carries X-Request-Id, the caller's own when
// it is sane, a fresh one otherwise.
func TestRequestID(t *testing.T) {
	e := newEnv(t)
	admin := e.workspace()
	send := func(id string) string {
		req, _ := http.NewRequest(http.MethodPost, admin.url, strings.NewReader(`{"query":"{ viewer { scopes } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin.key)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		a := e.raw(t, req)
		if a.status != 200 {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		return a.header.Get("X-Request-Id")
	}
	if got := send("trace-42"); got != "trace-42" {
		t.Errorf("caller's id: got %q", got)
	}
	long := strings.Repeat("a", 129)
	for _, bad := range []string{long, "has space", ""} {
		if got := send(bad); got == bad || len(got) != 32 {
			t.Errorf("id %q: got %q, want a fresh one", bad, got)
		}
	}
	a := send("")
	if b := send(""); a == b {
		t.Errorf("two requests share id %q", a)
	}
	// Answers that never reach GraphQL carry one too.
	res, err := http.Get(e.srv.URL + "/graphql")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("X-Request-Id") == "" {
		t.Errorf("401 without X-Request-Id: %d %v", res.StatusCode, res.Header)
	}
}

// TestSlowBodyGetsItsAnswer: a client that sends its headers and then
// trickles its body still gets its 401 at once: the server does not wait
// for a body it will not read.
func TestSlowBodyGetsItsAnswer(t *testing.T) {
	e := newEnv(t)
	u, _ := url.Parse(e.srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"query\":", u.Host)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer while the body trickles: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", res.StatusCode)
	}
}

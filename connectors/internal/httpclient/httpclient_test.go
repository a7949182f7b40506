package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/connectors"
)

// seen is what a test server saw of the last request.
type seen struct {
	path, query string
	header      http.Header
	body        string
}

// serve starts a server answering status and body, and recording the
// request into s.
func serve(t *testing.T, s *seen, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*s = seen{path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), body: string(b)}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// testError is an error body {"code", "message"}.
type testError struct{ Code, Message string }

func (e *testError) Parts() (string, string) { return e.Code, e.Message }

func (e *testError) Err(status int, msg string) error {
	return &connectors.RequestError{Status: status, Code: e.Code, Message: msg}
}

// testRemote is a Remote of testError bodies.
func testRemote() Remote {
	return Remote{Name: "crm", SetHeaders: Bearer, NewErrorBody: func() ErrorBody { return new(testError) }}
}

func TestDoSendsAndDecodes(t *testing.T) {
	var s seen
	srv := serve(t, &s, 200, `{"id":"7"}`)
	r := testRemote()
	r.Prefix = "/api/v1"
	c := New(Config{BaseURL: srv.URL + "/api/v1/", APIKey: "k", UserAgent: "hub"}, r)
	var out struct{ ID string }
	err := c.Do(t.Context(), Request{Method: "POST", Path: "/things", Query: map[string][]string{"a": {"1"}},
		In: map[string]int{"n": 1}, Out: &out, Header: http.Header{"Idempotency-Key": {"x"}}})
	if err != nil || out.ID != "7" {
		t.Fatalf("got %+v, %v", out, err)
	}
	if s.path != "/api/v1/things" || s.query != "a=1" || s.body != `{"n":1}` {
		t.Errorf("request %+v", s)
	}
	for k, want := range map[string]string{"Authorization": "Bearer k", "Accept": "application/json",
		"Content-Type": "application/json", "User-Agent": "hub", "Idempotency-Key": "x"} {
		if got := s.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	// No body: no Content-Type.
	if err := c.Do(t.Context(), Request{Method: "GET", Path: "/things"}); err != nil || s.header.Get("Content-Type") != "" {
		t.Errorf("GET: %v, Content-Type %q", err, s.header.Get("Content-Type"))
	}
}

func TestDoErrors(t *testing.T) {
	var s seen
	tests := []struct {
		status int
		body   string
		check  func(error) bool
	}{
		{429, "", func(err error) bool { var e *connectors.RateLimitError; return errors.As(err, &e) }},
		{401, `{"code":"AUTH","message":"no"}`, func(err error) bool {
			var e *connectors.AuthError
			return errors.As(err, &e) && e.Message == "AUTH: no"
		}},
		{503, "", func(err error) bool { var e *connectors.TransientError; return errors.As(err, &e) && e.Status == 503 }},
		{404, `{"code":"NOPE","message":"gone"}`, func(err error) bool {
			var e *connectors.RequestError
			return errors.As(err, &e) && e.Code == "NOPE" && e.Message == "gone"
		}},
	}
	for _, tt := range tests {
		srv := serve(t, &s, tt.status, tt.body)
		err := New(Config{BaseURL: srv.URL}, testRemote()).Do(t.Context(), Request{Method: "GET", Path: "/x"})
		if !tt.check(err) {
			t.Errorf("%d %s: %v (%T)", tt.status, tt.body, err, err)
		}
	}

	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	err := New(Config{BaseURL: srv.URL}, testRemote()).Do(t.Context(), Request{Method: "GET", Path: "/x"})
	if te := (*connectors.TransientError)(nil); !errors.As(err, &te) || te.Status != 0 || !strings.HasPrefix(te.Err.Error(), "crm: GET /x: ") {
		t.Errorf("unreachable: %v", err)
	}
}

// A body over the limit is an error when it is to be read, and ignored
// when nothing wants it and the remote has no Decode.
func TestDoBoundsTheBody(t *testing.T) {
	var s seen
	srv := serve(t, &s, 200, `{"id":"0123456789"}`)
	c := New(Config{BaseURL: srv.URL, MaxResponseBytes: 8}, testRemote())
	var out struct{ ID string }
	if err := c.Do(t.Context(), Request{Method: "GET", Path: "/x", Out: &out}); err == nil || !strings.Contains(err.Error(), "larger than 8 bytes") {
		t.Errorf("read: %v", err)
	}
	if err := c.Do(t.Context(), Request{Method: "GET", Path: "/x"}); err != nil {
		t.Errorf("ignored: %v", err)
	}

	r := testRemote()
	decoded := 0
	r.Decode = func(string, []byte, any) error { decoded++; return nil }
	c = New(Config{BaseURL: srv.URL, MaxResponseBytes: 8}, r)
	if err := c.Do(t.Context(), Request{Method: "GET", Path: "/x"}); err == nil || decoded != 0 {
		t.Errorf("with Decode: %v, %d decodes", err, decoded)
	}
	c = New(Config{BaseURL: srv.URL}, r)
	if err := c.Do(t.Context(), Request{Method: "GET", Path: "/x"}); err != nil || decoded != 1 {
		t.Errorf("with Decode, within the limit: %v, %d decodes", err, decoded)
	}
}

func TestDoPaces(t *testing.T) {
	var s seen
	srv := serve(t, &s, 200, "")
	r := testRemote()
	stop := errors.New("stop")
	r.Pace = func(context.Context) error { return stop }
	if err := New(Config{BaseURL: srv.URL}, r).Do(t.Context(), Request{Method: "GET", Path: "/x"}); err != stop || s.path != "" {
		t.Errorf("paced: %v, request %+v", err, s)
	}
}

func TestNewDefaults(t *testing.T) {
	r := testRemote()
	r.DefaultBaseURL = "https://crm.example"
	c := New(Config{}, r)
	if c.baseURL != "https://crm.example" || c.maxBody != DefaultMaxResponseBytes || c.http.Timeout != DefaultTimeout || c.now == nil {
		t.Errorf("defaults: %+v", c)
	}
	r.Prefix = "/api/v1"
	for in, want := range map[string]string{"https://h/": "https://h", "https://h/api/v1": "https://h", "https://h/api/v1/": "https://h"} {
		if got := New(Config{BaseURL: in}, r).baseURL; got != want {
			t.Errorf("base %q: %q, want %q", in, got, want)
		}
	}
}

func TestPathID(t *testing.T) {
	c := New(Config{}, testRemote())
	if p, err := c.PathID("/contacts", "a b/c"); err != nil || p != "/contacts/a%20b%2Fc" {
		t.Errorf("got %q, %v", p, err)
	}
	if _, err := c.PathID("/contacts", ""); err == nil || err.Error() != "crm: /contacts: empty id" {
		t.Errorf("empty id: %v", err)
	}
}

func TestDecodeID(t *testing.T) {
	for in, want := range map[string]string{`"abc"`: "abc", `123`: "123", ` 1.50 `: "1.50", `null`: ""} {
		if got, err := DecodeID("crm", []byte(in)); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{``, `true`, `{}`, `"x`} {
		if _, err := DecodeID("crm", []byte(in)); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

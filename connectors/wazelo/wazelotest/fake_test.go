package wazelotest

import (
	"encoding/json"
	"github.com/crmhub/crmhub/connectors/internal/opt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// call sends method path with body and the fake's key, and returns the
// status and decoded body.
func call(t *testing.T, s *Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, s.BaseURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.APIKey())
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// errorOf returns the code and the fields of an error body.
func errorOf(body map[string]any) (string, string) {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	var fields []string
	errs, _ := e["errors"].([]any)
	for _, fe := range errs {
		fields = append(fields, fe.(map[string]any)["field"].(string))
	}
	return code, strings.Join(fields, ",")
}

func TestCreateValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		body   string
		status int
		code   string
		fields string
	}{
		{`{"phone":"919876543210"}`, 201, "", ""},
		{`{"phone":"+919876543210","name":"` + long(255) + `","email":"a@b.co","tags":["x"],"custom_fields":{"k":1,"b":true,"n":null}}`, 201, "", ""},
		{`[]`, 400, "BAD_REQUEST", ""},
		{`{}`, 422, "VALIDATION_ERROR", "phone"},
		{`{"phone":"1234567"}`, 422, "VALIDATION_ERROR", "phone"},
		{`{"phone":"1234567890123456"}`, 422, "VALIDATION_ERROR", "phone"},
		{`{"phone":919876543210}`, 422, "VALIDATION_ERROR", "phone"},
		{`{"phone":"919876543210","name":"` + long(256) + `"}`, 422, "VALIDATION_ERROR", "name"},
		{`{"phone":"919876543210","email":"Priya <p@example.com>"}`, 422, "VALIDATION_ERROR", "email"},
		{`{"phone":"919876543210","tags":["` + strings.Repeat(`a","`, 20) + `a"]}`, 422, "VALIDATION_ERROR", "tags"},
		{`{"phone":"919876543210","tags":["` + long(51) + `"]}`, 422, "VALIDATION_ERROR", "tags.0"},
		{`{"phone":"919876543210","custom_fields":{"k":{"nested":1}}}`, 422, "VALIDATION_ERROR", "custom_fields.k"},
		{`{"phone":"919876543210","custom_fields":[1]}`, 422, "VALIDATION_ERROR", "custom_fields"},
		{`{"phone":"919876543210","id":"has space"}`, 422, "VALIDATION_ERROR", "id"},
		{`{"phone":"919876543210","id":"` + long(65) + `"}`, 422, "VALIDATION_ERROR", "id"},
	}
	for _, tt := range tests {
		s := NewServer(t, Options{})
		status, body := call(t, s, "POST", "/contacts", tt.body)
		code, fields := errorOf(body)
		if status != tt.status || code != tt.code || fields != tt.fields {
			t.Errorf("%.60s: %d %s [%s], want %d %s [%s]", tt.body, status, code, fields, tt.status, tt.code, tt.fields)
		}
		if stored := len(s.Contacts()); (status == 201) != (stored == 1) {
			t.Errorf("%.60s: %d stored", tt.body, stored)
		}
	}
}

func TestConflictsAndUpdates(t *testing.T) {
	s := NewServer(t, Options{})
	if st, _ := call(t, s, "POST", "/contacts", `{"id":"cnt_a","phone":"919876543210","email":"a@b.co"}`); st != 201 {
		t.Fatal(st)
	}
	for _, body := range []string{`{"id":"cnt_a","phone":"911111111111"}`, `{"phone":"+919876543210"}`} {
		if st, b := call(t, s, "POST", "/contacts", body); st != 409 || fst(errorOf(b)) != "CONFLICT" {
			t.Errorf("%s: %d %v", body, st, b)
		}
	}
	call(t, s, "POST", "/contacts", `{"id":"cnt_b","phone":"911111111111"}`)
	if st, _ := call(t, s, "PATCH", "/contacts/cnt_b", `{"phone":"919876543210"}`); st != 409 {
		t.Errorf("update to a taken phone: %d", st)
	}
	if st, b := call(t, s, "PATCH", "/contacts/cnt_a", `{"phone":null}`); st != 422 || fst(errorOf(b)) != "VALIDATION_ERROR" {
		t.Errorf("removing the phone: %d", st)
	}
	if st, _ := call(t, s, "PATCH", "/contacts/cnt_a", `{"email":null,"name":"A"}`); st != 200 {
		t.Errorf("update: %d", st)
	}
	if c, _ := s.Contact("cnt_a"); c.Email != nil || opt.Deref(c.Name) != "A" || c.Phone != "919876543210" {
		t.Errorf("after update: %+v", c)
	}
	st, b := call(t, s, "GET", "/contacts/cnt_x", "")
	if e := b["error"].(map[string]any); st != 404 || e["code"] != "CONTACT_NOT_FOUND" || e["message"] != "No contact found with ID cnt_x" || e["status"] != 404.0 || b["success"] != false {
		t.Errorf("missing: %d %v", st, b)
	}
	if st, _ := call(t, s, "DELETE", "/contacts/cnt_a", ""); st != 200 {
		t.Errorf("delete: %d", st)
	}
	if st, _ := call(t, s, "DELETE", "/contacts/cnt_a", ""); st != 404 {
		t.Errorf("second delete: %d", st)
	}
}

func fst(a, _ string) string { return a }

func TestListParameters(t *testing.T) {
	s := NewServer(t, Options{Contacts: []Contact{
		{ID: "c1", Phone: "919876543210", Name: ptr("Priya"), Tags: []string{"vip"}},
		{ID: "c2", Phone: "911111111111", Email: ptr("ravi@example.com")},
	}})
	tests := []struct {
		query  string
		status int
		ids    string
		meta   string
	}{
		{"", 200, "c1,c2", "1/20/2"},
		{"?page=2&limit=1", 200, "c2", "2/1/2"},
		{"?page=3&limit=1", 200, "", "3/1/2"},
		{"?search=98765", 200, "c1", "1/20/1"},
		{"?search=RAVI", 200, "c2", "1/20/1"},
		{"?tag=vip", 200, "c1", "1/20/1"},
		{"?limit=101", 400, "", ""},
		{"?page=0", 400, "", ""},
		{"?limit=x", 400, "", ""},
	}
	for _, tt := range tests {
		st, b := call(t, s, "GET", "/contacts"+tt.query, "")
		var ids []string
		data, _ := b["data"].([]any)
		for _, c := range data {
			ids = append(ids, c.(map[string]any)["id"].(string))
		}
		meta := ""
		if m, ok := b["meta"].(map[string]any); ok {
			meta = strings.Join([]string{num(m["page"]), num(m["limit"]), num(m["total"])}, "/")
		}
		if st != tt.status || strings.Join(ids, ",") != tt.ids || meta != tt.meta {
			t.Errorf("%q: %d [%s] %s", tt.query, st, strings.Join(ids, ","), meta)
		}
	}
}

func num(v any) string { b, _ := json.Marshal(v); return string(b) }

func ptr[T any](v T) *T { return &v }

func TestAuthFaultsAndLog(t *testing.T) {
	s := NewServer(t, Options{ReadOnlyKey: "ro", RateLimitEvery: 3, RetryAfter: "9"})
	do := func(key, method, path string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), method, s.BaseURL+path, strings.NewReader(`{"phone":"919876543210"}`))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := do("", "GET", "/contacts"); r.StatusCode != 401 {
		t.Errorf("no key: %d", r.StatusCode)
	}
	if r := do("ro", "POST", "/contacts"); r.StatusCode != 403 {
		t.Errorf("read-only write: %d", r.StatusCode)
	}
	if r := do(s.APIKey(), "GET", "/contacts"); r.StatusCode != 429 || r.Header.Get("Retry-After") != "9" {
		t.Errorf("third request: %d %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if r := do(s.APIKey(), "GET", "/nowhere"); r.StatusCode != 404 {
		t.Errorf("unknown route: %d", r.StatusCode)
	}
	s.InjectNext(Fault{Status: 500})
	if r := do(s.APIKey(), "GET", "/contacts"); r.StatusCode != 500 {
		t.Errorf("injected 500: %d", r.StatusCode)
	}
	if n := s.Calls(RouteListContacts); n != 3 {
		t.Errorf("%d list calls, want 3", n)
	}
	reqs := s.Requests()
	if len(reqs) != 5 || reqs[1].Route != RouteCreateContact || string(reqs[1].Body) != `{"phone":"919876543210"}` || reqs[1].Status != 403 || reqs[0].Auth != "" {
		t.Errorf("log: %+v", reqs)
	}
}

func TestWebhookSigning(t *testing.T) {
	// Vectors from openssl dgst -sha256 -hmac: the document's example
	// body under "secret", and "hello" under "key".
	h := WebhookHeader([]byte(ExampleMessageReceived), "secret")
	if got := h.Get(SignatureHeader); got != "9b2f2bb75459e2050a6ee05b88bd4b84a40f6dfa3e6be22b81f1ae976c3ac646" {
		t.Errorf("example signature %q", got)
	}
	if got := Sign([]byte("hello"), "key"); got != "9307b3b915efb5171ff14d8cb55fbcc798c6c0ef1456d66ded1a6aa723a58b7b" {
		t.Errorf("hello signature %q", got)
	}
	if h.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", h.Get("Content-Type"))
	}
}

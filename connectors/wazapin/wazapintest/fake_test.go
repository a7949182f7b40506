package wazapintest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// do serves one request on f and returns the status and decoded body.
func do(t *testing.T, f *Fake, method, path, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Api-Key", DefaultAPIKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	var out map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, rec.Body)
		}
	}
	return rec.Code, out
}

func wantStatus(t *testing.T, what string, got, want int, body map[string]any, code string) {
	t.Helper()
	if got != want || (code != "" && body["code"] != code) {
		t.Errorf("%s: %d %v, want %d %s", what, got, body, want, code)
	}
}

func TestAuthAndContentType(t *testing.T) {
	f := New(Options{})
	st, b := do(t, f, "GET", "/v1/contacts", "", map[string]string{"X-Api-Key": ""})
	wantStatus(t, "no key", st, 401, b, CodeUnauthorized)
	st, b = do(t, f, "GET", "/v1/contacts", "", map[string]string{"X-Api-Key": "other"})
	wantStatus(t, "wrong key", st, 401, b, CodeUnauthorized)
	st, b = do(t, f, "POST", "/v1/contacts", `{"email":"a@b.co"}`, map[string]string{"Content-Type": "text/plain"})
	wantStatus(t, "text body", st, 415, b, CodeUnsupportedMedia)
	st, b = do(t, f, "POST", "/v1/contacts", `[1]`, nil)
	wantStatus(t, "array body", st, 400, b, CodeInvalidRequest)
	st, b = do(t, f, "GET", "/v1/nothing", "", nil)
	wantStatus(t, "unknown route", st, 404, b, CodeNotFound)
	if len(f.Contacts()) != 0 {
		t.Error("a refused request stored a contact")
	}
}

func TestCreateOrUpsert(t *testing.T) {
	f := New(Options{})
	st, b := do(t, f, "POST", "/v1/contacts", `{"phone_number":"+6281234567890","name":"A"}`, nil)
	wantStatus(t, "create", st, 201, b, "")
	id := b["data"].(map[string]any)["id"]
	st, b = do(t, f, "POST", "/v1/contacts", `{"phone_number":"+62 812 3456 7890","external_source":"s","external_id":"1"}`, nil)
	wantStatus(t, "upsert by phone", st, 200, b, "")
	if got := b["data"].(map[string]any); got["id"] != id || got["name"] != "A" || got["external_id"] != "1" {
		t.Errorf("upserted %v", got)
	}
	do(t, f, "POST", "/v1/contacts", `{"phone_number":"+6281200000000"}`, nil)
	st, b = do(t, f, "POST", "/v1/contacts", `{"phone_number":"+6281200000000","external_source":"s","external_id":"1"}`, nil)
	wantStatus(t, "keys of two contacts", st, 409, b, CodeConflict)
	if len(f.Contacts()) != 2 {
		t.Errorf("%d contacts, want 2", len(f.Contacts()))
	}
}

func TestValidation(t *testing.T) {
	f := New(Options{})
	for _, tt := range []struct {
		body   string
		fields []any
	}{
		{`{"name":"x"}`, []any{"phone_number", "email", "external_id"}},
		{`{"phone_number":"0812"}`, []any{"phone_number"}},
		{`{"email":"a@b.co","name":"` + strings.Repeat("n", MaxNameLength+1) + `"}`, []any{"name"}},
		{`{"email":"not-an-email"}`, []any{"email"}},
		{`{"email":"a@b.co","external_id":"1"}`, []any{"external_source", "external_id"}},
		{`{"email":"a@b.co","custom_fields":[1]}`, []any{"custom_fields"}},
		{`{"email":1}`, []any{"email"}},
	} {
		st, b := do(t, f, "POST", "/v1/contacts", tt.body, nil)
		wantStatus(t, tt.body, st, 422, b, CodeValidation)
		if got, _ := b["fields"].([]any); !slices.Equal(got, tt.fields) {
			t.Errorf("%s: fields %v, want %v", tt.body, got, tt.fields)
		}
	}
	for _, body := range []string{`{}`, `{"identifiers":[]}`, `{"identifiers":[{"type":"fax","value":"1"}]}`,
		`{"identifiers":[{"type":"external_id","value":"1"}]}`, `{"identifiers":[{"type":"phone","value":"abc"}]}`} {
		st, b := do(t, f, "POST", "/v1/contacts/resolve", body, nil)
		wantStatus(t, body, st, 422, b, CodeValidation)
	}
	if len(f.Contacts()) != 0 {
		t.Error("an invalid contact was stored")
	}
}

func TestPatchAndResolve(t *testing.T) {
	f := New(Options{Contacts: []Contact{
		{ID: "cnt_1", PhoneNumber: "+628111111111", Identities: []Identity{{Type: "wa_id", Value: "628133333333"}}},
		{ID: "cnt_2", PhoneNumber: "+628122222222", Email: "B@example.com"},
	}})
	st, b := do(t, f, "PATCH", "/v1/contacts/cnt_1", `{"phone_number":"+628122222222"}`, nil)
	wantStatus(t, "taken phone", st, 409, b, CodeConflict)
	st, b = do(t, f, "PATCH", "/v1/contacts/cnt_9", `{"name":"x"}`, nil)
	wantStatus(t, "missing", st, 404, b, CodeNotFound)
	st, _ = do(t, f, "PATCH", "/v1/contacts/cnt_2", `{"email":""}`, nil)
	if c, _ := f.Contact("cnt_2"); st != 200 || c.Email != "" {
		t.Errorf("clearing the email: %d %+v", st, c)
	}
	for body, want := range map[string]any{
		`{"identifiers":[{"type":"whatsapp","value":"+628133333333"}]}`:                                    "cnt_1",
		`{"identifiers":[{"type":"contact_id","value":"cnt_2"},{"type":"email","value":"x@example.com"}]}`: "cnt_2",
		`{"identifiers":[{"type":"phone","value":"628111111111"}]}`:                                        "cnt_1",
	} {
		for _, route := range []string{"/v1/contacts/resolve", "/v1/contacts/lookup"} {
			st, b := do(t, f, "POST", route, body, nil)
			if st != 200 || b["data"].(map[string]any)["id"] != want {
				t.Errorf("%s %s: %d %v, want %s", route, body, st, b, want)
			}
		}
	}
	st, b = do(t, f, "GET", "/v1/contacts/phone/+628111111111", "", nil)
	if st != 200 || b["data"].(map[string]any)["id"] != "cnt_1" {
		t.Errorf("by phone: %d %v", st, b)
	}
	st, b = do(t, f, "GET", "/v1/contacts/cnt_1/identities", "", nil)
	if st != 200 || len(b["data"].([]any)) != 2 {
		t.Errorf("identities: %d %v", st, b)
	}
	if f.Calls(RouteLookup) != 3 || f.Calls(RouteGetByPhone) != 1 || f.Calls(RouteIdentities) != 1 {
		t.Errorf("calls %v", f.CallCounts())
	}
}

func TestListLimits(t *testing.T) {
	f := New(Options{Contacts: []Contact{{PhoneNumber: "+628111111111"}, {PhoneNumber: "+628122222222"}, {PhoneNumber: "+628133333333"}}})
	st, b := do(t, f, "GET", "/v1/contacts?limit=2&page=2", "", nil)
	if st != 200 || len(b["data"].([]any)) != 1 || b["meta"].(map[string]any)["total"] != 3.0 {
		t.Errorf("page 2: %d %v", st, b)
	}
	st, b = do(t, f, "GET", "/v1/contacts", "", nil)
	if meta := b["meta"].(map[string]any); st != 200 || meta["limit"] != float64(DefaultPageSize) || meta["page"] != 1.0 {
		t.Errorf("defaults: %v", meta)
	}
	for _, q := range []string{"limit=0", "limit=101", "page=0", "page=x"} {
		st, b := do(t, f, "GET", "/v1/contacts?"+q, "", nil)
		wantStatus(t, q, st, 422, b, CodeValidation)
	}
}

func TestInjection(t *testing.T) {
	f := New(Options{RateLimitEvery: 2, RetryAfter: "3", FailEvery: 3, RequestLog: 4})
	var statuses []int
	for range 6 {
		req := httptest.NewRequest("GET", "/v1/contacts", nil)
		req.Header.Set("X-Api-Key", DefaultAPIKey)
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		statuses = append(statuses, rec.Code)
		if rec.Code == 429 && rec.Header().Get("Retry-After") != "3" {
			t.Errorf("429 without Retry-After")
		}
	}
	if !slices.Equal(statuses, []int{200, 429, 500, 429, 200, 429}) {
		t.Errorf("statuses %v", statuses)
	}
	f.InjectNext(Fault{Status: http.StatusBadGateway})
	st, b := do(t, f, "GET", "/v1/contacts", "", nil)
	wantStatus(t, "queued", st, 502, b, CodeInternal)
	if reqs := f.Requests(); len(reqs) != 4 || reqs[3].Status != 502 || !reqs[3].APIKey || reqs[3].Route != RouteListContacts {
		t.Errorf("log %+v", reqs)
	}
	if f.Total() != 7 || f.Calls(RouteListContacts) != 7 {
		t.Errorf("total %d, calls %v", f.Total(), f.CallCounts())
	}
}

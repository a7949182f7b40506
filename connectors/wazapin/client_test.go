package wazapin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
)

func TestClientErrors(t *testing.T) {
	date := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		fault wazapintest.Fault
		check func(t *testing.T, err error)
	}{
		{"429 seconds", wazapintest.Fault{Status: 429, RetryAfter: "7"}, func(t *testing.T, err error) {
			if rl := connectortest.ErrorAs[*connectors.RateLimitError](t, err); rl.RetryAfter != 7*time.Second {
				t.Errorf("RetryAfter = %s, want 7s", rl.RetryAfter)
			}
		}},
		{"429 date", wazapintest.Fault{Status: 429, RetryAfter: date.Add(90 * time.Second).Format(http.TimeFormat)}, func(t *testing.T, err error) {
			if rl := connectortest.ErrorAs[*connectors.RateLimitError](t, err); rl.RetryAfter != 90*time.Second {
				t.Errorf("RetryAfter = %s, want 1m30s", rl.RetryAfter)
			}
		}},
		{"429 without header", wazapintest.Fault{Status: 429}, func(t *testing.T, err error) {
			if rl := connectortest.ErrorAs[*connectors.RateLimitError](t, err); rl.RetryAfter != 0 {
				t.Errorf("RetryAfter = %s, want 0", rl.RetryAfter)
			}
		}},
		{"403", wazapintest.Fault{Status: 403, Code: "forbidden", Message: "key disabled"}, func(t *testing.T, err error) {
			if ae := connectortest.ErrorAs[*connectors.AuthError](t, err); ae.Status != 403 || ae.Message != "forbidden: key disabled" {
				t.Errorf("got %+v", ae)
			}
		}},
		{"500", wazapintest.Fault{Status: 500}, func(t *testing.T, err error) {
			if te := connectortest.ErrorAs[*connectors.TransientError](t, err); te.Status != 500 {
				t.Errorf("Status = %d", te.Status)
			}
		}},
		{"503", wazapintest.Fault{Status: 503, Code: "unavailable"}, func(t *testing.T, err error) {
			if te := connectortest.ErrorAs[*connectors.TransientError](t, err); te.Status != 503 {
				t.Errorf("Status = %d", te.Status)
			}
		}},
		{"400", wazapintest.Fault{Status: 400, Code: "invalid_request", Message: "bad"}, func(t *testing.T, err error) {
			re := connectortest.ErrorAs[*connectors.RequestError](t, err)
			if re.Status != 400 || re.Code != "invalid_request" || re.Message != "bad" {
				t.Errorf("got %+v", re)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wazapintest.NewServer(t, wazapintest.Options{})
			c := New(Config{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client(), Now: func() time.Time { return date }})
			s.InjectNext(tt.fault)
			_, err := c.ListContacts(t.Context(), ListParams{})
			tt.check(t, err)
			if n := s.Total(); n != 1 {
				t.Errorf("%d requests, want 1: the client must not retry", n)
			}
		})
	}
}

func TestClientBadKey(t *testing.T) {
	s := wazapintest.NewServer(t, wazapintest.Options{})
	c := New(Config{BaseURL: s.URL, APIKey: "wrong", HTTPClient: s.Client()})
	_, err := c.ListContacts(t.Context(), ListParams{})
	if ae := connectortest.ErrorAs[*connectors.AuthError](t, err); ae.Status != 401 {
		t.Errorf("Status = %d, want 401", ae.Status)
	}
	good, _ := newClient(t, wazapintest.Options{})
	if _, err := good.ListContacts(t.Context(), ListParams{}); err != nil {
		t.Errorf("the right key: %v", err)
	}
}

func TestClientUnreachable(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	c := New(Config{BaseURL: s.URL, APIKey: "k"})
	_, err := c.GetContact(t.Context(), "cnt_1")
	if te := connectortest.ErrorAs[*connectors.TransientError](t, err); te.Status != 0 {
		t.Errorf("Status = %d, want 0", te.Status)
	}
}

func TestClientValidationError(t *testing.T) {
	c, s := newClient(t, wazapintest.Options{})
	_, err := c.CreateContact(t.Context(), ContactInput{PhoneNumber: ptr("12"), Email: ptr("nope")})
	re := connectortest.ErrorAs[*RequestError](t, err)
	if re.Status != 422 || re.Code != CodeValidation {
		t.Errorf("got %+v, want 422 %s", re, CodeValidation)
	}
	connectortest.WantEqual(t, "fields", re.Fields, []string{"phone_number", "email"})
	if len(s.Contacts()) != 0 {
		t.Error("an invalid contact was stored")
	}
}

func TestClientNotFound(t *testing.T) {
	c, _ := newClient(t, wazapintest.Options{})
	for name, err := range map[string]error{
		"get":    func() error { _, err := c.GetContact(t.Context(), "cnt_x"); return err }(),
		"delete": c.DeleteContact(t.Context(), "cnt_x"),
		"phone":  func() error { _, err := c.GetContactByPhone(t.Context(), "+6281234567890"); return err }(),
	} {
		if !IsNotFound(err) {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
	if _, err := c.GetContact(t.Context(), ""); err != errEmptyID {
		t.Errorf("empty id: %v", err)
	}
}

func TestClientGetByPhone(t *testing.T) {
	c, _ := newClient(t, wazapintest.Options{Contacts: []wazapintest.Contact{{ID: "cnt_1", PhoneNumber: "+6281234567890"}}})
	got, err := c.GetContactByPhone(t.Context(), "+6281234567890")
	if err != nil || got.ID != "cnt_1" {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestClientPagination(t *testing.T) {
	seed := make([]wazapintest.Contact, 250)
	for i := range seed {
		seed[i] = wazapintest.Contact{PhoneNumber: fmt.Sprintf("+62812%07d", i)}
	}
	c, s := newClient(t, wazapintest.Options{Contacts: seed})
	var ids []string
	for page := 1; page <= 3; page++ {
		p, err := c.ListContacts(t.Context(), ListParams{Page: page})
		if err != nil {
			t.Fatal(err)
		}
		if p.Page != page || p.Limit != PageSize || p.Total != 250 {
			t.Errorf("page %d meta = %d/%d/%d", page, p.Page, p.Limit, p.Total)
		}
		for _, ct := range p.Contacts {
			ids = append(ids, ct.ID)
		}
	}
	if len(ids) != 250 || ids[0] != s.Contacts()[0].ID || ids[249] != s.Contacts()[249].ID {
		t.Errorf("listed %d contacts from %v", len(ids), ids[:1])
	}
	if q := s.Requests()[0].RawQuery; q != "limit=100&page=1" {
		t.Errorf("query %q", q)
	}
	_, err := c.ListContacts(t.Context(), ListParams{Limit: wazapintest.MaxPageSize + 1})
	if re := connectortest.ErrorAs[*RequestError](t, err); re.Status != 422 || fmt.Sprint(re.Fields) != "[limit]" {
		t.Errorf("limit over the maximum: %+v", re)
	}
}

// A remote answering a bare array or a next_cursor is still read.
func TestClientListTolerance(t *testing.T) {
	var queries []string
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		if r.URL.Query().Get("cursor") == "" {
			fmt.Fprint(w, `{"data":[{"id":"a"}],"meta":{"next_cursor":"xyz"}}`)
			return
		}
		fmt.Fprint(w, `[{"id":"b","created_at":"not a time","updated_at":1700000000}]`)
	}))
	defer s.Close()
	c := New(Config{BaseURL: s.URL, APIKey: "k"})
	p, err := c.ListContacts(t.Context(), ListParams{})
	if err != nil || p.NextCursor != "xyz" || p.Contacts[0].ID != "a" {
		t.Fatalf("first page %+v, %v", p, err)
	}
	p, err = c.ListContacts(t.Context(), ListParams{Cursor: p.NextCursor})
	if err != nil || p.NextCursor != "" || p.Contacts[0].ID != "b" || !p.Contacts[0].CreatedAt.IsZero() ||
		p.Contacts[0].UpdatedAt.Unix() != 1700000000 {
		t.Fatalf("second page %+v, %v", p, err)
	}
	if queries[1] != "cursor=xyz&limit=100" {
		t.Errorf("second query %q", queries[1])
	}
}

func TestClientSendsKeyAndContentType(t *testing.T) {
	var got http.Header
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		fmt.Fprint(w, `{"data":[]}`)
	}))
	defer s.Close()
	c := New(Config{BaseURL: s.URL + "/", APIKey: "secret"})
	if _, err := c.Identities(t.Context(), "cnt_1"); err != nil {
		t.Fatal(err)
	}
	if got.Get("X-Api-Key") != "secret" || got.Get("Content-Type") != "application/json" || got.Get("Authorization") != "" {
		t.Errorf("headers %v", got)
	}
}

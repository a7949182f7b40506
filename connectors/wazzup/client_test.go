package wazzup_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

func TestRateLimitCarriesRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"7", 7 * time.Second},
		{"0", 0},
		{"", 0},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	c := wazzup.New(wazzup.Config{BaseURL: s.URL, APIKey: s.APIKey(), Now: func() time.Time { return now }})
	for _, tt := range tests {
		s.InjectNext(wazzuptest.Fault{Status: http.StatusTooManyRequests, RetryAfter: tt.header})
		_, err := c.ListChannels(t.Context())
		rl := connectortest.ErrorAs[*connectors.RateLimitError](t, err)
		if rl.RetryAfter != tt.want {
			t.Errorf("Retry-After %q: got %v, want %v", tt.header, rl.RetryAfter, tt.want)
		}
	}
}

func TestRateLimitEveryNthRequest(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{RateLimitEvery: 2, RetryAfter: "3"})
	if err := c.UpsertContacts(t.Context(), contacts(1)); err != nil {
		t.Fatal(err)
	}
	err := c.UpsertContacts(t.Context(), contacts(2))
	if rl := connectortest.ErrorAs[*connectors.RateLimitError](t, err); rl.RetryAfter != 3*time.Second {
		t.Fatalf("RetryAfter %v", rl.RetryAfter)
	}
	if n := len(s.Contacts()); n != 1 {
		t.Fatalf("the rate-limited batch was stored: %d contacts", n)
	}
}

func TestWrongKeyIsAuthError(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{APIKey: "right"})
	c := wazzup.New(wazzup.Config{BaseURL: s.URL, APIKey: "wrong"})
	calls := map[string]func() error{
		"v3": func() error { _, _, err := c.ListContacts(t.Context(), 0); return err },
		"v2": func() error { _, err := c.ListUsers(t.Context()); return err },
	}
	for name, call := range calls {
		ae := connectortest.ErrorAs[*connectors.AuthError](t, call())
		if ae.Status != http.StatusUnauthorized || ae.Message == "" {
			t.Errorf("%s: %+v", name, ae)
		}
	}
	s.InjectNext(wazzuptest.Fault{Status: http.StatusForbidden, Code: "FORBIDDEN", Description: "no"})
	if ae := connectortest.ErrorAs[*connectors.AuthError](t, wazzup.New(wazzup.Config{BaseURL: s.URL, APIKey: "right"}).DeleteUser(t.Context(), "1")); ae.Status != http.StatusForbidden {
		t.Fatalf("%+v", ae)
	}
}

func TestAuthSchemePerDocument(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{})
	if _, _, err := c.ListContacts(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListChannels(t.Context()); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if reqs[0].AuthScheme != "Bearer" || reqs[1].AuthScheme != "Basic" {
		t.Fatalf("v3 must use Bearer and v2 Basic: %+v", reqs)
	}
}

func TestServerErrorsAreTransient(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{FailEvery: 1})
	te := connectortest.ErrorAs[*connectors.TransientError](t, c.UpsertContacts(t.Context(), contacts(3)))
	if te.Status != http.StatusInternalServerError || te.Err == nil {
		t.Fatalf("%+v", te)
	}
	if s.Calls(wazzuptest.RouteUpsertContacts) != 1 {
		t.Fatal("the client must not retry")
	}

	c, s = newClient(t, wazzuptest.Options{})
	s.InjectNext(wazzuptest.Fault{Status: http.StatusServiceUnavailable})
	if te := connectortest.ErrorAs[*connectors.TransientError](t, c.DeleteDeal(t.Context(), 1)); te.Status != http.StatusServiceUnavailable {
		t.Fatalf("%+v", te)
	}
}

func TestUnreachableIsTransient(t *testing.T) {
	s := wazzuptest.NewServer(nil, wazzuptest.Options{})
	s.Close()
	c := wazzup.New(wazzup.Config{BaseURL: s.URL, APIKey: s.APIKey()})
	te := connectortest.ErrorAs[*connectors.TransientError](t, c.DeleteContact(t.Context(), "1"))
	if te.Status != 0 {
		t.Fatalf("%+v", te)
	}
}

func TestTimeoutIsTransient(t *testing.T) {
	c, _ := newClient(t, wazzuptest.Options{Latency: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := c.ListUsers(ctx)
	connectortest.ErrorAs[*connectors.TransientError](t, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v does not wrap the deadline", err)
	}

	// The Config timeout bounds a request too.
	_, s := newClient(t, wazzuptest.Options{Latency: time.Minute})
	c = wazzup.New(wazzup.Config{BaseURL: s.URL, APIKey: s.APIKey(), Timeout: 20 * time.Millisecond})
	_, err = c.ListUsers(t.Context())
	connectortest.ErrorAs[*connectors.TransientError](t, err)
}

func TestResponseBodyIsBounded(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{Users: []wazzuptest.User{{ID: "1", Name: "a long enough name"}}})
	c := wazzup.New(wazzup.Config{BaseURL: s.URL, APIKey: s.APIKey(), MaxResponseBytes: 16})
	_, err := c.ListUsers(t.Context())
	var te *connectors.TransientError
	if err == nil || errors.As(err, &te) {
		t.Fatalf("want a non-transient error for an oversized body, got %v", err)
	}
}

func TestOtherClientErrorsAreRequestErrors(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{})
	s.InjectNext(wazzuptest.Fault{Status: http.StatusBadRequest, Code: wazzup.CodeTooManyEntities, Description: "Too mach entities per request."})
	wantRequestError(t, c.UpsertContacts(t.Context(), contacts(1)), http.StatusBadRequest, wazzup.CodeTooManyEntities)

	// A body of another shape still gives a typed error.
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "teapot", http.StatusTeapot)
	}))
	defer h.Close()
	_, err := wazzup.New(wazzup.Config{BaseURL: h.URL}).ListChannels(t.Context())
	re := connectortest.ErrorAs[*connectors.RequestError](t, err)
	if re.Status != http.StatusTeapot || re.Message != "teapot" {
		t.Fatalf("%+v", re)
	}
}

func TestMalformedSuccessBody(t *testing.T) {
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"not":"a list"`))
	}))
	defer h.Close()
	if _, err := wazzup.New(wazzup.Config{BaseURL: h.URL}).ListUsers(t.Context()); err == nil {
		t.Fatal("want a decoding error")
	}
}

func TestDropRejectedOnlyForBatchErrors(t *testing.T) {
	if _, _, ok := wazzup.DropRejected(contacts(2), &connectors.RequestError{Status: 400}); ok {
		t.Fatal("a request error must not be split")
	}
	if _, _, ok := wazzup.DropRejected(contacts(2), nil); ok {
		t.Fatal("nil must not be split")
	}
}

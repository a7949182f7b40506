package wazzuptest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

func TestAuthorization(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{APIKey: "right"})
	tests := []struct {
		auth   string
		status int
	}{
		{"Bearer right", http.StatusOK},
		{"Basic right", http.StatusOK},
		{"bearer right", http.StatusOK},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Basic wrong", http.StatusUnauthorized},
		{"right", http.StatusUnauthorized},
		{"Token right", http.StatusUnauthorized},
		{"", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		a := call(t, s, "GET", "/v2/users", nil, tt.auth)
		if tt.status == http.StatusOK && a.status != tt.status {
			t.Errorf("%q: %d %s", tt.auth, a.status, a.body)
		}
		if tt.status == http.StatusUnauthorized {
			wantError(t, a, http.StatusUnauthorized, "UNAUTHORIZED")
		}
	}
	reqs := s.Requests()
	if len(reqs) != len(tests) || reqs[1].AuthScheme != "Basic" || reqs[1].Route != wazzuptest.RouteListUsers {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestInjectedFailures(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{RateLimitEvery: 3, RetryAfter: "7", FailEvery: 4})
	want := []int{200, 200, 429, 500, 200, 429, 200, 500}
	for i, status := range want {
		a := call(t, s, "GET", "/v2/channels", nil)
		if a.status != status {
			t.Fatalf("request %d: %d %s, want %d", i+1, a.status, a.body, status)
		}
		switch status {
		case 429:
			wantError(t, a, status, "TOO_MANY_REQUESTS")
			if got := a.header.Get("Retry-After"); got != "7" {
				t.Fatalf("Retry-After %q", got)
			}
		case 500:
			wantError(t, a, status, "UNKNOWN_ERROR")
		}
	}
	if n := s.Calls(wazzuptest.RouteListChannels); n != len(want) {
		t.Fatalf("%d calls counted, want %d", n, len(want))
	}
}

func TestInjectNextAndInjectFunc(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{
		Inject: func(route string, n int) *wazzuptest.Fault {
			if route == wazzuptest.RouteListUsers {
				return &wazzuptest.Fault{Status: http.StatusBadGateway}
			}
			return nil
		},
	})
	s.InjectNext(wazzuptest.Fault{Status: 429, RetryAfter: "Wed, 21 Oct 2015 07:28:00 GMT"})
	a := call(t, s, "GET", "/v2/channels", nil)
	if a.status != 429 || a.header.Get("Retry-After") != "Wed, 21 Oct 2015 07:28:00 GMT" {
		t.Fatalf("queued fault: %d %v", a.status, a.header)
	}
	if a := call(t, s, "GET", "/v2/channels", nil); a.status != http.StatusOK {
		t.Fatalf("queue not drained: %d", a.status)
	}
	wantError(t, call(t, s, "GET", "/v2/users", nil), http.StatusBadGateway, "UNKNOWN_ERROR")
}

func TestLatencyGivesUpWithTheClient(t *testing.T) {
	f := wazzuptest.New(wazzuptest.Options{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", "/v2/channels", nil)
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req) // returns at once: the request is already cancelled
	if reqs := f.Requests(); len(reqs) != 1 || reqs[0].Status != 0 {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestCountersUnderConcurrency(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	const n = 50
	bodies := [][]byte{mustJSON(t, contactsJSON(1)), mustJSON(t, contactsJSON(2)), mustJSON(t, contactsJSON(3))}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := bodies[i%3]
			req, _ := http.NewRequest("POST", s.URL+"/v3/contacts", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+s.APIKey())
			if resp, err := s.Client().Do(req); err == nil {
				resp.Body.Close()
			}
			s.Contacts()
		})
	}
	wg.Wait()
	if got := s.Calls(wazzuptest.RouteUpsertContacts); got != n {
		t.Fatalf("%d calls, want %d", got, n)
	}
	if got := s.CallCounts(); len(got) != 1 || got[wazzuptest.RouteUpsertContacts] != n {
		t.Fatalf("counts %v", got)
	}
	if len(s.Contacts()) != 3 {
		t.Fatalf("contacts %+v", s.Contacts())
	}
}

func TestRequestLogIsBounded(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{RequestLog: 3})
	for _, path := range []string{"/v2/users", "/v2/channels", "/v2/deals", "/v3/contacts", "/v2/users/x"} {
		call(t, s, "GET", path, nil)
	}
	reqs := s.Requests()
	if len(reqs) != 3 || reqs[0].Path != "/v2/deals" || reqs[2].Path != "/v2/users/x" || reqs[2].Status != http.StatusNotFound {
		t.Fatalf("requests %+v", reqs)
	}
	if s.Calls(wazzuptest.RouteListUsers) != 1 {
		t.Fatal("counters are not bounded by the log")
	}
}

func TestUnknownRouteIsNotCounted(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	if a := call(t, s, "GET", "/v2/contacts", nil); a.status != http.StatusNotFound {
		t.Fatalf("v2 contacts are not served, got %d", a.status)
	}
	if len(s.CallCounts()) != 0 || s.Requests()[0].Route != "" {
		t.Fatalf("counts %v", s.CallCounts())
	}
}

package wazera

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
)

func TestErrorsMapToTheTypedErrors(t *testing.T) {
	clock := newFakeClock()
	tests := []struct {
		name  string
		fault wazeratest.Fault
		check func(t *testing.T, err error)
	}{
		{"401", wazeratest.Fault{Status: 401}, func(t *testing.T, err error) {
			ae := connectortest.ErrorAs[*connectors.AuthError](t, err)
			if ae.Status != 401 || !strings.Contains(ae.Message, "UNAUTHORIZED") {
				t.Errorf("got %+v, want 401 naming UNAUTHORIZED", ae)
			}
		}},
		{"403", wazeratest.Fault{Status: 403, Code: "FORBIDDEN", Message: "Key revoked."}, func(t *testing.T, err error) {
			ae := connectortest.ErrorAs[*connectors.AuthError](t, err)
			if ae.Status != 403 || ae.Message != "FORBIDDEN: Key revoked." {
				t.Errorf("got %+v", ae)
			}
		}},
		{"429 seconds", wazeratest.Fault{Status: 429, RetryAfter: "7"}, func(t *testing.T, err error) {
			if rl := connectortest.ErrorAs[*connectors.RateLimitError](t, err); rl.RetryAfter != 7*time.Second {
				t.Errorf("RetryAfter %s, want 7s", rl.RetryAfter)
			}
		}},
		{"429 date", wazeratest.Fault{Status: 429, RetryAfter: clock.Now().Add(90 * time.Second).Format(http.TimeFormat)},
			func(t *testing.T, err error) {
				if rl := connectortest.ErrorAs[*connectors.RateLimitError](t, err); rl.RetryAfter != 90*time.Second {
					t.Errorf("RetryAfter %s, want 90s", rl.RetryAfter)
				}
			}},
		{"429 no header", wazeratest.Fault{Status: 429}, func(t *testing.T, err error) {
			if rl := connectortest.ErrorAs[*connectors.RateLimitError](t, err); rl.RetryAfter != 0 {
				t.Errorf("RetryAfter %s, want 0 (engine backs off)", rl.RetryAfter)
			}
		}},
		{"500", wazeratest.Fault{Status: 500}, func(t *testing.T, err error) {
			te := connectortest.ErrorAs[*connectors.TransientError](t, err)
			if te.Status != 500 || !strings.Contains(te.Error(), "SERVER_ERROR") {
				t.Errorf("got %v", te)
			}
		}},
		{"503", wazeratest.Fault{Status: 503}, func(t *testing.T, err error) {
			if te := connectortest.ErrorAs[*connectors.TransientError](t, err); te.Status != 503 {
				t.Errorf("status %d", te.Status)
			}
		}},
		{"400", wazeratest.Fault{Status: 400}, func(t *testing.T, err error) {
			re := connectortest.ErrorAs[*connectors.RequestError](t, err)
			if re.Status != 400 || re.Code != CodeBadRequest || re.Message == "" {
				t.Errorf("got %+v", re)
			}
			if errors.As(err, new(*connectors.TransientError)) || errors.As(err, new(*connectors.AuthError)) {
				t.Errorf("a 400 is also another typed error: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wazeratest.NewServer(t, wazeratest.Options{})
			c := New(Config{HTTPConfig: HTTPConfig{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client(), Now: clock.Now}, Limiter: unlimited()})
			s.InjectNext(tt.fault)
			_, err := c.ListContacts(t.Context(), ListOptions{})
			tt.check(t, err)
		})
	}
}

func TestValidationErrorCarriesTheDocumentedBody(t *testing.T) {
	c, _ := newClient(t, wazeratest.Options{})
	_, err := c.CreateContact(t.Context(), Contact{Name: ptr("John Doe"), Email: ptr("not-an-email")})
	re := connectortest.ErrorAs[*RemoteError](t, err)
	if re.Status != 422 || re.Code != CodeValidation || re.Message != "The phone field is required." {
		t.Errorf("got %+v, want 422 VALIDATION_ERROR with the document's message", re.RequestError)
	}
	connectortest.WantEqual(t, "fields", re.Fields, []string{"email", "phone"})
	// The engine sees a RequestError.
	if rq := connectortest.ErrorAs[*connectors.RequestError](t, err); rq.Status != 422 {
		t.Errorf("RequestError status %d", rq.Status)
	}
	ie := itemError(err, 3, "x").(connectors.ItemError)
	if ie.Index != 3 || ie.ID != "x" || ie.Code != CodeValidation || !slices.Equal(ie.Fields, []string{"email", "phone"}) {
		t.Errorf("item error %+v", ie)
	}
}

func TestNotFound(t *testing.T) {
	c, _ := newClient(t, wazeratest.Options{})
	_, err := c.GetContact(t.Context(), "42")
	if !IsNotFound(err) {
		t.Fatalf("get of a missing contact: %v, want a 404", err)
	}
	if IsNotFound(nil) || IsNotFound(&connectors.RequestError{Status: 400}) {
		t.Error("IsNotFound is true for other errors")
	}
}

func TestTransportFailuresAreTransient(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		s := httptest.NewServer(http.NotFoundHandler())
		s.Close()
		c := New(Config{HTTPConfig: HTTPConfig{BaseURL: s.URL, APIKey: "k"}, Limiter: unlimited()})
		_, err := c.ListContacts(t.Context(), ListOptions{})
		if te := connectortest.ErrorAs[*connectors.TransientError](t, err); te.Status != 0 {
			t.Errorf("status %d, want 0 (no answer)", te.Status)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		s := wazeratest.NewServer(t, wazeratest.Options{Latency: time.Second})
		c := New(Config{HTTPConfig: HTTPConfig{BaseURL: s.URL, APIKey: s.APIKey(), Timeout: 20 * time.Millisecond}, Limiter: unlimited()})
		_, err := c.ListContacts(t.Context(), ListOptions{})
		connectortest.ErrorAs[*connectors.TransientError](t, err)
	})
}

func TestBearerKeyAndBaseURL(t *testing.T) {
	s := wazeratest.NewServer(t, wazeratest.Options{APIKey: "k-123"})
	// A base URL that already names /api/v1 works too.
	for _, base := range []string{s.URL, s.URL + "/", s.URL + "/api/v1"} {
		c := New(Config{HTTPConfig: HTTPConfig{BaseURL: base, APIKey: "k-123", HTTPClient: s.Client()}, Limiter: unlimited()})
		if _, err := c.ListContacts(t.Context(), ListOptions{}); err != nil {
			t.Fatalf("base %s: %v", base, err)
		}
	}
	for _, r := range s.Requests() {
		if r.Authorization != "Bearer k-123" || r.Path != "/api/v1/contacts" {
			t.Errorf("request %s with Authorization %q", r.Path, r.Authorization)
		}
	}
	c := New(Config{HTTPConfig: HTTPConfig{BaseURL: s.URL, APIKey: "wrong", HTTPClient: s.Client()}, Limiter: unlimited()})
	_, err := c.ListContacts(t.Context(), ListOptions{})
	connectortest.ErrorAs[*connectors.AuthError](t, err)
}

func TestListPages(t *testing.T) {
	c, s := newClient(t, wazeratest.Options{})
	for i := range 35 {
		s.PutContacts(wazeratest.Contact{Name: ptr(fmt.Sprintf("C%d", i)), Phone: fmt.Sprintf("+1555000%04d", i)})
	}
	var names []string
	for page := 1; ; page++ {
		p, err := c.ListContacts(t.Context(), ListOptions{Page: page, PerPage: 10})
		if err != nil {
			t.Fatal(err)
		}
		if p.Meta.Total != 35 || p.Meta.LastPage != 4 || p.Meta.CurrentPage != page {
			t.Fatalf("page %d meta %+v", page, p.Meta)
		}
		for _, ct := range p.Data {
			names = append(names, *ct.Name)
		}
		if !p.More(page, 10) {
			if page != 4 {
				t.Fatalf("stopped after page %d, want 4", page)
			}
			break
		}
	}
	if len(names) != 35 || names[0] != "C0" || names[34] != "C34" {
		t.Errorf("listed %d: %v", len(names), names)
	}
	last := s.Requests()[len(s.Requests())-1]
	if last.RawQuery != "page=4&per_page=10" {
		t.Errorf("query %q", last.RawQuery)
	}
	// The fake holds per_page to the assumed limit.
	_, err := c.ListContacts(t.Context(), ListOptions{PerPage: MaxPerPage + 1})
	if re := connectortest.ErrorAs[*RemoteError](t, err); re.Status != 422 || !slices.Equal(re.Fields, []string{"per_page"}) {
		t.Errorf("per_page %d: %+v", MaxPerPage+1, re)
	}
}

func TestSearchAndTag(t *testing.T) {
	c, s := newClient(t, wazeratest.Options{})
	s.PutContacts(
		wazeratest.Contact{Name: ptr("John Doe"), Phone: "+1234567890", Tags: []string{"vip"}},
		wazeratest.Contact{Name: ptr("Jane Roe"), Phone: "+1234567891", Tags: []string{"customer"}},
	)
	p, err := c.ListContacts(t.Context(), ListOptions{Search: "john"})
	if err != nil || len(p.Data) != 1 || *p.Data[0].Name != "John Doe" {
		t.Fatalf("search: %+v %v", p.Data, err)
	}
	p, err = c.ListContacts(t.Context(), ListOptions{Tag: "customer"})
	if err != nil || len(p.Data) != 1 || *p.Data[0].Name != "Jane Roe" {
		t.Fatalf("tag: %+v %v", p.Data, err)
	}
}

func TestContactPageAcceptsOtherShapes(t *testing.T) {
	tests := []struct {
		body      string
		total     int
		lastPage  int
		more      bool // for page 1 of per_page 2
		wantCount int
	}{
		{`{"data":[{"id":1},{"id":2}],"meta":{"current_page":1,"per_page":2,"total":3,"last_page":2}}`, 3, 2, true, 2},
		{`{"current_page":1,"data":[{"id":1},{"id":2}],"per_page":2,"total":2,"last_page":1}`, 2, 1, false, 2},
		{`{"data":[{"id":"1"},{"id":2}],"meta":{"total":"5"}}`, 5, -1, true, 2},
		{`{"data":[{"id":1},{"id":2}]}`, -1, -1, true, 2},
		{`{"data":[{"id":1}]}`, -1, -1, false, 1},
		{`[{"id":1},{"id":2}]`, -1, -1, true, 2},
		{`{"data":[],"meta":{"total":9,"last_page":5}}`, 9, 5, false, 0},
	}
	for _, tt := range tests {
		var p ContactPage
		if err := p.UnmarshalJSON([]byte(tt.body)); err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if p.Meta.Total != tt.total || p.Meta.LastPage != tt.lastPage || p.More(1, 2) != tt.more || len(p.Data) != tt.wantCount {
			t.Errorf("%s: meta %+v more %v count %d", tt.body, p.Meta, p.More(1, 2), len(p.Data))
		}
	}
}

func TestPlans(t *testing.T) {
	for in, want := range map[string]Plan{"": PlanStarter, "Starter": PlanStarter, "PROFESSIONAL": PlanProfessional, " enterprise ": PlanEnterprise} {
		if got, err := ParsePlan(in); err != nil || got != want {
			t.Errorf("ParsePlan(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParsePlan("gold"); err == nil {
		t.Error("an unknown plan was accepted")
	}
	if PlanStarter.PerMinute() != 100 || PlanProfessional.PerMinute() != 500 || PlanEnterprise.PerMinute() != 2000 {
		t.Error("plan limits differ from the document")
	}
}

// paced runs n list requests through a client paced for plan against a
// fake that enforces the same plan, on one fake clock.
func paced(t *testing.T, plan Plan, limiter bool, n int) (*fakeClock, *wazeratest.Server, error) {
	clock := newFakeClock()
	s := wazeratest.NewServer(t, wazeratest.Options{Plan: string(plan), Now: clock.Now})
	cfg := Config{HTTPConfig: HTTPConfig{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client(), Now: clock.Now}, Plan: plan, Sleep: clock.Sleep}
	if !limiter {
		cfg.Limiter = unlimited()
	}
	c := New(cfg)
	for range n {
		if _, err := c.ListContacts(t.Context(), ListOptions{}); err != nil {
			return clock, s, err
		}
	}
	return clock, s, nil
}

func TestLimiterKeepsUnderThePlan(t *testing.T) {
	for _, plan := range []Plan{PlanStarter, PlanProfessional} {
		t.Run(string(plan), func(t *testing.T) {
			limit := plan.PerMinute()
			n := 2*limit + limit/2
			clock, s, err := paced(t, plan, true, n)
			if err != nil {
				t.Fatalf("paced client provoked %v", err)
			}
			// No 60-second window holds more than the plan's requests.
			reqs := s.Requests()
			for i := range reqs {
				j := i
				for j < len(reqs) && reqs[j].At.Sub(reqs[i].At) < time.Minute {
					j++
				}
				if j-i > limit {
					t.Fatalf("%d requests within a minute from request %d, limit %d", j-i, i, limit)
				}
			}
			// The first burst goes without waiting; the rest is paced.
			sleeps := clock.Sleeps()
			if burst := limit / 10; len(sleeps) != n-burst {
				t.Errorf("%d waits for %d requests, want %d (all but the burst of %d)", len(sleeps), n, n-burst, burst)
			}
			if elapsed := reqs[len(reqs)-1].At.Sub(reqs[0].At); elapsed < 2*time.Minute {
				t.Errorf("%d requests took %s of fake time, want over 2m at %d/min", n, elapsed, limit)
			}
		})
	}
}

// TestFakeEnforcesThePlan shows that the pacing test can fail: without
// the limiter the fake refuses request limit+1.
func TestFakeEnforcesThePlan(t *testing.T) {
	_, s, err := paced(t, PlanStarter, false, 150)
	rl := connectortest.ErrorAs[*connectors.RateLimitError](t, err)
	if rl.RetryAfter != time.Minute {
		t.Errorf("RetryAfter %s, want 60s (no time passed)", rl.RetryAfter)
	}
	if got := s.Total(); got != 101 {
		t.Errorf("refused at request %d, want 101", got)
	}
}

func TestPaceStopsWithTheContext(t *testing.T) {
	s := wazeratest.NewServer(t, wazeratest.Options{})
	c := New(Config{HTTPConfig: HTTPConfig{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client()}, Limiter: NewLimiter(60)})
	ctx, cancel := context.WithCancel(t.Context())
	if _, err := c.ListContacts(ctx, ListOptions{}); err != nil { // the burst of 1
		t.Fatal(err)
	}
	cancel()
	_, err := c.ListContacts(ctx, ListOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if s.Total() != 1 {
		t.Errorf("%d requests reached the fake, want 1", s.Total())
	}
}

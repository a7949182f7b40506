package wazelo

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/internal/opt"
	"github.com/crmhub/crmhub/connectors/wazelo/wazelotest"
)

// newClient starts a fake with opts and a client pointed at it.
func newClient(t *testing.T, opts wazelotest.Options) (*Client, *wazelotest.Server) {
	t.Helper()
	s := wazelotest.NewServer(t, opts)
	return New(Config{BaseURL: s.BaseURL, APIKey: s.APIKey(), HTTPClient: s.Client()}), s
}

func phone(s string) *string { return &s }

func TestRateLimitCarriesRetryAfter(t *testing.T) {
	now := time.Date(2025, 4, 19, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"7", 7 * time.Second},
		{"", 0},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	s := wazelotest.NewServer(t, wazelotest.Options{})
	c := New(Config{BaseURL: s.BaseURL, APIKey: s.APIKey(), Now: func() time.Time { return now }})
	for _, tt := range tests {
		s.InjectNext(wazelotest.Fault{Status: http.StatusTooManyRequests, RetryAfter: tt.header})
		_, _, err := c.ListContacts(t.Context(), ListQuery{})
		if rl := connectortest.ErrorAs[*connectors.RateLimitError](t, err); rl.RetryAfter != tt.want {
			t.Errorf("Retry-After %q: got %v, want %v", tt.header, rl.RetryAfter, tt.want)
		}
	}
}

func TestStatusMapping(t *testing.T) {
	c, s := newClient(t, wazelotest.Options{ReadOnlyKey: "wzl_read_only"})
	ctx := t.Context()

	// A wrong key: 401.
	bad := New(Config{BaseURL: s.BaseURL, APIKey: "wzl_wrong"})
	_, _, err := bad.ListContacts(ctx, ListQuery{})
	if ae := connectortest.ErrorAs[*connectors.AuthError](t, err); ae.Status != 401 || !strings.Contains(ae.Message, "UNAUTHORIZED") {
		t.Errorf("wrong key: %+v", ae)
	}
	// A read-only key may list but not write: 403.
	ro := New(Config{BaseURL: s.BaseURL, APIKey: "wzl_read_only"})
	if _, _, err := ro.ListContacts(ctx, ListQuery{}); err != nil {
		t.Errorf("read-only key listing: %v", err)
	}
	_, err = ro.CreateContact(ctx, Contact{Phone: phone("919876543210")})
	if ae := connectortest.ErrorAs[*connectors.AuthError](t, err); ae.Status != 403 || !strings.Contains(ae.Message, "FORBIDDEN") {
		t.Errorf("read-only key writing: %+v", ae)
	}
	// 5xx: transient with the status.
	s.InjectNext(wazelotest.Fault{Status: 503})
	_, err = c.GetContact(ctx, "cnt_x")
	if te := connectortest.ErrorAs[*connectors.TransientError](t, err); te.Status != 503 {
		t.Errorf("503: %+v", te)
	}
	// 404: the document's example body.
	_, err = c.GetContact(ctx, "cnt_invalid")
	re := connectortest.ErrorAs[*connectors.RequestError](t, err)
	connectortest.WantEqual(t, "404", *re, connectors.RequestError{Status: 404, Code: CodeContactNotFound, Message: "No contact found with ID cnt_invalid"})
	if !IsNotFound(err) || IsConflict(err) {
		t.Error("IsNotFound/IsConflict disagree with a 404")
	}
	// 422: the fields at fault.
	_, err = c.CreateContact(ctx, Contact{Phone: phone("12"), Email: phone("not-an-email")})
	ve := connectortest.ErrorAs[*ValidationError](t, err)
	if ve.Status != 422 || ve.Code != CodeValidation || strings.Join(ve.FieldNames(), ",") != "phone,email" {
		t.Errorf("422: %+v %v", ve.RequestError, ve.FieldNames())
	}
	// 400: a limit beyond the documented page size.
	_, _, err = c.ListContacts(ctx, ListQuery{Limit: 101})
	if re := connectortest.ErrorAs[*connectors.RequestError](t, err); re.Status != 400 || re.Code != CodeBadRequest {
		t.Errorf("400: %+v", re)
	}
	// 409: a duplicate phone.
	if _, err := c.CreateContact(ctx, Contact{Phone: phone("919876543210")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateContact(ctx, Contact{Phone: phone("+919876543210")})
	if re := connectortest.ErrorAs[*connectors.RequestError](t, err); re.Status != 409 || re.Code != CodeConflict || !IsConflict(err) {
		t.Errorf("409: %+v", re)
	}
}

func TestUnreachableIsTransient(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	c := New(Config{BaseURL: s.URL})
	_, _, err := c.ListContacts(t.Context(), ListQuery{})
	if te := connectortest.ErrorAs[*connectors.TransientError](t, err); te.Status != 0 {
		t.Errorf("status %d, want 0 for no answer", te.Status)
	}
}

// TestErrorBodiesOfOtherShapes: a body that is not the documented one
// still yields the error its status calls for, with the table's code.
func TestErrorBodiesOfOtherShapes(t *testing.T) {
	tests := []struct {
		status     int
		body       string
		code, msg  string
		fields     string
		validation bool
	}{
		{404, "", CodeNotFound, "Not Found", "", false},
		{409, "duplicate", CodeConflict, "duplicate", "", false},
		{422, `{"success":false,"error":{"code":"VALIDATION_ERROR","message":"bad"},"errors":[{"field":"name","message":"x"}]}`,
			CodeValidation, "bad", "name", true},
	}
	for _, tt := range tests {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tt.status)
			_, _ = w.Write([]byte(tt.body))
		}))
		c := New(Config{BaseURL: s.URL})
		_, err := c.GetContact(t.Context(), "x")
		s.Close()
		re := connectortest.ErrorAs[*connectors.RequestError](t, err)
		if re.Status != tt.status || re.Code != tt.code || re.Message != tt.msg {
			t.Errorf("%d %q: %+v", tt.status, tt.body, re)
		}
		var ve *ValidationError
		if errors.As(err, &ve) != tt.validation || (tt.validation && strings.Join(ve.FieldNames(), ",") != tt.fields) {
			t.Errorf("%d %q: validation error %v", tt.status, tt.body, err)
		}
	}
}

func TestListContactsPages(t *testing.T) {
	c, s := newClient(t, wazelotest.Options{})
	for i := range 45 {
		s.PutContacts(wazelotest.Contact{Phone: "9198" + strings.Repeat("0", 6) + string(rune('0'+i/10)) + string(rune('0'+i%10))})
	}
	var ids []string
	for page := 1; page <= 3; page++ {
		items, meta, err := c.ListContacts(t.Context(), ListQuery{Page: page, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if *meta != (Meta{Page: page, Limit: 20, Total: 45}) {
			t.Errorf("page %d: meta %+v", page, *meta)
		}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
	}
	if len(ids) != 45 || ids[0] != "cnt_0000001" || ids[44] != "cnt_0000045" {
		t.Errorf("listed %d: %v...", len(ids), ids[:min(3, len(ids))])
	}
	// Every request carried the Bearer key and the query asked.
	for _, r := range s.Requests() {
		if r.Auth != "Bearer" || !strings.HasPrefix(r.RawQuery, "limit=20&page=") {
			t.Errorf("request %+v", r)
		}
	}
}

func TestUpdateClearsAndKeeps(t *testing.T) {
	c, _ := newClient(t, wazelotest.Options{})
	ctx := t.Context()
	created, err := c.CreateContact(ctx, Contact{ID: "cnt_a", Name: phone("Priya"), Phone: phone("919876543210"),
		Email: phone("p@example.com"), Tags: []string{"vip"}})
	if err != nil || created.ID != "cnt_a" {
		t.Fatalf("create: %+v %v", created, err)
	}
	// Phone omitted is kept; email null is cleared.
	got, err := c.UpdateContact(ctx, "cnt_a", Contact{Name: phone("Priya S"), Tags: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if opt.Deref(got.Phone) != "919876543210" || got.Email != nil || opt.Deref(got.Name) != "Priya S" || len(got.Tags) != 0 {
		t.Errorf("after update: %+v", got)
	}
	if err := c.DeleteContact(ctx, "cnt_a"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteContact(ctx, "cnt_a"); !IsNotFound(err) {
		t.Errorf("second delete: %v", err)
	}
	if err := c.DeleteContact(ctx, ""); err == nil {
		t.Error("an empty id was sent")
	}
}

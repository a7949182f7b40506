package wazzup_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

// TestRegisterHook: PUT /v2/webhooks sets the URL after Wazzup's test
// request is answered 200, GET reads it back, and the fake then delivers
// webhooks there; a URL that fails the test is refused; removing leaves a
// URL someone else set alone.
func TestRegisterHook(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	var bodies atomic.Value
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies.Store(string(b))
		w.WriteHeader(int(status.Load()))
	}))
	defer recv.Close()
	fake := wazzuptest.NewServer(t, wazzuptest.Options{})
	c, err := wazzup.NewConnector(connectors.Config{BaseURL: fake.URL, APIKey: fake.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	reg := c.(connectors.HookRegistrar)
	ctx := context.Background()
	u := recv.URL + "/hooks/conn_1?token=secret"
	if id, err := reg.RegisterHook(ctx, u, "secret"); err != nil || id != "" {
		t.Fatalf("RegisterHook = %q, %v", id, err)
	}
	if fake.WebhooksURL() != u || bodies.Load() != string(wazzuptest.TestWebhook) {
		t.Fatalf("webhooksUrl %q, test request %v", fake.WebhooksURL(), bodies.Load())
	}
	got, err := wazzup.New(wazzup.Config{BaseURL: fake.URL, APIKey: fake.APIKey()}).WebhooksURL(ctx)
	if err != nil || got.WebhooksURL == nil || *got.WebhooksURL != u {
		t.Fatalf("GET /v2/webhooks = %+v, %v", got, err)
	}
	if st, err := fake.SendWebhook(ctx, wazzup.Webhook{Statuses: []wazzup.WebhookStatus{{MessageID: "m1", Status: 2}}}); err != nil ||
		st != http.StatusOK || bodies.Load() != `{"statuses":[{"messageId":"m1","status":2}]}` {
		t.Fatalf("SendWebhook = %d, %v; body %v", st, err, bodies.Load())
	}

	// A URL that does not answer the test with 200 is refused.
	status.Store(http.StatusUnauthorized)
	_, err = reg.RegisterHook(ctx, recv.URL+"/other", "s")
	var re *connectors.RequestError
	if !errors.As(err, &re) || re.Status != http.StatusBadRequest || fake.WebhooksURL() != u {
		t.Fatalf("RegisterHook of a failing URL = %v; webhooksUrl %q", err, fake.WebhooksURL())
	}

	// Removal compares without the token; another URL stays.
	if err := reg.UnregisterHook(ctx, recv.URL+"/hooks/conn_2", ""); err != nil || fake.WebhooksURL() != u {
		t.Fatalf("UnregisterHook of another URL = %v; webhooksUrl %q", err, fake.WebhooksURL())
	}
	if err := reg.UnregisterHook(ctx, recv.URL+"/hooks/conn_1", ""); err != nil || fake.WebhooksURL() != "" {
		t.Fatalf("UnregisterHook = %v; webhooksUrl %q", err, fake.WebhooksURL())
	}
	if _, err := fake.SendWebhook(ctx, wazzup.Webhook{}); !errors.Is(err, wazzuptest.ErrNoWebhooksURL) {
		t.Fatalf("SendWebhook with webhooks off = %v", err)
	}
}

package wazera_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/wazera"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
)

// TestRegisterHook: POST /webhooks creates a webhook of every documented
// event signed with the secret, registering again replaces it, the fake
// delivers events signed so that ParseWebhook accepts them, and removal
// deletes it by id (and by URL).
func TestRegisterHook(t *testing.T) {
	got := make(chan error, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, err := wazera.ParseWebhook(r.Header, b, "the-secret-0123456789")
		got <- err
	}))
	defer recv.Close()
	fake := wazeratest.NewServer(t, wazeratest.Options{})
	c, err := wazera.NewConnector(connectors.Config{BaseURL: fake.URL, APIKey: fake.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	reg := c.(connectors.HookRegistrar)
	ctx := context.Background()
	u := recv.URL + "/hooks/conn_1"
	if _, err := reg.RegisterHook(ctx, u, "an-older-secret-0123"); err != nil {
		t.Fatal(err)
	}
	id, err := reg.RegisterHook(ctx, u, "the-secret-0123456789")
	hooks := fake.Webhooks()
	if err != nil || len(hooks) != 1 || id != "2" || hooks[0].URL != u || hooks[0].Secret != "the-secret-0123456789" ||
		!slices.Equal(hooks[0].Events, wazera.HookEvents) {
		t.Fatalf("RegisterHook = %q, %v; webhooks %+v", id, err, hooks)
	}
	for name, ev := range wazeratest.Examples() {
		if st, err := fake.Deliver(ctx, ev); err != nil || !slices.Equal(st, []int{http.StatusOK}) {
			t.Fatalf("Deliver %s = %v, %v", name, st, err)
		}
		if err := <-got; err != nil {
			t.Fatalf("the delivered %s does not verify: %v", name, err)
		}
	}
	if err := reg.UnregisterHook(ctx, u, id); err != nil || len(fake.Webhooks()) != 0 {
		t.Fatalf("UnregisterHook = %v; webhooks %+v", err, fake.Webhooks())
	}
	// Gone already: not an error.
	if err := reg.UnregisterHook(ctx, u, id); err != nil {
		t.Fatalf("UnregisterHook of a removed webhook = %v", err)
	}
	if _, err := fake.Deliver(ctx, wazeratest.Examples()[wazeratest.EventMessageRead]); err != wazeratest.ErrNoWebhook {
		t.Fatalf("Deliver without webhooks = %v", err)
	}
}

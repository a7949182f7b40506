package db_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/inbound"
	"github.com/crmhub/crmhub/connectors/wazelo"
	"github.com/crmhub/crmhub/connectors/wazera"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

// hookEnv is a connection service registering hooks under the URL of a
// stand-in receiver (which answers Wazzup's test request) through the real
// connectors, against the fakes.
type hookEnv struct {
	d        *db.DB
	svc      *db.ConnectionService
	loop     *db.HookLoop
	public   string
	received atomic.Int32
	refuse   atomic.Bool
}

func newHookEnv(t *testing.T, public bool) *hookEnv {
	t.Helper()
	e := &hookEnv{d: dbtest.Open(t, nil)}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.received.Add(1)
		if e.refuse.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(recv.Close)
	cfg := db.ConnectionConfig{Sealer: db.NewDevSealer(), AllowPrivate: true}
	if public {
		e.public, cfg.PublicURL = recv.URL, recv.URL+"/"
	}
	e.svc = db.NewConnectionService(e.d, cfg)
	reg := &inbound.Registrar{Registry: connectors.Registry{crmhub.ConnectorWazzup: wazzup.NewConnector,
		crmhub.ConnectorWazera: wazera.NewConnector, crmhub.ConnectorWazelo: wazelo.NewConnector}}
	e.loop = e.svc.HookLoop(reg, time.Hour, nil)
	return e
}

// create creates an enabled connection to the CRM at base.
func (e *hookEnv) create(t *testing.T, ctx context.Context, kind crmhub.ConnectorKind, base, key string) *crmhub.Connection {
	t.Helper()
	c, err := e.svc.CreateConnection(ctx, crmhub.ConnectionInput{Kind: kind, Name: "W", BaseURL: base, APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run works what is due and returns the connection as it then stands.
func (e *hookEnv) run(t *testing.T, ctx context.Context, c *crmhub.Connection) *crmhub.Connection {
	t.Helper()
	if _, err := e.loop.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Connection(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (e *hookEnv) secret(t *testing.T, c *crmhub.Connection) string {
	t.Helper()
	target, err := e.svc.OpenHook(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return target.WebhookSecret
}

func TestHookRegistrationWazzup(t *testing.T) {
	e := newHookEnv(t, true)
	fake := wazzuptest.NewServer(t, wazzuptest.Options{})
	ctx, _, _ := dbtest.Workspace(t, e.d)
	c := e.create(t, ctx, crmhub.ConnectorWazzup, fake.URL, fake.APIKey())
	if c.Hook.Status != crmhub.HookPending || c.Hook.NextAttemptAt == nil {
		t.Fatalf("a new connection's hook is %+v, want PENDING and due", c.Hook)
	}
	c = e.run(t, ctx, c)
	want := e.public + "/hooks/" + c.GlobalID()
	secret := e.secret(t, c)
	if c.Hook.Status != crmhub.HookRegistered || c.Hook.URL == nil || *c.Hook.URL != want || c.Hook.Note != nil ||
		c.Hook.NextAttemptAt != nil || len(secret) < crmhub.MinWebhookSecretLength {
		t.Fatalf("after a pass: %+v (secret %d bytes), want REGISTERED at %s", c.Hook, len(secret), want)
	}
	// Wazzup does not sign: the secret is the URL's token, and Wazzup
	// called the URL once to test it.
	if got := fake.WebhooksURL(); got != want+"?token="+secret {
		t.Fatalf("Wazzup's webhooksUrl = %q", got)
	}
	if e.received.Load() != 1 {
		t.Fatalf("the receiver got %d requests, want Wazzup's test request", e.received.Load())
	}

	// Disabling removes it and forgets the secret; enabling registers a
	// fresh one.
	off := false
	var err error
	if c, err = e.svc.UpdateConnection(ctx, c.ID, crmhub.ConnectionPatch{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if c = e.run(t, ctx, c); c.Hook.Status != crmhub.HookUnregistered || fake.WebhooksURL() != "" || e.secret(t, c) != "" {
		t.Fatalf("disabled: %+v, webhooksUrl %q", c.Hook, fake.WebhooksURL())
	}
	on := true
	if c, err = e.svc.UpdateConnection(ctx, c.ID, crmhub.ConnectionPatch{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	if c = e.run(t, ctx, c); c.Hook.Status != crmhub.HookRegistered || e.secret(t, c) == secret ||
		fake.WebhooksURL() != want+"?token="+e.secret(t, c) {
		t.Fatalf("enabled again: %+v, webhooksUrl %q", c.Hook, fake.WebhooksURL())
	}

	// A manual secret replaces the token: registered again with it.
	manual := "a-manual-secret-of-enough-length"
	if _, err := e.svc.SetWebhookSecret(ctx, c.ID, &manual); err != nil {
		t.Fatal(err)
	}
	if c = e.run(t, ctx, c); c.Hook.Status != crmhub.HookRegistered || fake.WebhooksURL() != want+"?token="+manual {
		t.Fatalf("after a manual secret: %+v, webhooksUrl %q", c.Hook, fake.WebhooksURL())
	}

	// Deleting removes the registration, after the row is gone.
	if _, err := e.svc.DeleteConnection(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.loop.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if fake.WebhooksURL() != "" {
		t.Fatalf("after delete, webhooksUrl = %q", fake.WebhooksURL())
	}
}

func TestHookRegistrationFailureIsRetried(t *testing.T) {
	e := newHookEnv(t, true)
	fake := wazzuptest.NewServer(t, wazzuptest.Options{})
	ctx, ws, _ := dbtest.Workspace(t, e.d)
	e.refuse.Store(true) // the test request fails: Wazzup refuses the URL
	c := e.create(t, ctx, crmhub.ConnectorWazzup, fake.URL, fake.APIKey())
	c = e.run(t, ctx, c)
	if c.Hook.Status != crmhub.HookFailed || c.Hook.Attempts != 1 || c.Hook.Note == nil ||
		!strings.Contains(*c.Hook.Note, "refused it (HTTP 400 VALIDATION_ERROR") || c.Hook.NextAttemptAt == nil ||
		c.Hook.NextAttemptAt.Before(time.Now().Add(20*time.Second)) {
		t.Fatalf("after a refusal: %+v, note %v", c.Hook, c.Hook.Note)
	}
	// Not due yet: a pass leaves it.
	if c = e.run(t, ctx, c); c.Hook.Attempts != 1 {
		t.Fatalf("retried before its time: %+v", c.Hook)
	}
	// A wrong API key is named as such.
	bad := "not-the-key"
	e.refuse.Store(false)
	if _, err := e.svc.UpdateConnection(ctx, c.ID, crmhub.ConnectionPatch{APIKey: &bad}); err != nil {
		t.Fatal(err)
	}
	execIn(t, e.d, ws.ID, "UPDATE connections SET hook_due_at = now() WHERE id = $1", c.ID)
	if c = e.run(t, ctx, c); c.Hook.Status != crmhub.HookFailed || c.Hook.Attempts != 2 ||
		!strings.Contains(*c.Hook.Note, "refused the connection's API key (HTTP 401)") {
		t.Fatalf("with a bad key: %+v, note %v", c.Hook, *c.Hook.Note)
	}
}

func TestHookRegistrationWazera(t *testing.T) {
	e := newHookEnv(t, true)
	fake := wazeratest.NewServer(t, wazeratest.Options{})
	ctx, _, _ := dbtest.Workspace(t, e.d)
	c := e.create(t, ctx, crmhub.ConnectorWazera, fake.URL, fake.APIKey())
	c = e.run(t, ctx, c)
	hooks := fake.Webhooks()
	want := e.public + "/hooks/" + c.GlobalID()
	if c.Hook.Status != crmhub.HookRegistered || len(hooks) != 1 || hooks[0].URL != want ||
		hooks[0].Secret != e.secret(t, c) || len(hooks[0].Events) != len(wazera.HookEvents) {
		t.Fatalf("hook %+v, Wazera's webhooks %+v", c.Hook, hooks)
	}
	// Registering again (a new secret) replaces the webhook, so Wazera
	// signs with one secret only.
	if _, err := e.svc.SetWebhookSecret(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	c = e.run(t, ctx, c)
	if hooks = fake.Webhooks(); len(hooks) != 1 || hooks[0].Secret != e.secret(t, c) {
		t.Fatalf("after a new secret, Wazera's webhooks %+v", hooks)
	}
	if _, err := e.svc.DeleteConnection(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.loop.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if hooks = fake.Webhooks(); len(hooks) != 0 {
		t.Fatalf("after delete, Wazera's webhooks %+v", hooks)
	}
}

func TestHookRegistrationManual(t *testing.T) {
	t.Run("no public URL", func(t *testing.T) {
		e := newHookEnv(t, false)
		fake := wazzuptest.NewServer(t, wazzuptest.Options{})
		ctx, _, _ := dbtest.Workspace(t, e.d)
		c := e.create(t, ctx, crmhub.ConnectorWazzup, fake.URL, fake.APIKey())
		if c = e.run(t, ctx, c); c.Hook.Status != crmhub.HookManual || c.Hook.Note == nil ||
			!strings.Contains(*c.Hook.Note, "CRMHUB_PUBLIC_URL is not set") || fake.Total() != 0 {
			t.Fatalf("hook %+v, %d requests to Wazzup", c.Hook, fake.Total())
		}
	})
	t.Run("no API to register", func(t *testing.T) {
		e := newHookEnv(t, true)
		ctx, _, _ := dbtest.Workspace(t, e.d)
		c := e.create(t, ctx, crmhub.ConnectorWazelo, "http://127.0.0.1:1/v1", "k")
		if c = e.run(t, ctx, c); c.Hook.Status != crmhub.HookManual || c.Hook.Note == nil ||
			!strings.Contains(*c.Hook.Note, "no API to register webhooks") || e.secret(t, c) != "" {
			t.Fatalf("hook %+v", c.Hook)
		}
	})
}

// TestHookLoopIsWoken: a running loop with a long interval registers a
// new connection at once: creating it wakes the loop.
func TestHookLoopIsWoken(t *testing.T) {
	e := newHookEnv(t, true)
	fake := wazzuptest.NewServer(t, wazzuptest.Options{})
	ctx, _, _ := dbtest.Workspace(t, e.d)
	e.loop.Ran.Init()
	e.loop.Start(ctx)
	t.Cleanup(e.loop.Stop)
	dbtest.Await(t, &e.loop.Ran, "the first pass")
	c := e.create(t, ctx, crmhub.ConnectorWazzup, fake.URL, fake.APIKey())
	dbtest.Await(t, &e.loop.Ran, "the pass the creation woke")
	got, err := e.svc.Connection(ctx, c.ID)
	if err != nil || got.Hook.Status != crmhub.HookRegistered || fake.WebhooksURL() == "" {
		t.Fatalf("hook %+v %v, webhooksUrl %q", got.Hook, err, fake.WebhooksURL())
	}
}

// TestHookFollowsTheAccount: a new API key registers again with it; a new
// base URL removes the registration at the old address (with the old
// key) and registers at the new one.
func TestHookFollowsTheAccount(t *testing.T) {
	e := newHookEnv(t, true)
	first := wazeratest.NewServer(t, wazeratest.Options{APIKey: "key-1"})
	second := wazeratest.NewServer(t, wazeratest.Options{APIKey: "key-2"})
	ctx, _, _ := dbtest.Workspace(t, e.d)
	c := e.run(t, ctx, e.create(t, ctx, crmhub.ConnectorWazera, first.URL, "key-1"))
	if c.Hook.Status != crmhub.HookRegistered || len(first.Webhooks()) != 1 {
		t.Fatalf("hook %+v", c.Hook)
	}
	key := "key-1" // the same account's key, rotated: registered again
	if c, _ = e.svc.UpdateConnection(ctx, c.ID, crmhub.ConnectionPatch{APIKey: &key}); c.Hook.Status != crmhub.HookPending {
		t.Fatalf("after a new key: %+v", c.Hook)
	}
	if c = e.run(t, ctx, c); c.Hook.Status != crmhub.HookRegistered || len(first.Webhooks()) != 1 {
		t.Fatalf("registered again: %+v, %d webhooks", c.Hook, len(first.Webhooks()))
	}
	base, key2 := second.URL, "key-2"
	if _, err := e.svc.UpdateConnection(ctx, c.ID, crmhub.ConnectionPatch{BaseURL: &base, APIKey: &key2}); err != nil {
		t.Fatal(err)
	}
	if c = e.run(t, ctx, c); c.Hook.Status != crmhub.HookRegistered || len(first.Webhooks()) != 0 || len(second.Webhooks()) != 1 {
		t.Fatalf("moved: %+v, webhooks at the old %d, at the new %d", c.Hook, len(first.Webhooks()), len(second.Webhooks()))
	}
}

package resolver_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/syncer"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/internal/safehttp"
)

const cancelSyncRunMutation = `mutation($id: ID!) { cancelSyncRun(id: $id) { ` + runFields + ` } }`

// cancelSyncRun cancels a run through the API.
func (c *client) cancelSyncRun(id string) syncRun {
	c.t.Helper()
	var out struct{ CancelSyncRun syncRun }
	c.do(cancelSyncRunMutation, map[string]any{"id": id}, &out)
	return out.CancelSyncRun
}

// syncRunByID reads a run through the API.
func (c *client) syncRunByID(id string) syncRun {
	c.t.Helper()
	var out struct{ SyncRun syncRun }
	c.do(`query($id: ID!) { syncRun(id: $id) { `+runFields+` } }`, map[string]any{"id": id}, &out)
	return out.SyncRun
}

// engineConfig is how the tests' engine works the runs the API queues:
// with the env's services, Wazzup, fast retries; tests adjust it.
func (e *env) engineConfig() syncer.Config {
	return syncer.Config{Connections: e.connections, Registry: connectors.Registry{crmhub.ConnectorWazzup: wazzup.NewConnector},
		Contacts: db.NewContactService(e.db), Deals: db.NewDealService(e.db), Users: db.NewUserService(e.db),
		Backoff: time.Millisecond, Retries: 1, Log: slog.New(slog.DiscardHandler)}
}

// work runs the engine over one run queued through the API, in the test's
// goroutine (so that its Progress hook may call the API), and returns
// what the engine returned. Its store holds runs under a lease of an
// hour: no heartbeat comes while a test runs, so a run learns of its
// cancellation at its next page, where the test expects it.
func (e *env) work(c *client, cfg syncer.Config, run syncRun) error {
	e.t.Helper()
	store, err := db.NewSyncService(e.db, db.SyncConfig{Lease: time.Hour})
	if err != nil {
		e.t.Fatal(err)
	}
	return syncer.New(store, cfg).Run(e.t.Context(), workspaceOf(e.t, c), mustID(e.t, crmhub.KindSyncRun, run.ID))
}

// pullConnection is a PULL connection of contacts to a fake Wazzup.
func (c *client) pullConnection(fake *wazzuptest.Server, key string) connection {
	return c.createConnection(connInput("Wazzup", key, "baseUrl", fake.URL, "direction", "PULL", "entities", []string{"CONTACTS"}))
}

func TestCancelQueuedSyncRun(t *testing.T) {
	e := newEnv(t)
	a, b := e.workspace(), e.workspace()
	conn := a.createConnection(connInput("Sales", "k"))
	run := a.runSync(conn.ID, nil)

	// Another workspace's run is one that does not exist.
	b.fail(cancelSyncRunMutation, map[string]any{"id": run.ID}, "NOT_FOUND")
	b.fail(cancelSyncRunMutation, map[string]any{"id": "nonsense"}, "NOT_FOUND", "id")
	if got := a.syncRunByID(run.ID); got.Status != "QUEUED" {
		t.Fatalf("another workspace's cancel changed the run: %s", got.Status)
	}

	got := a.cancelSyncRun(run.ID)
	if got.ID != run.ID || got.Status != "CANCELLED" || got.FinishedAt == nil {
		t.Fatalf("cancelSyncRun = %+v", got)
	}
	if again := a.syncRunByID(run.ID); again.Status != "CANCELLED" {
		t.Fatalf("syncRun after cancel: %s", again.Status)
	}
	a.fail(cancelSyncRunMutation, map[string]any{"id": run.ID}, "VALIDATION_ERROR", "id")
	// Its job, when a worker gets to it, does nothing.
	if err := e.work(a, e.engineConfig(), run); err != nil {
		t.Fatalf("working a cancelled run: %v", err)
	}
	if after := a.syncRunByID(run.ID); after.Status != "CANCELLED" || after.StartedAt != nil {
		t.Fatalf("cancelled run after its job: %+v", after)
	}
	// The connection is free.
	if next := a.runSync(conn.ID, nil); next.Status != "QUEUED" {
		t.Fatalf("runSync after cancel: %+v", next)
	}
}

// A running run cancelled between two pages stops at the next one: it
// keeps what it pulled, the connection runs again at once, and the next
// run completes the pull without duplicates.
func TestCancelRunningSyncRun(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	fake := wazzuptest.NewServer(t, wazzuptest.Options{Contacts: wazzuptest.SampleContacts(350),
		Users: []wazzuptest.User{{ID: "1", Name: "Agent"}}})
	conn := c.pullConnection(fake, fake.APIKey())
	run := c.runSync(conn.ID, nil)

	cfg := e.engineConfig()
	pages := 0
	cfg.Progress = func(syncer.Progress) {
		if pages++; pages == 1 {
			if got := c.syncRunByID(run.ID); got.Status != "RUNNING" || got.Stats["fetched"] != 100 {
				t.Errorf("run after its first page: %s %v", got.Status, got.Stats)
			}
			if got := c.cancelSyncRun(run.ID); got.Status != "CANCELLED" {
				t.Errorf("cancelSyncRun of a running run = %s", got.Status)
			}
		}
	}
	if err := e.work(c, cfg, run); !errors.Is(err, crmhub.ErrSyncRunCancelled) {
		t.Fatalf("the cancelled run returned %v", err)
	}
	got := c.syncRunByID(run.ID)
	if got.Status != "CANCELLED" || got.Stats["fetched"] != 200 || got.Stats["created"] != 200 {
		t.Fatalf("cancelled run: %s %v (want the two pages it worked)", got.Status, got.Stats)
	}
	if n := c.count(); n != 200 {
		t.Fatalf("%d contacts after the cancelled run, want 200", n)
	}

	next := c.runSync(conn.ID, nil)
	if err := e.work(c, e.engineConfig(), next); err != nil {
		t.Fatal(err)
	}
	if done := c.syncRunByID(next.ID); done.Status != "SUCCEEDED" || done.Stats["created"] != 150 {
		t.Fatalf("the run after the cancelled one: %s %v", done.Status, done.Stats)
	}
	if n := c.count(); n != 350 {
		t.Fatalf("%d contacts after both runs, want 350", n)
	}
}

// A run that cannot start ends FAILED with the code of the cause and a
// message naming what to change, and leaves the connection free.
func TestSyncStartupFailures(t *testing.T) {
	e := newEnv(t)
	fake := wazzuptest.NewServer(t, wazzuptest.Options{Contacts: wazzuptest.SampleContacts(3)})
	otherKey, err := db.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, baseURL, key, code, says string
		adjust                         func(*syncer.Config)
	}{
		{name: "secret key", baseURL: fake.URL, key: fake.APIKey(), code: "SECRET_UNREADABLE", says: "CRMHUB_SECRET_KEY",
			adjust: func(cfg *syncer.Config) {
				cfg.Connections = db.NewConnectionService(e.db, db.ConnectionConfig{Sealer: otherKey, AllowPrivate: true})
			}},
		{name: "unreachable", baseURL: "http://127.0.0.1:1", key: "k", code: "REMOTE_UNREACHABLE", says: "could not be reached"},
		{name: "private address", baseURL: fake.URL, key: fake.APIKey(), code: "REMOTE_UNREACHABLE", says: "CRMHUB_CONNECTOR_ALLOW_PRIVATE",
			adjust: func(cfg *syncer.Config) { cfg.HTTPClient = safehttp.NewClient(time.Minute, false) }},
		{name: "refused key", baseURL: fake.URL, key: "not-the-key", code: "REMOTE_AUTH_FAILED", says: "refused the connection's API key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.workspace()
			conn := c.createConnection(connInput("W", tc.key, "baseUrl", tc.baseURL, "direction", "PULL", "entities", []string{"CONTACTS"}))
			run := c.runSync(conn.ID, nil)
			cfg := e.engineConfig()
			if tc.adjust != nil {
				tc.adjust(&cfg)
			}
			var failed *crmhub.SyncRunFailure
			if err := e.work(c, cfg, run); !errors.As(err, &failed) || failed.Code != tc.code {
				t.Fatalf("the run returned %v, want a %s failure", err, tc.code)
			}
			got := c.syncRunByID(run.ID)
			if got.Status != "FAILED" || got.FinishedAt == nil || len(got.Errors) != 1 || got.Errors[0]["code"] != tc.code ||
				!strings.Contains(got.Errors[0]["message"].(string), tc.says) {
				t.Fatalf("failed run: %s %v", got.Status, got.Errors)
			}
			if next := c.runSync(conn.ID, nil); next.Status != "QUEUED" {
				t.Fatalf("runSync after the failure: %+v", next)
			}
		})
	}
}

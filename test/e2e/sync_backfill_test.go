package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

// syncRunResult is what the test reads of a finished run.
type syncRunResult struct {
	Status string
	Stats  struct{ Pushed, Deleted, Created, Failed int }
	Errors []struct{ Code, Message string }
}

// TestSyncBackfillQuietAndMerge drives a real `crmhub serve` through its
// GraphQL API against a fake Wazzup: a connection made over a hub that
// holds contacts fills Wazzup on its first run, the runs after write
// nothing there, and a hub merge deletes the merged-away contact's copy
// at Wazzup and pushes the survivor. Each run's end is awaited through a
// sync.completed webhook, not by polling.
func TestSyncBackfillQuietAndMerge(t *testing.T) {
	dir := t.TempDir()
	s := start(t, build(t, dir), filepath.Join(dir, "dev-key"), []string{"DATABASE_URL=" + dbtest.URL(t),
		"CRMHUB_SECRET_KEY=" + db.NewSecretKey(), "CRMHUB_CONNECTOR_ALLOW_PRIVATE=true",
		"CRMHUB_WEBHOOK_ALLOW_PRIVATE=true", "CRMHUB_LOG_FORMAT=text"})

	completed := make(chan string, 16)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ Payload struct{ ID string } }
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &ev)
		w.WriteHeader(http.StatusNoContent)
		completed <- ev.Payload.ID
	}))
	defer rc.Close()
	s.do(t, `mutation($url: String!) { createWebhookEndpoint(url: $url, events: ["sync.completed"]) { endpoint { id } } }`,
		map[string]any{"url": rc.URL}, nil)

	// Four hub contacts, before any connection.
	hub := createHubContacts(t, s, 4)
	fake := wazzuptest.NewServer(t, wazzuptest.Options{
		Users: []wazzuptest.User{{ID: "u1", Name: "Agent 1"}},
		Contacts: []wazzuptest.Contact{{ID: "r1", ResponsibleUserID: "u1", Name: "Remote 1",
			ContactData: []wazzuptest.ContactData{{ChatType: "whatsapp", ChatID: "78880000002"}}}}})
	var conn struct{ CreateConnection struct{ ID string } }
	s.do(t, `mutation($url: String!, $key: String!) { createConnection(input: {kind: WAZZUP, name: "wazzup",
		baseUrl: $url, apiKey: $key, direction: BOTH, entities: [USERS, CONTACTS]}) { id } }`,
		map[string]any{"url": fake.URL, "key": fake.APIKey()}, &conn)

	run := func(mode string) syncRunResult {
		t.Helper()
		var started struct{ RunSync struct{ ID string } }
		s.do(t, `mutation($id: ID!, $mode: SyncMode!) { runSync(connectionId: $id, mode: $mode) { id } }`,
			map[string]any{"id": conn.CreateConnection.ID, "mode": mode}, &started)
		select {
		case id := <-completed:
			if id != started.RunSync.ID {
				t.Fatalf("sync.completed for %s, want %s", id, started.RunSync.ID)
			}
		case <-time.After(dbtest.SignalWait):
			t.Fatalf("no sync.completed within %s; server log:\n%s", dbtest.SignalWait, s.Stderr)
		}
		var got struct{ SyncRun syncRunResult }
		s.do(t, `query($id: ID!) { syncRun(id: $id) { status stats { pushed deleted created failed } errors { code message } } }`,
			map[string]any{"id": started.RunSync.ID}, &got)
		return got.SyncRun
	}
	quiet := func(mode string) {
		t.Helper()
		before := fake.Writes()
		if r := run(mode); r.Status != "SUCCEEDED" || r.Stats.Pushed+r.Stats.Deleted+r.Stats.Created != 0 {
			t.Fatalf("%s run after the backfill: %+v", mode, r)
		}
		if n := fake.Writes() - before; n != 0 {
			t.Fatalf("a quiet %s run made %d write requests at Wazzup", mode, n)
		}
	}

	// The backfill: the three hub contacts Wazzup lacks go out; the one it
	// has under r1 (same number) is linked by the pull.
	if r := run("INCREMENTAL"); r.Status != "SUCCEEDED" || r.Stats.Pushed != 3 || r.Stats.Failed != 0 {
		t.Fatalf("first run: %+v", r)
	}
	if got := len(fake.Contacts()); got != 4 {
		t.Fatalf("Wazzup holds %d contacts, want 4", got)
	}
	quiet("INCREMENTAL")
	quiet("FULL")

	// Merging r1's hub contact into Hub 0 deletes r1 at Wazzup and pushes
	// Hub 0 with both numbers.
	s.do(t, `mutation($target: ID!, $source: ID!) { mergeContacts(targetId: $target, sourceIds: [$source]) { id } }`,
		map[string]any{"target": hub[0], "source": hub[2]}, nil)
	if r := run("INCREMENTAL"); r.Status != "SUCCEEDED" || r.Stats.Deleted != 1 || r.Stats.Pushed != 1 {
		t.Fatalf("run after the merge: %+v", r)
	}
	if _, ok := fake.Contact("r1"); ok {
		t.Fatal("the merged-away contact is still at Wazzup")
	}
	if c, ok := fake.Contact(hub[0]); !ok || len(c.ContactData) != 2 {
		t.Fatalf("the survivor at Wazzup: %+v %v", c, ok)
	}
	quiet("FULL")
}

// createHubContacts creates n hub contacts "Hub i" with the WhatsApp
// number +7888000000i and returns their ids.
func createHubContacts(t *testing.T, s *server, n int) []string {
	t.Helper()
	hub := make([]string, n)
	for i := range hub {
		var c struct{ CreateContact struct{ ID string } }
		s.do(t, `mutation($name: String!, $chat: String!) { createContact(input: {name: $name,
			identifiers: [{type: WHATSAPP, value: $chat}]}) { id } }`,
			map[string]any{"name": fmt.Sprintf("Hub %d", i), "chat": fmt.Sprintf("+7888000000%d", i)}, &c)
		hub[i] = c.CreateContact.ID
	}
	return hub
}

package e2e

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

// syncRunState is what the test reads of a run.
type syncRunState struct {
	SyncRun struct {
		Status string
		Stats  struct{ Fetched, Created, Unchanged int }
		Errors []struct{ Code, Message string }
	}
}

// TestSyncRunTakenOverAfterSIGKILL: a server is killed in the middle of a
// sync run (a page request in flight, its River job left "running"); a
// new server takes the run over once its lease lapses, resumes it at the
// page it had saved, and ends it SUCCEEDED with the hub and the remote
// holding the same contacts, none twice.
func TestSyncRunTakenOverAfterSIGKILL(t *testing.T) {
	const contacts, heldPage = 1000, 4
	var (
		mu      sync.Mutex
		lists   int
		reached = make(chan struct{})
		release = make(chan struct{})
	)
	// The fake holds the heldPage-th listing of contacts until released:
	// the server is killed while that request is in flight.
	fake := wazzuptest.NewServer(t, wazzuptest.Options{Contacts: wazzuptest.SampleContacts(contacts),
		Users: []wazzuptest.User{{ID: "1", Name: "Agent"}},
		Inject: func(route string, _ int) *wazzuptest.Fault {
			if route != wazzuptest.RouteListContacts {
				return nil
			}
			mu.Lock()
			lists++
			n := lists
			mu.Unlock()
			if n == heldPage {
				close(reached)
				<-release
			}
			return nil
		}})
	released := sync.OnceFunc(func() { close(release) })
	t.Cleanup(released)

	dir := t.TempDir()
	bin := build(t, dir)
	env := []string{"DATABASE_URL=" + dbtest.URL(t), "CRMHUB_CONNECTOR_ALLOW_PRIVATE=true",
		"CRMHUB_SECRET_KEY=" + db.NewSecretKey(), "CRMHUB_SYNC_LEASE=2s"}
	keyFile := filepath.Join(dir, "dev-key")

	s1 := start(t, bin, keyFile, env)
	var conn struct{ CreateConnection struct{ ID string } }
	s1.do(t, `mutation($url: String!, $key: String!) { createConnection(input: {kind: WAZZUP, name: "W", baseUrl: $url,
		apiKey: $key, direction: BOTH, entities: [USERS, CONTACTS]}) { id } }`,
		map[string]any{"url": fake.URL, "key": fake.APIKey()}, &conn)
	var queued struct{ RunSync struct{ ID string } }
	s1.do(t, `mutation($conn: ID!) { runSync(connectionId: $conn, mode: FULL) { id } }`,
		map[string]any{"conn": conn.CreateConnection.ID}, &queued)
	runID := queued.RunSync.ID
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatalf("the run did not reach page %d within 60 s; server log:\n%s", heldPage, s1.stderr)
	}
	var before syncRunState
	s1.do(t, `query($id: ID!) { syncRun(id: $id) { status stats { fetched created unchanged } errors { code message } } }`,
		map[string]any{"id": runID}, &before)
	// The user and the pages before the held one are saved.
	if before.SyncRun.Status != "RUNNING" || before.SyncRun.Stats.Created != 1+(heldPage-1)*100 {
		t.Fatalf("run before the kill: %+v", before.SyncRun)
	}
	s1.kill(t)
	released()
	listedBefore := fake.Calls(wazzuptest.RouteListContacts)

	s2 := start(t, bin, keyFile, env)
	var after syncRunState
	deadline := time.Now().Add(60 * time.Second)
	for {
		s2.do(t, `query($id: ID!) { syncRun(id: $id) { status stats { fetched created unchanged } errors { code message } } }`,
			map[string]any{"id": runID}, &after)
		if st := after.SyncRun.Status; st == "SUCCEEDED" {
			break
		} else if st != "RUNNING" {
			t.Fatalf("the taken-over run ended %s: %+v\nserver log:\n%s", st, after.SyncRun, s2.stderr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run was not taken over and finished within 60 s: %+v\nserver log:\n%s", after.SyncRun, s2.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Resumed at the page it had saved: the pages after it and the empty
	// end page (one page again at most), not the 11 listings from scratch.
	if n := fake.Calls(wazzuptest.RouteListContacts) - listedBefore; n > contacts/100-heldPage+3 {
		t.Errorf("the resumed run listed %d pages", n)
	}
	var hub struct{ Contacts struct{ TotalCount int } }
	s2.do(t, `{ contacts { totalCount } }`, nil, &hub)
	if hub.Contacts.TotalCount != contacts || after.SyncRun.Stats.Created != 1+contacts {
		t.Fatalf("hub holds %d contacts, the run created %d records, want %d contacts and the user", hub.Contacts.TotalCount,
			after.SyncRun.Stats.Created, contacts)
	}
	// Every remote contact is in the hub once, by its EXTERNAL_ID, and the
	// push sent nothing back (the remote still has exactly its own).
	for _, c := range []string{"c00001", "c00400", "c01000"} {
		var found struct{ ResolveContact *struct{ ID string } }
		s2.do(t, `query($v: String!, $src: String!) { resolveContact(identifiers: [{type: EXTERNAL_ID, value: $v, source: $src}]) { id } }`,
			map[string]any{"v": c, "src": conn.CreateConnection.ID}, &found)
		if found.ResolveContact == nil {
			t.Errorf("remote contact %s is not in the hub", c)
		}
	}
	if n := len(fake.Contacts()); n != contacts {
		t.Fatalf("the remote holds %d contacts after the run, want %d", n, contacts)
	}
}

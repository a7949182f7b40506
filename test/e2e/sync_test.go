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

// heldFake is a fake Wazzup with n contacts (and their user) that holds
// its held-th listing of contacts until release is called: a run is then
// between two pages for as long as the test needs. reached is closed when
// that listing arrives.
func heldFake(t *testing.T, n, held int) (fake *wazzuptest.Server, reached <-chan struct{}, release func()) {
	var (
		mu      sync.Mutex
		lists   int
		arrived = make(chan struct{})
		hold    = make(chan struct{})
	)
	fake = wazzuptest.NewServer(t, wazzuptest.Options{Contacts: wazzuptest.SampleContacts(n),
		Users: []wazzuptest.User{{ID: "1", Name: "Agent"}},
		Inject: func(route string, _ int) *wazzuptest.Fault {
			if route != wazzuptest.RouteListContacts {
				return nil
			}
			mu.Lock()
			lists++
			k := lists
			mu.Unlock()
			if k == held {
				close(arrived)
				<-hold
			}
			return nil
		}})
	release = sync.OnceFunc(func() { close(hold) })
	t.Cleanup(release)
	return fake, arrived, release
}

// waitHeld waits for the held listing; s's log tells why it did not come.
func waitHeld(t *testing.T, reached <-chan struct{}, s *server) {
	t.Helper()
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatalf("the run did not reach the held page within 60 s; server log:\n%s", s.Stderr)
	}
}

// createWazzupConnection creates a BOTH connection of users and contacts
// to fake and returns its id.
func createWazzupConnection(t *testing.T, s *server, fake *wazzuptest.Server) string {
	t.Helper()
	var conn struct{ CreateConnection struct{ ID string } }
	s.do(t, `mutation($url: String!, $key: String!) { createConnection(input: {kind: WAZZUP, name: "W", baseUrl: $url,
		apiKey: $key, direction: BOTH, entities: [USERS, CONTACTS]}) { id } }`,
		map[string]any{"url": fake.URL, "key": fake.APIKey()}, &conn)
	return conn.CreateConnection.ID
}

// runSync queues a FULL run of conn and returns its id.
func runSync(t *testing.T, s *server, conn string) string {
	t.Helper()
	var queued struct{ RunSync struct{ ID string } }
	s.do(t, `mutation($conn: ID!) { runSync(connectionId: $conn, mode: FULL) { id } }`, map[string]any{"conn": conn}, &queued)
	return queued.RunSync.ID
}

const syncRunQuery = `query($id: ID!) { syncRun(id: $id) { status stats { fetched created unchanged } errors { code message } } }`

// waitRunEnds polls a run until it ends, and fails unless it ends with want.
func waitRunEnds(t *testing.T, s *server, id, want string) syncRunState {
	t.Helper()
	var run syncRunState
	deadline := time.Now().Add(60 * time.Second)
	for {
		s.do(t, syncRunQuery, map[string]any{"id": id}, &run)
		switch st := run.SyncRun.Status; {
		case st == want:
			return run
		case st != "RUNNING" && st != "QUEUED":
			t.Fatalf("the run ended %s, want %s: %+v\nserver log:\n%s", st, want, run.SyncRun, s.Stderr)
		case time.Now().After(deadline):
			t.Fatalf("the run did not end %s within 60 s: %+v\nserver log:\n%s", want, run.SyncRun, s.Stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSyncRunTakenOverAfterSIGKILL: a server is killed in the middle of a
// sync run (a page request in flight, its River job left "running"); a
// new server takes the run over once its lease lapses, resumes it at the
// page it had saved, and ends it SUCCEEDED with the hub and the remote
// holding the same contacts, none twice.
func TestSyncRunTakenOverAfterSIGKILL(t *testing.T) {
	const contacts, heldPage = 1000, 4
	fake, reached, released := heldFake(t, contacts, heldPage)

	dir := t.TempDir()
	bin := build(t, dir)
	env := []string{"DATABASE_URL=" + dbtest.URL(t), "CRMHUB_CONNECTOR_ALLOW_PRIVATE=true",
		"CRMHUB_SECRET_KEY=" + db.NewSecretKey(), "CRMHUB_SYNC_LEASE=2s"}
	keyFile := filepath.Join(dir, "dev-key")

	s1 := start(t, bin, keyFile, env)
	conn := createWazzupConnection(t, s1, fake)
	runID := runSync(t, s1, conn)
	waitHeld(t, reached, s1)
	var before syncRunState
	s1.do(t, syncRunQuery, map[string]any{"id": runID}, &before)
	// The user and the pages before the held one are saved.
	if before.SyncRun.Status != "RUNNING" || before.SyncRun.Stats.Created != 1+(heldPage-1)*100 {
		t.Fatalf("run before the kill: %+v", before.SyncRun)
	}
	s1.Kill(t)
	released()
	listedBefore := fake.Calls(wazzuptest.RouteListContacts)

	s2 := start(t, bin, keyFile, env)
	after := waitRunEnds(t, s2, runID, "SUCCEEDED")
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
			map[string]any{"v": c, "src": conn}, &found)
		if found.ResolveContact == nil {
			t.Errorf("remote contact %s is not in the hub", c)
		}
	}
	if n := len(fake.Contacts()); n != contacts {
		t.Fatalf("the remote holds %d contacts after the run, want %d", n, contacts)
	}
}

// TestCancelSyncRunThroughServer: a run cancelled while a page is on its
// way is CANCELLED at once, stops at that page keeping what it pulled, and
// the connection's next run completes the pull without duplicates.
func TestCancelSyncRunThroughServer(t *testing.T) {
	const contacts, heldPage = 500, 3
	fake, reached, release := heldFake(t, contacts, heldPage)
	dir := t.TempDir()
	// A lease of an hour: no heartbeat comes while the test runs, so the
	// run learns of its cancellation at the held page's save.
	s := start(t, build(t, dir), filepath.Join(dir, "dev-key"), []string{"DATABASE_URL=" + dbtest.URL(t),
		"CRMHUB_CONNECTOR_ALLOW_PRIVATE=true", "CRMHUB_SECRET_KEY=" + db.NewSecretKey(), "CRMHUB_SYNC_LEASE=1h"})
	conn := createWazzupConnection(t, s, fake)
	runID := runSync(t, s, conn)
	waitHeld(t, reached, s)

	var cancelled struct{ CancelSyncRun struct{ Status string } }
	s.do(t, `mutation($id: ID!) { cancelSyncRun(id: $id) { status } }`, map[string]any{"id": runID}, &cancelled)
	if cancelled.CancelSyncRun.Status != "CANCELLED" {
		t.Fatalf("cancelSyncRun = %s", cancelled.CancelSyncRun.Status)
	}
	// The connection is free at once; its next run starts when the
	// cancelled one has stopped at the held page.
	next := runSync(t, s, conn)
	release()
	done := waitRunEnds(t, s, next, "SUCCEEDED")
	var stopped syncRunState
	s.do(t, syncRunQuery, map[string]any{"id": runID}, &stopped)
	if stopped.SyncRun.Status != "CANCELLED" || stopped.SyncRun.Stats.Created != 1+heldPage*100 {
		t.Fatalf("the cancelled run: %+v, want the user and %d pages created", stopped.SyncRun, heldPage)
	}
	var hub struct{ Contacts struct{ TotalCount int } }
	s.do(t, `{ contacts { totalCount } }`, nil, &hub)
	if hub.Contacts.TotalCount != contacts || done.SyncRun.Stats.Created != contacts-heldPage*100 {
		t.Fatalf("hub holds %d contacts, the next run created %d; want %d and %d", hub.Contacts.TotalCount,
			done.SyncRun.Stats.Created, contacts, contacts-heldPage*100)
	}
}

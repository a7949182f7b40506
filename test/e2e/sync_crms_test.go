package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

// startSyncServer builds and starts a `crmhub serve` that may reach the
// fakes on 127.0.0.1.
func startSyncServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	return start(t, build(t, dir), filepath.Join(dir, "dev-key"), []string{"DATABASE_URL=" + dbtest.URL(t),
		"CRMHUB_CONNECTOR_ALLOW_PRIVATE=true", "CRMHUB_SECRET_KEY=" + db.NewSecretKey()})
}

// createCRMConnection creates a BOTH connection of kind (WAZAPIN or
// WAZZUP) with entities and policy, and returns its id after checking the
// policy it reports.
func createCRMConnection(t *testing.T, s *server, kind, url, key, entities, policy string) string {
	t.Helper()
	var conn struct {
		CreateConnection struct{ ID, ConflictPolicy string }
	}
	s.do(t, fmt.Sprintf(`mutation($url: String!, $key: String!, $policy: ConflictPolicy) { createConnection(input: {kind: %s,
		name: "%[1]s", baseUrl: $url, apiKey: $key, direction: BOTH, entities: [%s], conflictPolicy: $policy}) { id conflictPolicy } }`,
		kind, entities), map[string]any{"url": url, "key": key, "policy": policy}, &conn)
	if conn.CreateConnection.ConflictPolicy != policy {
		t.Fatalf("connection %+v, want policy %s", conn.CreateConnection, policy)
	}
	return conn.CreateConnection.ID
}

// runWithStats runs conn to its end (runToEnd) and reads the run's stats.
func runWithStats(t *testing.T, s *server, conn, mode string) (e2eRun, syncRunResult) {
	t.Helper()
	run := runToEnd(t, s, conn, mode)
	var got struct{ SyncRun syncRunResult }
	s.do(t, `query($id: ID!) { syncRun(id: $id) { status stats { pushed deleted created failed } errors { code message } } }`,
		map[string]any{"id": run.ID}, &got)
	return run, got.SyncRun
}

// hubContactOf is the hub contact linked to the remote record ext of conn.
func hubContactOf(t *testing.T, s *server, conn, ext string) (id, name string) {
	t.Helper()
	var out struct{ ResolveContact *struct{ ID, Name string } }
	s.do(t, `query($v: String!, $c: String!) { resolveContact(identifiers: [{type: EXTERNAL_ID, value: $v, source: $c}]) {
		id name } }`, map[string]any{"v": ext, "c": conn}, &out)
	if out.ResolveContact == nil {
		t.Fatalf("remote contact %s of %s is not in the hub", ext, conn)
	}
	return out.ResolveContact.ID, out.ResolveContact.Name
}

// TestSyncWazapinBackfillQuietAndMerge: a Wazapin connection made over a
// hub that holds contacts fills Wazapin on its first run (the contact
// Wazapin already has under the same number is linked, not created again),
// the INCREMENTAL and FULL runs after write nothing there, and a hub merge
// deletes the merged-away contact's copy at Wazapin and updates the
// survivor's own copy, creating nothing.
func TestSyncWazapinBackfillQuietAndMerge(t *testing.T) {
	s := startSyncServer(t)
	hub := createHubContacts(t, s, 4)
	fake := wazapintest.NewServer(t, wazapintest.Options{Contacts: []wazapintest.Contact{
		{ID: "cnt_1", PhoneNumber: "+78880000002", Name: "Known at Wazapin"},
		{ID: "cnt_9", PhoneNumber: "+79990000009", Name: "Remote only"}}})
	conn := createCRMConnection(t, s, "WAZAPIN", fake.URL, fake.APIKey(), "CONTACTS", "NEWEST_WINS")

	quiet := func(t *testing.T, mode string) {
		t.Helper()
		before := fake.Writes()
		if _, r := runWithStats(t, s, conn, mode); r.Status != "SUCCEEDED" || r.Stats.Pushed+r.Stats.Deleted+r.Stats.Created != 0 {
			t.Fatalf("%s run after the backfill: %+v", mode, r)
		}
		if n := fake.Writes() - before; n != 0 {
			t.Fatalf("a quiet %s run made %d write requests at Wazapin", mode, n)
		}
	}
	hubCount := func(t *testing.T) int {
		t.Helper()
		var c struct{ Contacts struct{ TotalCount int } }
		s.do(t, `{ contacts { totalCount } }`, nil, &c)
		return c.Contacts.TotalCount
	}

	t.Run("backfill", func(t *testing.T) {
		_, r := runWithStats(t, s, conn, "INCREMENTAL")
		if r.Status != "SUCCEEDED" || r.Stats.Failed != 0 || len(r.Errors) != 0 {
			t.Fatalf("first run: %+v", r)
		}
		if n := fake.Calls(wazapintest.RouteCreateContact); n != 3 {
			t.Fatalf("%d contacts created at Wazapin, want the 3 it lacked", n)
		}
		// The link is made by the pull, whose name then stands on both sides.
		got, name := hubContactOf(t, s, conn, "cnt_1")
		if remote, _ := fake.Contact("cnt_1"); got != hub[2] || name != remote.Name {
			t.Fatalf("cnt_1 is linked to %s named %q, want Hub 2 (%s), which has its number, named %q", got, name, hub[2], remote.Name)
		}
		byPhone := map[string]string{}
		for _, c := range fake.Contacts() {
			byPhone[c.PhoneNumber] = c.Name
		}
		for _, i := range []int{0, 1, 3} {
			if got, ok := byPhone[fmt.Sprintf("+7888000000%d", i)]; !ok || got != fmt.Sprintf("Hub %d", i) {
				t.Errorf("Hub %d at Wazapin: %q %v", i, got, ok)
			}
		}
		if n := len(fake.Contacts()); n != 5 {
			t.Fatalf("Wazapin holds %d contacts, want its 2 and the 3 it lacked", n)
		}
		if n := hubCount(t); n != 5 {
			t.Fatalf("the hub holds %d contacts, want its 4 and cnt_9", n)
		}
	})
	if t.Failed() {
		return
	}
	t.Run("quiet", func(t *testing.T) {
		quiet(t, "INCREMENTAL")
		quiet(t, "FULL")
	})
	if t.Failed() {
		return
	}
	t.Run("merge", func(t *testing.T) {
		// The merged-away contact is cnt_9's, which the pull made. A hub
		// contact created with a WHATSAPP number holds it as PHONE too once
		// Wazapin has sent it back, and mergeContacts of a source holding
		// one number under two phone types fails INTERNAL (the exclusion
		// constraint contact_identities_one_contact, hit while its rows
		// move one by one): a product bug, left to its own fix.
		gone, _ := hubContactOf(t, s, conn, "cnt_9")
		creates := fake.Calls(wazapintest.RouteCreateContact)
		s.do(t, `mutation($target: ID!, $source: ID!) { mergeContacts(targetId: $target, sourceIds: [$source]) { id } }`,
			map[string]any{"target": hub[0], "source": gone}, nil)
		if _, r := runWithStats(t, s, conn, "FULL"); r.Status != "SUCCEEDED" || r.Stats.Deleted != 1 || r.Stats.Pushed != 1 ||
			r.Stats.Failed != 0 {
			t.Fatalf("run after the merge: %+v", r)
		}
		if _, ok := fake.Contact("cnt_9"); ok {
			t.Fatal("the merged-away contact is still at Wazapin")
		}
		var still struct{ ResolveContact *struct{ ID string } }
		s.do(t, `query($c: String!) { resolveContact(identifiers: [{type: EXTERNAL_ID, value: "cnt_9", source: $c}]) { id } }`,
			map[string]any{"c": conn}, &still)
		if still.ResolveContact != nil {
			t.Fatalf("the hub still links cnt_9, deleted at Wazapin, to %s", still.ResolveContact.ID)
		}
		if n := fake.Calls(wazapintest.RouteCreateContact) - creates; n != 0 {
			t.Fatalf("the run after the merge created %d contacts at Wazapin", n)
		}
		survivor := 0
		for _, c := range fake.Contacts() {
			if c.ExternalID == hub[0] && c.Name == "Hub 0" {
				survivor++
			}
		}
		if n := len(fake.Contacts()); n != 4 || survivor != 1 {
			t.Fatalf("Wazapin holds %d contacts, %d of them the survivor; want 4 and 1: %+v", n, survivor, fake.Contacts())
		}
		if n := hubCount(t); n != 4 {
			t.Fatalf("the hub holds %d contacts after the merge, want 4", n)
		}
		quiet(t, "FULL")
	})
}

// TestConflictPolicies: a contact's name is changed in the hub (through
// the API) and at the remote between two runs; the second run lists the one
// decision with the winner its connection's policy picks, both sides end
// with the winner's name, and the run after decides nothing. Wazapin
// reports updated_at, so NEWEST_WINS compares it with the hub's change;
// Wazzup reports no change time, so NEWEST_WINS keeps the hub's name.
// (Wazapin HUB_WINS is TestConflictPolicyThroughTheServer's.) Each case has
// its own fake and connection on one server.
func TestConflictPolicies(t *testing.T) {
	s := startSyncServer(t)
	const hubName, remoteName = "Renamed in the hub", "Renamed at the remote"

	// crm is one remote under test: its connection, how to read and
	// rename its copy of the contact ext.
	type crm struct {
		conn, ext    string
		remoteName   func() string
		renameRemote func(name string, at time.Time)
		writes       func() int
	}
	wazapin := func(t *testing.T, i int, policy string) crm {
		fake := wazapintest.NewServer(t, wazapintest.Options{Contacts: []wazapintest.Contact{
			{ID: "cnt_1", PhoneNumber: fmt.Sprintf("+6281200%02d001", i), Name: "Ani"},
			{ID: "cnt_2", PhoneNumber: fmt.Sprintf("+6281200%02d002", i), Name: "Budi"},
		}})
		return crm{conn: createCRMConnection(t, s, "WAZAPIN", fake.URL, fake.APIKey(), "CONTACTS", policy), ext: "cnt_1",
			remoteName: func() string { c, _ := fake.Contact("cnt_1"); return c.Name },
			renameRemote: func(name string, at time.Time) {
				c, _ := fake.Contact("cnt_1")
				c.Name, c.UpdatedAt = name, at.UTC()
				fake.PutContacts(c)
			},
			writes: fake.Writes}
	}
	wazzup := func(t *testing.T, i int, policy string) crm {
		fake := wazzuptest.NewServer(t, wazzuptest.Options{
			Users: []wazzuptest.User{{ID: fmt.Sprintf("u%d", i), Name: fmt.Sprintf("Agent %d", i)}},
			Contacts: []wazzuptest.Contact{
				{ID: "c1", ResponsibleUserID: fmt.Sprintf("u%d", i), Name: "Ani",
					ContactData: []wazzuptest.ContactData{{ChatType: "whatsapp", ChatID: fmt.Sprintf("7999%02d00001", i)}}},
				{ID: "c2", ResponsibleUserID: fmt.Sprintf("u%d", i), Name: "Budi",
					ContactData: []wazzuptest.ContactData{{ChatType: "whatsapp", ChatID: fmt.Sprintf("7999%02d00002", i)}}},
			}})
		return crm{conn: createCRMConnection(t, s, "WAZZUP", fake.URL, fake.APIKey(), "USERS, CONTACTS", policy), ext: "c1",
			remoteName: func() string { c, _ := fake.Contact("c1"); return c.Name },
			renameRemote: func(name string, _ time.Time) {
				c, _ := fake.Contact("c1")
				c.Name = name
				fake.PutContacts(c)
			},
			writes: fake.Writes}
	}

	for i, tc := range []struct {
		name   string
		remote func(t *testing.T, i int, policy string) crm
		policy string
		// remoteAt is the remote's change time relative to the hub's
		// rename (Wazapin's updated_at; Wazzup has none).
		remoteAt time.Duration
		want     string
	}{
		{"Wazapin NEWEST_WINS, the remote is newer", wazapin, "NEWEST_WINS", time.Hour, "REMOTE"},
		{"Wazapin NEWEST_WINS, the hub is newer", wazapin, "NEWEST_WINS", -time.Hour, "HUB"},
		{"Wazapin REMOTE_WINS", wazapin, "REMOTE_WINS", -time.Hour, "REMOTE"},
		{"Wazzup NEWEST_WINS", wazzup, "NEWEST_WINS", 0, "HUB"},
		{"Wazzup REMOTE_WINS", wazzup, "REMOTE_WINS", 0, "REMOTE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.remote(t, i, tc.policy)
			if run := runToEnd(t, s, r.conn, "FULL"); run.Status != "SUCCEEDED" || len(run.FieldConflicts) != 0 {
				t.Fatalf("first run %+v; server log:\n%s", run, s.Stderr)
			}
			id, pulled := hubContactOf(t, s, r.conn, r.ext)
			if pulled != "Ani" {
				t.Fatalf("pulled contact named %q", pulled)
			}
			s.do(t, `mutation($id: ID!, $name: String!) { updateContact(id: $id, input: {name: $name}) { id } }`,
				map[string]any{"id": id, "name": hubName}, nil)
			r.renameRemote(remoteName, time.Now().Add(tc.remoteAt))

			run := runToEnd(t, s, r.conn, "INCREMENTAL")
			if run.Status != "SUCCEEDED" || len(run.FieldConflicts) != 1 {
				t.Fatalf("second run %+v; server log:\n%s", run, s.Stderr)
			}
			fc := run.FieldConflicts[0]
			if fc.RecordID != r.ext || fc.Field != "name" || fc.Winner != tc.want || fc.HubValue == nil ||
				*fc.HubValue != `"`+hubName+`"` || fc.RemoteValue == nil || *fc.RemoteValue != `"`+remoteName+`"` {
				t.Fatalf("field conflict %+v (hub %v, remote %v), want %s to win", fc, deref(fc.HubValue), deref(fc.RemoteValue), tc.want)
			}
			wantName := hubName
			if tc.want == "REMOTE" {
				wantName = remoteName
			}
			bothSides := func(when string) {
				t.Helper()
				if _, got := hubContactOf(t, s, r.conn, r.ext); got != wantName {
					t.Fatalf("%s: the hub's name is %q, want %q", when, got, wantName)
				}
				if got := r.remoteName(); got != wantName {
					t.Fatalf("%s: the remote's name is %q, want %q", when, got, wantName)
				}
			}
			bothSides("after the deciding run")

			before := r.writes()
			if run := runToEnd(t, s, r.conn, "INCREMENTAL"); run.Status != "SUCCEEDED" || len(run.FieldConflicts) != 0 {
				t.Fatalf("the run after the decision %+v", run)
			}
			if n := r.writes() - before; n != 0 {
				t.Fatalf("the run after the decision made %d write requests at the remote", n)
			}
			bothSides("a run later")
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

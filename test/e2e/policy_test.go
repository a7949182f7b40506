package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
)

type e2eFieldSource struct{ Field, Source string }

type e2eRun struct {
	ID, Status     string
	Errors         []map[string]any
	FieldConflicts []struct {
		RecordID, Field, Winner string
		HubValue, RemoteValue   *string
	}
}

// runToEnd starts a run of conn and waits, reading the run through the
// API, until the server's job has ended it.
func runToEnd(t *testing.T, s *server, conn, mode string) e2eRun {
	t.Helper()
	const fields = `id status errors { code message } fieldConflicts { recordId field hubValue remoteValue winner }`
	var started struct{ RunSync e2eRun }
	s.do(t, `mutation($c: ID!, $m: SyncMode) { runSync(connectionId: $c, mode: $m) { `+fields+` } }`,
		map[string]any{"c": conn, "m": mode}, &started)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got struct{ SyncRun e2eRun }
		s.do(t, `query($id: ID!) { syncRun(id: $id) { `+fields+` } }`, map[string]any{"id": started.RunSync.ID}, &got)
		if st := got.SyncRun.Status; st != "QUEUED" && st != "RUNNING" {
			return got.SyncRun
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s after 60 s; server log:\n%s", got.SyncRun.ID, got.SyncRun.Status, s.Stderr)
		}
		time.Sleep(50 * time.Millisecond) // polls the run's state; asserts nothing about time
	}
}

// TestConflictPolicyThroughTheServer: a real `crmhub serve` syncs a fake
// Wazapin with a HUB_WINS connection. The first run pulls a contact
// (provenance: the connection); the hub (through the API key) and the
// remote then rename it; the next run lists the decision and leaves both
// sides with the hub's name, whose provenance is the key.
func TestConflictPolicyThroughTheServer(t *testing.T) {
	fake := wazapintest.NewServer(t, wazapintest.Options{Contacts: []wazapintest.Contact{
		{ID: "cnt_1", PhoneNumber: "+628120000001", Name: "Ani"},
	}})
	dir := t.TempDir()
	s := start(t, build(t, dir), filepath.Join(dir, "dev-key"), []string{"DATABASE_URL=" + dbtest.URL(t),
		"CRMHUB_CONNECTOR_ALLOW_PRIVATE=true", "CRMHUB_SECRET_KEY=" + db.NewSecretKey()})

	var conn struct {
		CreateConnection struct{ ID, ConflictPolicy string }
	}
	s.do(t, `mutation($url: String!, $key: String!) { createConnection(input: {kind: WAZAPIN, name: "Wazapin",
		baseUrl: $url, apiKey: $key, conflictPolicy: HUB_WINS}) { id conflictPolicy } }`,
		map[string]any{"url": fake.URL, "key": fake.APIKey()}, &conn)
	connID := conn.CreateConnection.ID
	if conn.CreateConnection.ConflictPolicy != "HUB_WINS" {
		t.Fatalf("connection %+v", conn.CreateConnection)
	}
	if run := runToEnd(t, s, connID, "FULL"); run.Status != "SUCCEEDED" || len(run.FieldConflicts) != 0 {
		t.Fatalf("first run %+v; server log:\n%s", run, s.Stderr)
	}
	type contact struct {
		ID, Name     string
		FieldSources []e2eFieldSource
	}
	read := func() contact {
		t.Helper()
		var out struct{ ResolveContact *contact }
		s.do(t, `query($c: String!) { resolveContact(identifiers: [{type: EXTERNAL_ID, value: "cnt_1", source: $c}]) {
			id name fieldSources { field source } } }`, map[string]any{"c": connID}, &out)
		if out.ResolveContact == nil {
			t.Fatal("the pulled contact is not in the hub")
		}
		return *out.ResolveContact
	}
	pulled := read()
	if pulled.Name != "Ani" || len(pulled.FieldSources) != 1 || pulled.FieldSources[0] != (e2eFieldSource{"name", connID}) {
		t.Fatalf("pulled contact %+v, want its name from %s", pulled, connID)
	}

	s.do(t, `mutation($id: ID!) { updateContact(id: $id, input: {name: "Ani (hub)"}) { id } }`,
		map[string]any{"id": pulled.ID}, nil)
	remote, _ := fake.Contact("cnt_1")
	remote.Name, remote.UpdatedAt = "Ani (remote)", time.Now().Add(time.Hour).UTC()
	fake.PutContacts(remote)

	run := runToEnd(t, s, connID, "INCREMENTAL")
	if run.Status != "SUCCEEDED" || len(run.FieldConflicts) != 1 {
		t.Fatalf("second run %+v; server log:\n%s", run, s.Stderr)
	}
	fc := run.FieldConflicts[0]
	if fc.RecordID != "cnt_1" || fc.Field != "name" || fc.Winner != "HUB" || fc.HubValue == nil || *fc.HubValue != `"Ani (hub)"` ||
		fc.RemoteValue == nil || *fc.RemoteValue != `"Ani (remote)"` {
		t.Fatalf("field conflict %+v", fc)
	}
	var viewer struct {
		Viewer struct{ APIKey struct{ ID string } }
	}
	s.do(t, `{ viewer { apiKey { id } } }`, nil, &viewer)
	after := read()
	if after.Name != "Ani (hub)" || len(after.FieldSources) != 1 || after.FieldSources[0] != (e2eFieldSource{"name", viewer.Viewer.APIKey.ID}) {
		t.Fatalf("hub contact after the run %+v, want the hub's name set by %s", after, viewer.Viewer.APIKey.ID)
	}
	if got, _ := fake.Contact("cnt_1"); got.Name != "Ani (hub)" {
		t.Fatalf("the remote holds %q, want the hub's name", got.Name)
	}
}

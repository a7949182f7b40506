package resolver_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

const runFields = `id mode dryRun status trigger createdAt startedAt finishedAt connection { id name }
	stats { fetched created updated unchanged conflicts failed pushed deleted }
	errors { message code recordId } plan { entity action recordId }`

type syncRun struct {
	ID, Mode, Status, Trigger, CreatedAt string
	DryRun                               bool
	StartedAt, FinishedAt                *string
	Connection                           *struct{ ID, Name string }
	Stats                                map[string]int
	Errors                               []map[string]any
	Plan                                 []map[string]any
}

const runSyncMutation = `mutation($conn: ID!, $mode: SyncMode, $dry: Boolean) {
	runSync(connectionId: $conn, mode: $mode, dryRun: $dry) { ` + runFields + ` } }`

// runSync starts a run; vars adds mode and dry to the connection id.
func (c *client) runSync(connectionID string, vars map[string]any) syncRun {
	c.t.Helper()
	v := map[string]any{"conn": connectionID}
	for k, x := range vars {
		v[k] = x
	}
	var out struct{ RunSync syncRun }
	c.do(runSyncMutation, v, &out)
	return out.RunSync
}

// syncRunsPage lists runs, of one connection when connectionID is set.
func (c *client) syncRunsPage(connectionID string, first int, after string) (total int, runs []syncRun, hasNext bool, end string) {
	c.t.Helper()
	vars := map[string]any{"first": first}
	if connectionID != "" {
		vars["conn"] = connectionID
	}
	if after != "" {
		vars["after"] = after
	}
	var out struct {
		SyncRuns struct {
			TotalCount int
			Edges      []struct{ Node syncRun }
			PageInfo   struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	c.do(`query($conn: ID, $first: Int, $after: String) { syncRuns(connectionId: $conn, first: $first, after: $after) {
		totalCount edges { node { `+runFields+` } } pageInfo { hasNextPage endCursor } } }`, vars, &out)
	for _, e := range out.SyncRuns.Edges {
		runs = append(runs, e.Node)
	}
	return out.SyncRuns.TotalCount, runs, out.SyncRuns.PageInfo.HasNextPage, out.SyncRuns.PageInfo.EndCursor
}

// workspaceOf is the id of the client's workspace.
func workspaceOf(t *testing.T, c *client) uuid.UUID {
	t.Helper()
	var v struct {
		Viewer struct{ Workspace struct{ ID string } }
	}
	c.do(`{ viewer { workspace { id } } }`, nil, &v)
	return mustID(t, crmhub.KindWorkspace, v.Viewer.Workspace.ID)
}

func mustID(t *testing.T, k crmhub.Kind, id string) uuid.UUID {
	t.Helper()
	u, err := crmhub.ParseID(k, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestRunSync(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	conn := c.createConnection(connInput("Sales", "k"))

	run := c.runSync(conn.ID, nil)
	zero := map[string]int{"fetched": 0, "created": 0, "updated": 0, "unchanged": 0, "conflicts": 0, "failed": 0, "pushed": 0, "deleted": 0}
	if len(run.ID) < 5 || run.ID[:5] != "sync_" || run.Status != "QUEUED" || run.Mode != "INCREMENTAL" || run.DryRun ||
		run.Trigger != "api" || run.Connection == nil || run.Connection.ID != conn.ID || run.Connection.Name != "Sales" ||
		fmt.Sprint(run.Stats) != fmt.Sprint(zero) || len(run.Errors) != 0 || len(run.Plan) != 0 ||
		run.StartedAt != nil || run.FinishedAt != nil || run.CreatedAt == "" {
		t.Fatalf("runSync = %+v", run)
	}

	// One run at a time per connection.
	e1 := c.fail(runSyncMutation, map[string]any{"conn": conn.ID, "mode": "FULL"}, "CONFLICT")
	if e1.Extensions["syncRunId"] != run.ID {
		t.Fatalf("conflict names %v, want the active run %s", e1.Extensions["syncRunId"], run.ID)
	}

	// Another connection runs beside it, with other arguments.
	other := c.createConnection(connInput("Support", "k", "kind", "WAZAPIN"))
	dry := c.runSync(other.ID, map[string]any{"mode": "FULL", "dry": true})
	if dry.Status != "QUEUED" || dry.Mode != "FULL" || !dry.DryRun || dry.Connection.ID != other.ID {
		t.Fatalf("dry run = %+v", dry)
	}

	// Reads: one run, by id and as a node; lists of all or one connection,
	// newest first, paged, counted.
	var got struct {
		SyncRun *syncRun
		Node    *struct{ ID, Status string }
	}
	c.do(`query($id: ID!) { syncRun(id: $id) { `+runFields+` } node(id: $id) { id ... on SyncRun { status } } }`,
		map[string]any{"id": run.ID}, &got)
	if got.SyncRun == nil || got.SyncRun.ID != run.ID || got.SyncRun.Status != "QUEUED" || got.SyncRun.CreatedAt != run.CreatedAt ||
		got.SyncRun.Connection == nil || got.SyncRun.Connection.ID != conn.ID || got.Node == nil || got.Node.Status != "QUEUED" {
		t.Fatalf("syncRun = %+v, node = %+v", got.SyncRun, got.Node)
	}
	total, runs, hasNext, end := c.syncRunsPage("", 1, "")
	if total != 2 || len(runs) != 1 || runs[0].ID != dry.ID || !hasNext {
		t.Fatalf("first page: %d %+v %v", total, runs, hasNext)
	}
	total, runs, hasNext, _ = c.syncRunsPage("", 1, end)
	if total != 2 || len(runs) != 1 || runs[0].ID != run.ID || hasNext {
		t.Fatalf("second page: %d %+v %v", total, runs, hasNext)
	}
	if total, runs, _, _ := c.syncRunsPage(conn.ID, 10, ""); total != 1 || len(runs) != 1 || runs[0].ID != run.ID {
		t.Fatalf("runs of %s: %d %+v", conn.ID, total, runs)
	}
	var nested struct {
		Connection struct {
			SyncRuns struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID string } }
			}
		}
	}
	c.do(`query($id: ID!) { connection(id: $id) { syncRuns(first: 5) { totalCount edges { node { id } } } } }`,
		map[string]any{"id": other.ID}, &nested)
	if r := nested.Connection.SyncRuns; r.TotalCount != 1 || len(r.Edges) != 1 || r.Edges[0].Node.ID != dry.ID {
		t.Fatalf("Connection.syncRuns = %+v", r)
	}

	// Refusals.
	off := c.createConnection(connInput("Off", "k", "enabled", false))
	c.fail(runSyncMutation, map[string]any{"conn": off.ID}, "VALIDATION_ERROR", "connectionId")
	c.fail(runSyncMutation, map[string]any{"conn": "conn_0192f1c4a2b87c3e9d1f00aa11bb22cc"}, "NOT_FOUND")
	c.fail(runSyncMutation, map[string]any{"conn": "nonsense"}, "NOT_FOUND", "connectionId")
	c.fail(runSyncMutation, map[string]any{"conn": conn.ID, "mode": "SOMETIMES"}, "VALIDATION_ERROR", "mode")
	c.fail(`{ syncRuns(first: 101) { totalCount } }`, nil, "VALIDATION_ERROR")
	c.fail(`{ syncRuns(after: "bad") { totalCount } }`, nil, "VALIDATION_ERROR", "after")

	// Deleting a connection takes its runs with it.
	c.do(`mutation($id: ID!) { deleteConnection(id: $id) { id } }`, map[string]any{"id": other.ID}, nil)
	c.do(`query($id: ID!) { syncRun(id: $id) { id } node(id: $id) { id } }`, map[string]any{"id": dry.ID}, &got)
	if got.SyncRun != nil || got.Node != nil {
		t.Fatalf("a run of a deleted connection is still read: %+v", got)
	}
}

func TestSyncScopeAndIsolation(t *testing.T) {
	e := newEnv(t)
	a, b := e.workspace(), e.workspace()
	conn := a.createConnection(connInput("A's", "k"))
	run := a.runSync(conn.ID, nil)

	b.fail(runSyncMutation, map[string]any{"conn": conn.ID}, "NOT_FOUND")
	var got struct {
		SyncRun *syncRun
		Node    *struct{ ID string }
	}
	b.do(`query($id: ID!) { syncRun(id: $id) { id } node(id: $id) { id } }`, map[string]any{"id": run.ID}, &got)
	if got.SyncRun != nil || got.Node != nil {
		t.Fatalf("B reads A's run: %+v", got)
	}
	for _, of := range []string{"", conn.ID} {
		if total, runs, _, _ := b.syncRunsPage(of, 10, ""); total != 0 || len(runs) != 0 {
			t.Fatalf("B lists A's runs (of %q): %d %+v", of, total, runs)
		}
	}

	other := e.client(a.createKey("no connectors", "contacts:read", "contacts:write").Secret)
	for _, q := range []struct {
		query string
		vars  map[string]any
	}{
		{runSyncMutation, map[string]any{"conn": conn.ID}},
		{`query($id: ID!) { syncRun(id: $id) { id } }`, map[string]any{"id": run.ID}},
		{`query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": run.ID}},
		{`{ syncRuns { totalCount } }`, nil},
		{`{ identityConflicts { totalCount } }`, nil},
		{`mutation($id: ID!, $c: ID!) { resolveIdentityConflict(id: $id, resolution: PICK, contactId: $c) { id } }`,
			map[string]any{"id": "icf_0192f1c4a2b87c3e9d1f00aa11bb22cc", "c": "ct_0192f1c4a2b87c3e9d1f00aa11bb22cc"}},
	} {
		other.fail(q.query, q.vars, "FORBIDDEN")
	}
}

const conflictFields = `id entity externalId status resolution resolvedAt createdAt updatedAt
	connection { id name } identifiers { type value source } candidates { id name email } contact { id }`

type conflict struct {
	ID, Entity, ExternalID, Status string
	Resolution, ResolvedAt         *string
	Connection                     *struct{ ID, Name string }
	Identifiers                    []identity
	Candidates                     []struct{ ID, Name, Email string }
	Contact                        *struct{ ID string }
}

// conflicts lists the workspace's identity conflicts (of a status, or all).
func (c *client) conflicts(status string, first int) (int, []conflict) {
	c.t.Helper()
	vars := map[string]any{"first": first}
	if status != "" {
		vars["status"] = status
	}
	var out struct {
		IdentityConflicts struct {
			TotalCount int
			Edges      []struct{ Node conflict }
		}
	}
	c.do(`query($status: ConflictStatus, $first: Int) { identityConflicts(status: $status, first: $first) {
		totalCount edges { node { `+conflictFields+` } } } }`, vars, &out)
	var list []conflict
	for _, e := range out.IdentityConflicts.Edges {
		list = append(list, e.Node)
	}
	return out.IdentityConflicts.TotalCount, list
}

func TestIdentityConflicts(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	ws := workspaceOf(t, c)
	conn := c.createConnection(connInput("Sales", "k"))
	byPhone := c.createContact("By phone", ident("PHONE", "+14155550101"))
	byEmail := c.createContact("By email", ident("EMAIL", "ann@example.com"))

	// A run finds a record whose identifiers point at both contacts.
	idents := []crmhub.Identifier{{Type: crmhub.IdentityExternalID, Value: "r-77", Source: conn.ID},
		{Type: crmhub.IdentityPhone, Value: "+14155550101"}, {Type: crmhub.IdentityEmail, Value: "ann@example.com"}}
	_, err := e.sync.RecordConflict(context.Background(), ws, mustID(t, crmhub.KindConnection, conn.ID), crmhub.SyncContacts, "r-77",
		idents, []uuid.UUID{mustID(t, crmhub.KindContact, byPhone.ID), mustID(t, crmhub.KindContact, byEmail.ID)})
	if err != nil {
		t.Fatal(err)
	}
	total, list := c.conflicts("OPEN", 10)
	if total != 1 || len(list) != 1 {
		t.Fatalf("open conflicts: %d %+v", total, list)
	}
	k := list[0]
	if k.ID[:4] != "icf_" || k.Entity != "CONTACTS" || k.ExternalID != "r-77" || k.Status != "OPEN" || k.Resolution != nil ||
		k.ResolvedAt != nil || k.Contact != nil || k.Connection == nil || k.Connection.ID != conn.ID || len(k.Identifiers) != 3 ||
		k.Identifiers[0].Type != "EXTERNAL_ID" || k.Identifiers[0].Source == nil || *k.Identifiers[0].Source != conn.ID ||
		k.Identifiers[1].Source != nil || len(k.Candidates) != 2 || k.Candidates[0].ID != byPhone.ID ||
		k.Candidates[1].ID != byEmail.ID || k.Candidates[1].Email != "ann@example.com" {
		t.Fatalf("conflict = %+v", k)
	}
	var node struct {
		Node struct{ ID, ExternalID string }
	}
	c.do(`query($id: ID!) { node(id: $id) { id ... on IdentityConflict { externalId } } }`, map[string]any{"id": k.ID}, &node)
	if node.Node.ID != k.ID || node.Node.ExternalID != "r-77" {
		t.Fatalf("node = %+v", node)
	}

	resolve := `mutation($id: ID!, $how: ConflictResolution!, $c: ID!) {
		resolveIdentityConflict(id: $id, resolution: $how, contactId: $c) { ` + conflictFields + ` } }`
	c.fail(resolve, map[string]any{"id": k.ID, "how": "PICK", "c": c.createContact("Bystander", ident("EMAIL", "b@example.com")).ID},
		"VALIDATION_ERROR", "contactId")
	c.fail(resolve, map[string]any{"id": k.ID, "how": "PICK", "c": "garbage"}, "VALIDATION_ERROR", "contactId")
	b := e.workspace()
	b.fail(resolve, map[string]any{"id": k.ID, "how": "PICK", "c": byEmail.ID}, "NOT_FOUND")

	var out struct{ ResolveIdentityConflict conflict }
	c.do(resolve, map[string]any{"id": k.ID, "how": "PICK", "c": byEmail.ID}, &out)
	r := out.ResolveIdentityConflict
	if r.ID != k.ID || r.Status != "RESOLVED" || r.Resolution == nil || *r.Resolution != "PICK" || r.ResolvedAt == nil ||
		r.Contact == nil || r.Contact.ID != byEmail.ID || len(r.Candidates) != 2 {
		t.Fatalf("resolved = %+v", r)
	}
	// PICK links the record to the chosen contact and leaves the others.
	got := c.getContact(byEmail.ID)
	if got == nil || !slices.Contains(got.identityValues(), "EXTERNAL_ID:r-77") || c.getContact(byPhone.ID) == nil {
		t.Fatalf("after PICK: %+v", got)
	}
	c.fail(resolve, map[string]any{"id": k.ID, "how": "MERGE", "c": byEmail.ID}, "VALIDATION_ERROR")
	if total, _ := c.conflicts("OPEN", 10); total != 0 {
		t.Fatalf("open conflicts after resolving: %d", total)
	}
	if total, list := c.conflicts("RESOLVED", 10); total != 1 || list[0].ID != k.ID {
		t.Fatalf("resolved conflicts: %d %+v", total, list)
	}
	if total, list := b.conflicts("", 10); total != 0 || len(list) != 0 {
		t.Fatalf("B lists A's conflicts: %d", total)
	}
}

// TestSyncReferencesAreBatched: the connection of each run, and the
// connection and contacts of each conflict, cost the same statements for
// a page of 2 as for a page of 12.
func TestSyncReferencesAreBatched(t *testing.T) {
	e, counter := countingEnv(t)
	c := e.workspace()
	ws := workspaceOf(t, c)
	for i := range 12 {
		conn := c.createConnection(connInput(fmt.Sprintf("c%02d", i), "k"))
		c.runSync(conn.ID, nil)
		x := c.createContact("", ident("EMAIL", fmt.Sprintf("x%02d@example.com", i)))
		y := c.createContact("", ident("EMAIL", fmt.Sprintf("y%02d@example.com", i)))
		_, err := e.sync.RecordConflict(context.Background(), ws, mustID(t, crmhub.KindConnection, conn.ID), crmhub.SyncContacts,
			fmt.Sprintf("r%02d", i), []crmhub.Identifier{{Type: crmhub.IdentityEmail, Value: "x"}},
			[]uuid.UUID{mustID(t, crmhub.KindContact, x.ID), mustID(t, crmhub.KindContact, y.ID)})
		if err != nil {
			t.Fatal(err)
		}
	}
	statements := func(q string, n int) int64 {
		return fewestStatements(counter, func() {
			res := c.post(q, map[string]any{"n": n})
			if len(res.Errors) > 0 {
				t.Fatalf("%s", res.Raw)
			}
		})
	}
	runs := `query($n: Int!) { syncRuns(first: $n) { edges { node { id connection { id name } } } } }`
	if s2, s12 := statements(runs, 2), statements(runs, 12); s12 > s2 {
		t.Fatalf("syncRuns: first 12 took %d statements, first 2 took %d", s12, s2)
	}
	conflicts := `query($n: Int!) { identityConflicts(first: $n) { edges { node { id connection { name }
		candidates { id email tags } contact { id } } } } }`
	if s2, s12 := statements(conflicts, 2), statements(conflicts, 12); s12 > s2 {
		t.Fatalf("identityConflicts: first 12 took %d statements, first 2 took %d", s12, s2)
	}
}

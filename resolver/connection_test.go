package resolver_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/resolver"
)

const connFields = `id kind name baseUrl direction entities options enabled scheduleMinutes rateLimitPerMinute
	lastSyncAt createdAt updatedAt`

type connection struct {
	ID, Kind, Name, BaseURL, Direction string
	Entities                           []string
	Options                            map[string]any
	Enabled                            bool
	ScheduleMinutes                    int
	RateLimitPerMinute                 int
	LastSyncAt                         *string
	CreatedAt, UpdatedAt               string
}

const createConn = `mutation($input: ConnectionInput!) { createConnection(input: $input) { ` + connFields + ` } }`

const updateConn = `mutation($id: ID!, $input: ConnectionPatch!) { updateConnection(id: $id, input: $input) { ` + connFields + ` } }`

// connInput is a valid ConnectionInput variable with the fields given.
func connInput(name, key string, more ...any) map[string]any {
	in := map[string]any{"kind": "WAZZUP", "name": name, "baseUrl": "https://api.wazzup24.example/v3", "apiKey": key}
	for i := 0; i+1 < len(more); i += 2 {
		in[more[i].(string)] = more[i+1]
	}
	return in
}

// createConnection creates a connection and returns it as the API shows it.
func (c *client) createConnection(input map[string]any) connection {
	c.t.Helper()
	var out struct{ CreateConnection connection }
	c.do(createConn, map[string]any{"input": input}, &out)
	return out.CreateConnection
}

// connectionsPage reads one page of connections.
func (c *client) connectionsPage(first int, after string) (total int, conns []connection, hasNext bool, end string) {
	c.t.Helper()
	var out struct {
		Connections struct {
			TotalCount int
			Edges      []struct {
				Cursor string
				Node   connection
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	vars := map[string]any{"first": first}
	if after != "" {
		vars["after"] = after
	}
	c.do(`query($first: Int, $after: String) { connections(first: $first, after: $after) {
		totalCount edges { cursor node { `+connFields+` } } pageInfo { hasNextPage endCursor } } }`, vars, &out)
	for _, e := range out.Connections.Edges {
		conns = append(conns, e.Node)
	}
	return out.Connections.TotalCount, conns, out.Connections.PageInfo.HasNextPage, out.Connections.PageInfo.EndCursor
}

func TestConnectionAPIKeyIsWriteOnly(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	const key, key2 = "wz-live-5d41402abc4b2a76b9719d911017c592", "wz-live-rotated-7d793037a0760186574b0282f2"

	res := c.post(createConn, map[string]any{"input": connInput("Sales", key)})
	if len(res.Errors) > 0 || strings.Contains(res.Raw, key) {
		t.Fatalf("createConnection: %s", res.Raw)
	}
	var created struct{ CreateConnection connection }
	c.do(createConn, map[string]any{"input": connInput("Support", key)}, &created)
	conn := created.CreateConnection

	noKey := func(what, raw string, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if strings.Contains(raw, k) {
				t.Fatalf("%s returns the API key: %s", what, raw)
			}
		}
	}
	// Every read, including the nested ones, shows everything but the key.
	run := c.runSync(conn.ID, nil)
	for what, q := range map[string]string{
		"connections": `{ connections(first: 10) { totalCount edges { cursor node { ` + connFields + ` } } } }`,
		"connection":  `query($id: ID!) { connection(id: $id) { ` + connFields + ` syncRuns { edges { node { id } } } } }`,
		"node":        `query($id: ID!) { node(id: $id) { id ... on Connection { ` + connFields + ` } } }`,
		"syncRun":     `query($run: ID!) { syncRun(id: $run) { connection { ` + connFields + ` } } }`,
		"syncRuns":    `{ syncRuns { edges { node { connection { ` + connFields + ` } } } } }`,
	} {
		res := c.post(q, map[string]any{"id": conn.ID, "run": run.ID})
		if len(res.Errors) > 0 || !strings.Contains(res.Raw, conn.ID) || !strings.Contains(res.Raw, "Support") {
			t.Fatalf("%s: %s", what, res.Raw)
		}
		noKey(what, res.Raw, key)
	}
	// The schema has no field that could return it.
	c.fail(`query($id: ID!) { connection(id: $id) { apiKey } }`, map[string]any{"id": conn.ID}, "GRAPHQL_VALIDATION_FAILED")

	// An update may replace it, and returns no key either.
	res = c.post(updateConn, map[string]any{"id": conn.ID, "input": map[string]any{"apiKey": key2}})
	if len(res.Errors) > 0 {
		t.Fatalf("rotate: %s", res.Raw)
	}
	noKey("updateConnection", res.Raw, key, key2)
	ws := workspaceOf(t, c)
	if _, got, err := e.connections.Open(context.Background(), ws, mustID(t, crmhub.KindConnection, conn.ID)); err != nil || got != key2 {
		t.Fatalf("the sync engine opens %q %v, want the new key", got, err)
	}
	res = c.post(`mutation($id: ID!) { deleteConnection(id: $id) { `+connFields+` } }`, map[string]any{"id": conn.ID})
	if len(res.Errors) > 0 || !strings.Contains(res.Raw, conn.ID) {
		t.Fatalf("delete: %s", res.Raw)
	}
	noKey("deleteConnection", res.Raw, key, key2)
}

func TestConnectionOperations(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()

	// Defaults.
	minimal := c.createConnection(connInput("Minimal", "k1"))
	if !strings.HasPrefix(minimal.ID, "conn_") || minimal.Kind != "WAZZUP" || minimal.Name != "Minimal" ||
		minimal.BaseURL != "https://api.wazzup24.example/v3" || minimal.Direction != "BOTH" || !slices.Equal(minimal.Entities, []string{"CONTACTS"}) ||
		!minimal.Enabled || len(minimal.Options) != 0 || minimal.ScheduleMinutes != 0 || minimal.RateLimitPerMinute != 0 || minimal.LastSyncAt != nil ||
		minimal.CreatedAt == "" || minimal.UpdatedAt != minimal.CreatedAt {
		t.Fatalf("created %+v, want the defaults", minimal)
	}
	// Every field, entities kept in run order.
	full := c.createConnection(connInput("Full", "k2", "kind", "WAZAPIN", "direction", "PULL",
		"entities", []string{"DEALS", "CONTACTS", "USERS", "DEALS"}, "options", map[string]any{"onRemoteDelete": "delete", "x": 1},
		"scheduleMinutes", 60, "rateLimitPerMinute", 300, "enabled", false))
	if full.Kind != "WAZAPIN" || full.Direction != "PULL" || !slices.Equal(full.Entities, []string{"USERS", "CONTACTS", "DEALS"}) ||
		full.Options["onRemoteDelete"] != "delete" || full.Options["x"] != float64(1) || full.Enabled ||
		full.ScheduleMinutes != 60 || full.RateLimitPerMinute != 300 {
		t.Fatalf("created %+v", full)
	}

	// Fields left out of a patch stay.
	var up struct{ UpdateConnection connection }
	c.do(updateConn, map[string]any{"id": full.ID, "input": map[string]any{"name": "Full, renamed", "enabled": true,
		"scheduleMinutes": 0, "entities": []string{"CONTACTS"}}}, &up)
	u := up.UpdateConnection
	if u.ID != full.ID || u.Name != "Full, renamed" || !u.Enabled || u.ScheduleMinutes != 0 || !slices.Equal(u.Entities, []string{"CONTACTS"}) ||
		u.Kind != "WAZAPIN" || u.Direction != "PULL" || u.RateLimitPerMinute != 300 || u.Options["onRemoteDelete"] != "delete" ||
		u.BaseURL != full.BaseURL || u.CreatedAt != full.CreatedAt {
		t.Fatalf("updated %+v", u)
	}
	var got struct{ Connection *connection }
	c.do(`query($id: ID!) { connection(id: $id) { `+connFields+` } }`, map[string]any{"id": full.ID}, &got)
	if got.Connection == nil || fmt.Sprint(*got.Connection) != fmt.Sprint(u) {
		t.Fatalf("read back %+v, want %+v", got.Connection, u)
	}
	var node struct {
		Node struct{ ID, Name, Kind string }
	}
	c.do(`query($id: ID!) { node(id: $id) { id ... on Connection { name kind } } }`, map[string]any{"id": full.ID}, &node)
	if node.Node.ID != full.ID || node.Node.Name != "Full, renamed" || node.Node.Kind != "WAZAPIN" {
		t.Fatalf("node = %+v", node)
	}

	// Pages, oldest first, with the total.
	third := c.createConnection(connInput("Third", "k3"))
	total, page1, hasNext, end := c.connectionsPage(2, "")
	if total != 3 || len(page1) != 2 || !hasNext || page1[0].ID != minimal.ID || page1[1].ID != full.ID {
		t.Fatalf("first page: total %d %+v %v", total, page1, hasNext)
	}
	total, page2, hasNext, _ := c.connectionsPage(2, end)
	if total != 3 || len(page2) != 1 || hasNext || page2[0].ID != third.ID {
		t.Fatalf("second page: total %d %+v %v", total, page2, hasNext)
	}
	list := `query($first: Int, $after: String) { connections(first: $first, after: $after) { totalCount } }`
	c.fail(list, map[string]any{"first": 101}, "VALIDATION_ERROR", "first")
	c.fail(list, map[string]any{"after": "not-a-cursor"}, "VALIDATION_ERROR", "after")

	// Deleting returns the connection as it was; then it is gone.
	var del struct{ DeleteConnection connection }
	c.do(`mutation($id: ID!) { deleteConnection(id: $id) { `+connFields+` } }`, map[string]any{"id": minimal.ID}, &del)
	if fmt.Sprint(del.DeleteConnection) != fmt.Sprint(minimal) {
		t.Fatalf("deleted %+v, want %+v", del.DeleteConnection, minimal)
	}
	c.do(`query($id: ID!) { connection(id: $id) { id } node(id: $id) { id } }`, map[string]any{"id": minimal.ID}, &got)
	if got.Connection != nil {
		t.Fatalf("deleted connection still read: %+v", got.Connection)
	}
	c.fail(`mutation($id: ID!) { deleteConnection(id: $id) { id } }`, map[string]any{"id": minimal.ID}, "NOT_FOUND")
	c.fail(updateConn, map[string]any{"id": minimal.ID, "input": map[string]any{"name": "x"}}, "NOT_FOUND")
	c.fail(updateConn, map[string]any{"id": "ct_0192f1c4a2b87c3e9d1f00aa11bb22cc", "input": map[string]any{"name": "x"}}, "NOT_FOUND")
	if total, _, _, _ := c.connectionsPage(10, ""); total != 2 {
		t.Fatalf("total after delete = %d", total)
	}
}

func TestConnectionValidation(t *testing.T) {
	e := newEnv(t)
	c := e.workspace()
	for _, tc := range []struct {
		field string
		input map[string]any
	}{
		{"input.kind", connInput("x", "k", "kind", "SALESFORCE")},
		{"input.name", connInput(" ", "k")},
		{"input.baseUrl", connInput("x", "k", "baseUrl", "ftp://example.com/")},
		{"input.baseUrl", connInput("x", "k", "baseUrl", "example.com/api")},
		{"input.apiKey", connInput("x", "  ")},
		{"input.direction", connInput("x", "k", "direction", "SIDEWAYS")},
		{"input.entities[1]", connInput("x", "k", "entities", []string{"CONTACTS", "INVOICES"})},
		{"input.options", connInput("x", "k", "options", map[string]any{"onRemoteDelete": "shred"})},
		{"input.options", connInput("x", "k", "options", "not an object")},
		{"input.scheduleMinutes", connInput("x", "k", "scheduleMinutes", 1)},
		{"input.scheduleMinutes", connInput("x", "k", "scheduleMinutes", 7*24*60+1)},
		{"input.scheduleMinutes", connInput("x", "k", "scheduleMinutes", -5)},
		{"input.rateLimitPerMinute", connInput("x", "k", "rateLimitPerMinute", -1)},
	} {
		c.fail(createConn, map[string]any{"input": tc.input}, "VALIDATION_ERROR", tc.field)
	}
	c.fail(createConn, map[string]any{"input": map[string]any{"kind": "WAZZUP", "name": "x", "baseUrl": "https://a.example"}},
		"VALIDATION_ERROR", "input.apiKey")

	ok := c.createConnection(connInput("ok", "k"))
	for _, tc := range []struct {
		field string
		patch map[string]any
	}{
		{"input.name", map[string]any{"name": ""}},
		{"input.baseUrl", map[string]any{"baseUrl": "gopher://x"}},
		{"input.apiKey", map[string]any{"apiKey": ""}},
		{"input.entities", map[string]any{"entities": []string{}}},
		{"input.scheduleMinutes", map[string]any{"scheduleMinutes": 4}},
		{"input.rateLimitPerMinute", map[string]any{"rateLimitPerMinute": 100_001}},
	} {
		c.fail(updateConn, map[string]any{"id": ok.ID, "input": tc.patch}, "VALIDATION_ERROR", tc.field)
	}
	if total, _, _, _ := c.connectionsPage(10, ""); total != 1 {
		t.Fatalf("refused input created connections: %d", total)
	}

	// A server that does not allow private addresses refuses base URLs
	// into its own network.
	strict := newEnv(t, func(cfg *resolver.Config) {
		cfg.Connections = db.NewConnectionService(e.db, db.ConnectionConfig{Sealer: db.NewDevSealer()})
	})
	s := strict.workspace()
	for _, u := range []string{"http://127.0.0.1:8080/api", "http://localhost/api", "http://10.1.2.3/", "http://[::1]/",
		"http://169.254.169.254/latest/meta-data"} {
		s.fail(createConn, map[string]any{"input": connInput("x", "k", "baseUrl", u)}, "VALIDATION_ERROR", "input.baseUrl")
	}
	pub := s.createConnection(connInput("public", "k", "baseUrl", "https://93.184.216.34/api"))
	s.fail(updateConn, map[string]any{"id": pub.ID, "input": map[string]any{"baseUrl": "http://192.168.0.1/"}},
		"VALIDATION_ERROR", "input.baseUrl")
}

func TestConnectionScopeAndIsolation(t *testing.T) {
	e := newEnv(t)
	a, b := e.workspace(), e.workspace()
	conn := a.createConnection(connInput("A's", "a-key"))

	// Another workspace: the id is as good as unknown.
	var got struct {
		Connection *connection
		Node       *struct{ ID string }
	}
	b.do(`query($id: ID!) { connection(id: $id) { id } node(id: $id) { id } }`, map[string]any{"id": conn.ID}, &got)
	if got.Connection != nil || got.Node != nil {
		t.Fatalf("B reads A's connection: %+v", got)
	}
	b.fail(updateConn, map[string]any{"id": conn.ID, "input": map[string]any{"name": "B's", "apiKey": "b-key"}}, "NOT_FOUND")
	b.fail(`mutation($id: ID!) { deleteConnection(id: $id) { id } }`, map[string]any{"id": conn.ID}, "NOT_FOUND")
	if total, list, _, _ := b.connectionsPage(10, ""); total != 0 || len(list) != 0 {
		t.Fatalf("B lists %d (total %d)", len(list), total)
	}
	var still struct{ Connection *connection }
	a.do(`query($id: ID!) { connection(id: $id) { `+connFields+` } }`, map[string]any{"id": conn.ID}, &still)
	if still.Connection == nil || fmt.Sprint(*still.Connection) != fmt.Sprint(conn) {
		t.Fatalf("A's connection after B's attempts: %+v", still.Connection)
	}
	if _, k, _ := e.connections.Open(context.Background(), workspaceOf(t, a), mustID(t, crmhub.KindConnection, conn.ID)); k != "a-key" {
		t.Fatalf("A's key after B's attempts: %q", k)
	}

	// connectors:manage is needed for every operation.
	other := e.client(a.createKey("no connectors", "contacts:read", "contacts:write", "webhooks:manage").Secret)
	for _, q := range []struct {
		query string
		vars  map[string]any
	}{
		{createConn, map[string]any{"input": connInput("x", "k")}},
		{updateConn, map[string]any{"id": conn.ID, "input": map[string]any{"name": "x"}}},
		{`mutation($id: ID!) { deleteConnection(id: $id) { id } }`, map[string]any{"id": conn.ID}},
		{`query($id: ID!) { connection(id: $id) { id } }`, map[string]any{"id": conn.ID}},
		{`{ connections { totalCount } }`, nil},
		{`query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": conn.ID}},
	} {
		other.fail(q.query, q.vars, "FORBIDDEN")
	}
	manager := e.client(a.createKey("connectors", "connectors:manage").Secret)
	if total, _, _, _ := manager.connectionsPage(10, ""); total != 1 {
		t.Fatalf("connectors:manage lists %d", total)
	}
}

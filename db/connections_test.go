package db_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// newConnections is the connection service with the development sealer.
func newConnections(d *db.DB, allowPrivate bool) *db.ConnectionService {
	return db.NewConnectionService(d, db.ConnectionConfig{Sealer: db.NewDevSealer(), AllowPrivate: allowPrivate})
}

// printed is c as text for comparisons, its hook's note by value.
func printed(c *crmhub.Connection) string {
	cc := *c
	note := ""
	if cc.Hook.Note != nil {
		note = *cc.Hook.Note
	}
	cc.Hook.Note = nil
	return fmt.Sprint(cc) + " note: " + note
}

// wazzupInput is a valid connection input; its base URL is public.
func wazzupInput(name, key string) crmhub.ConnectionInput {
	return crmhub.ConnectionInput{Kind: crmhub.ConnectorWazzup, Name: name, BaseURL: "https://93.184.216.34/v3", APIKey: key}
}

func TestConnectionLifecycle(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := newConnections(d, false)
	ctx, ws, _ := dbtest.Workspace(t, d)
	newContacts(t, ctx, db.NewContactService(d), "before", 3) // events before the connection

	c, err := svc.CreateConnection(ctx, wazzupInput("Sales", "key-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.GlobalID(), "conn_") || c.Kind != crmhub.ConnectorWazzup || c.Name != "Sales" ||
		c.BaseURL != "https://93.184.216.34/v3" || c.Direction != crmhub.SyncBoth ||
		!slices.Equal(c.Entities, []crmhub.SyncEntity{crmhub.SyncContacts}) || !c.Enabled || c.Options == nil ||
		c.Schedule != 0 || c.RateLimit != 0 || c.LastSyncAt != nil || c.CreatedAt.IsZero() || !c.UpdatedAt.Equal(c.CreatedAt) {
		t.Fatalf("created %+v, want the defaults", c)
	}

	// It pushes only what is committed after it: its position is the
	// workspace's log end when it was created, and stays there.
	var seq, pos int64
	scanIn(t, d, ws.ID, &seq, "SELECT event_seq FROM workspaces WHERE id = $1", ws.ID)
	scanIn(t, d, ws.ID, &pos, "SELECT push_position FROM connections WHERE id = $1", c.ID)
	if seq < 3 || pos != seq {
		t.Fatalf("push_position = %d, want the event_seq %d at creation", pos, seq)
	}
	newContacts(t, ctx, db.NewContactService(d), "after", 1)
	scanIn(t, d, ws.ID, &pos, "SELECT push_position FROM connections WHERE id = $1", c.ID)
	if pos != seq {
		t.Fatalf("push_position moved to %d on a later write", pos)
	}

	got, err := svc.Connection(ctx, c.ID)
	if err != nil || got.Name != "Sales" || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("get: %+v %v", got, err)
	}

	// A patch changes what it names and nothing else.
	name, dir, off := "Sales EU", crmhub.SyncPull, false
	sched, limit := 15*time.Minute, 120
	up, err := svc.UpdateConnection(ctx, c.ID, crmhub.ConnectionPatch{Name: &name, Direction: &dir, Enabled: &off,
		Entities: []crmhub.SyncEntity{crmhub.SyncDeals, crmhub.SyncContacts, crmhub.SyncDeals, crmhub.SyncUsers},
		Options:  map[string]any{"defaultResponsibleUserId": "42", "onRemoteDelete": "unlink"}, Schedule: &sched, RateLimit: &limit})
	if err != nil {
		t.Fatal(err)
	}
	if up.Name != name || up.Direction != dir || up.Enabled || up.BaseURL != c.BaseURL || up.Kind != c.Kind ||
		!slices.Equal(up.Entities, crmhub.SyncEntities) || up.Options["defaultResponsibleUserId"] != "42" ||
		up.Schedule != sched || up.RateLimit != limit || up.UpdatedAt.Before(c.UpdatedAt) {
		t.Fatalf("updated %+v", up)
	}
	got, _ = svc.Connection(ctx, c.ID)
	if printed(got) != printed(up) {
		t.Fatalf("read back %+v, want %+v", got, up)
	}
	on := true
	if up, err = svc.UpdateConnection(ctx, c.ID, crmhub.ConnectionPatch{Enabled: &on}); err != nil || !up.Enabled ||
		up.Name != name || up.Schedule != sched || len(up.Entities) != 3 {
		t.Fatalf("enable only: %+v %v", up, err)
	}

	// Deleting returns the connection as it was and takes its runs,
	// links and conflicts with it.
	for _, q := range []string{
		`INSERT INTO sync_runs (workspace_id, id, connection_id, mode, dry_run, status, trigger, created_at)
			VALUES ($1, gen_random_uuid(), $2, 'FULL', false, 'SUCCEEDED', 'api', now())`,
		`INSERT INTO sync_links (workspace_id, connection_id, entity, external_id, local_id, fingerprint, updated_at)
			VALUES ($1, $2, 'CONTACTS', 'r1', gen_random_uuid(), '\x00', now())`,
		`INSERT INTO identity_conflicts (workspace_id, id, connection_id, entity, external_id, identifiers, candidates, status, created_at, updated_at)
			VALUES ($1, gen_random_uuid(), $2, 'CONTACTS', 'r1', '[]', '{}', 'OPEN', now(), now())`,
	} {
		execIn(t, d, ws.ID, q, ws.ID, c.ID)
	}
	del, err := svc.DeleteConnection(ctx, c.ID)
	if err != nil || del.ID != c.ID || del.Name != name {
		t.Fatalf("delete: %+v %v", del, err)
	}
	for _, table := range []string{"connections", "sync_runs", "sync_links", "identity_conflicts"} {
		if n := countIn(t, d, ws.ID, "SELECT count(*) FROM "+table); n != 0 {
			t.Errorf("%d rows left in %s", n, table)
		}
	}
	_, err = svc.Connection(ctx, c.ID)
	wantCode(t, "get deleted", err, crmhub.ENOTFOUND)
	_, err = svc.UpdateConnection(ctx, c.ID, crmhub.ConnectionPatch{Name: &name})
	wantCode(t, "update deleted", err, crmhub.ENOTFOUND)
	_, err = svc.DeleteConnection(ctx, c.ID)
	wantCode(t, "delete deleted", err, crmhub.ENOTFOUND)
	_, _, err = svc.Open(context.Background(), ws.ID, c.ID)
	wantCode(t, "open deleted", err, crmhub.ENOTFOUND)
	if n, err := db.NewContactService(d).CountContacts(ctx, crmhub.ContactFilter{}); err != nil || n != 4 {
		t.Fatalf("contacts after deleting the connection: %d %v", n, err)
	}
}

// execIn runs a statement inside workspace ws, as the service role.
func execIn(t *testing.T, d *db.DB, ws uuid.UUID, query string, args ...any) {
	t.Helper()
	inTenant(t, d, ws, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), query, args...)
		return err
	})
}

func TestConnectionAPIKeyIsSealed(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := newConnections(d, true)
	ctx, ws, _ := dbtest.Workspace(t, d)
	const key, key2 = "wz-secret-7f3a9c1e55", "wz-rotated-0b8d2e44aa"

	c, err := svc.CreateConnection(ctx, wazzupInput("Sales", "  "+key+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	stored := func() []byte {
		var b []byte
		scanIn(t, d, ws.ID, &b, "SELECT api_key FROM connections WHERE id = $1", c.ID)
		return b
	}
	sealed := stored()
	if len(sealed) <= len(key) || bytes.Contains(sealed, []byte(key)) {
		t.Fatalf("stored key %x holds the plaintext", sealed)
	}
	// Only Open, for the sync engine, gives it back (trimmed).
	opened, got, err := svc.Open(context.Background(), ws.ID, c.ID)
	if err != nil || got != key || opened.ID != c.ID || opened.Name != "Sales" {
		t.Fatalf("open: %+v %q %v", opened, got, err)
	}

	// No other method returns it.
	name := "Sales 2"
	got1, _ := svc.Connection(ctx, c.ID)
	list, _ := svc.Connections(ctx, 0, "")
	byID, _ := svc.ConnectionsByIDs(ctx, []uuid.UUID{c.ID})
	up, _ := svc.UpdateConnection(ctx, c.ID, crmhub.ConnectionPatch{Name: &name})
	for _, v := range []any{c, got1, list, byID, up} {
		if b, _ := json.Marshal(v); bytes.Contains(b, []byte(key)) || bytes.Contains(b, sealed) {
			t.Fatalf("a method returns the key: %s", b)
		}
	}
	if !bytes.Equal(stored(), sealed) {
		t.Fatal("an update without a key changed the stored key")
	}
	if _, k, _ := svc.Open(context.Background(), ws.ID, c.ID); k != key {
		t.Fatalf("key after a rename = %q", k)
	}

	// A patch with a key rotates it; the new one is sealed too.
	k2 := key2
	if _, err := svc.UpdateConnection(ctx, c.ID, crmhub.ConnectionPatch{APIKey: &k2}); err != nil {
		t.Fatal(err)
	}
	if s := stored(); bytes.Equal(s, sealed) || bytes.Contains(s, []byte(key2)) {
		t.Fatalf("rotation stored %x", s)
	}
	if _, k, err := svc.Open(context.Background(), ws.ID, c.ID); k != key2 || err != nil {
		t.Fatalf("key after rotation = %q %v", k, err)
	}

	// The sealed key is bound to its row: copied to another connection
	// of the same workspace, it does not open.
	other, err := svc.CreateConnection(ctx, wazzupInput("Other", "other-key"))
	if err != nil {
		t.Fatal(err)
	}
	execIn(t, d, ws.ID, "UPDATE connections SET api_key = (SELECT api_key FROM connections WHERE id = $1) WHERE id = $2", c.ID, other.ID)
	if _, k, err := svc.Open(context.Background(), ws.ID, other.ID); err == nil || k != "" {
		t.Fatalf("a key copied from another row opened: %q", k)
	}
	// A service under another secret key cannot open it either.
	key32 := make([]byte, db.SecretKeySize)
	sealer, _ := db.NewSealer(key32)
	foreign := db.NewConnectionService(d, db.ConnectionConfig{Sealer: sealer})
	if _, k, err := foreign.Open(context.Background(), ws.ID, c.ID); err == nil || k != "" {
		t.Fatalf("a key opened under another secret key: %q", k)
	}
}

func TestConnectionPaging(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := newConnections(d, true)
	ctx, _, _ := dbtest.Workspace(t, d)
	var ids []uuid.UUID
	for i := range 5 {
		c, err := svc.CreateConnection(ctx, wazzupInput(fmt.Sprintf("c%d", i), "k"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	var seen []uuid.UUID
	after := ""
	for page := 0; ; page++ {
		conn, err := svc.Connections(ctx, 2, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range conn.Edges {
			seen = append(seen, e.Node.ID)
		}
		if (page > 0) != conn.PageInfo.HasPreviousPage {
			t.Fatalf("page %d: hasPreviousPage = %v", page, conn.PageInfo.HasPreviousPage)
		}
		if !conn.PageInfo.HasNextPage {
			break
		}
		after = *conn.PageInfo.EndCursor
	}
	if !slices.Equal(seen, ids) {
		t.Fatalf("paged %v, want oldest first %v", seen, ids)
	}
	if n, err := svc.CountConnections(ctx); err != nil || n != 5 {
		t.Fatalf("count = %d %v", n, err)
	}
	all, err := svc.Connections(ctx, 0, "")
	if err != nil || len(all.Edges) != 5 || all.PageInfo.HasNextPage {
		t.Fatalf("default page: %d edges %v", len(all.Edges), err)
	}

	missing := uuid.New()
	got, err := svc.ConnectionsByIDs(ctx, []uuid.UUID{ids[3], missing, ids[0]})
	if err != nil || len(got) != 3 || got[0].ID != ids[3] || got[1] != nil || got[2].ID != ids[0] {
		t.Fatalf("by ids: %v %v", got, err)
	}

	_, err = svc.Connections(ctx, crmhub.MaxPageSize+1, "")
	wantInvalid(t, "first over the cap", err, "first")
	_, err = svc.Connections(ctx, -1, "")
	wantInvalid(t, "negative first", err, "first")
	_, err = svc.Connections(ctx, 0, "garbage")
	wantInvalid(t, "bad cursor", err, "after")
	users := db.NewUserService(d)
	if _, err := users.UpsertUsers(ctx, []crmhub.UserInput{{ExternalID: "u1", Name: "U"}}); err != nil {
		t.Fatal(err)
	}
	up, err := users.Users(ctx, 1, "")
	if err != nil || up.PageInfo.EndCursor == nil {
		t.Fatalf("users: %+v %v", up, err)
	}
	_, err = svc.Connections(ctx, 0, *up.PageInfo.EndCursor)
	wantInvalid(t, "a cursor of another list", err, "after")
}

func TestConnectionValidation(t *testing.T) {
	d := dbtest.Open(t, nil)
	strict := newConnections(d, false)
	ctx, _, _ := dbtest.Workspace(t, d)
	with := func(f func(*crmhub.ConnectionInput)) crmhub.ConnectionInput {
		in := wazzupInput("ok", "key")
		f(&in)
		return in
	}
	for _, tc := range []struct {
		field string
		in    crmhub.ConnectionInput
	}{
		{"kind", with(func(in *crmhub.ConnectionInput) { in.Kind = "SALESFORCE" })},
		{"kind", with(func(in *crmhub.ConnectionInput) { in.Kind = "" })},
		{"name", with(func(in *crmhub.ConnectionInput) { in.Name = "  " })},
		{"name", with(func(in *crmhub.ConnectionInput) { in.Name = strings.Repeat("n", crmhub.MaxConnectionNameLength+1) })},
		{"baseUrl", with(func(in *crmhub.ConnectionInput) { in.BaseURL = "" })},
		{"baseUrl", with(func(in *crmhub.ConnectionInput) { in.BaseURL = "ftp://93.184.216.34/" })},
		{"baseUrl", with(func(in *crmhub.ConnectionInput) { in.BaseURL = "api.wazzup24.com/v3" })},
		{"baseUrl", with(func(in *crmhub.ConnectionInput) { in.BaseURL = "https://user:pw@93.184.216.34/" })},
		{"baseUrl", with(func(in *crmhub.ConnectionInput) {
			in.BaseURL = "https://93.184.216.34/" + strings.Repeat("a", crmhub.MaxConnectionURLLength)
		})},
		{"apiKey", with(func(in *crmhub.ConnectionInput) { in.APIKey = "" })},
		{"apiKey", with(func(in *crmhub.ConnectionInput) { in.APIKey = " \t " })},
		{"apiKey", with(func(in *crmhub.ConnectionInput) { in.APIKey = strings.Repeat("k", crmhub.MaxConnectionKeyLength+1) })},
		{"direction", with(func(in *crmhub.ConnectionInput) { in.Direction = "SIDEWAYS" })},
		{"entities", with(func(in *crmhub.ConnectionInput) { in.Entities = []crmhub.SyncEntity{crmhub.SyncContacts, "INVOICES"} })},
		{"options", with(func(in *crmhub.ConnectionInput) { in.Options = map[string]any{"onRemoteDelete": "shred"} })},
		{"options", with(func(in *crmhub.ConnectionInput) {
			in.Options = map[string]any{"x": strings.Repeat("o", crmhub.MaxConnectionOptions)}
		})},
		{"scheduleMinutes", with(func(in *crmhub.ConnectionInput) { in.Schedule = time.Minute })},
		{"scheduleMinutes", with(func(in *crmhub.ConnectionInput) { in.Schedule = -time.Hour })},
		{"scheduleMinutes", with(func(in *crmhub.ConnectionInput) { in.Schedule = crmhub.MaxSyncSchedule + time.Minute })},
		{"rateLimitPerMinute", with(func(in *crmhub.ConnectionInput) { in.RateLimit = -1 })},
		{"rateLimitPerMinute", with(func(in *crmhub.ConnectionInput) { in.RateLimit = crmhub.MaxConnectionRateLimit + 1 })},
		// Hosts that lead into the server's own network.
		{"baseUrl", with(func(in *crmhub.ConnectionInput) { in.BaseURL = "http://127.0.0.1:8080/api" })},
		{"baseUrl", with(func(in *crmhub.ConnectionInput) { in.BaseURL = "http://localhost/api" })},
		{"baseUrl", with(func(in *crmhub.ConnectionInput) { in.BaseURL = "http://10.0.0.7/api" })},
		{"baseUrl", with(func(in *crmhub.ConnectionInput) { in.BaseURL = "http://[::1]/api" })},
		{"baseUrl", with(func(in *crmhub.ConnectionInput) { in.BaseURL = "http://169.254.169.254/latest/meta-data" })},
	} {
		_, err := strict.CreateConnection(ctx, tc.in)
		wantInvalid(t, fmt.Sprintf("create with %s %.60q", tc.field, fmt.Sprint(tc.in)), err, tc.field)
	}
	if n, _ := strict.CountConnections(ctx); n != 0 {
		t.Fatalf("refused inputs created %d connections", n)
	}

	// Every setting at its limit is accepted.
	on := false
	c, err := strict.CreateConnection(ctx, crmhub.ConnectionInput{Kind: crmhub.ConnectorWazera,
		Name: strings.Repeat("n", crmhub.MaxConnectionNameLength), BaseURL: "http://93.184.216.34",
		APIKey: strings.Repeat("k", crmhub.MaxConnectionKeyLength), Direction: crmhub.SyncPush,
		Entities: []crmhub.SyncEntity{crmhub.SyncDeals}, Options: map[string]any{"onRemoteDelete": "delete"}, Enabled: &on,
		Schedule: crmhub.MaxSyncSchedule, RateLimit: crmhub.MaxConnectionRateLimit})
	if err != nil || c.Enabled || c.Direction != crmhub.SyncPush || c.Schedule != crmhub.MaxSyncSchedule {
		t.Fatalf("limits: %+v %v", c, err)
	}

	// A patch is validated as a whole, as on creation.
	empty, private, ftp, short, blank := "", "http://192.168.1.1/", "ftp://93.184.216.34/", 4*time.Minute, " "
	bad := crmhub.SyncDirection("UP")
	for _, tc := range []struct {
		field string
		patch crmhub.ConnectionPatch
	}{
		{"name", crmhub.ConnectionPatch{Name: &empty}},
		{"baseUrl", crmhub.ConnectionPatch{BaseURL: &private}},
		{"baseUrl", crmhub.ConnectionPatch{BaseURL: &ftp}},
		{"apiKey", crmhub.ConnectionPatch{APIKey: &blank}},
		{"direction", crmhub.ConnectionPatch{Direction: &bad}},
		{"entities", crmhub.ConnectionPatch{Entities: []crmhub.SyncEntity{}}},
		{"scheduleMinutes", crmhub.ConnectionPatch{Schedule: &short}},
	} {
		_, err := strict.UpdateConnection(ctx, c.ID, tc.patch)
		wantInvalid(t, "update "+tc.field, err, tc.field)
	}
	if got, _ := strict.Connection(ctx, c.ID); printed(got) != printed(c) {
		t.Fatalf("refused patches changed the connection: %+v", got)
	}

	// With private addresses allowed, loopback is fine; other schemes are not.
	lax := newConnections(d, true)
	if _, err := lax.CreateConnection(ctx, with(func(in *crmhub.ConnectionInput) { in.BaseURL = "http://127.0.0.1:9/api" })); err != nil {
		t.Fatalf("loopback refused with AllowPrivate: %v", err)
	}
	_, err = lax.CreateConnection(ctx, with(func(in *crmhub.ConnectionInput) { in.BaseURL = "gopher://127.0.0.1/" }))
	wantInvalid(t, "gopher with AllowPrivate", err, "baseUrl")
}

func TestConnectionIsolationAndScope(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := newConnections(d, true)
	ctxA, wsA, _ := dbtest.Workspace(t, d)
	ctxB, wsB, _ := dbtest.Workspace(t, d)
	c, err := svc.CreateConnection(ctxA, wazzupInput("A's", "a-key"))
	if err != nil {
		t.Fatal(err)
	}

	name, key := "B's now", "b-key"
	_, err = svc.Connection(ctxB, c.ID)
	wantCode(t, "get", err, crmhub.ENOTFOUND)
	_, err = svc.UpdateConnection(ctxB, c.ID, crmhub.ConnectionPatch{Name: &name, APIKey: &key})
	wantCode(t, "update", err, crmhub.ENOTFOUND)
	_, err = svc.DeleteConnection(ctxB, c.ID)
	wantCode(t, "delete", err, crmhub.ENOTFOUND)
	_, _, err = svc.Open(context.Background(), wsB.ID, c.ID)
	wantCode(t, "open in another workspace", err, crmhub.ENOTFOUND)
	if l, err := svc.Connections(ctxB, 0, ""); err != nil || len(l.Edges) != 0 {
		t.Fatalf("B lists %+v %v", l, err)
	}
	if n, err := svc.CountConnections(ctxB); err != nil || n != 0 {
		t.Fatalf("B counts %d %v", n, err)
	}
	if got, err := svc.ConnectionsByIDs(ctxB, []uuid.UUID{c.ID}); err != nil || got[0] != nil {
		t.Fatalf("B reads by id: %v %v", got, err)
	}
	got, k, err := svc.Open(context.Background(), wsA.ID, c.ID)
	if err != nil || got.Name != "A's" || k != "a-key" {
		t.Fatalf("A's connection after B's attempts: %+v %q %v", got, k, err)
	}

	// connectors:manage is needed for every method.
	apiKey, _, err := db.NewAuthService(d).CreateAPIKey(ctxA, "no connectors", []crmhub.Scope{crmhub.ScopeContactsRead,
		crmhub.ScopeContactsWrite, crmhub.ScopeWebhooksManage})
	if err != nil {
		t.Fatal(err)
	}
	other := crmhub.NewContext(context.Background(), &crmhub.Principal{WorkspaceID: wsA.ID, APIKeyID: apiKey.ID, Scopes: apiKey.Scopes})
	for what, ctx := range map[string]context.Context{crmhub.EFORBIDDEN: other, crmhub.EUNAUTHENTICATED: context.Background()} {
		_, err = svc.CreateConnection(ctx, wazzupInput("x", "k"))
		wantCode(t, "create", err, what)
		_, err = svc.UpdateConnection(ctx, c.ID, crmhub.ConnectionPatch{Name: &name})
		wantCode(t, "update", err, what)
		_, err = svc.DeleteConnection(ctx, c.ID)
		wantCode(t, "delete", err, what)
		_, err = svc.Connection(ctx, c.ID)
		wantCode(t, "get", err, what)
		_, err = svc.Connections(ctx, 0, "")
		wantCode(t, "list", err, what)
		_, err = svc.ConnectionsByIDs(ctx, []uuid.UUID{c.ID})
		wantCode(t, "by ids", err, what)
		_, err = svc.CountConnections(ctx)
		wantCode(t, "count", err, what)
	}
	manager, _, err := db.NewAuthService(d).CreateAPIKey(ctxA, "connectors", []crmhub.Scope{crmhub.ScopeConnectorsManage})
	if err != nil {
		t.Fatal(err)
	}
	mctx := crmhub.NewContext(context.Background(), &crmhub.Principal{WorkspaceID: wsA.ID, APIKeyID: manager.ID, Scopes: manager.Scopes})
	if _, err := svc.DeleteConnection(mctx, c.ID); err != nil {
		t.Fatalf("delete with connectors:manage: %v", err)
	}
}

func TestConnectionServiceNeedsSealer(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewConnectionService without a Sealer did not panic")
		}
	}()
	db.NewConnectionService(nil, db.ConnectionConfig{})
}

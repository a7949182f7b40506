package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/internal/proctest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// env returns a getenv over vars, with DATABASE_URL pointing at the test
// package's database unless vars sets it.
func env(t *testing.T, vars map[string]string) func(string) string {
	url := dbtest.URL(t)
	return func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		if k == "DATABASE_URL" {
			return url
		}
		return ""
	}
}

// run runs the command line and returns its exit code, stdout and stderr.
func run(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	// No stdin: a command that asks for confirmation must not wait on the
	// terminal the tests may run from.
	c := &cli{getenv: getenv, stdout: &stdout, stderr: &stderr}
	code := c.run(t.Context(), args)
	return code, stdout.String(), stderr.String()
}

// mustRun runs the command line and fails the test unless it succeeds.
func mustRun(t *testing.T, getenv func(string) string, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, getenv, args...)
	if code != 0 {
		t.Fatalf("crmhub %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// decodeObject decodes out as one JSON object and checks it has exactly keys.
func decodeObject(t *testing.T, out string, keys ...string) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("output is not a JSON object of strings: %v\n%s", err, out)
	}
	if len(m) != len(keys) {
		t.Fatalf("output has keys %v, want exactly %v", m, keys)
	}
	for _, k := range keys {
		if m[k] == "" {
			t.Fatalf("output lacks %q: %s", k, out)
		}
	}
	return m
}

func TestWorkspaceCreateJSON(t *testing.T) {
	t.Parallel()
	out := mustRun(t, env(t, nil), "workspace", "create", "--name", "Acme", "--json")
	m := decodeObject(t, out, "workspaceId", "apiKey")
	if want := `{"workspaceId": "` + m["workspaceId"] + `", "apiKey": "` + m["apiKey"] + `"}` + "\n"; out != want {
		t.Errorf("output\n%s\nwant the contract's spelling\n%s", out, want)
	}
	ws, err := crmhub.ParseID(crmhub.KindWorkspace, m["workspaceId"])
	if err != nil {
		t.Fatalf("workspaceId: %v", err)
	}

	d := dbtest.Open(t, nil)
	p, err := db.NewAuthService(d).Authenticate(t.Context(), m["apiKey"])
	if err != nil {
		t.Fatalf("the printed key does not authenticate: %v", err)
	}
	if p.WorkspaceID != ws || !p.Can(crmhub.ScopeAdmin) {
		t.Errorf("principal %+v, want an admin of %s", p, ws)
	}
}

func TestWorkspaceCreateText(t *testing.T) {
	t.Parallel()
	out := mustRun(t, env(t, nil), "workspace", "create", "--name", "Text Co", "--no-migrate")
	if !strings.Contains(out, `Workspace "Text Co" created: ws_`) || !strings.Contains(out, "crm_") {
		t.Errorf("output lacks the workspace id or key:\n%s", out)
	}
}

func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, nil)
	auth := db.NewAuthService(d)
	_, ws, _ := dbtest.Workspace(t, d)
	getenv := env(t, nil)

	out := mustRun(t, getenv, "apikey", "create", "--workspace", ws.GlobalID(),
		"--scopes", "contacts:write,contacts:read", "--name", "sync", "--json")
	created := decodeObject(t, out, "apiKey", "id")
	p, err := auth.Authenticate(t.Context(), created["apiKey"])
	if err != nil {
		t.Fatalf("new key does not authenticate: %v", err)
	}
	if p.WorkspaceID != ws.ID || !p.Can(crmhub.ScopeContactsWrite) || p.Can(crmhub.ScopeKeysManage) {
		t.Errorf("principal %+v, want contacts:read,contacts:write in %s", p, ws.GlobalID())
	}
	if got := crmhub.GlobalID(crmhub.KindAPIKey, p.APIKeyID); got != created["id"] {
		t.Errorf("printed id %s, key authenticates as %s", created["id"], got)
	}

	var keys []apiKeyJSON
	out = mustRun(t, getenv, "apikey", "list", "--workspace", ws.GlobalID(), "--json")
	if err := json.Unmarshal([]byte(out), &keys); err != nil {
		t.Fatalf("list output: %v\n%s", err, out)
	}
	if len(keys) != 2 || keys[0].ID != created["id"] || keys[0].Name != "sync" ||
		strings.Join(keys[0].Scopes, ",") != "contacts:read,contacts:write" || keys[0].RevokedAt != nil {
		t.Errorf("list = %+v, want the new key first, then the admin key", keys)
	}

	// Flags may follow the key id.
	out = mustRun(t, getenv, "apikey", "revoke", "--workspace", ws.GlobalID(), created["id"], "--json")
	var revoked apiKeyJSON
	if err := json.Unmarshal([]byte(out), &revoked); err != nil {
		t.Fatalf("revoke output: %v\n%s", err, out)
	}
	if revoked.ID != created["id"] || revoked.RevokedAt == nil {
		t.Errorf("revoke printed %+v, want the key with revokedAt", revoked)
	}
	_, err = auth.Authenticate(t.Context(), created["apiKey"])
	if code := crmhub.ErrorCode(err); code != crmhub.EUNAUTHENTICATED {
		t.Errorf("revoked key: Authenticate error %v (code %q), want UNAUTHENTICATED", err, code)
	}

	out = mustRun(t, getenv, "apikey", "list", "--workspace", ws.GlobalID())
	if !strings.Contains(out, created["id"]) || !strings.Contains(out, "REVOKED") {
		t.Errorf("text list lacks the key or its header:\n%s", out)
	}
}

func TestAPIKeyErrors(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, nil)
	_, ws, _ := dbtest.Workspace(t, d)
	missing := crmhub.GlobalID(crmhub.KindWorkspace, [16]byte{1})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad scope", []string{"apikey", "create", "--workspace", ws.GlobalID(), "--scopes", "contacts:read,contacts:delete"},
			`unknown scope "contacts:delete"; valid scopes are contacts:read, contacts:write`},
		{"unknown workspace", []string{"apikey", "list", "--workspace", missing}, "workspace not found"},
		{"malformed workspace id", []string{"apikey", "list", "--workspace", "acme"}, `no workspace with id "acme"`},
		{"unknown key", []string{"apikey", "revoke", "--workspace", ws.GlobalID(), crmhub.GlobalID(crmhub.KindAPIKey, [16]byte{1})},
			"API key not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, env(t, nil), tt.args...)
			if code != 1 || out != "" {
				t.Errorf("exit %d, stdout %q; want exit 1 and no output", code, out)
			}
			if !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "goroutine") {
				t.Errorf("stderr %q, want one line containing %q", errOut, tt.want)
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	getenv := env(t, nil)
	var ms []db.MigrationStatus
	out := mustRun(t, getenv, "migrate", "status", "--json")
	if err := json.Unmarshal([]byte(out), &ms); err != nil {
		t.Fatalf("status output: %v\n%s", err, out)
	}
	if len(ms) == 0 || ms[0].Name != "0001" || !ms[0].Applied || ms[0].AppliedAt == nil {
		t.Errorf("status = %+v, want 0001 applied first", ms)
	}
	if out := mustRun(t, getenv, "migrate", "status"); !strings.Contains(out, "0001") || !strings.Contains(out, "foundation") {
		t.Errorf("text status lacks 0001 foundation:\n%s", out)
	}
	if out := mustRun(t, getenv, "migrate", "up", "--json"); out != "{\n  \"migrations\": []\n}\n" {
		t.Errorf("up on a migrated database printed %q, want no migrations", out)
	}
}

// TestMigrateDown: down rolls back the newest migration only; --all needs
// --yes without a terminal, and then rolls back the rest. It works on a
// database of its own, since the package's is shared by parallel tests.
func TestMigrateDown(t *testing.T) {
	t.Parallel()
	name, err := dbtest.NewName("migrate_down")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dbtest.URL(t))
	u.Path = "/" + name
	getenv := env(t, map[string]string{"DATABASE_URL": u.String()})
	t.Cleanup(func() {
		admin, _ := url.Parse(dbtest.URL(t))
		admin.Path = "/postgres"
		if conn, err := pgx.Connect(context.Background(), admin.String()); err == nil {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	})
	var up struct{ Migrations []string }
	if err := json.Unmarshal([]byte(mustRun(t, getenv, "migrate", "up", "--json")), &up); err != nil || len(up.Migrations) < 3 {
		t.Fatalf("migrate up: %v %v", up, err)
	}
	newest := up.Migrations[len(up.Migrations)-1]
	if out := mustRun(t, getenv, "migrate", "down"); out != "rolled back "+newest+"\n" {
		t.Fatalf("migrate down printed %q, want only %s", out, newest)
	}
	code, _, errOut := run(t, getenv, "migrate", "down", "--all")
	if code != 2 || !strings.Contains(errOut, "--yes") {
		t.Fatalf("down --all without a terminal or --yes: exit %d, %q", code, errOut)
	}
	var down struct{ Migrations []string }
	if err := json.Unmarshal([]byte(mustRun(t, getenv, "migrate", "down", "--all", "--yes", "--json")), &down); err != nil ||
		len(down.Migrations) != len(up.Migrations)-1 {
		t.Fatalf("down --all --yes rolled back %v (%v), want the other %d", down.Migrations, err, len(up.Migrations)-1)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	getenv := func(string) string { return "" }
	if out := mustRun(t, getenv, "version"); !strings.HasPrefix(out, "crmhub ") || !strings.Contains(out, "go1.") {
		t.Errorf("version printed %q", out)
	}
	var b buildInfo
	if err := json.Unmarshal([]byte(mustRun(t, getenv, "version", "--json")), &b); err != nil {
		t.Fatal(err)
	}
	if b.Version == "" || b.Commit == "" || !strings.HasPrefix(b.Go, "go1.") {
		t.Errorf("version --json = %+v", b)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	getenv := func(string) string { return "" }
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"serve", "--bogus"},
		{"serve", "--complexity-limit", "-3"},
		{"serve", "extra"},
		{"migrate"},
		{"migrate", "sideways"},
		{"workspace", "create"},
		{"workspace", "delete", "--name", "x"},
		{"apikey", "create", "--workspace", "ws_x"},
		{"apikey", "list"},
		{"apikey", "revoke", "--workspace", "ws_x"},
		{"version", "--verbose"},
	} {
		code, out, errOut := run(t, getenv, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "Usage") {
			t.Errorf("crmhub %s: exit %d, stdout %q, stderr %q; want 2 and usage on stderr",
				strings.Join(args, " "), code, out, errOut)
		}
	}
	for _, args := range [][]string{{"help"}, {"serve", "--help"}, {"apikey", "create", "-h"}, {"migrate", "status", "--help"},
		{"migrate", "--help"}, {"workspace", "-h"}, {"apikey", "help"}} {
		code, out, _ := run(t, getenv, args...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("crmhub %s: exit %d, stdout %q; want 0 and usage", strings.Join(args, " "), code, out)
		}
	}
	if _, out, _ := run(t, getenv, "serve", "--help"); !strings.Contains(out, "-public-url") || !strings.Contains(out, "CRMHUB_PUBLIC_URL") {
		t.Errorf("serve --help does not name --public-url and CRMHUB_PUBLIC_URL:\n%s", out)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != db.DefaultURL || cfg.Addr != ":8080" || !cfg.Introspection || cfg.ComplexityLimit != 50000 || cfg.RateLimitPoints != 10000 ||
		cfg.LogFormat != "text" || cfg.LogLevel != slog.LevelInfo || cfg.ShutdownTimeout != 20*time.Second || cfg.WebhookAllowPrivate || cfg.DBMaxConns != 20 ||
		cfg.SyncLease != time.Minute || cfg.GCHeadroomMB != 64 ||
		cfg.sessionURL() != db.DefaultURL {
		t.Errorf("defaults = %+v", cfg)
	}

	vars := map[string]string{
		"CRMHUB_ADDR":                  "127.0.0.1:9999",
		"CRMHUB_CORS_ORIGINS":          "https://a.example, https://b.example,",
		"CRMHUB_INTROSPECTION":         "false",
		"CRMHUB_COMPLEXITY_LIMIT":      "250",
		"CRMHUB_RATE_LIMIT_POINTS":     "0",
		"CRMHUB_LOG_FORMAT":            "JSON",
		"CRMHUB_LOG_LEVEL":             "Debug",
		"CRMHUB_SHUTDOWN_TIMEOUT":      "3s",
		"CRMHUB_WEBHOOK_ALLOW_PRIVATE": "true",
		"CRMHUB_DB_MAX_CONNS":          "7",
		"CRMHUB_SYNC_LEASE":            "90s",
		"CRMHUB_GC_HEADROOM_MB":        "0",
		"CRMHUB_LISTEN_DATABASE_URL":   "postgres://owner@db:5432/crmhub",
		"CRMHUB_PUBLIC_URL":            "https://hub.example.com/",
	}
	cfg, err = loadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9999" || strings.Join(cfg.CORSOrigins, " ") != "https://a.example https://b.example" ||
		cfg.Introspection || cfg.ComplexityLimit != 250 || cfg.RateLimitPoints != 0 || cfg.LogFormat != "json" || cfg.LogLevel != slog.LevelDebug ||
		cfg.ShutdownTimeout != 3*time.Second || !cfg.WebhookAllowPrivate || cfg.DBMaxConns != 7 ||
		cfg.SyncLease != 90*time.Second || cfg.GCHeadroomMB != 0 ||
		cfg.sessionURL() != "postgres://owner@db:5432/crmhub" ||
		cfg.PublicURL != "https://hub.example.com" {
		t.Errorf("from environment = %+v", cfg)
	}

	for name, bad := range map[string]string{
		"DATABASE_URL":                 "mysql://root:hunter2@db/x",
		"CRMHUB_INTROSPECTION":         "maybe",
		"CRMHUB_COMPLEXITY_LIMIT":      "lots",
		"CRMHUB_RATE_LIMIT_POINTS":     "-1",
		"CRMHUB_LOG_FORMAT":            "xml",
		"CRMHUB_LOG_LEVEL":             "verbose",
		"CRMHUB_SHUTDOWN_TIMEOUT":      "20",
		"CRMHUB_WEBHOOK_ALLOW_PRIVATE": "yes please",
		"CRMHUB_DB_MAX_CONNS":          "0",
		"CRMHUB_SYNC_LEASE":            "0s",
		"CRMHUB_GC_HEADROOM_MB":        "-1",
		"CRMHUB_LISTEN_DATABASE_URL":   "mysql://root:hunter2@db/x",
		"CRMHUB_PUBLIC_URL":            "https://hub.example.com/?x=1",
	} {
		getenv := func(k string) string {
			if k == name {
				return bad
			}
			return ""
		}
		code, _, errOut := run(t, getenv, "migrate", "status")
		if code != 1 || !strings.Contains(errOut, "environment variable "+name+":") || strings.Contains(errOut, "hunter2") {
			t.Errorf("%s=%q: exit %d, stderr %q; want 1 and an error naming the variable", name, bad, code, errOut)
		}
	}
}

func TestPasswordNotShown(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1: the connection fails, and the error must
	// not repeat the password.
	getenv := env(t, map[string]string{"DATABASE_URL": "postgres://crm:s3cr%40t-pw@127.0.0.1:1/crmhub?sslmode=disable"})
	code, _, errOut := run(t, getenv, "workspace", "create", "--name", "x")
	if code != 1 || errOut == "" || strings.Contains(errOut, "s3cr") {
		t.Errorf("exit %d, stderr %q; want 1 and no password", code, errOut)
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "dev", "key")
	slowStarted, releaseSlow := make(chan struct{}), make(chan struct{})
	shutdownStarted := make(chan struct{})
	stdout := proctest.NewLines()
	var stderr proctest.Buffer
	c := &cli{getenv: env(t, nil), stdout: stdout, stderr: &stderr,
		// /test/slow stands for a long request that is in flight when the
		// stop signal comes.
		wrap: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/test/slow" {
					next.ServeHTTP(w, r)
					return
				}
				close(slowStarted)
				<-releaseSlow
				io.WriteString(w, "finished")
			})
		},
		onShutdown: func() { close(shutdownStarted) },
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	exited := make(chan int, 1)
	go func() {
		exited <- c.run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--dev-key", "--dev-key-file", keyFile, "--log-format", "json"})
		stdout.Close()
	}()

	base := stdout.Next(t, "crmhub listening on ")
	if got := stdout.Next(t, "GraphiQL: "); got != base+"/" {
		t.Errorf("GraphiQL line %q, want %s/", got, base)
	}
	link := stdout.Next(t, "GraphiQL with the dev key: ")
	key := stdout.Next(t, "Dev API key: ")
	if want := base + "/#apiKey=" + key; link != want {
		t.Errorf("GraphiQL dev key link %q, want %q", link, want)
	}
	saved, err := os.ReadFile(keyFile)
	if err != nil || strings.TrimSpace(string(saved)) != key {
		t.Errorf("key file holds %q (%v), want the printed key", saved, err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}

	res, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s", res.Status)
	}

	// The handler is wired to the database with the dev key's workspace.
	req, _ := http.NewRequest("POST", base+"/graphql", strings.NewReader(`{"query":"{ viewer { workspace { name } } }"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", "serve-test-1")
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := `{"data":{"viewer":{"workspace":{"name":"dev"}}}}`; string(body) != want {
		t.Errorf("viewer query: %s %s, want %s", res.Status, body, want)
	}

	// /metrics has the series of the handler and of the service's parts.
	res, err = client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		"crmhub_http_requests_total{", "crmhub_websockets 0", "crmhub_subscriptions 0",
		"crmhub_db_round_trips_total ", "crmhub_db_pool_connections ", "crmhub_db_pool_idle_connections ",
		"crmhub_db_pool_acquired_connections ", "crmhub_db_pool_acquires_total ", "crmhub_db_pool_empty_acquires_total ",
		"crmhub_db_pool_acquire_wait_seconds_total ",
		`crmhub_webhook_deliveries_total{outcome="delivered"} 0`, `crmhub_webhook_deliveries_total{outcome="retrying"} 0`,
		`crmhub_webhook_deliveries_total{outcome="failed"} 0`, `crmhub_webhook_deliveries_total{outcome="disabled"} 0`,
		`crmhub_sync_runs_total{status="succeeded"} 0`, `crmhub_sync_runs_total{status="failed"} 0`,
		`crmhub_sync_runs_total{status="cancelled"} 0`,
		`crmhub_river_jobs{state="available"} `, `crmhub_river_jobs{state="scheduled"} `,
		`crmhub_river_jobs{state="retryable"} `, `crmhub_river_jobs{state="running"} `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}

	// The dev key is reused while it authenticates.
	d := dbtest.Open(t, nil)
	again, err := ensureDevKey(t.Context(), db.NewAuthService(d), keyFile, newLogger(io.Discard, "text", slog.LevelInfo))
	if err != nil || again != key {
		t.Errorf("second ensureDevKey = %q, %v; want the saved key", again, err)
	}

	// A websocket with a live subscription, open when ctx is cancelled:
	// its close code is read as it comes.
	sockClosed := make(chan error, 1)
	{
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		sock, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql",
			&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			t.Fatal(err)
		}
		defer sock.CloseNow()
		for _, m := range []string{
			`{"type":"connection_init","payload":{"Authorization":"Bearer ` + key + `"}}`,
			`{"id":"1","type":"subscribe","payload":{"query":"subscription { events { id } }"}}`,
		} {
			if err := sock.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		go func() {
			for {
				if _, b, err := sock.Read(ctx); err != nil {
					sockClosed <- err
					return
				} else if !strings.Contains(string(b), `"connection_ack"`) {
					sockClosed <- fmt.Errorf("got %s before the close", b)
					return
				}
			}
		}()
	}

	// Graceful shutdown: a request in flight when ctx is cancelled finishes.
	slowDone := make(chan string, 1)
	go func() {
		res, err := client.Get(base + "/test/slow")
		if err != nil {
			slowDone <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		slowDone <- res.Status + " " + string(b)
	}()
	<-slowStarted
	cancel()
	select {
	case <-shutdownStarted:
	case <-time.After(30 * time.Second):
		t.Fatal("shutdown did not start after ctx was cancelled")
	}
	select {
	case code := <-exited:
		t.Fatalf("serve exited (code %d) while a request was in flight", code)
	default:
	}
	close(releaseSlow)
	if got := <-slowDone; got != "200 OK finished" {
		t.Errorf("in-flight request got %q, want 200 OK finished", got)
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("serve exited with %d\nstderr: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not return after its last request finished")
	}
	// The websocket, which http.Server does not track, closed with 1001.
	if err := <-sockClosed; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("websocket ended with %v, want close 1001 (going away)", err)
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no JSON log line for the stop:\n%s", stderr.String())
	}
	// The request's access log line carries its id, workspace and key.
	found := false
	for _, l := range strings.Split(stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["request_id"] == "serve-test-1" && rec["msg"] == "http request" {
			found = rec["workspace_id"] != nil && rec["api_key_id"] != nil
		}
	}
	if !found {
		t.Errorf("no access log line with the request's id, workspace and key:\n%s", stderr.String())
	}
}

// Package e2e runs the crmhub binary end to end: the Node client test of
// the subscriptions (graphql-ws over ws), GraphiQL in headless Chromium,
// and a SIGKILL while webhook deliveries are pending.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/internal/proctest"
	"github.com/crmhub/crmhub/internal/stdwebhook"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// debianPackage names the Debian package of each program the tests run.
var debianPackage = map[string]string{"node": "nodejs", "npm": "npm", "go": "golang-go"}

// tool finds a program the tests need; CI machines have go, node and npm, so
// a missing one is a failure, not a reason to skip.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required by the end-to-end tests: install the Debian package %s (apt-get install %[2]s; Node.js 20 or later): %v",
			name, debianPackage[name], err)
	}
	return p
}

// npmCI installs the exact packages of dir's package-lock.json with npm ci
// (from npm's cache when it holds them), unless node_modules already holds
// that lock file's tree: npm records the tree it installed in
// node_modules/.package-lock.json, newer than the lock file it came from.
func npmCI(t *testing.T, dir string) {
	t.Helper()
	npm := tool(t, "npm")
	lock, errLock := os.Stat(filepath.Join(dir, "package-lock.json"))
	installed, errInstalled := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if errLock == nil && errInstalled == nil && installed.ModTime().After(lock.ModTime()) {
		return
	}
	ctx, cancel := proctest.Deadline(t)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--prefer-offline", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
}

// runNode runs a Node program in dir with env added to its environment
// and returns its output and how it ended.
func runNode(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := proctest.Deadline(t)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool(t, "node"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// nodeAgainst runs a Node program in dir against the server s, which it
// finds in CRMHUB_HTTP and CRMHUB_KEY; a non-zero exit fails the test.
func nodeAgainst(t *testing.T, s *server, dir string, args ...string) string {
	t.Helper()
	out, err := runNode(t, dir, []string{"CRMHUB_HTTP=" + s.Base + "/graphql", "CRMHUB_KEY=" + s.Key}, args...)
	if err != nil {
		t.Fatalf("node %s: %v\n%s\nserver log:\n%s", strings.Join(args, " "), err, out, s.Stderr)
	}
	return out
}

// TestNodeSubscriptions runs subscriptions.test.mjs with the real
// graphql-ws client against the real binary.
func TestNodeSubscriptions(t *testing.T) {
	npmCI(t, ".")
	dir := t.TempDir()
	s := start(t, build(t, dir), filepath.Join(dir, "dev-key"), []string{"DATABASE_URL=" + dbtest.URL(t)})
	out := nodeAgainst(t, s, ".", "--test", "subscriptions.test.mjs")
	if !strings.Contains(out, "# pass 2") || !strings.Contains(out, "# fail 0") {
		t.Fatalf("node ran other than the two tests:\n%s", out)
	}
	t.Logf("node:\n%s", out)
}

// TestGraphQLOverHTTPAudit runs graphql-http's audit of the
// GraphQL-over-HTTP spec (audit.mjs) against the real binary: a failed
// MUST, a warning (a failed SHOULD) or a notice (a MAY) fails it.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	npmCI(t, ".")
	dir := t.TempDir()
	s := start(t, build(t, dir), filepath.Join(dir, "dev-key"), []string{"DATABASE_URL=" + dbtest.URL(t)})
	out := nodeAgainst(t, s, ".", "audit.mjs")
	if !strings.Contains(out, " 0 not ok") {
		t.Fatalf("the audit did not report its results:\n%s", out)
	}
	t.Logf("%s", out)
}

// build compiles cmd/crmhub into dir and returns the binary's path.
func build(t *testing.T, dir string) string {
	t.Helper()
	goBin := tool(t, "go")
	bin := filepath.Join(dir, "crmhub")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/crmhub")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// server is one run of the crmhub binary.
type server struct{ *proctest.Server }

// start runs `crmhub serve` and waits for its address and dev key.
func start(t *testing.T, bin, keyFile string, env []string, args ...string) *server {
	t.Helper()
	return &server{proctest.StartServer(t, bin, env,
		append([]string{"serve", "--addr", "127.0.0.1:0", "--dev-key", "--dev-key-file", keyFile}, args...)...)}
}

// do runs a GraphQL operation that must succeed.
func (s *server) do(t *testing.T, query string, vars map[string]any, out any) {
	t.Helper()
	// The answer alone says "internal error"; the cause is in the log.
	if err := proctest.TryGraphQL(s.Base, s.Key, query, vars, out); err != nil {
		t.Fatalf("%v\nserver log:\n%s", err, s.Stderr)
	}
}

// hit is one request the receiver got.
type hit struct {
	webhookID string
	event     struct{ ID, Type, SubjectID string }
}

// TestWebhookSurvivesSIGKILL: events committed while their delivery is
// still to come are delivered after the server is killed and started
// again. One event's delivery has failed once (its River job is waiting
// for the retry) and another event is committed while no server runs.
func TestWebhookSurvivesSIGKILL(t *testing.T) {
	// The package's other tests (and earlier runs under -count) leave
	// jobs of their own; this one looks at those made since it began.
	began := time.Now().Add(-time.Second)
	dir := t.TempDir()
	bin := build(t, dir)
	env := []string{"DATABASE_URL=" + dbtest.URL(t), "CRMHUB_WEBHOOK_ALLOW_PRIVATE=true",
		"CRMHUB_SECRET_KEY=" + db.NewSecretKey(), "CRMHUB_LOG_FORMAT=text"}
	keyFile := filepath.Join(dir, "dev-key")

	// The receiver refuses until told otherwise and verifies every
	// signature with the endpoint's secret.
	var (
		mu      sync.Mutex
		secret  string
		accept  bool
		problem []string
	)
	hits := make(chan hit, 100)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var h hit
		h.webhookID = r.Header.Get("webhook-id")
		json.Unmarshal(body, &h.event)
		mu.Lock()
		ok, sec := accept, secret
		if !stdwebhook.Verify(sec, h.webhookID, r.Header.Get("webhook-timestamp"), body, r.Header.Get("webhook-signature")) {
			problem = append(problem, fmt.Sprintf("bad signature on %s", body))
		}
		mu.Unlock()
		if ok {
			w.WriteHeader(http.StatusNoContent)
		} else {
			http.Error(w, "not now", http.StatusServiceUnavailable)
		}
		hits <- h
	}))
	defer rc.Close()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problem {
			t.Error(p)
		}
	}()
	var current *server // for its log when a wait fails
	next := func(what string) hit {
		t.Helper()
		select {
		case h := <-hits:
			return h
		case <-time.After(60 * time.Second):
			t.Fatalf("receiver: no request within 60 s (%s); server log:\n%s", what, current.Stderr)
		}
		return hit{}
	}

	s1 := start(t, bin, keyFile, env)
	current = s1
	var created struct {
		CreateWebhookEndpoint struct {
			Endpoint struct{ ID string }
			Secret   string
		}
	}
	s1.do(t, `mutation($url: String!) { createWebhookEndpoint(url: $url, events: ["contact.created"]) { endpoint { id } secret } }`,
		map[string]any{"url": rc.URL}, &created)
	mu.Lock()
	secret = created.CreateWebhookEndpoint.Secret
	mu.Unlock()
	var c1 struct{ CreateContact struct{ ID string } }
	s1.do(t, `mutation { createContact(input: {identifiers: [{type: EMAIL, value: "first@example.com"}]}) { id } }`, nil, &c1)
	refused := next("first attempt")
	if refused.event.SubjectID != c1.CreateContact.ID {
		t.Fatalf("first attempt delivered %+v", refused.event)
	}
	// Kill only once the failed attempt is recorded and River has put its
	// job back to wait for the retry: the job then waits in PostgreSQL,
	// "scheduled", or "available" with a future scheduled_at when the wait
	// is shorter than River's scheduler interval (the first retry's is).
	// (A job still marked running when its process dies waits for River's
	// stuck-job rescue instead, an hour by default.)
	pool, err := pgxpool.New(context.Background(), dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ds struct {
			WebhookDeliveries struct {
				Edges []struct{ Node struct{ Status string } }
			}
		}
		s1.do(t, `{ webhookDeliveries { edges { node { status } } } }`, nil, &ds)
		var jobs []string
		rows, _ := pool.Query(context.Background(), "SELECT state::text FROM river_job WHERE created_at >= $1", began)
		jobs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if e := ds.WebhookDeliveries.Edges; len(e) == 1 && e[0].Node.Status == "RETRYING" && (slices.Equal(jobs, []string{"scheduled"}) || slices.Equal(jobs, []string{"available"})) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failed attempt is not recorded: %+v, jobs %v", ds, jobs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s1.Kill(t)

	// An event committed while no server runs.
	d := dbtest.Open(t, nil)
	p, err := db.NewAuthService(d).Authenticate(context.Background(), s1.Key)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := db.NewContactService(d).CreateContact(crmhub.NewContext(context.Background(), p), crmhub.ContactInput{
		Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityEmail, Value: "second@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	accept = true
	mu.Unlock()
	s2 := start(t, bin, keyFile, env)
	current = s2
	if s2.Key != s1.Key {
		t.Fatalf("the restarted server uses another workspace")
	}
	want := map[string]bool{c1.CreateContact.ID: true, c2.GlobalID(): true}
	got := map[string]string{}
	for len(got) < len(want) {
		h := next("after the restart")
		if !want[h.event.SubjectID] {
			t.Fatalf("unexpected delivery %+v", h)
		}
		got[h.event.SubjectID] = h.webhookID
	}
	if got[c1.CreateContact.ID] != refused.webhookID {
		t.Fatalf("the retried delivery has webhook-id %s, the refused one had %s", got[c1.CreateContact.ID], refused.webhookID)
	}
	var ds struct {
		WebhookDeliveries struct {
			Edges []struct {
				Node struct {
					Status       string
					AttemptCount int
					Attempts     []struct {
						StatusCode int
						Error      string
					}
				}
			}
		}
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		s2.do(t, `{ webhookDeliveries { edges { node { status attemptCount attempts { statusCode error } } } } }`, nil, &ds)
		e := ds.WebhookDeliveries.Edges
		if len(e) == 2 && e[0].Node.Status == "DELIVERED" && e[1].Node.Status == "DELIVERED" {
			if e[0].Node.AttemptCount != 1 || e[1].Node.AttemptCount != 2 {
				t.Fatalf("deliveries %+v", e)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries not DELIVERED: %+v\nserver log:\n%s", e, s2.Stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInFlightDeliveryAfterSIGKILL: a delivery whose request is still in
// flight when its server is killed (its River job is "running" on a dead
// process) is made again by the restarted server within a minute, with the
// same webhook-id (River's default would leave it for an hour).
func TestInFlightDeliveryAfterSIGKILL(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir)
	// As production should run: a login role that is not a superuser and
	// owns nothing (migrations ran as the owner, so --no-migrate).
	env := []string{"DATABASE_URL=" + dbtest.ServiceURL(t), "CRMHUB_WEBHOOK_ALLOW_PRIVATE=true",
		"CRMHUB_SECRET_KEY=" + db.NewSecretKey(), "CRMHUB_LOG_FORMAT=text"}
	keyFile := filepath.Join(dir, "dev-key")

	// The receiver holds the first request open until its caller goes
	// away, and answers 204 to every later one.
	var first sync.Once
	hits := make(chan hit, 10)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var h hit
		h.webhookID = r.Header.Get("webhook-id")
		json.Unmarshal(body, &h.event)
		hold := false
		first.Do(func() { hold = true })
		hits <- h
		if hold {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	next := func(what string, within time.Duration, s *server) hit {
		t.Helper()
		select {
		case h := <-hits:
			return h
		case <-time.After(within):
			t.Fatalf("receiver: no request within %s (%s); server log:\n%s", within, what, s.Stderr)
		}
		return hit{}
	}

	conn, err := pgx.Connect(context.Background(), dbtest.ServiceURL(t))
	if err != nil {
		t.Fatal(err)
	}
	var super bool
	var owned int
	err = conn.QueryRow(context.Background(), `SELECT r.rolsuper, (SELECT count(*) FROM pg_tables WHERE tableowner = session_user)
		FROM pg_roles r WHERE r.rolname = session_user`).Scan(&super, &owned)
	conn.Close(context.Background())
	if err != nil || super || owned != 0 {
		t.Fatalf("the service role: superuser %v, owns %d tables (%v); want neither", super, owned, err)
	}
	s1 := start(t, bin, keyFile, env, "--no-migrate")
	var created struct {
		CreateWebhookEndpoint struct{ Endpoint struct{ ID string } }
	}
	s1.do(t, `mutation($url: String!) { createWebhookEndpoint(url: $url, events: ["contact.created"]) { endpoint { id } } }`,
		map[string]any{"url": rc.URL}, &created)
	var c struct{ CreateContact struct{ ID string } }
	s1.do(t, `mutation { createContact(input: {identifiers: [{type: EMAIL, value: "inflight@example.com"}]}) { id } }`, nil, &c)
	held := next("the first attempt", 60*time.Second, s1)
	if held.event.SubjectID != c.CreateContact.ID {
		t.Fatalf("first attempt delivered %+v", held.event)
	}
	s1.Kill(t)

	restarted := time.Now()
	s2 := start(t, bin, keyFile, env, "--no-migrate")
	again := next("the retry after the restart", 60*time.Second, s2)
	t.Logf("redelivered %s after the restart", time.Since(restarted).Round(time.Second))
	if again.webhookID != held.webhookID || again.event.SubjectID != c.CreateContact.ID {
		t.Fatalf("redelivery %+v, want webhook-id %s", again, held.webhookID)
	}
}

package workloads

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub/bench/run"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/resolver"
	"github.com/jackc/pgx/v5/pgxpool"
)

// subsEnv is a quick Env with crmhub served in this process (handler,
// services and the event hub as `crmhub serve` wires them) over a seeded
// workspace; there is no PostGraphile.
func subsEnv(t *testing.T, contacts int) *run.Env {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t, nil)
	_, ws, key := dbtest.Workspace(t, d)
	if _, err := db.Seed(ctx, d, ws.ID, db.SeedConfig{Contacts: contacts, Users: 1, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	hub := db.NewHub(d, db.HubConfig{Log: log})
	hctx, stop := context.WithCancel(ctx)
	hubDone := make(chan struct{})
	go func() { hub.Run(hctx); close(hubDone) }()
	t.Cleanup(func() { stop(); <-hubDone })
	select {
	case <-hub.Listening():
	case <-time.After(30 * time.Second):
		t.Fatal("the hub did not listen")
	}
	auth := db.NewAuthService(d)
	h := resolver.NewHandler(resolver.Config{Contacts: db.NewContactService(d), Auth: auth,
		APIKeys: auth, Workspaces: auth, Events: db.NewEventService(d, hub), ReadScope: d.ReadScope, Logger: log})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { // before the hub stops: the sockets' operations end first
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("handler shutdown: %v", err)
		}
	})
	pool, err := pgxpool.New(ctx, dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &run.Env{DatabaseURL: dbtest.URL(t), Pool: pool, Workspace: ws.ID, WorkspaceID: ws.GlobalID(), APIKey: key,
		Crmhub: &run.Target{Name: "crmhub", URL: srv.URL, PID: os.Getpid()}, Quick: true, Rounds: 1, Duration: time.Second}
}

// TestSubscriptionsQuick runs the workload's crmhub side at quick scale
// (200 subscribers, 50 changes/s for 3 s): every change must reach its
// subscriber exactly once, and none of the subscriptions may end.
func TestSubscriptionsQuick(t *testing.T) {
	env := subsEnv(t, 300)
	sc := subsScaleFor(env)
	contacts, err := subsContacts(context.Background(), env, sc.Subscribers)
	if err != nil {
		t.Fatal(err)
	}
	res, err := measureSubscriptions(context.Background(), crmhubSubsTarget(env, env.Crmhub), contacts, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Connected != sc.Subscribers || res.Primed != sc.Subscribers {
		t.Errorf("%d of %d subscribers connected (%s), %d primed", res.Connected, sc.Subscribers, res.ConnectErr, res.Primed)
	}
	if want := int(float64(sc.Rate) * sc.Duration.Seconds()); res.Sent != want || res.WriteErrors > 0 {
		t.Errorf("%d changes written, want %d (%d failed: %s)", res.Sent, want, res.WriteErrors, res.WriteErr)
	}
	if res.Delivered != res.Expected || res.Lost() != 0 || res.Ended != 0 {
		t.Errorf("%d of %d changes delivered: %d dropped, %d duplicates, %d misrouted, %d subscriptions ended (%s)",
			res.Delivered, res.Expected, res.Dropped, res.Duplicates, res.Misrouted, res.Ended, res.EndReason)
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.RSSConnected <= 0 {
		t.Errorf("implausible measurements: %s", res)
	}

	sec := subsSection(sc, []*subsTarget{crmhubSubsTarget(env, env.Crmhub)}, map[string][]subsResult{"crmhub": {res}})
	if !strings.Contains(sec.Body, "| crmhub | 1 | 200/200 |") || len(sec.Ratios) != 3 || !sec.Ratios[1].Met {
		t.Errorf("section:\n%s\n%+v", sec.Body, sec.Ratios)
	}
}

// TestSubscriptionsFull runs the whole workload at full scale against
// `crmhub serve` built from this tree, in its own process, and PostGraphile
// when bench/postgraphile is installed; it is for measuring by hand
// (CRMHUB_BENCH_SUBSCRIPTIONS=1 go test ./bench/workloads -run
// TestSubscriptionsFull -v -timeout 30m), the runner does the same in
// `make bench`.
func TestSubscriptionsFull(t *testing.T) {
	if os.Getenv("CRMHUB_BENCH_SUBSCRIPTIONS") == "" {
		t.Skip("set CRMHUB_BENCH_SUBSCRIPTIONS=1 to measure at full scale")
	}
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "crmhub")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/crmhub/crmhub/cmd/crmhub").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	d := dbtest.Open(t, nil)
	_, ws, key := dbtest.Workspace(t, d)
	if _, err := db.Seed(ctx, d, ws.ID, db.SeedConfig{Contacts: 10_000, Users: 1, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	addr, err := run.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	p, err := run.Start(".", append([]string{"DATABASE_URL=" + dbtest.URL(t), "CRMHUB_ADDR=" + addr,
		"CRMHUB_SECRET_KEY=" + base64.StdEncoding.EncodeToString(secret), "CRMHUB_LOG_FORMAT=json"},
		SubscriptionsServeEnv...), bin, "serve", "--no-migrate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	env := &run.Env{DatabaseURL: dbtest.URL(t), Pool: pool, Workspace: ws.ID, WorkspaceID: ws.GlobalID(), APIKey: key,
		Crmhub: &run.Target{Name: "crmhub", URL: "http://" + addr, PID: p.PID()}, Rounds: 1, Duration: 10 * time.Second,
		Log: slog.Default()}
	if err := p.WaitHTTP(env.Crmhub.URL+"/readyz", nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("../postgraphile/node_modules/.bin/node"); err == nil {
		pt, pp, err := run.PostGraphile(ctx, "../postgraphile", dbtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pp.Stop)
		env.PostGraphile = pt
	}
	sec, err := subscriptions(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s\n\n%s", sec.Title, sec.Body)
	for _, r := range sec.Ratios {
		t.Logf("%s: %.2f %s (goal %s, met %v)", r.What, r.Value, r.Unit, r.Goal, r.Met)
	}
}

// TestSubscriptionsGraphQLWSPeer runs the graphql-ws peer (bench/graphqlws,
// installed by npm ci if needed) at quick scale: it must send what crmhub
// sends for the same change, and deliver every change to its subscriber
// exactly once; the report must then compare crmhub's memory with it.
func TestSubscriptionsGraphQLWSPeer(t *testing.T) {
	if _, err := os.Stat("../graphqlws/node_modules/.bin/node"); err != nil {
		if _, err := exec.LookPath("npm"); err != nil {
			t.Skip("bench/graphqlws is not installed and there is no npm to install it")
		}
	}
	env := subsEnv(t, 300)
	ctx := context.Background()
	gt, gp, err := run.GraphQLWS(ctx, "../graphqlws", env.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gp.Stop)
	env.GraphQLWS = gt
	sc := subsScaleFor(env)
	contacts, err := subsContacts(ctx, env, sc.Subscribers)
	if err != nil {
		t.Fatal(err)
	}
	crm, peer := crmhubSubsTarget(env, env.Crmhub), graphqlwsSubsTarget(env)
	if err := subsCheckPeer(ctx, crm, peer, contacts[0]); err != nil {
		t.Fatal(err)
	}
	res, err := measureSubscriptions(ctx, peer, contacts, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if !res.deliveredAll() {
		t.Errorf("graphql-ws did not deliver every change: %s (ended: %s, write: %s)", res, res.EndReason, res.WriteErr)
	}
	crmRes := res
	crmRes.RSSBefore, crmRes.RSSConnected = 0, 1024*int64(res.Connected) // 1 KiB per connection
	sec := subsSection(sc, []*subsTarget{crm, peer}, map[string][]subsResult{"crmhub": {crmRes}, "graphql-ws": {res}})
	if len(sec.Ratios) != 4 || !strings.Contains(sec.Ratios[3].What, "crmhub / graphql-ws") || sec.Ratios[3].Value <= 0 {
		t.Errorf("no memory ratio against the peer that delivered:\n%s\n%+v", sec.Body, sec.Ratios)
	}
	// A peer that dropped one event is not compared.
	res.Dropped, res.Delivered = 1, res.Delivered-1
	sec = subsSection(sc, []*subsTarget{crm, peer}, map[string][]subsResult{"crmhub": {crmRes}, "graphql-ws": {res}})
	if len(sec.Ratios) != 3 || !strings.Contains(sec.Body, "graphql-ws did not deliver every event") {
		t.Errorf("a peer that dropped an event is compared:\n%s\n%+v", sec.Body, sec.Ratios)
	}
}

// TestSubscriptionsReusedRoundsAreNotCompared checks that a later round,
// which measures the same process again, gives no RSS per connection: it
// starts from the memory the first round left (here it even shrank).
func TestSubscriptionsReusedRoundsAreNotCompared(t *testing.T) {
	sc := subsScale{Subscribers: 10, Rate: 10, Batch: 1, Duration: time.Second}
	crm := &subsTarget{name: "crmhub"}
	first := subsResult{Subscribers: 10, Connected: 10, Primed: 10, Expected: 10, Delivered: 10, Sent: 10,
		RSSBefore: 0, RSSConnected: 10 * 50 << 10} // 50 KiB per connection
	second := first
	second.RSSBefore, second.RSSConnected, second.Reused = 900<<20, 800<<20, true
	sec := subsSection(sc, []*subsTarget{crm}, map[string][]subsResult{"crmhub": {first, second}})
	if r := sec.Ratios[2]; r.Value != 50 || r.Met {
		t.Errorf("RSS per connection %+v, want 50 KiB from the first round only", r)
	}
	if !strings.Contains(sec.Body, "(process reused)") {
		t.Errorf("the reused round shows a figure:\n%s", sec.Body)
	}
}

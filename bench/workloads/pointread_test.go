package workloads

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/bench/floor"
	"github.com/crmhub/crmhub/bench/run"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/resolver"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// servedEnv is a small seeded workspace served as `crmhub serve` serves
// it (the key cache on, kept by a hub's listener; the read scope; the pool
// counters on /metrics), by the floor on a pool of its own, and by
// PostGraphile when bench/postgraphile is installed and asked for (never
// needed: `make test` has no npm).
func servedEnv(t testing.TB, withPostGraphile bool) *run.Env {
	env, _ := servedSeed(t, db.SeedConfig{Contacts: 300, Deals: 10, Conversations: 10,
		MessagesPerConversation: 1, Users: 3, Seed: 11}, withPostGraphile)
	return env
}

// servedSeed is servedEnv over a dataset of cfg; it also returns crmhub's
// database, for its QueryStats.
func servedSeed(t testing.TB, cfg db.SeedConfig, withPostGraphile bool) (*run.Env, *db.DB) {
	t.Helper()
	d := dbtest.Open(t, nil)
	ctx, ws, key := dbtest.Workspace(t, d)
	if _, err := db.Seed(ctx, d, ws.ID, cfg); err != nil {
		t.Fatal(err)
	}
	hub := db.NewHub(d, db.HubConfig{Log: slog.New(slog.DiscardHandler)})
	auth := db.NewAuthService(d)
	auth.UseHub(hub)
	hubCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { hub.Run(hubCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	<-hub.Listening()
	reg := prometheus.NewRegistry()
	for name, v := range map[string]func(db.QueryStats) uint64{
		"crmhub_db_statements_total":  func(s db.QueryStats) uint64 { return s.Statements },
		"crmhub_db_round_trips_total": func(s db.QueryStats) uint64 { return s.RoundTrips },
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name},
			func() float64 { return float64(v(d.QueryStats())) }))
	}
	srv := httptest.NewServer(resolver.NewHandler(resolver.Config{Contacts: db.NewContactService(d), Auth: auth, APIKeys: auth,
		Workspaces: auth, Users: db.NewUserService(d), Deals: db.NewDealService(d), Conversations: db.NewConversationService(d, nil),
		ReadScope: d.ReadScope, Registerer: reg, Gatherer: reg, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	floorSrv := httptest.NewServer(&floor.Handler{Pool: dbtest.Open(t, nil).Pool})
	t.Cleanup(floorSrv.Close)
	owner, err := pgxpool.New(ctx, dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	env := &run.Env{DatabaseURL: dbtest.URL(t), Pool: owner, Workspace: ws.ID, WorkspaceID: ws.GlobalID(), APIKey: key,
		Crmhub: &run.Target{Name: "crmhub", URL: srv.URL}, Floor: &run.Target{Name: "floor", URL: floorSrv.URL},
		Quick: true, Rounds: 1, Duration: 700 * time.Millisecond, Log: slog.New(slog.DiscardHandler)}
	dir, _ := filepath.Abs("../postgraphile")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "node")); withPostGraphile && err == nil {
		target, p, err := run.PostGraphile(ctx, dir, dbtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		env.PostGraphile = target
	}
	return env, d
}

// TestPointReadAndResolve runs both workloads at the quick scale against
// the real handler; each checks, before timing, that the floor (and
// PostGraphile, when installed) answers what crmhub answers, so a wrong
// floor or a wrong crmhub fails here.
func TestPointReadAndResolve(t *testing.T) {
	env := servedEnv(t, true)
	for _, route := range []string{"/contact", "/resolve"} {
		req, err := env.FloorRequest(route, map[string]any{"id": missingContact, "phone": "+15550000000"})
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer crm_"+env.APIKey[4:10]+"x")
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("floor %s with a bad key: %v %v", route, res, err)
		}
	}
	for _, w := range []struct {
		name string
		run  func(context.Context, *run.Env) (*run.Section, error)
	}{{"point-read", pointRead}, {"resolve", resolve}} {
		t.Run(w.name, func(t *testing.T) {
			s, err := w.run(t.Context(), env)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(s.Body, "| crmhub |") || !strings.Contains(s.Body, "| floor |") {
				t.Fatalf("section:\n%s", s.Body)
			}
			for _, r := range s.Ratios {
				t.Logf("%s: %.2f %s (goal %s, met %v)", r.What, r.Value, r.Unit, r.Goal, r.Met)
				// The round trips do not depend on the machine's load: one
				// batch per request, plus the key's last-use stamp.
				if strings.Contains(r.What, "round trips") && r.Value > 1.1 {
					t.Errorf("%s: %.2f", r.What, r.Value)
				}
			}
			t.Logf("\n%s", s.Body)
		})
	}
}

// BenchmarkPointRead times crmhub's handler in-process on the point read
// (8 in flight), for CPU profiles and A/B runs of two builds:
//
//	go test ./bench/workloads -run '^$' -bench PointRead -cpuprofile cpu.out
//
// Its sub-benchmark floor sends the same reads to the floor in the same
// process, so the two cpu-ns/op figures show what crmhub's Go side costs
// over the floor's (the client's share is the same in both).
func BenchmarkPointRead(b *testing.B) {
	env := servedEnv(b, false)
	ids, err := sampleContacts(b.Context(), env, 300)
	if err != nil {
		b.Fatal(err)
	}
	vars := func(i int) map[string]any {
		return map[string]any{"id": crmhub.GlobalID(crmhub.KindContact, ids[i%len(ids)])}
	}
	b.Run("crmhub", func(b *testing.B) { benchRequests(b, crmhubRequests(env, pointQuery, vars)) })
	b.Run("floor", func(b *testing.B) { benchRequests(b, floorRequests(env, "/contact", vars)) })
}

// BenchmarkResolve is BenchmarkPointRead for resolveContact by phone.
func BenchmarkResolve(b *testing.B) {
	env := servedEnv(b, false)
	phones, err := samplePhones(b.Context(), env, 300)
	if err != nil {
		b.Fatal(err)
	}
	vars := func(i int) map[string]any { return map[string]any{"phone": phones[i%len(phones)]} }
	b.Run("crmhub", func(b *testing.B) { benchRequests(b, crmhubRequests(env, resolveQuery, vars)) })
	b.Run("floor", func(b *testing.B) { benchRequests(b, floorRequests(env, "/resolve", vars)) })
}

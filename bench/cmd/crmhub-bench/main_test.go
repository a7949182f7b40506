package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub/bench/run"
	"github.com/crmhub/crmhub/bench/workloads"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/crmhub/crmhub/internal/proctest"
	"github.com/jackc/pgx/v5"
)

// TestQuickRun runs `make bench`'s runner end to end at the quick scale,
// without PostGraphile (tests need no npm): every workload must run and
// report, and the report must land between the markers of an existing
// BENCHMARKS.md without touching the text around them.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries and seeds a database")
	}
	dir, crmhub, runner := build(t)
	u := databaseURL(t, "bench_quick")
	t.Cleanup(func() {
		if err := dropDatabase(context.Background(), u.String()); err != nil {
			t.Log(err)
		}
	})

	report := filepath.Join(dir, "BENCHMARKS.md")
	before := "# Benchmarks\n\nIntro.\n\n" + run.BeginMarker + "\nold results\n" + run.EndMarker + "\n\n## History\n\nKept.\n"
	if err := os.WriteFile(report, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := proctest.Deadline(t)
	defer cancel()
	cmd := exec.CommandContext(ctx, runner, "--quick", "--no-postgraphile", "--no-graphqlws", "--crmhub", crmhub,
		"--database-url", u.String(), "--out", report)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("crmhub-bench --quick: %v\n%s", err, out)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if !strings.HasPrefix(got, "# Benchmarks\n\nIntro.\n\n"+run.BeginMarker) || !strings.HasSuffix(got, run.EndMarker+"\n\n## History\n\nKept.\n") ||
		strings.Contains(got, "old results") {
		t.Fatalf("report not written between the markers:\n%s", got)
	}
	if sections := strings.Count(got, "\n### ") - 1; sections != len(workloads.All()) { // minus "Targets"
		t.Errorf("%d sections for %d workloads:\n%s", sections, len(workloads.All()), got)
	}
	if strings.Contains(got, "the workload failed") {
		t.Errorf("a workload failed:\n%s", got)
	}
}

// build compiles crmhub and this runner into a temporary directory.
func build(t *testing.T) (dir, crmhub, runner string) {
	t.Helper()
	dir = t.TempDir()
	crmhub = filepath.Join(dir, "crmhub")
	runner = filepath.Join(dir, "crmhub-bench")
	for _, b := range [][]string{{crmhub, "../../../cmd/crmhub"}, {runner, "."}} {
		if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	return dir, crmhub, runner
}

// databaseURL is the URL of a database named for this test run (what)
// on the test server.
func databaseURL(t *testing.T, what string) *url.URL {
	t.Helper()
	server := os.Getenv(dbtest.EnvURL)
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	name, err := dbtest.NewName(what)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u
}

// TestScaleQuickRun runs `make bench-scale`'s runner at two small sizes:
// every request must be answered at both, the table must show each, and
// the databases must be gone afterwards.
func TestScaleQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries and seeds two databases")
	}
	_, crmhub, runner := build(t)
	u := databaseURL(t, "bench_scale")
	u.Path += "_%d"
	pattern := strings.Replace(u.String(), "_%25d", "_%d", 1)
	sizes := []int{1000, 2000}
	t.Cleanup(func() {
		for _, n := range sizes {
			if err := dropDatabase(context.Background(), fmt.Sprintf(pattern, n)); err != nil {
				t.Log(err)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, runner, "scale", "-crmhub", crmhub, "-database-url", pattern,
		"-sizes", "1000,2000", "-duration", "200ms").Output()
	if err != nil {
		var stderr []byte
		if e, ok := err.(*exec.ExitError); ok {
			stderr = e.Stderr
		}
		t.Fatalf("crmhub-bench scale: %v\n%s\n%s", err, out, stderr)
	}
	table := string(out)
	for _, want := range []string{"| request | 1k: p50, 1 at a time | 1k: req/s, 8 in flight | 2k: p50", "| point read |",
		"| resolve by phone |", "| page of 20 contacts |", "| updatedSince", "| page of 50 deals |", "| event feed",
		`| search "ivan" |`, `| tags ["vip"] |`, "| totalCount |", "- 2k contacts: seeded in"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table has no %q:\n%s", want, table)
		}
	}
	for _, n := range sizes {
		if conn, err := pgx.Connect(ctx, fmt.Sprintf(pattern, n)); err == nil {
			conn.Close(ctx)
			t.Errorf("the database of %d contacts is still there", n)
		}
	}
}

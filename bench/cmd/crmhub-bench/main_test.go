package main

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
	dir := t.TempDir()
	crmhub := filepath.Join(dir, "crmhub")
	runner := filepath.Join(dir, "crmhub-bench")
	for _, b := range [][]string{{crmhub, "../../../cmd/crmhub"}, {runner, "."}} {
		if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	server := os.Getenv(dbtest.EnvURL)
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	name, err := dbtest.NewName("bench_quick")
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	t.Cleanup(func() { dropDatabase(t, u) })

	report := filepath.Join(dir, "BENCHMARKS.md")
	before := "# Benchmarks\n\nIntro.\n\n" + run.BeginMarker + "\nold results\n" + run.EndMarker + "\n\n## History\n\nKept.\n"
	if err := os.WriteFile(report, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := proctest.Deadline(t)
	defer cancel()
	cmd := exec.CommandContext(ctx, runner, "--quick", "--no-postgraphile", "--crmhub", crmhub,
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

func dropDatabase(t *testing.T, u *url.URL) {
	admin := *u
	admin.Path = "/postgres"
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		t.Log(err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{u.Path[1:]}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Log(err)
	}
}

// Package run is the `make bench` runner's library: the environment a
// workload runs in (a seeded database and the three targets, each in its own
// process), the A/B/A/B alternation of measurements, and the report's
// sections. The program is bench/cmd/crmhub-bench; each workload lives in
// its own file of package bench/workloads and registers itself there.
package run

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Env is what a workload gets: the seeded benchmark database and the
// running targets.
type Env struct {
	// DatabaseURL is the benchmark database as its owner (superuser); Pool
	// is a pool on it for preparing data and for checks. Workloads must
	// not use it on the measured path of crmhub.
	DatabaseURL string
	Pool        *pgxpool.Pool
	// Workspace is the seeded workspace (raw uuid and global "ws_" id);
	// APIKey is its admin key (every scope).
	Workspace   uuid.UUID
	WorkspaceID string
	APIKey      string
	// Seed describes the dataset (`crmhub seed --json`).
	Seed SeedStats

	// The targets: crmhub (`crmhub serve`, GraphQL at /graphql, websocket
	// at /graphql, Prometheus at /metrics), the floor (bench/floor, one
	// route per workload) and PostGraphile 5 (GraphQL and websocket at
	// /graphql, X-Workspace-Id header). Each runs in its own process.
	Crmhub, Floor, PostGraphile *Target

	// Quick asks for short measurements (the runner's own test and
	// `crmhub-bench --quick`): correctness, not numbers.
	Quick bool
	// Rounds is how many times each target is measured (A/B/A/B...), and
	// Duration how long one measurement lasts.
	Rounds   int
	Duration time.Duration
	Log      *slog.Logger
}

// SeedStats is what `crmhub seed --json` printed.
type SeedStats struct {
	Users         int     `json:"users"`
	Contacts      int     `json:"contacts"`
	Identities    int     `json:"identities"`
	Tags          int     `json:"tags"`
	Deals         int     `json:"deals"`
	DealContacts  int     `json:"dealContacts"`
	Conversations int     `json:"conversations"`
	Messages      int     `json:"messages"`
	Seconds       float64 `json:"seconds"`
}

// Target is one server under test.
type Target struct {
	Name string
	// URL is the base URL, e.g. http://127.0.0.1:41234 (no trailing slash).
	URL string
	// PID is the server's process, for its memory.
	PID int
}

// RSS is the target process's resident set size in bytes (VmRSS).
func (t *Target) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", t.PID))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", t.PID)
}

// Workload is one benchmark of the report.
type Workload struct {
	// Name is short and stable ("point-read"); `crmhub-bench --only` takes it.
	Name string
	// Run measures and returns the report's section. An error aborts only
	// this workload; the report says so.
	Run func(ctx context.Context, env *Env) (*Section, error)
}

// Section is a workload's part of BENCHMARKS.md.
type Section struct {
	Title string
	// Body is markdown: what one operation is, the table of measurements
	// (see Table), and what the numbers mean.
	Body   string
	Ratios []Ratio
}

// Ratio is one of the targets, as measured.
type Ratio struct {
	// What is measured, e.g. "point read req/s, crmhub / PostGraphile".
	What string
	// Value is the measured ratio or number; Unit is "x" for ratios, or
	// the unit of a bound ("ms", "round trips").
	Value float64
	Unit  string
	// Goal is the target as text (">= 1.5x"), Met whether Value meets it.
	Goal string
	Met  bool
}

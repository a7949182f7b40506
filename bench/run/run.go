// Package run is the `make bench` runner's library: the environment a
// workload runs in (a seeded database and the three targets, each in its own
// process), the A/B/A/B alternation of measurements, and the report's
// sections. The program is bench/cmd/crmhub-bench; each workload lives in
// its own file of package bench/workloads and registers itself there.
package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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
	// GraphQLWS is the reference graphql-ws server on node (bench/graphqlws),
	// a peer of the subscriptions workload only: contactChanged over
	// graphql-transport-ws, fed by one LISTEN on GraphQLWSChannel.
	GraphQLWS *Target
	// CrmhubBaseline, when set, is a second `crmhub serve` of another
	// binary (`crmhub-bench -crmhub-baseline`), measured beside Crmhub by
	// the workloads that take it (subscriptions), for an A/B of two builds
	// in one run.
	CrmhubBaseline *Target

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

// CrmhubRequest is a GraphQL POST to crmhub with the workspace's admin key.
func (e *Env) CrmhubRequest(query string, vars map[string]any) (*http.Request, error) {
	req, err := jsonPost(e.Crmhub.URL+"/graphql", map[string]any{"query": query, "variables": vars})
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+e.APIKey)
	}
	return req, err
}

// BaselineRequest is CrmhubRequest to CrmhubBaseline, the other build of
// an A/B run.
func (e *Env) BaselineRequest(query string, vars map[string]any) (*http.Request, error) {
	req, err := jsonPost(e.CrmhubBaseline.URL+"/graphql", map[string]any{"query": query, "variables": vars})
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+e.APIKey)
	}
	return req, err
}

// FloorRequest is a POST of {"variables": vars} to the floor's route path
// ("/contact"), with the same key as crmhub: the floor checks it too.
func (e *Env) FloorRequest(path string, vars map[string]any) (*http.Request, error) {
	req, err := jsonPost(e.Floor.URL+path, map[string]any{"variables": vars})
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+e.APIKey)
	}
	return req, err
}

// PostGraphileRequest is a GraphQL POST to PostGraphile for the seeded
// workspace (X-Workspace-Id, which its config turns into the tenant).
func (e *Env) PostGraphileRequest(query string, vars map[string]any) (*http.Request, error) {
	req, err := jsonPost(e.PostGraphile.URL+"/graphql", map[string]any{"query": query, "variables": vars})
	if err == nil {
		req.Header.Set("X-Workspace-Id", e.Workspace.String())
	}
	return req, err
}

func jsonPost(url string, body any) (*http.Request, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// Metric reads one counter or gauge from crmhub's /metrics (the sum over
// its label sets); the benchmarks read crmhub_db_round_trips_total and
// crmhub_db_statements_total before and after a measurement.
func (e *Env) Metric(name string) (float64, error) {
	res, err := http.Get(e.Crmhub.URL + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	var sum float64
	found := false
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		metric, value, ok := strings.Cut(line, " ")
		if !ok || (metric != name && !strings.HasPrefix(metric, name+"{")) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s: %w", name, err)
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("crmhub /metrics has no %s", name)
	}
	return sum, nil
}

// CrmhubDo runs one GraphQL operation on crmhub and decodes its data into
// out; GraphQL errors are errors.
func (e *Env) CrmhubDo(ctx context.Context, query string, vars map[string]any, out any) error {
	req, err := e.CrmhubRequest(query, vars)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	var envelope struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return fmt.Errorf("crmhub: HTTP %d: %s", res.StatusCode, body)
	}
	if len(envelope.Errors) > 0 {
		return fmt.Errorf("crmhub: %s", envelope.Errors[0].Message)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(envelope.Data, out)
}

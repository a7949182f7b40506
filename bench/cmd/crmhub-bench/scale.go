package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/bench/run"
	"github.com/crmhub/crmhub/bench/workloads"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// scale is `make bench-scale` (crmhub-bench scale): for each size, a
// database seeded with `crmhub seed --contacts N` (one workspace holding
// them all) and `crmhub serve` on it; then the requests of
// workloads.ScaleQueries, each one at a time and 8 in flight; then a
// table of the sizes side by side, so that a cost growing with the table
// shows. The databases are dropped at the end unless -keep.
func scale(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("crmhub-bench scale", flag.ContinueOnError)
	bin := fs.String("crmhub", "bin/crmhub", "the crmhub binary to measure (make bench-scale builds it)")
	pattern := fs.String("database-url", "postgres://postgres@127.0.0.1:5432/crmhub_bench_scale_%d?sslmode=disable",
		"the databases, as a superuser; %d is the size. Each is DROPPED and recreated unless -keep finds it seeded")
	sizeList := fs.String("sizes", "100000,1000000", "comma-separated numbers of contacts")
	d := fs.Duration("duration", 5*time.Second, "length of one measurement")
	keep := fs.Bool("keep", false, "keep the databases; reuse one that is already seeded, after `crmhub migrate up` (timed)")
	out := fs.String("out", "", "also write the table to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var sizes []int
	for s := range strings.SplitSeq(*sizeList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1000 {
			return fmt.Errorf("-sizes: %q is not a number of contacts (at least 1000)", s)
		}
		sizes = append(sizes, n)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var columns []scaleColumn
	for _, n := range sizes {
		c, err := scaleOne(ctx, log, *bin, fmt.Sprintf(*pattern, n), n, *d, *keep)
		if err != nil {
			return fmt.Errorf("%d contacts: %w", n, err)
		}
		columns = append(columns, c)
	}
	table := scaleTable(columns)
	fmt.Print(table)
	if *out != "" {
		return os.WriteFile(*out, []byte(table), 0o644)
	}
	return nil
}

// scaleColumn is one size's measurements.
type scaleColumn struct {
	contacts int
	// setUp says how the database came to be: the seed's or the
	// migration's time.
	setUp   string
	results []workloads.ScaleResult
}

// scaleOne prepares the database of n contacts, measures and cleans up.
func scaleOne(ctx context.Context, log *slog.Logger, bin, url string, n int, d time.Duration, keep bool) (scaleColumn, error) {
	col := scaleColumn{contacts: n}
	env, setUp, err := scaleDatabase(ctx, log, bin, url, n, keep)
	if err != nil {
		return col, err
	}
	col.setUp = setUp
	env.Log, env.Duration, env.Rounds = log, d, 1
	defer func() {
		env.Pool.Close()
		if !keep {
			if err := dropDatabase(context.WithoutCancel(ctx), url); err != nil {
				log.Error("drop database", "err", err)
			}
		}
	}()
	t, stop, err := serveCrmhub(ctx, bin, env)
	defer stop()
	env.Crmhub = t
	if err != nil {
		return col, err
	}
	queries, err := workloads.ScaleQueries(ctx, env)
	if err != nil {
		return col, err
	}
	col.results, err = workloads.Scale(ctx, env, queries, d)
	return col, err
}

// scaleDatabase seeds a fresh database of n contacts, or with keep reuses
// one already holding a seeded workspace: it migrates it (the time is
// reported: how long the pending migrations took at this size) and mints
// an admin key.
func scaleDatabase(ctx context.Context, log *slog.Logger, bin, url string, n int, keep bool) (*run.Env, string, error) {
	if keep {
		env, took, err := reuse(ctx, bin, url)
		if err == nil {
			return env, fmt.Sprintf("reused; `crmhub migrate up` took %s", took.Round(100*time.Millisecond)), nil
		}
		log.Info("not reusing the database", "database", redact(url), "why", err)
	}
	if err := recreate(ctx, url); err != nil {
		return nil, "", err
	}
	log.Info("seeding", "database", redact(url), "contacts", n)
	env, err := seed(ctx, bin, url, "--contacts", strconv.Itoa(n))
	if err != nil {
		return nil, "", err
	}
	return env, fmt.Sprintf("seeded in %.0f s", env.Seed.Seconds), nil
}

// reuse opens a seeded database: its one workspace must hold contacts.
func reuse(ctx context.Context, bin, url string) (*run.Env, time.Duration, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, 0, err
	}
	env := &run.Env{DatabaseURL: url, Pool: pool}
	err = pool.QueryRow(ctx, `SELECT w.id, (SELECT count(*) FROM contacts c WHERE c.workspace_id = w.id)
		FROM workspaces w ORDER BY w.created_at LIMIT 1`).Scan(&env.Workspace, &env.Seed.Contacts)
	if err == nil && env.Seed.Contacts == 0 {
		err = errors.New("no contacts")
	}
	if err != nil {
		pool.Close()
		return nil, 0, err
	}
	env.WorkspaceID = crmhub.GlobalID(crmhub.KindWorkspace, env.Workspace)
	start := time.Now()
	if _, err := crmhubCmd(ctx, bin, url, "migrate", "up"); err != nil {
		pool.Close()
		return nil, 0, err
	}
	took := time.Since(start)
	out, err := crmhubCmd(ctx, bin, url, "apikey", "create", "--workspace", env.WorkspaceID, "--scopes", "admin",
		"--name", "bench-scale", "--json")
	var key struct{ APIKey string }
	if err == nil {
		err = json.Unmarshal(out, &key)
	}
	if err != nil {
		pool.Close()
		return nil, 0, fmt.Errorf("admin key: %w", err)
	}
	env.APIKey = key.APIKey
	return env, took, nil
}

// scaleTable is the markdown table of the columns: per request, the
// median latency one at a time and the throughput 8 in flight at each
// size, and how the median of the largest compares with the smallest's.
func scaleTable(columns []scaleColumn) string {
	var b strings.Builder
	b.WriteString("| request |")
	for _, c := range columns {
		fmt.Fprintf(&b, " %s: p50, 1 at a time | %s: req/s, 8 in flight |", contactsLabel(c.contacts), contactsLabel(c.contacts))
	}
	if len(columns) > 1 {
		fmt.Fprintf(&b, " p50 %s / %s |", contactsLabel(columns[len(columns)-1].contacts), contactsLabel(columns[0].contacts))
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---|---|", len(columns)))
	if len(columns) > 1 {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for i, r := range columns[0].results {
		fmt.Fprintf(&b, "| %s |", r.Name)
		for _, c := range columns {
			fmt.Fprintf(&b, " %.2f ms | %.0f |", ms(c.results[i].Single.P50), c.results[i].Eight.PerSecond)
		}
		if len(columns) > 1 {
			fmt.Fprintf(&b, " %.2fx |", ms(columns[len(columns)-1].results[i].Single.P50)/ms(r.Single.P50))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	for _, c := range columns {
		fmt.Fprintf(&b, "- %s contacts: %s.\n", contactsLabel(c.contacts), c.setUp)
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// contactsLabel writes 100000 as 100k and 1000000 as 1M.
func contactsLabel(n int) string {
	switch {
	case n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

// dropDatabase drops the database of url, if it exists.
func dropDatabase(ctx context.Context, url string) error {
	return adminExec(ctx, url, "DROP DATABASE IF EXISTS %s WITH (FORCE)")
}

// adminExec runs sql, with %s the quoted name of url's database, from the
// server's "postgres" database.
func adminExec(ctx context.Context, url, sql string) error {
	name, admin, err := adminURL(url)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(admin), err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, fmt.Sprintf(sql, pgx.Identifier{name}.Sanitize()))
	return err
}

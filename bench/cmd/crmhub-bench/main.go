// Command crmhub-bench is `make bench`: it makes a fresh database, seeds
// it with `crmhub seed`, starts crmhub, the raw-SQL floor and PostGraphile
// each in its own process, runs every workload of bench/workloads against
// them, alternating the targets, and writes the results into
// BENCHMARKS.md between its markers.
//
// Usage:
//
//	crmhub-bench [flags]            run the benchmarks (see -help)
//	crmhub-bench scale [flags]      how cost grows: the same requests at
//	                                100k and 1M contacts (make bench-scale)
//	crmhub-bench floor -addr A -database-url U
//	                                serve the floor (the runner starts it)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/bench/floor"
	"github.com/crmhub/crmhub/bench/run"
	"github.com/crmhub/crmhub/bench/workloads"
	"github.com/crmhub/crmhub/db"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "floor":
		err = serveFloor(ctx, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "scale":
		err = scale(ctx, os.Args[2:])
	default:
		err = bench(ctx, os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crmhub-bench:", err)
		os.Exit(1)
	}
}

// options are the runner's flags.
type options struct {
	crmhub, databaseURL, out, pglDir, only string
	gqlwsDir, baseline                     string
	rounds                                 int
	duration, timeout                      time.Duration
	quick, noPostGraphile, noGraphQLWS     bool
}

func bench(ctx context.Context, args []string) error {
	var o options
	fs := flag.NewFlagSet("crmhub-bench", flag.ContinueOnError)
	fs.StringVar(&o.crmhub, "crmhub", "bin/crmhub", "the crmhub binary to measure (make bench builds it)")
	fs.StringVar(&o.databaseURL, "database-url", "postgres://postgres@127.0.0.1:5432/crmhub_bench?sslmode=disable",
		"the benchmark database, as a superuser; it is DROPPED and recreated")
	fs.StringVar(&o.out, "out", "BENCHMARKS.md", "the report to write (between its crmhub-bench markers); empty: print it")
	fs.StringVar(&o.pglDir, "postgraphile-dir", "bench/postgraphile", "PostGraphile's package (npm ci runs there if needed)")
	fs.StringVar(&o.gqlwsDir, "graphqlws-dir", "bench/graphqlws", "the graphql-ws peer's package (npm ci runs there if needed)")
	fs.StringVar(&o.baseline, "crmhub-baseline", "", "a second crmhub binary, measured beside -crmhub as crmhub-baseline "+
		"by every HTTP and websocket workload (an A/B of two builds in one run); `bin@NAME=VALUE@...` also sets its environment "+
		"(bin@GOGC=400: one build, two settings)")
	fs.StringVar(&o.only, "only", "", "comma-separated workloads to run (default all): "+strings.Join(names(), ", "))
	fs.IntVar(&o.rounds, "rounds", 3, "measurements of each target per workload, alternating targets")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of one measurement")
	fs.DurationVar(&o.timeout, "workload-timeout", 12*time.Minute, "longest a workload may run")
	fs.IntVar(&workloads.SubscriptionsRounds, "subscriptions-rounds", workloads.SubscriptionsRounds,
		"measurements of each target by the subscriptions workload, alternating targets (one takes minutes)")
	fs.BoolVar(&o.quick, "quick", false, "a small dataset and short measurements: checks that everything runs, not numbers")
	fs.BoolVar(&o.noPostGraphile, "no-postgraphile", false, "do not start PostGraphile (its arms are left out)")
	fs.BoolVar(&o.noGraphQLWS, "no-graphqlws", false, "do not start the graphql-ws peer (its arms are left out)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.quick {
		o.rounds, o.duration = 1, time.Second
	}
	selected, err := pick(o.only)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	started := time.Now()

	env, cleanup, err := setUp(ctx, o, log)
	defer cleanup()
	if err != nil {
		return err
	}
	root, _ := filepath.Abs(".")
	report := &run.Report{Command: command(args), Commit: run.Commit(ctx, root), Started: started,
		Machine: run.Machine(ctx, env), Env: env, Failed: map[string]string{}}
	for _, w := range selected {
		report.Order = append(report.Order, w.Name)
		log.Info("workload", "name", w.Name)
		wctx, cancel := context.WithTimeout(ctx, o.timeout)
		section, err := w.Run(wctx, env)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			log.Error("workload failed", "name", w.Name, "err", err)
			report.Failed[w.Name] = err.Error()
			continue
		}
		report.Sections = append(report.Sections, section)
	}
	report.Took = time.Since(started)
	if o.out == "" {
		fmt.Print(report.Markdown())
	} else if err := report.Write(o.out); err != nil {
		return err
	} else {
		log.Info("report written", "path", o.out, "took", report.Took.Round(time.Second))
	}
	if len(report.Failed) > 0 {
		return fmt.Errorf("%d workload(s) failed: %s", len(report.Failed), strings.Join(slices.Sorted(maps.Keys(report.Failed)), ", "))
	}
	return nil
}

func names() []string {
	var out []string
	for _, w := range workloads.All() {
		out = append(out, w.Name)
	}
	return out
}

func pick(only string) ([]run.Workload, error) {
	all := workloads.All()
	if only == "" {
		return all, nil
	}
	var out []run.Workload
	for name := range strings.SplitSeq(only, ",") {
		i := slices.IndexFunc(all, func(w run.Workload) bool { return w.Name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("no workload %q (have %s)", name, strings.Join(names(), ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

func command(args []string) string {
	if len(args) == 0 {
		return "make bench"
	}
	return "make bench BENCHFLAGS='" + strings.Join(args, " ") + "'"
}

// setUp recreates and seeds the database and starts the three targets.
// cleanup stops whatever started, also after an error.
func setUp(ctx context.Context, o options, log *slog.Logger) (*run.Env, func(), error) {
	var stops []func()
	cleanup := func() {
		for _, s := range slices.Backward(stops) {
			s()
		}
	}
	bin, err := filepath.Abs(o.crmhub)
	if err != nil {
		return nil, cleanup, err
	}
	if err := recreate(ctx, o.databaseURL); err != nil {
		return nil, cleanup, err
	}
	var seedArgs []string
	if o.quick {
		seedArgs = []string{"--contacts", "3000", "--deals", "600", "--conversations", "1500", "--users", "20"}
	}
	log.Info("seeding", "database", redact(o.databaseURL))
	env, err := seed(ctx, bin, o.databaseURL, seedArgs...)
	if err != nil {
		return nil, cleanup, err
	}
	env.Quick, env.Rounds, env.Duration, env.Log = o.quick, o.rounds, o.duration, log
	stops = append(stops, env.Pool.Close)
	var stop func()
	env.Crmhub, stop, err = serveCrmhub(ctx, bin, env)
	stops = append(stops, stop)
	if err != nil {
		return nil, cleanup, err
	}
	if o.baseline != "" {
		path, extra, _ := strings.Cut(o.baseline, "@")
		base, err := filepath.Abs(path)
		if err != nil {
			return nil, cleanup, err
		}
		var baseEnv []string
		if extra != "" {
			baseEnv = strings.Split(extra, "@")
		}
		env.CrmhubBaseline, stop, err = serveCrmhub(ctx, base, env, baseEnv...)
		stops = append(stops, stop)
		if err != nil {
			return nil, cleanup, err
		}
		env.CrmhubBaseline.Name = "crmhub-baseline"
	}

	// The floor, this program again in its own process.
	self, err := os.Executable()
	if err != nil {
		return nil, cleanup, err
	}
	addr, err := run.FreeAddr()
	if err != nil {
		return nil, cleanup, err
	}
	p, err := run.Start(".", nil, self, "floor", "-addr", addr, "-database-url", o.databaseURL)
	if err != nil {
		return nil, cleanup, err
	}
	stops = append(stops, p.Stop)
	env.Floor = &run.Target{Name: "floor", URL: "http://" + addr, PID: p.PID()}
	if err := p.WaitHTTP(env.Floor.URL+"/healthz", nil, time.Minute); err != nil {
		return nil, cleanup, err
	}

	if !o.noPostGraphile {
		log.Info("starting PostGraphile")
		t, p, err := run.PostGraphile(ctx, o.pglDir, o.databaseURL)
		if err != nil {
			return nil, cleanup, err
		}
		stops = append(stops, p.Stop)
		env.PostGraphile = t
	}
	if !o.noGraphQLWS {
		log.Info("starting the graphql-ws peer")
		t, p, err := run.GraphQLWS(ctx, o.gqlwsDir, o.databaseURL)
		if err != nil {
			return nil, cleanup, err
		}
		stops = append(stops, p.Stop)
		env.GraphQLWS = t
	}
	return env, cleanup, nil
}

// seed seeds a new workspace of the (migrated or empty) database with
// `crmhub seed` and the extra arguments, and returns the environment of
// the workloads without targets, its pool open.
func seed(ctx context.Context, bin, databaseURL string, args ...string) (*run.Env, error) {
	out, err := crmhubCmd(ctx, bin, databaseURL, append([]string{"seed", "--new-workspace", "Bench", "--json"}, args...)...)
	if err != nil {
		return nil, err
	}
	var seeded struct {
		WorkspaceID string `json:"workspaceId"`
		APIKey      string `json:"apiKey"`
		run.SeedStats
	}
	if err := json.Unmarshal(out, &seeded); err != nil {
		return nil, fmt.Errorf("crmhub seed --json: %w: %s", err, out)
	}
	ws, err := crmhub.ParseID(crmhub.KindWorkspace, seeded.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("seeded workspace: %w", err)
	}
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	return &run.Env{DatabaseURL: databaseURL, Pool: pool, Workspace: ws, WorkspaceID: seeded.WorkspaceID,
		APIKey: seeded.APIKey, Seed: seeded.SeedStats}, nil
}

// serveCrmhub starts `crmhub serve` of bin on env's database with a
// throwaway secret key; stop ends it (also after an error).
func serveCrmhub(ctx context.Context, bin string, env *run.Env, extraEnv ...string) (t *run.Target, stop func(), err error) {
	stop = func() {}
	secret, err := crmhubCmd(ctx, bin, env.DatabaseURL, "secret-key")
	if err != nil {
		return nil, stop, err
	}
	addr, err := run.FreeAddr()
	if err != nil {
		return nil, stop, err
	}
	serveEnv := append([]string{"DATABASE_URL=" + env.DatabaseURL, "CRMHUB_ADDR=" + addr,
		"CRMHUB_SECRET_KEY=" + strings.TrimSpace(string(secret)), "CRMHUB_CONNECTOR_ALLOW_PRIVATE=true",
		"CRMHUB_LOG_FORMAT=json"}, workloads.ServeEnv...)
	serveEnv = append(serveEnv, extraEnv...)
	p, err := run.Start(".", serveEnv, bin, "serve")
	if err != nil {
		return nil, stop, err
	}
	t = &run.Target{Name: "crmhub", URL: "http://" + addr, PID: p.PID()}
	return t, p.Stop, p.WaitHTTP(t.URL+"/readyz", nil, time.Minute)
}

// crmhubCmd runs a crmhub command against the database and returns its
// standard output.
func crmhubCmd(ctx context.Context, bin, databaseURL string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+databaseURL)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("crmhub %s: %w\n%s", args[0], err, stderr.String())
	}
	return out, nil
}

// recreate drops the benchmark database and creates it empty.
func recreate(ctx context.Context, databaseURL string) error {
	if err := dropDatabase(ctx, databaseURL); err != nil {
		return err
	}
	return adminExec(ctx, databaseURL, "CREATE DATABASE %s")
}

// adminURL returns the name of the database of databaseURL, and the URL of
// the same server's "postgres" database. The database must be one of its
// own: the runners drop it.
func adminURL(databaseURL string) (name, admin string, err error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "", "", err
	}
	name = strings.TrimPrefix(u.Path, "/")
	if name == "" || name == "postgres" {
		return "", "", errors.New("-database-url must name a database of its own: it is dropped and recreated")
	}
	a := *u
	a.Path = "/postgres"
	return name, a.String(), nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

// serveFloor serves the floor's routes as crmhub's service role, with a
// pool as large as crmhub's.
func serveFloor(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("crmhub-bench floor", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	databaseURL := fs.String("database-url", "", "the benchmark database")
	conns := fs.Int("max-conns", 20, "pool size (crmhub's default CRMHUB_DB_MAX_CONNS is 20)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := db.Open(ctx, db.Config{URL: *databaseURL, MaxConns: int32(*conns)})
	if err != nil {
		return err
	}
	defer d.Close()
	mux := http.NewServeMux()
	mux.Handle("/", &floor.Handler{Pool: d.Pool})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

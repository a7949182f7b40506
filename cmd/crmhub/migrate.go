package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crmhub/crmhub/db"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func (c *cli) migrate(ctx context.Context, args []string) error {
	sub, args, err := subcommand("migrate", args, "up", "down", "status")
	if err != nil {
		return err
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	synopsis := map[string]string{
		"up":     "migrate up [--json]\n\nCreates the database if needed and applies every pending migration.",
		"down":   "migrate down [--all [--yes]] [--json]\n\nRolls back the newest applied migration; --all rolls back every one (it drops\nevery crmhub table and its data: it asks on a terminal, and needs --yes otherwise).",
		"status": "migrate status [--json]\n\nLists every migration and whether it is applied.",
	}[sub]
	fs := c.newFlagSet("migrate "+sub, synopsis)
	asJSON := fs.Bool("json", false, "print JSON")
	var all, yes *bool
	if sub == "down" {
		all = fs.Bool("all", false, "roll back every migration, not only the newest")
		yes = fs.Bool("yes", false, "with --all: do not ask for confirmation")
	}
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}

	switch sub {
	case "up":
		names, err := prepareDatabase(ctx, cfg.sessionURL())
		if err != nil {
			return err
		}
		return c.printNames(*asJSON, names, "applied", "no pending migrations")
	case "down":
		if *all && !*yes {
			if err := c.confirm(fs, "Roll back every migration? It drops every crmhub table and its data."); err != nil {
				return err
			}
		}
		names, err := db.Rollback(ctx, cfg.sessionURL(), *all)
		if err != nil {
			return err
		}
		return c.printNames(*asJSON, names, "rolled back", "nothing to roll back")
	default:
		ms, err := db.Status(ctx, cfg.sessionURL())
		if err != nil {
			return err
		}
		if *asJSON {
			if ms == nil {
				ms = []db.MigrationStatus{}
			}
			return printJSON(c.stdout, ms)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "MIGRATION\tCOMMENT\tAPPLIED AT")
		for _, m := range ms {
			at := "pending"
			if m.AppliedAt != nil {
				at = m.AppliedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Name, m.Comment, at)
		}
		return tw.Flush()
	}
}

// printNames prints the migrations an up or down touched: with --json as
// {"migrations": [...]}, else one line each starting with verb.
func (c *cli) printNames(asJSON bool, names []string, verb, none string) error {
	if asJSON {
		if names == nil {
			names = []string{}
		}
		return printJSON(c.stdout, map[string][]string{"migrations": names})
	}
	if len(names) == 0 {
		fmt.Fprintln(c.stdout, none)
	}
	for _, n := range names {
		fmt.Fprintf(c.stdout, "%s %s\n", verb, n)
	}
	return nil
}

// prepareDatabase creates the database if it is missing, applies every
// pending migration and returns the names of those it applied.
func prepareDatabase(ctx context.Context, url string) ([]string, error) {
	if err := db.EnsureDatabase(ctx, url); err != nil {
		return nil, err
	}
	return db.Migrate(ctx, url)
}

// openDB opens the database as the service role.
func openDB(ctx context.Context, cfg Config) (*db.DB, error) { return openTracedDB(ctx, cfg, nil) }

// openTracedDB is openDB with tracer (when not nil) seeing every statement.
func openTracedDB(ctx context.Context, cfg Config, tracer pgx.QueryTracer) (*db.DB, error) {
	d, err := db.Open(ctx, db.Config{URL: cfg.DatabaseURL, SessionURL: cfg.ListenDatabaseURL, MaxConns: int32(cfg.DBMaxConns), Tracer: tracer})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "22023" { // SET ROLE crmhub_app: no such role
		return nil, fmt.Errorf("%w (run `crmhub migrate up` first)", err)
	}
	return d, err
}

// confirm asks the person at the terminal to type "yes"; without a
// terminal on stdin it is a usage error asking for --yes.
func (c *cli) confirm(fs *flag.FlagSet, question string) error {
	if !isTerminal(c.stdin) {
		return &usageError{msg: "not on a terminal: add --yes to confirm", fs: fs}
	}
	fmt.Fprintf(c.stderr, "%s Type yes to go on: ", question)
	line, _ := bufio.NewReader(c.stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return errors.New("not confirmed: nothing was changed")
	}
	return nil
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok || file == nil {
		return false
	}
	fi, err := file.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors/syncer"
)

// sync runs one sync of a connection in the foreground, with the same
// engine as the server's workers.
func (c *cli) sync(ctx context.Context, args []string) error {
	fs := c.newFlagSet("sync", "sync --connection ID [--full] [--dry-run] [--json]\n\n"+
		"Runs one sync of a connection in the foreground, with the server's engine: a progress bar\n"+
		"on stderr while it runs, a summary table (or --json) at the end. It refuses to start while\n"+
		"another run of the connection is queued or running. Interrupted (Ctrl-C), the run ends\n"+
		"FAILED (INTERRUPTED); what it wrote stays, and the next run skips it by fingerprint.\n"+
		"Needs CRMHUB_SECRET_KEY (or --dev-key) to decrypt the connection's API key. Where\n"+
		"`serve --dev-key` (make run) left its key file (.crmhub-dev-key) and CRMHUB_SECRET_KEY is\n"+
		"unset, it uses the development key as that server does; with the development key, private\n"+
		"addresses (a local fake CRM) are allowed as under make run unless\n"+
		"CRMHUB_CONNECTOR_ALLOW_PRIVATE says otherwise. A failed run prints its code (SECRET_UNREADABLE,\n"+
		"REMOTE_UNREACHABLE, REMOTE_AUTH_FAILED, ...) and the setting that fixes it.")
	connID := fs.String("connection", "", "global `id` of the connection (conn_...), required")
	full := fs.Bool("full", false, "read everything, detect records gone from the remote and push every hub record the remote lacks (default: incremental)")
	dry := fs.Bool("dry-run", false, "report what would change; write nothing")
	asJSON := fs.Bool("json", false, "print the finished run as JSON instead of a table")
	devKey := fs.Bool("dev-key", false, "decrypt with the fixed development key, as `serve --dev-key` does when CRMHUB_SECRET_KEY is unset")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	if *connID == "" {
		return &usageError{msg: "--connection is required", fs: fs}
	}
	id, err := crmhub.ParseID(crmhub.KindConnection, *connID)
	if err != nil {
		return err
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	cfg.DevKey = *devKey
	c.devDefaults(&cfg)
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sealer, err := secretSealer(cfg, log)
	if err != nil {
		return err
	}
	d, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	parts, err := newSync(d, cfg, sealer, nil, log)
	if err != nil {
		return err
	}
	ws, err := parts.syncs.ConnectionWorkspace(ctx, id)
	if err != nil {
		return err
	}
	mode := crmhub.SyncIncremental
	if *full {
		mode = crmhub.SyncFull
	}
	run, err := parts.syncs.CreateRun(ctx, ws, id, mode, *dry)
	if err != nil {
		return err
	}
	bar := &progressBar{w: c.stderr, plain: !isTerminal(c.stderr)}
	parts.engine.Progress = bar.update
	err = parts.engine.RunForeground(ctx, ws, run.ID)
	bar.finish()
	var failed *crmhub.SyncRunFailure
	if err != nil && !errors.As(err, &failed) {
		return err
	}
	bg := context.WithoutCancel(ctx)
	run, rerr := parts.syncs.StoredRun(bg, ws, run.ID)
	if rerr != nil {
		return rerr
	}
	if *asJSON {
		if err := printJSON(c.stdout, runJSON(run)); err != nil {
			return err
		}
	} else {
		printRun(c.stdout, run)
	}
	if failed != nil {
		return fmt.Errorf("the sync run failed (%s): %s", failed.Code, failed.Message)
	}
	return nil
}

// devDefaults makes `crmhub sync` work, unchanged, beside a development
// server (`make run`, which is `serve --dev-key` with private addresses
// allowed): without CRMHUB_SECRET_KEY, the key file that server keeps says
// its connections' API keys were sealed with the development key; and
// with that key, private addresses (the local fake CRMs) are allowed as
// make run allows them, unless CRMHUB_CONNECTOR_ALLOW_PRIVATE is set.
func (c *cli) devDefaults(cfg *Config) {
	if cfg.SecretKey == "" && !cfg.DevKey {
		if _, err := os.Stat(cfg.DevKeyFile); err == nil {
			cfg.DevKey = true
		}
	}
	if cfg.SecretKey == "" && cfg.DevKey && strings.TrimSpace(c.getenv("CRMHUB_CONNECTOR_ALLOW_PRIVATE")) == "" {
		cfg.ConnectorAllowPrivate = true
	}
}

// progressBar draws one line on a terminal, rewritten with each page. On
// anything else (a file, a pipe, a CI log) it is plain: one line when a
// step begins and none of the terminal's escapes.
type progressBar struct {
	w     io.Writer
	plain bool
	drawn bool
	step  string // the label of the last plain line
}

const barWidth = 30

func (b *progressBar) update(p syncer.Progress) {
	label := p.Step
	if p.Entity != "" {
		label += " " + strings.ToLower(string(p.Entity))
	}
	line := fmt.Sprintf("%-16s %d", label, p.Done)
	if p.Total > 0 {
		filled := min(barWidth, p.Done*barWidth/p.Total)
		line = fmt.Sprintf("%-16s [%s%s] %d/%d", label, strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), p.Done, p.Total)
	}
	s := p.Stats
	line += fmt.Sprintf("  created %d updated %d unchanged %d failed %d pushed %d", s.Created, s.Updated, s.Unchanged, s.Failed, s.Pushed)
	if b.plain {
		if label != b.step {
			b.step = label
			fmt.Fprintln(b.w, "sync: "+label)
		}
		return
	}
	fmt.Fprintf(b.w, "\r\033[K%s", line)
	b.drawn = true
}

func (b *progressBar) finish() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

// printRun writes the summary table of a finished run.
func printRun(w io.Writer, run *crmhub.SyncRun) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	mode := string(run.Mode)
	if run.DryRun {
		mode += " (dry run)"
	}
	fmt.Fprintf(tw, "Run\t%s\n", run.GlobalID())
	fmt.Fprintf(tw, "Status\t%s\n", run.Status)
	fmt.Fprintf(tw, "Mode\t%s\n", mode)
	if run.StartedAt != nil && run.FinishedAt != nil {
		fmt.Fprintf(tw, "Took\t%s\n", run.FinishedAt.Sub(*run.StartedAt).Round(1e6))
	}
	s := run.Stats
	fmt.Fprintln(tw, "\t")
	fmt.Fprintf(tw, "fetched\t%d\n", s.Fetched)
	fmt.Fprintf(tw, "created\t%d\n", s.Created)
	fmt.Fprintf(tw, "updated\t%d\n", s.Updated)
	fmt.Fprintf(tw, "unchanged\t%d\n", s.Unchanged)
	fmt.Fprintf(tw, "conflicts\t%d\n", s.Conflicts)
	fmt.Fprintf(tw, "failed\t%d\n", s.Failed)
	fmt.Fprintf(tw, "pushed\t%d\n", s.Pushed)
	fmt.Fprintf(tw, "deleted\t%d\n", s.Deleted)
	tw.Flush()
	if len(run.Errors) > 0 {
		fmt.Fprintln(w, "\nErrors:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CODE\tRECORD\tMESSAGE")
		for _, e := range run.Errors {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Code, orDash(e.RecordID), e.Message)
		}
		tw.Flush()
	}
	if len(run.Plan) > 0 {
		fmt.Fprintln(w, "\nWould change:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ENTITY\tACTION\tRECORD")
		for _, p := range run.Plan {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Entity, p.Action, p.RecordID)
		}
		tw.Flush()
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runJSON is the finished run as --json prints it, in the API's terms.
func runJSON(run *crmhub.SyncRun) map[string]any {
	return map[string]any{"id": run.GlobalID(), "connectionId": crmhub.GlobalID(crmhub.KindConnection, run.ConnectionID),
		"status": run.Status, "mode": run.Mode, "dryRun": run.DryRun, "startedAt": run.StartedAt,
		"finishedAt": run.FinishedAt, "stats": run.Stats, "errors": run.Errors, "plan": run.Plan}
}

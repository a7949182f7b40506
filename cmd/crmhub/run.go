package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
)

// Exit codes of Run.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usage = `crmhub is a multi-tenant GraphQL API over PostgreSQL for messaging-CRM contacts.

Usage:
  crmhub serve [flags]                              run the API server
  crmhub migrate up|down|status [--json]            manage the database schema
                                                    (down: the newest migration; --all: every one)
  crmhub workspace create --name NAME [--json]      create a workspace and its admin key
  crmhub apikey create --workspace ID --scopes a,b [--name NAME] [--json]
  crmhub apikey list --workspace ID [--json]
  crmhub apikey revoke --workspace ID KEYID [--json]
  crmhub secret-key [--json]                        print a new CRMHUB_SECRET_KEY
  crmhub sync --connection ID [--full] [--dry-run] [--json]
                                                    run one sync of a connection in the foreground
  crmhub seed (--workspace ID | --new-workspace NAME) [--contacts N] [--seed N] [--json]
                                                    load a deterministic benchmark dataset
  crmhub fake-crm --kind wazzup [flags]             serve a fake external CRM for trying connections
                                                    (kinds: wazzup, wazapin, wazelo, wazera)
  crmhub version [--json]

Run "crmhub COMMAND --help" for the flags of a command.
The database is DATABASE_URL (default ` + db.DefaultURL + `).
CRMHUB_LISTEN_DATABASE_URL (default DATABASE_URL) is a direct session connection
for LISTEN, jobs and migrations, so that DATABASE_URL may go through PgBouncer.
`

// Run runs the command line args (without the program name) with the
// process environment and returns the exit code: 0 on success, 1 on an
// error, 2 on a usage error. Cancelling ctx stops a running server
// gracefully.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return RunWithEnv(ctx, args, os.Getenv, stdout, stderr)
}

// RunWithEnv is Run reading the environment through getenv, so that tests
// can run commands side by side with different settings.
func RunWithEnv(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c := &cli{getenv: getenv, stdin: os.Stdin, stdout: stdout, stderr: stderr}
	return c.run(ctx, args)
}

// cli is one invocation: where it reads settings and writes output.
type cli struct {
	getenv func(string) string
	// stdin answers confirmations, only when it is a terminal.
	stdin          io.Reader
	stdout, stderr io.Writer
	// wrap, when set, wraps serve's HTTP handler; tests use it to add
	// endpoints they control.
	wrap func(http.Handler) http.Handler
	// onShutdown, when set, is called as serve begins its graceful shutdown.
	onShutdown func()
}

// usageError is a mistake in the command line; Run prints it with the usage
// and exits with code 2.
type usageError struct {
	msg string
	fs  *flag.FlagSet // nil: the top-level usage
}

func (e *usageError) Error() string { return e.msg }

func (c *cli) run(ctx context.Context, args []string) int {
	err := c.dispatch(ctx, args)
	var uerr *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, new(*groupHelp)):
		io.WriteString(c.stdout, err.(*groupHelp).text())
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &uerr):
		fmt.Fprintf(c.stderr, "crmhub: %s\n\n", uerr.msg)
		if uerr.fs != nil {
			uerr.fs.SetOutput(c.stderr)
			uerr.fs.Usage()
		} else {
			io.WriteString(c.stderr, usage)
		}
		return exitUsage
	default:
		fmt.Fprintf(c.stderr, "crmhub: %s\n", c.describe(err))
		return exitError
	}
}

func (c *cli) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return &usageError{msg: "no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return c.serve(ctx, rest)
	case "migrate":
		return c.migrate(ctx, rest)
	case "workspace":
		return c.workspace(ctx, rest)
	case "apikey":
		return c.apikey(ctx, rest)
	case "version":
		return c.version(rest)
	case "secret-key":
		return c.secretKey(rest)
	case "fake-crm":
		return c.fakeCRM(ctx, rest)
	case "sync":
		return c.sync(ctx, rest)
	case "seed":
		return c.seed(ctx, rest)
	case "help", "-h", "-help", "--help":
		io.WriteString(c.stdout, usage)
		return nil
	}
	return &usageError{msg: fmt.Sprintf("unknown command %q", cmd)}
}

// groupHelp asks for the usage of a command group ("crmhub migrate --help").
type groupHelp struct{ group string }

func (h *groupHelp) Error() string { return "help for " + h.group }

// text is the group's lines of the usage, and where its flags are told.
func (h *groupHelp) text() string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	for _, l := range strings.Split(usage, "\n") {
		if strings.HasPrefix(l, "  crmhub "+h.group+" ") {
			b.WriteString(l + "\n")
		}
	}
	fmt.Fprintf(&b, "\nRun \"crmhub %s SUBCOMMAND --help\" for the flags of a subcommand.\n", h.group)
	return b.String()
}

// subcommand picks the subcommand of a command group such as "migrate up";
// "-h", "--help" or "help" in its place asks for the group's usage.
func subcommand(group string, args []string, names ...string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, &usageError{msg: fmt.Sprintf("%s needs a subcommand: %s", group, strings.Join(names, ", "))}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		return "", nil, &groupHelp{group: group}
	}
	for _, n := range names {
		if args[0] == n {
			return n, args[1:], nil
		}
	}
	return "", nil, &usageError{msg: fmt.Sprintf("unknown %s subcommand %q (want %s)", group, args[0], strings.Join(names, ", "))}
}

// newFlagSet returns a flag set whose --help prints synopsis and flags to
// stdout; parse errors are reported by run, with the usage, on stderr.
func (c *cli) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: crmhub %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, allowing flags after positional arguments
// ("revoke KEYID --json"), and returns the positional arguments.
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(c.stdout)
				fs.Usage()
				return nil, err
			}
			return nil, &usageError{msg: err.Error(), fs: fs}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// parseNoArgs parses the args of a command that takes no positional
// arguments.
func (c *cli) parseNoArgs(fs *flag.FlagSet, args []string) error {
	positional, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q", positional[0]), fs: fs}
	}
	return nil
}

// config reads the environment; commands call it before binding flags.
func (c *cli) config() (Config, error) {
	return loadConfig(c.getenv)
}

// describe turns an error into the one line shown to the operator: the
// message of a domain error, the wrapped chain otherwise, in both cases
// without the password of DATABASE_URL.
func (c *cli) describe(err error) string {
	msg := err.Error()
	var e *crmhub.Error
	if errors.As(err, &e) {
		msg = e.Message
		if e.Field != "" {
			msg += " (" + e.Field + ")"
		}
	}
	msg = redactPassword(msg, c.getenv("DATABASE_URL"))
	return redactPassword(msg, c.getenv("CRMHUB_LISTEN_DATABASE_URL"))
}

// redactPassword removes the password of rawURL from msg, in the spellings
// an error might quote it.
func redactPassword(msg, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return msg
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		return msg
	}
	for _, s := range []string{url.UserPassword("", pw).String()[1:], url.QueryEscape(pw), pw} {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}

// printJSON writes v as indented JSON and a newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printObject writes a flat JSON object on one line with its keys in the
// given order, spelled as the API contract shows it:
// {"workspaceId": "ws_...", "apiKey": "crm_..."}.
func printObject(w io.Writer, kv ...any) error {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		k, err := json.Marshal(kv[i])
		if err != nil {
			return err
		}
		v, err := json.Marshal(kv[i+1])
		if err != nil {
			return err
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(k)
		b.WriteString(": ")
		b.Write(v)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

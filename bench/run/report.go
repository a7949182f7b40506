package run

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Report is one `make bench` run, written into BENCHMARKS.md between the
// markers, so that the hand-written history and profiles around it stay.
type Report struct {
	Command  string
	Commit   string
	Started  time.Time
	Took     time.Duration
	Machine  string
	Env      *Env
	Sections []*Section
	// Failed holds the workloads that returned an error, by name.
	Failed map[string]string
	Order  []string // workload names as run, for Failed
}

// Markers delimit the generated part of BENCHMARKS.md.
const (
	BeginMarker = "<!-- crmhub-bench:begin: written by `make bench`; edit outside these markers -->"
	EndMarker   = "<!-- crmhub-bench:end -->"
)

// Markdown renders the report.
func (r *Report) Markdown() string {
	var b strings.Builder
	e := r.Env
	fmt.Fprintf(&b, "## Latest `make bench` run\n\n")
	fmt.Fprintf(&b, "- Command: `%s`, at commit %s, started %s, took %s.\n", r.Command, r.Commit,
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Took.Round(time.Second))
	fmt.Fprintf(&b, "- Machine: %s.\n", r.Machine)
	if e != nil {
		s := e.Seed
		fmt.Fprintf(&b, "- Dataset: `crmhub seed` in a fresh database (%.0f s): %d contacts with %d identities and %d tags, "+
			"%d deals (%d contact links), %d conversations with %d messages, %d users.\n",
			s.Seconds, s.Contacts, s.Identities, s.Tags, s.Deals, s.DealContacts, s.Conversations, s.Messages, s.Users)
		fmt.Fprintf(&b, "- Method: every target runs in its own process on this machine (crmhub is `crmhub serve`; the floor is "+
			"`crmhub-bench floor`; PostGraphile runs on node), and so does the load driver, so all share its cores. "+
			"Each workload measures its targets in turn, A, B, C, A, B, C..., %d rounds of %s each after a warm-up; "+
			"tables show every round and the medians, and ratios are of medians from the same run.\n",
			e.Rounds, e.Duration)
	}
	b.WriteString("\n### Targets\n\n| workload | measured | value | target | |\n|---|---|---|---|---|\n")
	for _, s := range r.Sections {
		for _, ratio := range s.Ratios {
			verdict := "**missed**"
			if ratio.Met {
				verdict = "met"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", s.Title, ratio.What, formatValue(ratio.Value, ratio.Unit), ratio.Goal, verdict)
		}
	}
	for _, name := range r.Order {
		if msg, ok := r.Failed[name]; ok {
			fmt.Fprintf(&b, "| %s | the workload failed: %s | | | **missed** |\n", name, oneLine(msg))
		}
	}
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "\n### %s\n\n%s\n", s.Title, strings.TrimSpace(s.Body))
	}
	return b.String()
}

func formatValue(v float64, unit string) string {
	switch {
	case unit == "x":
		return fmt.Sprintf("%.2fx", v)
	case v == float64(int64(v)):
		return fmt.Sprintf("%d %s", int64(v), unit)
	default:
		return fmt.Sprintf("%.2f %s", v, unit)
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return strings.ReplaceAll(s, "|", "\\|")
}

// Write puts the report between the markers of the file at path, or, when
// the file has none, right after its first heading (creating the file if
// needed).
func (r *Report) Write(path string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	block := BeginMarker + "\n" + r.Markdown() + EndMarker + "\n"
	text := string(old)
	if i, j := strings.Index(text, BeginMarker), strings.Index(text, EndMarker); i >= 0 && j > i {
		text = text[:i] + block + strings.TrimPrefix(text[j+len(EndMarker):], "\n")
	} else if h := strings.Index(text, "\n\n"); strings.HasPrefix(text, "# ") && h > 0 {
		text = text[:h+2] + block + "\n" + text[h+2:]
	} else {
		text = "# Benchmarks\n\n" + block + "\n" + text
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// Machine describes this machine for the report: CPU model and count,
// memory, PostgreSQL's version, Go's.
func Machine(ctx context.Context, e *Env) string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%d", &kb)
		mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
	}
	pg := "PostgreSQL"
	if e != nil && e.Pool != nil {
		var v string
		if err := e.Pool.QueryRow(ctx, "SHOW server_version").Scan(&v); err == nil {
			pg = "PostgreSQL " + strings.Fields(v)[0]
		}
	}
	return fmt.Sprintf("%d cores (%s)%s, %s on the same host over 127.0.0.1, %s", runtime.NumCPU(), model, mem, pg, runtime.Version())
}

// Commit is the short commit of the working tree, "-dirty" when it has
// changes.
func Commit(ctx context.Context, dir string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "describe", "--always", "--dirty", "--abbrev=10").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

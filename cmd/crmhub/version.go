package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time by the Makefile:
// -ldflags "-X main.version=v1.2.3 -X main.commit=abc123". When empty they
// are taken from the module and VCS information Go embeds in the binary.
var (
	version string
	commit  string
)

// buildInfo is what `crmhub version` prints.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		if b.Commit == "" {
			var rev, dirty string
			for _, s := range bi.Settings {
				switch {
				case s.Key == "vcs.revision":
					rev = s.Value
				case s.Key == "vcs.modified" && s.Value == "true":
					dirty = "-dirty"
				}
			}
			if rev != "" {
				b.Commit = rev + dirty
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

func (c *cli) version(args []string) error {
	fs := c.newFlagSet("version", "version [--json]\n\nPrints the version, the commit and the Go version of this binary.")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	b := readBuildInfo()
	if *asJSON {
		return printJSON(c.stdout, b)
	}
	fmt.Fprintf(c.stdout, "crmhub %s (commit %s, %s)\n", b.Version, b.Commit, b.Go)
	return nil
}

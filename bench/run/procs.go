package run

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Process is a target's server process; Stop kills it and waits.
type Process struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{}
}

// Start runs name with args and extra environment in dir. The child gets
// its own process group and dies with the runner (Pdeathsig), so that an
// interrupted benchmark leaves no server behind.
func Start(dir string, env []string, name string, args ...string) (*Process, error) {
	out := &lockedBuffer{}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	p := &Process{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	return p, nil
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Output is what the process printed so far (the last 64 KiB).
func (p *Process) Output() string { return p.out.String() }

// Stop kills the process group and waits for the process.
func (p *Process) Stop() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// WaitHTTP polls url until it answers 200 with a POST of body (a GET when
// body is nil), the process exits, or timeout passes.
func (p *Process) WaitHTTP(url string, body []byte, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it was ready:\n%s", filepath.Base(p.cmd.Path), p.Output())
		default:
		}
		var res *http.Response
		var err error
		if body == nil {
			res, err = http.Get(url)
		} else {
			res, err = http.Post(url, "application/json", bytes.NewReader(body))
		}
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s:\n%s", filepath.Base(p.cmd.Path), timeout, p.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FreeAddr is a free 127.0.0.1 port as "127.0.0.1:N".
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// PostGraphile installs bench/postgraphile if needed (npm ci: the lockfile
// pins postgraphile 5.1.5 and node 22, whose binary it brings) and starts
// it on a free port against databaseURL. dir is bench/postgraphile.
func PostGraphile(ctx context.Context, dir, databaseURL string) (*Target, *Process, error) {
	dir, err := filepath.Abs(dir) // node runs in dir: its binary's path must not be relative to ours
	if err != nil {
		return nil, nil, err
	}
	node := filepath.Join(dir, "node_modules", ".bin", "node")
	cli := filepath.Join(dir, "node_modules", "postgraphile", "dist", "cli-run.js")
	if err := npmCI(ctx, dir, node, cli); err != nil {
		return nil, nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	p, err := Start(dir, []string{"NODE_ENV=production", "GRAPHILE_ENV=production",
		"PGL_PORT=" + port, "PGL_DATABASE_URL=" + databaseURL}, node, cli, "-C", "graphile.config.mjs")
	if err != nil {
		return nil, nil, err
	}
	t := &Target{Name: "postgraphile", URL: "http://" + addr, PID: p.PID()}
	if err := p.WaitHTTP(t.URL+"/graphql", []byte(`{"query":"{ __typename }"}`), 90*time.Second); err != nil {
		p.Stop()
		return nil, nil, err
	}
	return t, p, nil
}

// GraphQLWSChannel is the NOTIFY channel the graphql-ws peer listens on.
const GraphQLWSChannel = "bench_contacts"

// GraphQLWS installs bench/graphqlws if needed (npm ci: the lockfile pins
// graphql-ws, ws, graphql, pg and node 22) and starts the reference
// graphql-ws server on a free port against databaseURL, listening on
// GraphQLWSChannel. dir is bench/graphqlws.
func GraphQLWS(ctx context.Context, dir, databaseURL string) (*Target, *Process, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	node := filepath.Join(dir, "node_modules", ".bin", "node")
	if err := npmCI(ctx, dir, node, filepath.Join(dir, "node_modules", "graphql-ws", "package.json")); err != nil {
		return nil, nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	p, err := Start(dir, []string{"NODE_ENV=production", "GQLWS_PORT=" + port, "GQLWS_DATABASE_URL=" + databaseURL,
		"GQLWS_CHANNEL=" + GraphQLWSChannel}, node, "server.mjs")
	if err != nil {
		return nil, nil, err
	}
	t := &Target{Name: "graphql-ws", URL: "http://" + addr, PID: p.PID()}
	if err := p.WaitHTTP(t.URL+"/healthz", nil, 90*time.Second); err != nil {
		p.Stop()
		return nil, nil, err
	}
	return t, p, nil
}

// npmCI runs `npm ci` in dir unless every one of the files it brings
// (need) is there already.
func npmCI(ctx context.Context, dir string, need ...string) error {
	missing := false
	for _, f := range need {
		missing = missing || !exists(f)
	}
	if !missing {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm is needed on PATH to install %s (npm ci): %w", dir, err)
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// lockedBuffer keeps the last 64 KiB a process printed, for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	if over := len(l.b) - 64<<10; over > 0 {
		l.b = append(l.b[:0], l.b[over:]...)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

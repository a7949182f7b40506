package proctest

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is one run of the built crmhub binary's serve command.
type Server struct {
	Cmd *exec.Cmd
	// Base is the address it printed ("crmhub listening on ...").
	Base string
	// Key and DevLink are the dev key and the GraphiQL link holding it
	// that serve --dev-key printed.
	Key, DevLink string
	// Stderr is its log.
	Stderr *Buffer
	// Exited is closed once the process has exited.
	Exited chan struct{}
}

// StartServer runs bin with args (a serve command with --dev-key) and env
// added to this process's environment, and waits up to 60 s until it has
// printed its address and dev key. A server still running when the test
// ends is killed.
func StartServer(t testing.TB, bin string, env []string, args ...string) *Server {
	t.Helper()
	s := &Server{Exited: make(chan struct{}), Stderr: &Buffer{}}
	s.Cmd = exec.Command(bin, args...)
	s.Cmd.Env = append(os.Environ(), env...)
	s.Cmd.Stderr = s.Stderr
	stdout, err := s.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		s.Cmd.Wait()
		close(s.Exited)
	}()
	t.Cleanup(func() {
		s.Cmd.Process.Kill()
		<-s.Exited
	})
	deadline := time.After(60 * time.Second)
	for s.Base == "" || s.Key == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("crmhub serve exited before it was ready:\n%s", s.Stderr)
			}
			if v, ok := strings.CutPrefix(l, "crmhub listening on "); ok {
				s.Base = v
			}
			if v, ok := strings.CutPrefix(l, "GraphiQL with the dev key: "); ok {
				s.DevLink = v
			}
			if v, ok := strings.CutPrefix(l, "Dev API key: "); ok {
				s.Key = v
			}
		case <-deadline:
			t.Fatalf("crmhub serve not ready within 60 s:\n%s", s.Stderr)
		}
	}
	go func() {
		for range lines {
		}
	}()
	return s
}

// Kill ends the server with SIGKILL (no shutdown code runs) and waits for
// it to exit.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.stop(t, syscall.SIGKILL)
}

// Stop ends the server with SIGTERM (a graceful shutdown) and waits for it
// to exit.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stop(t, syscall.SIGTERM)
}

func (s *Server) stop(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := s.Cmd.Process.Signal(sig); err != nil {
		select {
		case <-s.Exited:
			return
		default:
			t.Fatal(err)
		}
	}
	select {
	case <-s.Exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("crmhub serve did not exit within 30 s of %s", sig)
	}
}

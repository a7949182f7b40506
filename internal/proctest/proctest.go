// Package proctest holds the helpers of the tests that run crmhub as a
// whole, in process (cmd/crmhub) or as a built binary (test/e2e): output
// a test may read while the server writes it, waiting for a startup line,
// and calling the GraphQL API with the dev key.
package proctest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer that server goroutines may write to while the
// test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines forwards what is written to it line by line, so a test can wait
// for a server's startup lines. Close it when the writer is done.
type Lines struct {
	pw *io.PipeWriter
	ch chan string
}

// NewLines returns Lines ready to be written to.
func NewLines() *Lines {
	pr, pw := io.Pipe()
	l := &Lines{pw: pw, ch: make(chan string, 100)}
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			l.ch <- s.Text()
		}
		io.Copy(io.Discard, pr)
		close(l.ch)
	}()
	return l
}

func (l *Lines) Write(p []byte) (int, error) { return l.pw.Write(p) }

// Close ends the output: Next then fails once the lines written are read.
func (l *Lines) Close() error { return l.pw.Close() }

// Next returns the next line that starts with prefix, without the prefix,
// failing t when none comes within 30 s or the output ends first.
func (l *Lines) Next(t testing.TB, prefix string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case s, ok := <-l.ch:
			if !ok {
				t.Fatalf("output ended before a line starting with %q", prefix)
			}
			if rest, ok := strings.CutPrefix(s, prefix); ok {
				return rest
			}
		case <-timeout:
			t.Fatalf("no line starting with %q within 30s", prefix)
		}
	}
}

// Post sends an operation to the server at base with API key key and
// returns the answer's status and body, whatever they are.
func Post(t testing.TB, base, key, query string, vars map[string]any) (int, []byte) {
	t.Helper()
	status, b, err := post(base, key, query, vars)
	if err != nil {
		t.Fatal(err)
	}
	return status, b
}

func post(base, key, query string, vars map[string]any) (int, []byte, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// GraphQL runs an operation that must succeed against the server at base
// with API key key, and decodes its data into out (when not nil).
func GraphQL(t testing.TB, base, key, query string, vars map[string]any, out any) {
	t.Helper()
	if err := TryGraphQL(base, key, query, vars, out); err != nil {
		t.Fatal(err)
	}
}

// TryGraphQL is GraphQL returning what went wrong (no answer, a status
// other than 200, or GraphQL errors) instead of failing a test, for a
// server that may be gone or a request meant to fail.
func TryGraphQL(base, key, query string, vars map[string]any, out any) error {
	status, b, err := post(base, key, query, vars)
	if err != nil {
		return err
	}
	var r struct {
		Data   json.RawMessage
		Errors []any
	}
	if err := json.Unmarshal(b, &r); err != nil || status != http.StatusOK || len(r.Errors) > 0 {
		return fmt.Errorf("%s: status %d %s", query, status, b)
	}
	if out != nil {
		return json.Unmarshal(r.Data, out)
	}
	return nil
}

// Deadline bounds a test's external steps (builds, npm, node, buildah, a
// benchmark runner) by the test binary's own deadline (go test -timeout)
// less a minute to report, not by a fixed duration: on a loaded machine
// such a step is slow, not wrong, and a fixed budget made CI fail at random.
func Deadline(t testing.TB) (context.Context, context.CancelFunc) {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if at, ok := d.Deadline(); ok {
			return context.WithDeadline(t.Context(), at.Add(-time.Minute))
		}
	}
	return context.WithCancel(t.Context())
}

package wazera

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/wazera/wazeratest"
)

// fakeClock is a clock that moves only when the client sleeps on it, so
// pacing is tested without waiting.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// unlimited is a limiter that never waits, for tests not about pacing.
func unlimited() *rate.Limiter { return rate.NewLimiter(rate.Inf, 0) }

// newClient starts a fake with opts and a client pointed at it that is
// not paced.
func newClient(t *testing.T, opts wazeratest.Options) (*Client, *wazeratest.Server) {
	t.Helper()
	s := wazeratest.NewServer(t, opts)
	return New(Config{HTTPConfig: HTTPConfig{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client()}, Limiter: unlimited()}), s
}

// newTestConnector starts a fake with opts and a connector on it with
// connection options, not paced.
func newTestConnector(t *testing.T, opts wazeratest.Options, options map[string]any) (*Connector, *wazeratest.Server) {
	t.Helper()
	s := wazeratest.NewServer(t, opts)
	c, err := newConnector(connectors.Config{BaseURL: s.URL, APIKey: s.APIKey(), HTTPClient: s.Client(), Options: options},
		Config{Limiter: unlimited()})
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// errorAs fails unless err holds a T and returns it.
func errorAs[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T) is not a %T", err, err, target)
	}
	return target
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\ngot  %+v\nwant %+v", what, got, want)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameJSON fails unless a and b encode the same JSON value.
func sameJSON(t *testing.T, what string, a, b []byte) {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v in %s", what, err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v in %s", what, err, b)
	}
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("%s:\ngot  %s\nwant %s", what, a, b)
	}
}

func ptr[T any](v T) *T { return &v }

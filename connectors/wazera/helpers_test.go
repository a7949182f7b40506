package wazera

import (
	"context"
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

func ptr[T any](v T) *T { return &v }

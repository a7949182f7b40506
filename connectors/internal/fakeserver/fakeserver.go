// Package fakeserver holds the plumbing the fake CRM servers share:
// counting requests per route, picking the failure to inject, keeping a
// bounded log of requests and recording the status each was answered.
// Each fake keeps its own Fault and Request types and wraps these pieces
// in its own exported methods.
package fakeserver

import (
	"bytes"
	"context"
	"io"

	"github.com/crmhub/crmhub/connectors/internal/wait"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// Serve starts h on an httptest.Server. When t is not nil the server is
// closed at the end of the test; otherwise the caller closes it.
func Serve(t testing.TB, h http.Handler) *httptest.Server {
	s := httptest.NewServer(h)
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// Policy is how Faults picks a failure once the queue of InjectNext is
// empty: Inject first, then every RateLimitEvery'th request answers
// RateLimited and every FailEvery'th answers Failed (0 disables either).
type Policy[F any] struct {
	Inject         func(route string, n int) *F
	RateLimitEvery int
	RateLimited    F
	FailEvery      int
	Failed         F
}

// Faults counts requests, per route and in total, and hands out the
// failures to inject. It is safe for concurrent use. A fake embeds it
// (through an unexported alias) to offer InjectNext, Calls, CallCounts
// and Total as its own.
type Faults[F any] struct {
	policy Policy[F]
	// countUnmatched counts requests of no route under "" in Calls.
	countUnmatched bool

	mu    sync.Mutex
	total int
	calls map[string]int
	queue []F
}

// NewFaults returns Faults applying p. countUnmatched makes requests that
// matched no route count under the route "".
func NewFaults[F any](p Policy[F], countUnmatched bool) *Faults[F] {
	return &Faults[F]{policy: p, countUnmatched: countUnmatched, calls: map[string]int{}}
}

// Begin counts a request of route on q and returns the failure to answer
// it with, nil to serve it. It is a function, not a method, so that a fake
// embedding Faults (for InjectNext, Calls, CallCounts and Total) does not
// offer it to its users.
func Begin[F any](q *Faults[F], route string) *F {
	q.mu.Lock()
	q.total++
	n := q.total
	if route != "" || q.countUnmatched {
		q.calls[route]++
	}
	if len(q.queue) > 0 {
		fault := q.queue[0]
		q.queue = q.queue[1:]
		q.mu.Unlock()
		return &fault
	}
	q.mu.Unlock()

	p := &q.policy
	if p.Inject != nil {
		if fault := p.Inject(route, n); fault != nil {
			return fault
		}
	}
	if k := p.RateLimitEvery; k > 0 && n%k == 0 {
		fault := p.RateLimited
		return &fault
	}
	if k := p.FailEvery; k > 0 && n%k == 0 {
		fault := p.Failed
		return &fault
	}
	return nil
}

// InjectNext queues failures answered, in order, to the next requests
// whatever their route, before any other check.
func (q *Faults[F]) InjectNext(faults ...F) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queue = append(q.queue, faults...)
}

// Calls returns how many requests matched route (one of the fake's Route*
// constants), failed ones included.
func (q *Faults[F]) Calls(route string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.calls[route]
}

// Sum returns how many requests matched any of routes, failed ones
// included. A fake sums its write routes with it, so that a test can
// assert a quiet sync run wrote nothing at the remote.
func (q *Faults[F]) Sum(routes ...string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, r := range routes {
		n += q.calls[r]
	}
	return n
}

// CallCounts returns a copy of the number of requests per route.
func (q *Faults[F]) CallCounts() map[string]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return maps.Clone(q.calls)
}

// Total returns how many requests arrived, unmatched ones included.
func (q *Faults[F]) Total() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.total
}

// Log keeps the latest requests, up to a limit, in the order added. It is
// safe for concurrent use.
type Log[R any] struct {
	limit int

	mu   sync.Mutex
	reqs []R
}

// NewLog returns a Log keeping the latest limit entries (limit > 0).
func NewLog[R any](limit int) *Log[R] {
	return &Log[R]{limit: limit}
}

// Add appends r, dropping the oldest entries beyond the limit.
func (l *Log[R]) Add(r R) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reqs) >= l.limit {
		l.reqs = slices.Delete(l.reqs, 0, len(l.reqs)-l.limit+1)
	}
	l.reqs = append(l.reqs, r)
}

// All returns a shallow copy of the entries, oldest first.
func (l *Log[R]) All() []R {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

// StatusWriter records the status a handler answered with.
type StatusWriter struct {
	http.ResponseWriter
	// Status is the answered status: 200 until WriteHeader is called.
	Status int
}

// NewStatusWriter wraps w.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter {
	return &StatusWriter{ResponseWriter: w, Status: http.StatusOK}
}

// WriteHeader records status and passes it on.
func (w *StatusWriter) WriteHeader(status int) {
	w.Status = status
	w.ResponseWriter.WriteHeader(status)
}

// Delay waits d, or until r's client gives up; it reports whether the
// client is still there. A d of zero or less returns true at once.
func Delay(r *http.Request, d time.Duration) bool {
	return d <= 0 || wait.Sleep(r.Context(), d) == nil
}

// hookTimeout bounds one webhook a fake sends.
const hookTimeout = 10 * time.Second

// PostWebhook sends a fake CRM's webhook: a POST of body with header to u
// through client (http.DefaultClient when nil), and returns the answer's
// status.
func PostWebhook(ctx context.Context, client *http.Client, u string, header http.Header, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, hookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

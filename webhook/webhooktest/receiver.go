package webhooktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/crmhub/crmhub/internal/stdwebhook"
)

// Received is one request a Receiver got, its body decoded into M.
type Received[M any] struct {
	ID, Timestamp, Signature string
	Body                     []byte
	Msg                      M
}

// Checks are the checks a Receiver makes beyond those it always makes.
type Checks struct {
	// MaxAge, when not zero, requires webhook-timestamp within MaxAge of
	// the wall clock (a test on a fake clock leaves it zero).
	MaxAge time.Duration
	// RequireSecret requires a secret to be set when a request arrives.
	RequireSecret bool
}

// Receiver is a webhook endpoint that verifies every request against the
// Standard Webhooks spec, independently of the code under test: a POST of
// JSON with a webhook-id, a unix webhook-timestamp, a body that decodes
// into M and, for every secret it holds, a signature that verifies. Each
// failed check fails the test at its end.
type Receiver[M any] struct {
	// URL is the endpoint's address, on 127.0.0.1.
	URL string

	answer func(n int, w http.ResponseWriter, r *http.Request)
	checks Checks
	got    chan Received[M]

	mu       sync.Mutex
	secrets  []string // every one must verify a signature of every request
	n        int
	failures []string
}

// NewReceiver starts a Receiver closed at the end of the test; answer
// (nil: 204) writes the answer to the n-th request, counting from 1.
func NewReceiver[M any](t testing.TB, answer func(n int, w http.ResponseWriter, r *http.Request), checks Checks) *Receiver[M] {
	rc := &Receiver[M]{answer: answer, checks: checks, got: make(chan Received[M], 8192)}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	rc.URL = srv.URL
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, f := range rc.failures {
			t.Errorf("receiver: %s", f)
		}
	})
	return rc
}

// SetSecrets replaces the secrets each request must verify with.
func (rc *Receiver[M]) SetSecrets(s ...string) {
	rc.mu.Lock()
	rc.secrets = s
	rc.mu.Unlock()
}

// Secrets returns the secrets each request must verify with.
func (rc *Receiver[M]) Secrets() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.secrets)
}

// Count returns how many requests arrived.
func (rc *Receiver[M]) Count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}

// Received is the channel Next reads, for a test that collects every
// request in a goroutine of its own.
func (rc *Receiver[M]) Received() <-chan Received[M] { return rc.got }

// Next waits for the next request, failing t after 30 s.
func (rc *Receiver[M]) Next(t testing.TB) Received[M] {
	t.Helper()
	select {
	case r := <-rc.got:
		return r
	case <-time.After(30 * time.Second):
		t.Fatalf("receiver: no request within 30 s (got %d so far)", rc.Count())
	}
	return Received[M]{}
}

func (rc *Receiver[M]) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	got := Received[M]{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
		Signature: r.Header.Get("webhook-signature"), Body: body}
	rc.mu.Lock()
	rc.n++
	n, secrets := rc.n, slices.Clone(rc.secrets)
	rc.mu.Unlock()

	if problems := rc.check(n, &got, secrets, r); len(problems) > 0 {
		rc.mu.Lock()
		rc.failures = append(rc.failures, problems...)
		rc.mu.Unlock()
	}
	if rc.answer != nil {
		rc.answer(n, w, r)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	rc.got <- got
}

// check returns what is wrong with the n-th request, and decodes its body.
func (rc *Receiver[M]) check(n int, got *Received[M], secrets []string, r *http.Request) []string {
	var problems []string
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		problems = append(problems, fmt.Sprintf("%s with content type %q", r.Method, r.Header.Get("Content-Type")))
	}
	if got.ID == "" {
		problems = append(problems, fmt.Sprintf("request %d: no webhook-id", n))
	}
	if rc.checks.RequireSecret && len(secrets) == 0 {
		problems = append(problems, fmt.Sprintf("request %d (%s): no secret to verify with", n, got.ID))
	}
	ts, err := strconv.ParseInt(got.Timestamp, 10, 64)
	if err != nil {
		problems = append(problems, fmt.Sprintf("webhook-timestamp %q is not unix seconds", got.Timestamp))
	} else if age := rc.checks.MaxAge; age > 0 && time.Since(time.Unix(ts, 0)).Abs() > age {
		problems = append(problems, fmt.Sprintf("webhook-timestamp %q is not within %s of now", got.Timestamp, age))
	}
	for _, s := range secrets {
		if !stdwebhook.Verify(s, got.ID, got.Timestamp, got.Body, got.Signature) {
			problems = append(problems, fmt.Sprintf("request %d (%s): no signature verifies with secret %.12s…", n, got.ID, s))
		}
	}
	if err := json.Unmarshal(got.Body, &got.Msg); err != nil {
		problems = append(problems, fmt.Sprintf("body is not a webhook message: %v", err))
	}
	return problems
}

// Package webhook sends outgoing webhooks: one signed POST per delivery
// attempt (Standard Webhooks), and the wait before the next attempt. Package
// db keeps the endpoints, deliveries and their jobs and calls a Sender
// through its db.WebhookSender interface; cmd/crmhub wires one in.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/internal/safehttp"
)

// Config configures a Sender.
type Config struct {
	// AllowPrivate lets attempts connect to loopback, private, link-local
	// and other non-public addresses (CRMHUB_WEBHOOK_ALLOW_PRIVATE=true).
	// Off, such an address is refused when each attempt connects, whatever
	// the endpoint's URL resolved to when it was saved.
	AllowPrivate bool
	// Timeout bounds one attempt, connection to last byte read (default
	// 10 s).
	Timeout time.Duration
	// RetrySchedule is the wait before each retry (default
	// StandardSchedule); tests shorten it. A delivery fails after
	// len(RetrySchedule)+1 attempts.
	RetrySchedule []time.Duration
}

// Sender makes delivery attempts over HTTP, through a client that never
// follows redirects and (unless AllowPrivate) never reaches a non-public
// address: see safehttp.NewClient.
type Sender struct {
	cfg    Config
	client *http.Client
}

// NewSender returns a sender with cfg's defaults filled in.
func NewSender(cfg Config) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RetrySchedule == nil {
		cfg.RetrySchedule = StandardSchedule
	}
	return &Sender{cfg: cfg, client: safehttp.NewClient(cfg.Timeout, cfg.AllowPrivate)}
}

// Timeout bounds one Send.
func (s *Sender) Timeout() time.Duration { return s.cfg.Timeout }

// Send makes one attempt at time at: a POST of body to url as the webhook
// webhookID, signed with each of keys. It returns the attempt, whose
// ResponseSnippet is at most crmhub.MaxWebhookResponseSnippet bytes of
// valid UTF-8 and whose Error the caller bounds as it stores it, and the
// answer's Retry-After header for RetryWait.
func (s *Sender) Send(ctx context.Context, url, webhookID string, body []byte, keys [][]byte, at time.Time) (crmhub.WebhookAttempt, string) {
	ts := at.Unix()
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Signature(k, webhookID, ts, body)
	}
	attempt := crmhub.WebhookAttempt{At: at}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		attempt.Error = err.Error()
		return attempt, ""
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crmhub-webhooks/1")
	req.Header.Set("webhook-id", webhookID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", strings.Join(sigs, " "))
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		attempt.LatencyMS, attempt.Error = int(time.Since(start).Milliseconds()), err.Error()
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			attempt.Error = fmt.Sprintf("timed out after %s", s.cfg.Timeout)
		}
		return attempt, ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, crmhub.MaxWebhookResponseSnippet))
	attempt.StatusCode, attempt.LatencyMS, attempt.ResponseSnippet = resp.StatusCode, int(time.Since(start).Milliseconds()), cleanSnippet(b)
	if err != nil {
		attempt.Error = "reading the answer: " + err.Error()
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return attempt, resp.Header.Get("Retry-After")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// cleanSnippet makes a response's start storable as text: valid UTF-8
// (a character cut at the limit is dropped) without NUL bytes.
func cleanSnippet(b []byte) string {
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), ""), "\x00", "")
}

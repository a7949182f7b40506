package wazzuptest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/crmhub/crmhub/connectors/internal/fakeserver"
)

// Routes of the webhook settings (v2 "Enabling web hooks").
const (
	RouteSetWebhooks = "PUT /v2/webhooks"
	RouteGetWebhooks = "GET /v2/webhooks"
)

// TestWebhook is the body of the test request Wazzup sends to a new
// webhook URL; the document does not show it, and a receiver must answer
// 200 whatever it holds.
var TestWebhook = []byte(`{"test":true}`)

// routeWebhooks adds the webhook settings routes to the fake's mux.
func (f *Fake) routeWebhooks() {
	f.mux.HandleFunc(RouteSetWebhooks, f.setWebhooks)
	f.mux.HandleFunc(RouteGetWebhooks, f.getWebhooks)
}

// WebhooksURL returns the URL webhooks go to, "" when they are off.
func (f *Fake) WebhooksURL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.webhooksURL
}

func (f *Fake) getWebhooks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"webhooksUrl": nullable(f.WebhooksURL())})
}

// setWebhooks enables webhooks at the body's url, after a test request
// to it that must answer 200, or disables them for a null url.
func (f *Fake) setWebhooks(w http.ResponseWriter, r *http.Request) {
	var in struct {
		URL *string `json:"url"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(raw, &in) != nil || !bytes.Contains(raw, []byte(`"url"`)) {
		validationError(w, "The body must be {\"url\": \"...\"} or {\"url\": null}.", nil)
		return
	}
	next := ""
	if in.URL != nil {
		u, err := url.Parse(*in.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			validationError(w, "url must be an absolute http(s) URL or null.", nil)
			return
		}
		if status, err := f.post(r.Context(), *in.URL, TestWebhook); err != nil || status != http.StatusOK {
			validationError(w, "The test request to url was not answered with 200.", nil)
			return
		}
		next = *in.URL
	}
	f.mu.Lock()
	changed := f.webhooksURL != next
	f.webhooksURL = next
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"webhooksUrl": nullable(next), "webhooksUrlChanged": changed})
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ErrNoWebhooksURL is returned by SendWebhook while webhooks are off.
var ErrNoWebhooksURL = errors.New("wazzuptest: no webhooks URL is set")

// SendWebhook posts body (a value encoded as JSON: {"messages": [...]},
// {"statuses": [...]}, {"channels": [...]} or {"channelsList": [...]})
// to the registered URL as Wazzup does, unsigned, and returns the
// answer's status.
func (f *Fake) SendWebhook(ctx context.Context, body any) (int, error) {
	u := f.WebhooksURL()
	if u == "" {
		return 0, ErrNoWebhooksURL
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, fmt.Errorf("wazzuptest: encoding a webhook: %w", err)
	}
	return f.post(ctx, u, b)
}

// post sends one webhook request and returns the answer's status.
func (f *Fake) post(ctx context.Context, u string, body []byte) (int, error) {
	return fakeserver.PostWebhook(ctx, f.opts.HookClient, u, nil, body)
}

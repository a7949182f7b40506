package wazzup

import (
	"context"
	"fmt"
	"net/url"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

var _ connectors.HookRegistrar = (*Connector)(nil)

// WebhooksSettings is the answer of GET and PUT /v2/webhooks: the URL
// Wazzup sends webhooks to ("" or null when they are off) and, on PUT,
// whether it differs from the one before.
type WebhooksSettings struct {
	WebhooksURL        *string `json:"webhooksUrl"`
	WebhooksURLChanged bool    `json:"webhooksUrlChanged,omitempty"`
}

// webhooksPath is the route of the account's webhook URL.
const webhooksPath = "/v2/webhooks"

// SetWebhooksURL points the account's webhooks at u, or turns them off
// when u is nil (PUT /v2/webhooks). Wazzup sends a test request to u
// first and refuses a URL that does not answer it with 200.
func (c *Client) SetWebhooksURL(ctx context.Context, u *string) (WebhooksSettings, error) {
	var out WebhooksSettings
	err := c.http.Do(ctx, httpclient.Request{Method: "PUT", Path: webhooksPath, In: map[string]*string{"url": u}, Out: &out})
	return out, err
}

// WebhooksURL returns the account's webhook settings (GET /v2/webhooks).
func (c *Client) WebhooksURL(ctx context.Context) (WebhooksSettings, error) {
	var out WebhooksSettings
	err := c.http.Do(ctx, httpclient.Request{Method: "GET", Path: webhooksPath, Out: &out})
	return out, err
}

// RegisterHook sets the account's one webhook URL to u. Wazzup does not
// sign: secret is unused (the caller puts it in u as its token). An answer
// naming another URL than the one sent is an error.
func (c *Connector) RegisterHook(ctx context.Context, u, _ string) (string, error) {
	got, err := c.client.SetWebhooksURL(ctx, &u)
	if err != nil {
		return "", err
	}
	if got.WebhooksURL != nil && *got.WebhooksURL != u {
		return "", fmt.Errorf("wazzup: PUT %s answered another webhooksUrl than the one sent", webhooksPath)
	}
	return "", nil
}

// UnregisterHook turns the account's webhooks off when they still point
// at u (compared without the query, which holds the token); a URL someone
// set since is left alone.
func (c *Connector) UnregisterHook(ctx context.Context, u, _ string) error {
	cur, err := c.client.WebhooksURL(ctx)
	if err != nil {
		return err
	}
	if cur.WebhooksURL == nil || withoutQuery(*cur.WebhooksURL) != withoutQuery(u) {
		return nil
	}
	_, err = c.client.SetWebhooksURL(ctx, nil)
	return err
}

// withoutQuery returns u without its query and fragment.
func withoutQuery(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.RawQuery, p.Fragment = "", ""
	return p.String()
}

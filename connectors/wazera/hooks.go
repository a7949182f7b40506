package wazera

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

var _ connectors.HookRegistrar = (*Connector)(nil)

// HookEvents are the event types the hub subscribes its webhook to: every
// one the document lists.
var HookEvents = []string{EventMessageReceived, EventMessageSent, EventMessageDelivered, EventMessageRead,
	EventConversationCreated, EventConversationClosed, EventContactCreated, EventContactUpdated}

// Webhook is an outgoing webhook of the account (GET and POST /webhooks).
// The secret is sent on create and never read back.
type Webhook struct {
	ID     ID       `json:"id,omitempty"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret,omitempty"`
}

// webhookList is the answer of GET /webhooks: {"data": [...]} or a bare
// array.
type webhookList []Webhook

func (l *webhookList) UnmarshalJSON(b []byte) error {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(b, &env) == nil && len(env.Data) > 0 && env.Data[0] == '[' {
		b = env.Data
	}
	return json.Unmarshal(b, (*[]Webhook)(l))
}

// ListWebhooks returns the account's outgoing webhooks (GET /webhooks).
func (c *Client) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	var out webhookList
	err := c.http.Do(ctx, httpclient.Request{Method: "GET", Path: "/webhooks", Out: &out})
	return out, err
}

// CreateWebhook creates an outgoing webhook (POST /webhooks) and returns
// it with its id.
func (c *Client) CreateWebhook(ctx context.Context, in Webhook) (Webhook, error) {
	in.ID = ""
	var out one[Webhook]
	err := c.http.Do(ctx, httpclient.Request{Method: "POST", Path: "/webhooks", In: in, Out: &out})
	return out.v, err
}

// DeleteWebhook deletes webhook id (DELETE /webhooks/{id}, the REST
// reading of a route the document does not list); IsNotFound reports a
// missing one.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.http.Do(ctx, httpclient.Request{Method: "DELETE", Path: "/webhooks/" + url.PathEscape(id)})
}

// RegisterHook creates a webhook of every documented event to u, signed
// with secret. Webhooks of the account already pointing at u (left by an
// attempt whose answer was lost, or signed with an older secret) are
// deleted first, so Wazera signs each delivery with one secret only.
func (c *Connector) RegisterHook(ctx context.Context, u, secret string) (string, error) {
	if err := c.deleteHooksTo(ctx, u); err != nil {
		return "", err
	}
	w, err := c.client.CreateWebhook(ctx, Webhook{URL: u, Events: HookEvents, Secret: secret})
	if err != nil {
		return "", err
	}
	return string(w.ID), nil
}

// UnregisterHook deletes webhook remoteID, and any other of the account
// pointing at u; one already gone is not an error.
func (c *Connector) UnregisterHook(ctx context.Context, u, remoteID string) error {
	if remoteID != "" {
		if err := c.client.DeleteWebhook(ctx, remoteID); err != nil && !IsNotFound(err) {
			return err
		}
	}
	return c.deleteHooksTo(ctx, u)
}

// deleteHooksTo deletes the account's webhooks whose URL is u.
func (c *Connector) deleteHooksTo(ctx context.Context, u string) error {
	hooks, err := c.client.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if h.URL != u || h.ID == "" {
			continue
		}
		if err := c.client.DeleteWebhook(ctx, string(h.ID)); err != nil && !IsNotFound(err) {
			return err
		}
	}
	return nil
}

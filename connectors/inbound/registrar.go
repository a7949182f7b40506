package inbound

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
)

// Registrar registers and removes connections' hook URLs at their CRMs
// through the connectors that are connectors.HookRegistrar; the
// registration loop of package db calls it. For a CRM that does not sign
// its webhooks the secret goes into the URL as its token, as the receiver
// expects.
type Registrar struct {
	Registry   connectors.Registry
	HTTPClient *http.Client
}

// Register points the CRM's webhooks at call.URL and returns the CRM's id
// of the registration. crmhub.ErrNoHookAPI when the CRM has no API for
// it; a *crmhub.HookError when the CRM refused or could not be reached.
func (r *Registrar) Register(ctx context.Context, call crmhub.HookCall) (string, error) {
	reg, c, err := r.registrar(call)
	if err != nil {
		return "", err
	}
	u := call.URL
	if _, unsigned := c.(connectors.UnsignedWebhooks); unsigned {
		u += "?token=" + url.QueryEscape(call.Secret)
	}
	id, err := reg.RegisterHook(ctx, u, call.Secret)
	if err != nil {
		return "", hookError("registering", err)
	}
	return id, nil
}

// Unregister removes the registration of call.URL (or call.RemoteID) at
// the CRM; errors as Register's.
func (r *Registrar) Unregister(ctx context.Context, call crmhub.HookCall) error {
	reg, _, err := r.registrar(call)
	if err != nil {
		return err
	}
	if err := reg.UnregisterHook(ctx, call.URL, call.RemoteID); err != nil {
		return hookError("removing", err)
	}
	return nil
}

// registrar builds the connection's connector and returns it as a
// HookRegistrar.
func (r *Registrar) registrar(call crmhub.HookCall) (connectors.HookRegistrar, connectors.Connector, error) {
	c, err := r.Registry.New(call.Kind, connectors.Config{BaseURL: call.BaseURL, APIKey: call.APIKey,
		Options: call.Options, HTTPClient: r.HTTPClient})
	if err != nil {
		return nil, nil, &crmhub.HookError{Note: "the connection's settings do not build a connector: " + err.Error(), Err: err}
	}
	reg, ok := c.(connectors.HookRegistrar)
	if !ok {
		return nil, nil, crmhub.ErrNoHookAPI
	}
	return reg, c, nil
}

// hookError says in words what the CRM answered; the words are shown on
// the connection, so they name the CRM's answer and nothing of the hub.
func hookError(doing string, err error) error {
	var (
		rl  *connectors.RateLimitError
		ae  *connectors.AuthError
		te  *connectors.TransientError
		req *connectors.RequestError
	)
	note := doing + " the webhook failed"
	he := &crmhub.HookError{Err: err}
	switch {
	case errors.As(err, &rl):
		note = fmt.Sprintf("%s the webhook: the CRM limits the request rate (429)", doing)
		he.RetryAfter = rl.RetryAfter
	case errors.As(err, &ae):
		note = fmt.Sprintf("%s the webhook: the CRM refused the connection's API key (HTTP %d)", doing, ae.Status)
	case errors.As(err, &te) && te.Status > 0:
		note = fmt.Sprintf("%s the webhook: the CRM answered HTTP %d", doing, te.Status)
	case errors.As(err, &te):
		note = fmt.Sprintf("%s the webhook: the CRM could not be reached", doing)
	case errors.As(err, &req):
		note = fmt.Sprintf("%s the webhook: the CRM refused it (HTTP %d %s: %s)", doing, req.Status, req.Code, req.Message)
	}
	he.Note = note
	return he
}

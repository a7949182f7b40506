package connectors

import "context"

// HookRegistrar is optional: a Connector whose CRM has an API to point its
// webhooks at a URL (Wazzup's PUT /v2/webhooks, Wazera's /webhooks)
// implements it, and the hub then registers its hook URL there when a
// connection is created or enabled and removes it when the connection is
// disabled or deleted. A CRM whose webhooks are set up in its own screens
// (Wazelo) does not implement it.
type HookRegistrar interface {
	// RegisterHook points the CRM's webhooks at url, signed with secret
	// where the CRM signs (a CRM that does not sign gets the secret as the
	// URL's token from the caller). It returns the CRM's id of the
	// registration, "" when the CRM keeps one URL per account. Registering
	// the same url again is harmless.
	RegisterHook(ctx context.Context, url, secret string) (remoteID string, err error)
	// UnregisterHook removes the registration of url (compared without its
	// query) or of remoteID when known. A registration already gone, or
	// replaced at the CRM by another URL, is not an error: the CRM no longer
	// calls the hub.
	UnregisterHook(ctx context.Context, url, remoteID string) error
}

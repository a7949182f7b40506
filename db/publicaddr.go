package db

import (
	"context"
	"errors"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/internal/safehttp"
)

// The service makes HTTP requests to URLs its clients give it (webhook
// endpoints, the base URLs of connections). Unless the server allows
// private addresses, such a URL must not lead into the server's own
// network: its host is resolved when the URL is saved and refused if any
// address is not public (safehttp.CheckHost); the HTTP clients check the
// address they dial again.

// checkPublicHost resolves host (a name or an IP literal) and reports an
// EINVALID error on field when it does not resolve or any of its addresses
// is loopback, private, link-local or otherwise not public.
func checkPublicHost(ctx context.Context, field, host string) error {
	err := safehttp.CheckHost(ctx, host)
	var he *safehttp.HostError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &he) && he.Addr.IsValid():
		return crmhub.Invalid(field, "the %s's host resolves to %s, a loopback, private, link-local or otherwise non-public address", field, he.Addr)
	}
	return crmhub.Invalid(field, "the %s's host %q does not resolve", field, truncateString(host, 100))
}

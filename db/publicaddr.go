package db

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/crmhub/crmhub"
)

// The service makes HTTP requests to URLs its clients give it (webhook
// endpoints, the base URLs of connections). Unless the server allows
// private addresses, such a URL must not lead into the server's own
// network: its host is resolved when the URL is saved and refused if any
// address is not public.

// hostLookupTimeout bounds the resolution of a host being saved.
const hostLookupTimeout = 5 * time.Second

// checkPublicHost resolves host (a name or an IP literal) and reports an
// EINVALID error on field when it does not resolve or any of its addresses
// is loopback, private, link-local or otherwise not public.
func checkPublicHost(ctx context.Context, field, host string) error {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ctx, cancel := context.WithTimeout(ctx, hostLookupTimeout)
		defer cancel()
		addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(addrs) == 0 {
			return crmhub.Invalid(field, "the %s's host %q does not resolve", field, truncateString(host, 100))
		}
	}
	for _, a := range addrs {
		if !publicAddr(a) {
			return crmhub.Invalid(field, "the %s's host resolves to %s, a loopback, private, link-local or otherwise non-public address", field, a)
		}
	}
	return nil
}

// nonPublic lists ranges refused beside those netip classifies: "this
// network", shared address space (carrier NAT, some cloud metadata),
// IETF protocol assignments, benchmarking and reserved space.
var nonPublic = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("240.0.0.0/4")}

// nat64 embeds IPv4 addresses in IPv6 ones.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// publicAddr reports whether the service may connect to a.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

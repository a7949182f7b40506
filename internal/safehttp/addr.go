package safehttp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// hostLookupTimeout bounds the resolution of a host being checked.
const hostLookupTimeout = 5 * time.Second

// HostError is why CheckHost refused a host: it did not resolve (Addr is
// the zero Addr), or it resolves to Addr, which is not public.
type HostError struct {
	Host string
	Addr netip.Addr
}

func (e *HostError) Error() string {
	if !e.Addr.IsValid() {
		return fmt.Sprintf("host %q does not resolve", e.Host)
	}
	return fmt.Sprintf("host %q resolves to %s, a loopback, private, link-local or otherwise non-public address", e.Host, e.Addr)
}

// CheckHost resolves host (a name or an IP literal) and returns a
// *HostError when it does not resolve or any of its addresses is not
// public (see PublicAddr). It is the check made when a URL is saved; the
// client of NewClient checks again at each connection.
func CheckHost(ctx context.Context, host string) error {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ctx, cancel := context.WithTimeout(ctx, hostLookupTimeout)
		defer cancel()
		addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(addrs) == 0 {
			return &HostError{Host: host}
		}
	}
	for _, a := range addrs {
		if !PublicAddr(a) {
			return &HostError{Host: host, Addr: a}
		}
	}
	return nil
}

// nonPublic lists ranges refused beside those netip classifies: "this
// network", shared address space (carrier NAT, some cloud metadata),
// IETF protocol assignments, benchmarking and reserved space.
var nonPublic = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("240.0.0.0/4")}

// nonPublic6 lists IPv6 ranges refused beside those netip classifies:
// IPv4-compatible addresses (::a.b.c.d, deprecated; ::7f00:1 is
// 127.0.0.1 to some stacks), Teredo (its client address is obfuscated
// inside), discard-only, documentation and the old site-local range.
var nonPublic6 = []netip.Prefix{netip.MustParsePrefix("::/96"), netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("100::/64"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("fec0::/10")}

// Prefixes of IPv6 addresses that embed an IPv4 one, which is judged
// instead: NAT64 (in the last four bytes) and 6to4 (in bytes 2 to 5).
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// PublicAddr reports whether the service may connect to a: it is not
// loopback, private, link-local, multicast, unspecified or in another
// range that leads into a network of the server's own (an IPv4 address
// mapped, NAT64-embedded or 6to4-embedded in an IPv6 one is judged as
// itself).
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	switch {
	case nat64.Contains(a):
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	case sixTo4.Contains(a):
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[2:6]))
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
	for _, p := range nonPublic6 {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

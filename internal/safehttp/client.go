package safehttp

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrAddressNotAllowed is the error of a connection refused by a client
// of NewClient because the address dialled is not public.
var ErrAddressNotAllowed = errors.New("address not allowed: loopback, private, link-local or otherwise non-public")

// NewClient returns a client for URLs that API clients give the service
// (webhook endpoints, connection base URLs). It never follows redirects
// (a 3xx is an answer), uses no proxy, bounds each request by timeout
// and, unless allowPrivate, refuses to connect to non-public addresses:
// the check runs on the address actually dialled, after DNS resolution,
// so DNS rebinding cannot reach them.
func NewClient(timeout time.Duration, allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !PublicAddr(ap.Addr()) {
				return fmt.Errorf("%w (%s)", ErrAddressNotAllowed, address)
			}
			return nil
		}
	}
	transport := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: timeout,
		ResponseHeaderTimeout: timeout, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: true}
	return &http.Client{Transport: transport, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

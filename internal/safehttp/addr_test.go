package safehttp

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

func TestPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		{"127.0.0.1", false}, {"127.8.8.8", false}, {"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"0.0.0.0", false}, {"0.1.2.3", false}, {"224.0.0.1", false}, {"255.255.255.255", false},
		{"100.64.0.1", false}, {"198.18.0.1", false}, {"::1", false}, {"::", false}, {"fe80::1", false}, {"fc00::1", false},
		{"ff02::1", false}, {"::ffff:10.0.0.1", false}, {"64:ff9b::7f00:1", false},
		// IPv4-compatible, 6to4 of loopback and private, Teredo,
		// documentation, site-local.
		{"::127.0.0.1", false}, {"::8.8.8.8", false}, {"2002:7f00:1::", false}, {"2002:a00:1::1", false},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false}, {"2001:db8::1", false}, {"fec0::1", false},
		{"2002:808:808::1", true},
		{"93.184.216.34", true}, {"8.8.8.8", true}, {"2606:4700:4700::1111", true}, {"64:ff9b::808:808", true},
	} {
		a, err := netip.ParseAddr(tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := PublicAddr(a); got != tc.public {
			t.Errorf("PublicAddr(%s) = %v, want %v", tc.addr, got, tc.public)
		}
	}
	if PublicAddr(netip.Addr{}) {
		t.Error("the zero Addr is public")
	}
}

func TestCheckHost(t *testing.T) {
	ctx := context.Background()
	for _, host := range []string{"93.184.216.34", "2606:4700:4700::1111"} {
		if err := CheckHost(ctx, host); err != nil {
			t.Errorf("CheckHost(%q) = %v, want nil", host, err)
		}
	}
	for host, addr := range map[string]string{
		"127.0.0.1": "127.0.0.1", "10.0.0.1": "10.0.0.1", "::1": "::1", "::ffff:127.0.0.1": "::ffff:127.0.0.1",
		"169.254.169.254": "169.254.169.254",
	} {
		var he *HostError
		if err := CheckHost(ctx, host); !errors.As(err, &he) || he.Host != host || he.Addr != netip.MustParseAddr(addr) {
			t.Errorf("CheckHost(%q) = %v, want a HostError with address %s", host, err, addr)
		}
	}
	// localhost resolves (from the hosts file) to loopback only.
	var he *HostError
	if err := CheckHost(ctx, "localhost"); !errors.As(err, &he) || !he.Addr.IsLoopback() {
		t.Errorf("CheckHost(localhost) = %v, want refused as loopback", err)
	}
}

func TestHostErrorMessages(t *testing.T) {
	if got, want := (&HostError{Host: "nowhere.invalid"}).Error(), `host "nowhere.invalid" does not resolve`; got != want {
		t.Errorf("unresolved: %q, want %q", got, want)
	}
	got := (&HostError{Host: "db.internal", Addr: netip.MustParseAddr("10.0.0.5")}).Error()
	if want := `host "db.internal" resolves to 10.0.0.5, a loopback, private, link-local or otherwise non-public address`; got != want {
		t.Errorf("non-public: %q, want %q", got, want)
	}
}

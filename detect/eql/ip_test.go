package eql

import (
	"net/netip"
	"testing"
)

// The CIDR matcher agrees with net/netip (IPv4-mapped addresses taken as IPv4).
func TestCIDRAgreesWithNetip(t *testing.T) {
	blocks := []string{"10.0.0.0/8", "10.1.2.3/32", "0.0.0.0/0", "192.168.1.128/25", "2001:db8::/32", "::/0",
		"fe80::1/128", "2001:db8:0:0:1::/80", "1.2.3.4/0", "10.0.0.0/7"}
	addrs := []string{"10.1.2.3", "10.255.255.255", "11.0.0.1", "192.168.1.200", "192.168.1.100", "0.0.0.0",
		"2001:db8::1", "2001:db9::1", "fe80::1", "::ffff:10.1.2.3", "::1", "2001:db8:0:0:1:ffff::", "1:2:3:4:5:6:7:8",
		"::", "1::", "2001:db8::10.1.2.3"}
	for _, b := range blocks {
		c, ok := parseCIDR(b)
		want, err := netip.ParsePrefix(b)
		if !ok || err != nil {
			t.Fatalf("parseCIDR(%q) = %v, netip error %v", b, ok, err)
		}
		for _, s := range addrs {
			a, _, ok := parseIP(s)
			na, err := netip.ParseAddr(s)
			if !ok || err != nil {
				t.Fatalf("parseIP(%q) = %v, netip error %v", s, ok, err)
			}
			if got, want := c.contains(a), want.Masked().Contains(na.Unmap()); got != want {
				t.Errorf("%s contains %s = %v, want %v", b, s, got, want)
			}
		}
	}
	for _, bad := range []string{"", "10.0.0.0", "10.0.0.0/33", "10.0.0/8", "10.0.0.256/8", "010.0.0.1/8", "1:::1/64",
		"1::2::3/64", "12345::/16", "1:2:3:4:5:6:7:8:9/64", "1:2:3:4:5:6:7/64", "g::/16", "::1/129", "fe80::1%eth0/64", "10.0.0.0/-1", "::1.2.3/96"} {
		if _, ok := parseCIDR(bad); ok {
			t.Errorf("parseCIDR(%q) accepted", bad)
		}
		if _, err := netip.ParsePrefix(bad); err == nil {
			t.Errorf("netip accepts %q: the test is wrong", bad)
		}
	}
}

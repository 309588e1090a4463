package eql

import "strings"

// A small IP parser for cidrMatch: net/netip would add to the start-up of every process
// that links this package (the runtime wrapper starts once per runtime call).

// ip16 is an address in its 16-byte form; IPv4 addresses are IPv4-mapped IPv6 addresses,
// so that ::ffff:10.1.2.3 is 10.1.2.3, as in Elasticsearch.
type ip16 [16]byte

// cidr is a network: the address with its host bits cleared, and the prefix length in the
// 16-byte form. An IPv4 network holds IPv4 addresses only and an IPv6 network IPv6 ones, as
// with net/netip; an IPv4-mapped address (::ffff:a.b.c.d) counts as IPv4.
type cidr struct {
	addr ip16
	bits int
	v4   bool
}

func isMapped(a ip16) bool {
	for i := 0; i < 10; i++ {
		if a[i] != 0 {
			return false
		}
	}
	return a[10] == 0xff && a[11] == 0xff
}

func (c cidr) contains(a ip16) bool {
	if c.v4 != isMapped(a) {
		return false
	}
	n := c.bits
	for i := 0; n > 0; i++ {
		mask := byte(0xff)
		if n < 8 {
			mask = ^byte(0xff >> n)
		}
		if a[i]&mask != c.addr[i] {
			return false
		}
		n -= 8
	}
	return true
}

func parseCIDR(s string) (cidr, bool) {
	addr, bitsStr, ok := strings.Cut(s, "/")
	if !ok {
		return cidr{}, false
	}
	a, v4, ok := parseIP(addr)
	if !ok {
		return cidr{}, false
	}
	bits, ok := parseDec(bitsStr, 128)
	if !ok || (v4 && bits > 32) {
		return cidr{}, false
	}
	if v4 {
		bits += 96
	}
	c := cidr{bits: bits, v4: v4}
	for i := range a {
		switch {
		case bits >= 8:
			c.addr[i] = a[i]
		case bits > 0:
			c.addr[i] = a[i] & ^byte(0xff>>bits)
		}
		bits -= 8
	}
	return c, true
}

// parseIP parses a dotted IPv4 address or an IPv6 address (with :: and a trailing dotted
// IPv4 part; no zone).
func parseIP(s string) (a ip16, v4, ok bool) {
	if strings.IndexByte(s, ':') < 0 {
		var b [4]byte
		if !parseV4(s, &b) {
			return a, false, false
		}
		a[10], a[11] = 0xff, 0xff
		copy(a[12:], b[:])
		return a, true, true
	}
	return parseV6(s)
}

func parseV4(s string, out *[4]byte) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for i, p := range parts {
		if len(p) > 1 && p[0] == '0' {
			return false // no leading zeros: they read as octal elsewhere
		}
		n, ok := parseDec(p, 255)
		if !ok {
			return false
		}
		out[i] = byte(n)
	}
	return true
}

func parseDec(s string, max int) (int, bool) {
	if s == "" || len(s) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n <= max
}

func parseV6(s string) (a ip16, v4, ok bool) {
	head, tail, compressed := s, "", false
	if i := strings.Index(s, "::"); i >= 0 {
		head, tail, compressed = s[:i], s[i+2:], true
		if strings.Contains(tail, "::") {
			return a, false, false
		}
	}
	groups := func(part string) ([]byte, bool) {
		if part == "" {
			return nil, true
		}
		var out []byte
		fields := strings.Split(part, ":")
		for i, f := range fields {
			if i == len(fields)-1 && strings.IndexByte(f, '.') >= 0 {
				var b [4]byte
				if !parseV4(f, &b) {
					return nil, false
				}
				out = append(out, b[:]...)
				continue
			}
			if f == "" || len(f) > 4 {
				return nil, false
			}
			v := 0
			for j := 0; j < len(f); j++ {
				c := f[j]
				switch {
				case '0' <= c && c <= '9':
					v = v<<4 | int(c-'0')
				case 'a' <= c && c <= 'f':
					v = v<<4 | int(c-'a'+10)
				case 'A' <= c && c <= 'F':
					v = v<<4 | int(c-'A'+10)
				default:
					return nil, false
				}
			}
			out = append(out, byte(v>>8), byte(v))
		}
		return out, true
	}
	h, okH := groups(head)
	t, okT := groups(tail)
	if !okH || !okT || (compressed && strings.IndexByte(head, '.') >= 0) {
		return a, false, false
	}
	switch n := len(h) + len(t); {
	case compressed && n > 14, !compressed && n != 16:
		return a, false, false
	}
	copy(a[:], h)
	copy(a[16-len(t):], t)
	return a, false, true
}

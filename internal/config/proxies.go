package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseCIDRList reads a comma-separated list of CIDRs; a bare address is
// its own /32 or /128. Empty is no list.
func ParseCIDRList(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR (like 10.0.0.0/8) or an address", part)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// TrustedProxyPrefixes answers TrustedProxies parsed (validated at load).
func (c Config) TrustedProxyPrefixes() []netip.Prefix {
	ps, _ := ParseCIDRList(c.TrustedProxies)
	return ps
}

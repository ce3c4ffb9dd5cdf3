package httpapi

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

// parseHopSeeds are hops in every form ClientIP meets, and near misses.
var parseHopSeeds = []string{
	"1.2.3.4", "1.2.3.4:80", "[::1]:80", "::1", "[::1]", "::1:80", "2001:db8::1", "[2001:db8::1]:443",
	"::ffff:10.0.0.1", "[::ffff:10.0.0.1]:80", "fe80::1%eth0", "[fe80::1%eth0]:80", "1.2.3.4:80:90",
	"1.2.3.4:", ":80", "[1.2.3.4]:80", "1.2.3.4%eth0", "", ":", "@", "garbage", "[::1", "::1]:80", "1.2.3.4:99999",
}

// parseHopBefore is parseHop as it was: an address first, then one with
// a port.
func parseHopBefore(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap(), true
}

// TestParseHopOrder: trying the form with a port first changes no answer.
func TestParseHopOrder(t *testing.T) {
	t.Parallel()
	for _, s := range parseHopSeeds {
		wa, wok := parseHopBefore(s)
		ga, gok := parseHop(s)
		assert.Equal(t, wok, gok, s)
		assert.Equal(t, wa, ga, s)
	}
}

func FuzzParseHop(f *testing.F) {
	for _, s := range parseHopSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		wa, wok := parseHopBefore(s)
		ga, gok := parseHop(s)
		if wok != gok || wa != ga {
			t.Fatalf("%q: %v %v, want %v %v", s, ga, gok, wa, wok)
		}
	})
}

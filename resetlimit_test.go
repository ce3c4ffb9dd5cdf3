package users_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store/memstore"
)

// RequestPasswordReset is limited per client IP, whatever the address
// (Limits.ResetRequestIP, keyed by the IP of the call's RequestInfo, an
// IPv6 address by its /64): past the limit it answers a *RateLimitError
// before any lookup, so no mail is queued; other IPs, and calls without
// an IP, are not limited by it; a malformed address is still a
// validation error first. The default is 10 per IP in any 15 minutes.
//
// Checked against asking the limiter with the address as key: the third
// request, for a new address, was let through and the test failed.
func TestPasswordResetRequestLimitPerIP(t *testing.T) {
	t.Parallel()
	d := users.DefaultLimits().ResetRequestIP.(*users.MemoryLimiter)
	assert.Equal(t, 10, d.Points)
	assert.Equal(t, 15*time.Minute, d.Window)

	log := &callLog{Store: memstore.New()}
	e := newEnvOn(t, log, limits(func(l *users.Limits) {
		l.RequestStall = 0
		l.ResetRequestIP = &users.MemoryLimiter{Points: 2, Window: time.Hour}
	}))
	e.owner(nil)
	from := func(ip string) *env {
		c := *e
		c.ctx = users.WithRequest(e.ctx, users.RequestInfo{IP: ip})
		return &c
	}
	for _, c := range []struct{ ip, ip2 string }{
		{"192.0.2.7", "192.0.2.7"},
		{"2001:db8:5:6::1", "2001:db8:5:6:aaaa::2"}, // one /64
	} {
		a, b := from(c.ip), from(c.ip2)
		require.NoError(t, a.m.RequestPasswordReset(a.ctx, "first@example.com", ""))
		require.NoError(t, b.m.RequestPasswordReset(b.ctx, "second@example.com", ""))
		log.calls = nil
		err := b.m.RequestPasswordReset(b.ctx, ownerEmail, "")
		var rl *users.RateLimitError
		require.ErrorAs(t, err, &rl, c.ip)
		assert.Empty(t, log.calls, "refused before any lookup")
		var ve *users.ValidationError
		require.ErrorAs(t, b.m.RequestPasswordReset(b.ctx, "not an address", ""), &ve)
	}
	assert.Empty(t, e.deliver(), "no mail for the refused request")
	other := from("198.51.100.3")
	require.NoError(t, other.m.RequestPasswordReset(other.ctx, ownerEmail, ""), "another IP")
	for range 3 {
		require.NoError(t, e.m.RequestPasswordReset(e.ctx, "no-ip@example.com", ""), "no IP: not limited per IP")
	}
	assert.Len(t, e.deliver(), 1, "the other IP's request mailed the owner")
}

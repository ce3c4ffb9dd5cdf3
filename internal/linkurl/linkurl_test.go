package linkurl

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithQueryParam(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, want string }{
		{"no query", "https://good.com/verify", "https://good.com/verify?token=abc"},
		{"empty query", "https://good.com/verify?", "https://good.com/verify?token=abc"},
		{"keeps params in order", "https://good.com/verify?b=2&a=1", "https://good.com/verify?b=2&a=1&token=abc"},
		{"keeps escapes", "https://good.com/verify?q=a%20b+c&x", "https://good.com/verify?q=a%20b+c&x&token=abc"},
		{"keeps fragment", "https://good.com/verify?a=1#/route?x=1", "https://good.com/verify?a=1&token=abc#/route?x=1"},
		{"fragment no query", "https://spa.example.com/#/verify", "https://spa.example.com/?token=abc#/verify"},
		{"replaces token", "https://good.com/verify?token=old&a=1&token=older", "https://good.com/verify?a=1&token=abc"},
		{"replaces escaped key", "https://good.com/verify?%74oken=old", "https://good.com/verify?token=abc"},
		{"keeps similar keys", "https://good.com/verify?tokens=1&xtoken=2&token_=3", "https://good.com/verify?tokens=1&xtoken=2&token_=3&token=abc"},
		{"drops empty params", "https://good.com/verify?&a=1&&", "https://good.com/verify?a=1&token=abc"},
		{"custom scheme", "myapp://callback", "myapp://callback?token=abc"},
		{"path-only custom scheme", "com.example.app:/cb", "com.example.app:/cb?token=abc"},
	}
	for _, tc := range cases {
		got, err := WithQueryParam(tc.in, "token", "abc")
		if assert.NoError(t, err, tc.name) {
			assert.Equal(t, tc.want, got, tc.name)
		}
	}

	got, err := WithQueryParam("https://good.com/verify?a=1", "token", "a b&c=d#e/f+g?h")
	require.NoError(t, err)
	assert.Equal(t, "https://good.com/verify?a=1&token=a+b%26c%3Dd%23e%2Ff%2Bg%3Fh", got)
	u, err := url.Parse(got)
	require.NoError(t, err)
	assert.Equal(t, "a b&c=d#e/f+g?h", u.Query().Get("token"), "the value round-trips")
	assert.Equal(t, "1", u.Query().Get("a"))

	for _, garbage := range []string{"", "not a url", "/verify", "//good.com/verify", "https:good.com", "https:///verify", "https://good.com/\n", "https://good.com/%zz", "https://[::1/"} {
		_, err := WithQueryParam(garbage, "token", "secret-token-value")
		if assert.Error(t, err, "%q", garbage) {
			assert.ErrorIs(t, err, ErrBadURL)
			assert.NotContains(t, err.Error(), "secret-token-value", "never echoes the value")
		}
	}
	_, err = WithQueryParam("https://good.com/verify", "", "x")
	assert.Error(t, err)
}

func TestValidFor(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		time.Hour:          "1 hour",
		2 * time.Hour:      "2 hours",
		24 * time.Hour:     "1 day",
		7 * 24 * time.Hour: "7 days",
		36 * time.Hour:     "36 hours",
		30 * time.Minute:   "30 minutes",
		time.Minute:        "1 minute",
		90 * time.Second:   "1m30s",
	} {
		assert.Equal(t, want, ValidFor(d), "%v", d)
	}
}

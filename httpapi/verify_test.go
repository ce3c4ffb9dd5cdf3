package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerifyEmail(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)
	require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody("v@example.com", password)).Code)
	token := memmailer.Token(f.deliver("v@example.com"))
	require.NotEmpty(t, token)
	target := "/users/register/verify-email?token=" + url.QueryEscape(token)

	// A link scanner's HEAD does not consume the token.
	w := f.serve(request("HEAD", target, ""))
	wantError(t, w, http.StatusNotFound, "ROUTE_NOT_FOUND", "")
	assert.Equal(t, users.StatusUnverified, f.user("v@example.com").Status)

	w = f.do("GET", target, "")
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, users.StatusActive, f.user("v@example.com").Status)
	assert.NotContains(t, f.logs.String(), token)

	// Used.
	wantError(t, f.do("GET", target, ""), http.StatusForbidden, "INVALID_TOKEN", "Invalid token.")

	before := f.snapshot()
	for name, q := range map[string]string{
		"garbage":      "?token=garbage",
		"well formed":  "?token=" + strings.Repeat("A", len(token)),
		"with newline": "?token=" + url.QueryEscape(token+"\n"),
	} {
		wantError(t, f.do("GET", "/users/register/verify-email"+q, ""), http.StatusForbidden, "INVALID_TOKEN", "Invalid token.")
		_ = name
	}
	// As Directus answers: no token is an invalid one; an empty or
	// repeated token sends the browser to the sign-in page.
	wantError(t, f.do("GET", "/users/register/verify-email", ""), http.StatusForbidden, "INVALID_TOKEN", "Invalid token.")
	for _, q := range []string{"?token=", "?token=a&token=b", "?token=&token=", "?token=" + url.QueryEscape(token) + "&token=" + url.QueryEscape(token)} {
		w := f.do("GET", "/users/register/verify-email"+q, "")
		require.Equal(t, http.StatusFound, w.Code, q)
		assert.Equal(t, "/admin/login", w.Header().Get("Location"), q)
	}
	wantError(t, f.do("POST", target, `{}`), http.StatusNotFound, "ROUTE_NOT_FOUND", "")
	assert.Equal(t, before, f.snapshot())
}

func TestVerifyEmailExpired(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)
	require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody("x@example.com", password)).Code)
	token := memmailer.Token(f.deliver("x@example.com"))
	f.clock.Advance(8 * 24 * time.Hour)
	before := f.snapshot()
	w := f.do("GET", "/users/register/verify-email?token="+url.QueryEscape(token), "")
	wantError(t, w, http.StatusUnauthorized, "TOKEN_EXPIRED", "Token expired.")
	assert.Equal(t, before, f.snapshot())
}

func TestVerifyEmailRedirect(t *testing.T) {
	t.Parallel()
	f := newFixture(t, httpapi.WithVerifyRedirect("https://app.example.com/login?verified=1"))
	f.openRegistration(true)
	require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody("r@example.com", password)).Code)
	token := memmailer.Token(f.deliver("r@example.com"))
	w := f.do("GET", "/users/register/verify-email?token="+url.QueryEscape(token), "")
	require.Equal(t, http.StatusFound, w.Code)
	assert.Equal(t, "https://app.example.com/login?verified=1", w.Header().Get("Location"))
	assert.NotContains(t, w.Header().Get("Location"), token)
	assert.Equal(t, "no-referrer", w.Header().Get("Referrer-Policy"))
	assert.Equal(t, users.StatusActive, f.user("r@example.com").Status)
	// Errors are not redirected, but for a link with an empty or repeated
	// token, which goes to the sign-in page (this one), as in Directus.
	wantError(t, f.do("GET", "/users/register/verify-email?token="+url.QueryEscape(token), ""), http.StatusForbidden, "INVALID_TOKEN", "")
	wantError(t, f.do("GET", "/users/register/verify-email", ""), http.StatusForbidden, "INVALID_TOKEN", "")
	for _, q := range []string{"?token=", "?token=a&token=b"} {
		w := f.do("GET", "/users/register/verify-email"+q, "")
		require.Equal(t, http.StatusFound, w.Code, q)
		assert.Equal(t, "https://app.example.com/login?verified=1", w.Header().Get("Location"), q)
	}
}

// TestVerifyEmailMalformedLinkConsumesNothing: a link with a repeated
// token, one of them valid, is redirected without verifying anything; the
// link then works.
func TestVerifyEmailMalformedLinkConsumesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)
	require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody("m@example.com", password)).Code)
	token := memmailer.Token(f.deliver("m@example.com"))
	before := f.snapshot()
	w := f.do("GET", "/users/register/verify-email?token="+url.QueryEscape(token)+"&token=x", "")
	require.Equal(t, http.StatusFound, w.Code)
	assert.NotContains(t, w.Header().Get("Location"), token)
	assert.Equal(t, before, f.snapshot())
	assert.Equal(t, users.StatusUnverified, f.user("m@example.com").Status)
	assert.Equal(t, http.StatusNoContent, f.do("GET", "/users/register/verify-email?token="+url.QueryEscape(token), "").Code)
}

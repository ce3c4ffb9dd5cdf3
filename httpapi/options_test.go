package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/gousers/users/httpapi"
	"github.com/stretchr/testify/assert"
)

func TestNewPanicsOnProgrammingErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	assert.Panics(t, func() { httpapi.New(nil) })
	for _, u := range []string{"javascript:alert(1)", "//evil.example/x", "https://user@evil.example/", "relative/path", "https://a.example/\r\nX: y", `/\evil.example`} {
		assert.Panics(t, func() { httpapi.New(f.m, httpapi.WithVerifyRedirect(u)) }, u)
	}
	assert.Panics(t, func() { httpapi.New(f.m, httpapi.WithTrustedProxies(netip.Prefix{})) })
	assert.NotPanics(t, func() { httpapi.New(f.m, httpapi.WithTrustedProxies(netip.MustParsePrefix("10.1.2.3/8"))) })
	for _, u := range []string{"/login", "https://app.example.com/login?verified=1"} {
		assert.NotPanics(t, func() { httpapi.New(f.m, httpapi.WithVerifyRedirect(u)) }, u)
	}
}

func TestOptionZeroValuesKeepTheDefaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(false)
	h := httpapi.New(f.m, httpapi.WithAuthorizer(nil), httpapi.WithMaxBodyBytes(0), httpapi.WithMaxBodyBytes(-1), httpapi.WithLogger(nil), httpapi.WithRateLimiter(nil))

	r := request("GET", "/roles", "")
	r.Header.Set("Authorization", "Bearer "+adminToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	wantError(t, w, http.StatusForbidden, "FORBIDDEN", "") // no authorizer: nobody is an admin

	body := registerBody("a@example.com", password)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, request("POST", "/users/register", body+strings.Repeat(" ", 1<<20-len(body))))
	assert.Equal(t, http.StatusNoContent, w.Code, "1 MiB is read")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, request("POST", "/users/register", body+strings.Repeat(" ", 1<<20)))
	wantError(t, w, http.StatusBadRequest, "INVALID_PAYLOAD", "Invalid payload. Request body must be at most 1048576 bytes.")
}

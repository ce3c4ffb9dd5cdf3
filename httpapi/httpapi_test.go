package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, rt := range []struct{ method, target string }{
		{"GET", "/"}, {"GET", "/nope"}, {"DELETE", "/roles/x"}, {"PUT", "/users"},
		{"POST", "/settings"}, {"GET", "/auth/login"}, {"DELETE", "/roles"}, {"GET", "/users/x/y"},
		// The flows' paths are not user ids, for an administrator or not.
		{"GET", "/users/register"}, {"PATCH", "/users/register"}, {"DELETE", "/users/register"},
		{"GET", "/users/invite"}, {"PATCH", "/users/invite"}, {"HEAD", "/users/register"},
	} {
		for _, admin := range []bool{true, false} {
			r := request(rt.method, rt.target, "")
			if admin {
				r.Header.Set("Authorization", "Bearer "+adminToken)
			}
			w := f.serve(r)
			if rt.method == "HEAD" {
				assert.Equal(t, http.StatusNotFound, w.Code)
				continue
			}
			wantError(t, w, http.StatusNotFound, "ROUTE_NOT_FOUND", "Route "+rt.target+" doesn't exist.")
		}
	}
	// An unknown route's path is echoed cut to 64 characters.
	long := "/" + strings.Repeat("x", 10000)
	w := f.serve(request("GET", long, ""))
	wantError(t, w, http.StatusNotFound, "ROUTE_NOT_FOUND", "Route "+long[:64]+"… doesn't exist.")
	assert.Less(t, w.Body.Len(), 300)
}

// TestRoutePatternReachesTheCaller: after ServeHTTP, the request holds the
// pattern of the route that served it, as a ServeMux leaves it, so that a
// middleware around the handler can log and count by route.
func TestRoutePatternReachesTheCaller(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for target, want := range map[string]string{
		"/users/register/verify-email?token=x": "GET /users/register/verify-email",
		"/roles?limit=1":                       "GET /roles",
	} {
		r := request("GET", target, "")
		r.Header.Set("Authorization", "Bearer "+adminToken)
		r.Pattern = "/"
		f.serve(r)
		assert.Equal(t, want, r.Pattern, target)
	}
}

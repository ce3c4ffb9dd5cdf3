package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
)

func TestBearerToken(t *testing.T) {
	t.Parallel()
	auth := httpapi.BearerToken("s3cret")
	cases := []struct {
		name   string
		header []string
		query  string
		want   bool
	}{
		{"header", []string{"Bearer s3cret"}, "", true},
		{"lower-case scheme", []string{"bearer s3cret"}, "", true},
		{"upper-case scheme", []string{"BEARER s3cret"}, "", true},
		{"trailing space", []string{"Bearer s3cret "}, "", true},
		{"query", nil, "access_token=s3cret", true},
		{"nothing", nil, "", false},
		{"wrong", []string{"Bearer s3creT"}, "", false},
		{"longer", []string{"Bearer s3cret2"}, "", false},
		{"prefix", []string{"Bearer s3cre"}, "", false},
		{"empty", []string{"Bearer "}, "", false},
		{"no scheme", []string{"s3cret"}, "", false},
		{"basic", []string{"Basic s3cret"}, "", false},
		{"two headers", []string{"Bearer s3cret", "Bearer s3cret"}, "", false},
		{"header wins over query", []string{"Bearer nope"}, "access_token=s3cret", false},
		{"two query values", nil, "access_token=s3cret&access_token=s3cret", false},
		{"empty query", nil, "access_token=", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/roles?"+c.query, nil)
		for _, h := range c.header {
			r.Header.Add("Authorization", h)
		}
		assert.Equal(t, c.want, auth(r), c.name)
	}

	// An empty token refuses everything, an empty candidate included.
	none := httpapi.BearerToken("")
	for _, h := range []string{"", "Bearer ", "Bearer x"} {
		r := httptest.NewRequest("GET", "/roles?access_token=", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		assert.False(t, none(r), h)
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8::/32"),
	}
	cases := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies: the peer", "203.0.113.9:1234", nil, trusted, "203.0.113.9"},
		{"spoofed header from an untrusted peer is ignored", "203.0.113.9:1234", []string{"198.51.100.1"}, trusted, "203.0.113.9"},
		{"spoofed header, nothing trusted", "10.0.0.1:1234", []string{"198.51.100.1"}, nil, "10.0.0.1"},
		{"trusted proxy", "10.0.0.1:1234", []string{"198.51.100.1"}, trusted, "198.51.100.1"},
		{"client spoofs a hop in front of a trusted proxy", "10.0.0.1:1234", []string{"1.1.1.1, 198.51.100.1"}, trusted, "198.51.100.1"},
		{"client spoofs a trusted address", "10.0.0.1:1234", []string{"10.9.9.9, 198.51.100.1"}, trusted, "198.51.100.1"},
		{"two trusted proxies", "10.0.0.1:1234", []string{"198.51.100.1, 10.0.0.2"}, trusted, "198.51.100.1"},
		{"several header lines", "10.0.0.1:1234", []string{"1.1.1.1", "198.51.100.1, 10.0.0.2"}, trusted, "198.51.100.1"},
		{"several header lines, split", "10.0.0.1:1234", []string{"198.51.100.1", "10.0.0.2"}, trusted, "198.51.100.1"},
		{"every hop trusted: the leftmost", "10.0.0.1:1234", []string{"10.0.0.3, 10.0.0.2"}, trusted, "10.0.0.3"},
		{"no header", "10.0.0.1:1234", nil, trusted, "10.0.0.1"},
		{"empty header", "10.0.0.1:1234", []string{""}, trusted, "10.0.0.1"},
		{"garbage at the right: the peer", "10.0.0.1:1234", []string{"198.51.100.1, unknown"}, trusted, "10.0.0.1"},
		{"garbage after a trusted hop: that hop", "10.0.0.1:1234", []string{"198.51.100.1, garbage, 10.0.0.2"}, trusted, "10.0.0.2"},
		{"garbage left of the client is not reached", "10.0.0.1:1234", []string{"garbage, 198.51.100.1"}, trusted, "198.51.100.1"},
		{"empty entry", "10.0.0.1:1234", []string{"198.51.100.1,,10.0.0.2"}, trusted, "10.0.0.2"},
		{"entry with a port", "10.0.0.1:1234", []string{"198.51.100.1:5555"}, trusted, "198.51.100.1"},
		{"IPv6 proxy and client", "[2001:db8::1]:443", []string{"2001:db8:ffff::5, 2001:db9::7"}, trusted, "2001:db9::7"},
		{"IPv6 entry with a port", "[2001:db8::1]:443", []string{"[2001:db9::7]:80"}, trusted, "2001:db9::7"},
		{"IPv4-mapped peer is unmapped", "[::ffff:10.0.0.1]:80", []string{"198.51.100.1"}, trusted, "198.51.100.1"},
		{"IPv4-mapped entry is unmapped", "10.0.0.1:80", []string{"::ffff:198.51.100.1"}, trusted, "198.51.100.1"},
		{"zone dropped", "10.0.0.1:80", []string{"fe80::1%eth0"}, trusted, "fe80::1"},
		{"peer without port", "203.0.113.9", nil, trusted, "203.0.113.9"},
		{"unparsable peer", "@", []string{"198.51.100.1"}, trusted, "invalid IP"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, h := range c.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		assert.Equal(t, c.want, httpapi.ClientIP(r, c.trusted).String(), c.name)
	}
}

func TestRateLimiterPerClientIP(t *testing.T) {
	t.Parallel()
	lim := &users.MemoryLimiter{Points: 2, Window: time.Minute}
	f := newFixture(t,
		httpapi.WithRateLimiter(lim),
		httpapi.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
	f.openRegistration(false)
	login := func(remote string, xff ...string) *httptest.ResponseRecorder {
		r := request("POST", "/auth/login", registerBody("nobody@example.com", "x"))
		r.RemoteAddr = remote
		for _, h := range xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		return f.serve(r)
	}
	// An untrusted client cannot escape its limit with a made-up header.
	assert.Equal(t, http.StatusUnauthorized, login("203.0.113.9:1", "1.1.1.1").Code)
	assert.Equal(t, http.StatusUnauthorized, login("203.0.113.9:2", "2.2.2.2").Code)
	w := login("203.0.113.9:3", "3.3.3.3")
	wantError(t, w, http.StatusTooManyRequests, "REQUESTS_EXCEEDED", "")
	assert.Regexp(t, `^[1-9]\d*$`, w.Header().Get("Retry-After"))

	// Every public route counts; the limit is checked first.
	before := f.snapshot()
	r := request("POST", "/users/register", registerBody("new@example.com", password))
	r.RemoteAddr = "203.0.113.9:4"
	wantError(t, f.serve(r), http.StatusTooManyRequests, "REQUESTS_EXCEEDED", "")
	assert.Equal(t, before, f.snapshot())

	// Another client is not affected; behind the trusted proxy, the
	// forwarded address is the key.
	assert.Equal(t, http.StatusUnauthorized, login("198.51.100.7:1").Code)
	assert.Equal(t, http.StatusUnauthorized, login("10.0.0.1:1", "198.51.100.8").Code)
	assert.Equal(t, http.StatusUnauthorized, login("10.0.0.1:1", "198.51.100.8").Code)
	wantError(t, login("10.0.0.1:1", "198.51.100.8"), http.StatusTooManyRequests, "REQUESTS_EXCEEDED", "")
	assert.Equal(t, http.StatusUnauthorized, login("10.0.0.1:1", "198.51.100.9").Code)

	// Admin routes are not limited.
	for range 3 {
		r := request("GET", "/roles", "")
		r.RemoteAddr = "203.0.113.9:5"
		r.Header.Set("Authorization", "Bearer "+adminToken)
		assert.Equal(t, http.StatusOK, f.serve(r).Code)
	}
}

// WithRegisterRateLimiter limits registrations per client IP only, as
// Directus's RATE_LIMITER_REGISTRATION does, with its limit and reset
// extensions; other routes and other clients are not affected.
func TestRegisterRateLimiter(t *testing.T) {
	t.Parallel()
	f := newFixture(t, httpapi.WithRegisterRateLimiter(&users.MemoryLimiter{Points: 2, Window: time.Minute}))
	f.openRegistration(false)
	register := func(remote, email string) *httptest.ResponseRecorder {
		r := request("POST", "/users/register", registerBody(email, password))
		r.RemoteAddr = remote
		return f.serve(r)
	}
	assert.Equal(t, http.StatusNoContent, register("203.0.113.9:1", "a@example.com").Code)
	assert.Equal(t, http.StatusNoContent, register("203.0.113.9:2", "b@example.com").Code)
	before := f.snapshot()
	w := register("203.0.113.9:3", "c@example.com")
	wantError(t, w, http.StatusTooManyRequests, "REQUESTS_EXCEEDED", "")
	assert.Equal(t, "60", w.Header().Get("Retry-After"))
	var body struct {
		Errors []struct {
			Extensions struct {
				Code  string    `json:"code"`
				Limit int       `json:"limit"`
				Reset time.Time `json:"reset"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
	require.Len(t, body.Errors, 1)
	assert.Equal(t, 2, body.Errors[0].Extensions.Limit)
	assert.WithinDuration(t, time.Now().Add(time.Minute), body.Errors[0].Extensions.Reset, 5*time.Second)
	assert.Equal(t, before, f.snapshot(), "a refused registration writes nothing")

	// Another client may still register; login from the limited one is not
	// counted against registration.
	assert.Equal(t, http.StatusNoContent, register("198.51.100.7:1", "d@example.com").Code)
	r := request("POST", "/auth/login", registerBody("a@example.com", password))
	r.RemoteAddr = "203.0.113.9:4"
	assert.Equal(t, http.StatusOK, f.serve(r).Code)
}

func TestAdminRoutesTakeAnAdminsAccessToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	adminRole, err := f.m.CreateRole(f.ctx, users.Role{Name: "Administrator", AdminAccess: true})
	require.NoError(t, err)
	f.owner(adminRole)
	f.create(users.CreateUserInput{Email: "member@example.com", Password: password, Role: &f.role.ID})

	var admin, member tokens
	data(t, f.do("POST", "/auth/login", loginBody(ownerEmail, password, "")), &admin)
	data(t, f.do("POST", "/auth/login", loginBody("member@example.com", password, "")), &member)

	var roles []users.Role
	data(t, f.withBearer(request("GET", "/roles", ""), admin.AccessToken), &roles)
	assert.Len(t, roles, 2)
	wantError(t, f.withBearer(request("GET", "/roles", ""), member.AccessToken), 403, "FORBIDDEN", "")
	wantError(t, f.withBearer(request("GET", "/roles", ""), "not-a-token"), 403, "FORBIDDEN", "")
	data(t, f.admin("GET", "/roles", ""), &roles) // the static token still works

	f.clock.Advance(16 * time.Minute)
	wantError(t, f.withBearer(request("GET", "/roles", ""), admin.AccessToken), 401, "TOKEN_EXPIRED", "")
	var next tokens
	data(t, f.do("POST", "/auth/refresh", `{"refresh_token":`+jsonString(admin.RefreshToken)+`}`), &next)
	data(t, f.withBearer(request("GET", "/roles", ""), next.AccessToken), &roles)

	// Logged out: the token stops working at once.
	assert.Equal(t, http.StatusNoContent, f.do("POST", "/auth/logout", `{"refresh_token":`+jsonString(next.RefreshToken)+`}`).Code)
	wantError(t, f.withBearer(request("GET", "/roles", ""), next.AccessToken), 403, "FORBIDDEN", "")
}

// adminRoutes are every admin route with a body that would succeed.
func adminRoutes(f *fixture, userID string) []struct{ method, target, body string } {
	role := jsonString(f.role.ID)
	return []struct{ method, target, body string }{
		{"POST", "/users/invite", `{"email":"new@example.com","role":` + role + `}`},
		{"POST", "/users", `{"email":"new@example.com","password":"pw"}`},
		{"GET", "/users", ""},
		{"GET", "/users/" + userID, ""},
		{"PATCH", "/users/" + userID, `{"role":null}`},
		{"PATCH", "/users", `{"keys":[` + jsonString(userID) + `],"data":{"status":"suspended"}}`},
		{"GET", "/roles", ""},
		{"POST", "/roles", `{"name":"Editors"}`},
		{"GET", "/settings", ""},
		{"PATCH", "/settings", `{"public_registration":true}`},
		// VICTIM: a user made for the request where it must succeed.
		{"DELETE", "/users/VICTIM", ""},
		{"DELETE", "/users", `["VICTIM"]`},
	}
}

func TestAdminRoutesRefuseWithoutAuthorization(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.create(users.CreateUserInput{Email: "ada@example.com", Password: password, Role: &f.role.ID})
	before := f.snapshot()
	deny := map[string]func(*http.Request){
		"no credentials":       func(*http.Request) {},
		"wrong bearer":         func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+adminToken+"x") },
		"prefix of the token":  func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+adminToken[:5]) },
		"empty bearer":         func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") },
		"basic scheme":         func(r *http.Request) { r.Header.Set("Authorization", "Basic "+adminToken) },
		"token without scheme": func(r *http.Request) { r.Header.Set("Authorization", adminToken) },
		"wrong access_token": func(r *http.Request) {
			r.URL.RawQuery = url.Values{"access_token": {"nope"}}.Encode()
		},
		"bad header wins over good query": func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer nope")
			r.URL.RawQuery = url.Values{"access_token": {adminToken}}.Encode()
		},
	}
	for _, rt := range adminRoutes(f, u.ID) {
		for name, set := range deny {
			t.Run(rt.method+" "+rt.target+"/"+name, func(t *testing.T) {
				r := request(rt.method, rt.target, rt.body)
				set(r)
				wantError(t, f.serve(r), http.StatusForbidden, "FORBIDDEN", "You don't have permission to access this.")
			})
		}
		// Authorization comes before the body is even read.
		t.Run(rt.method+" "+rt.target+"/bad body", func(t *testing.T) {
			r := request(rt.method, rt.target, `{"bad json`)
			wantError(t, f.serve(r), http.StatusForbidden, "FORBIDDEN", "")
		})
	}
	assert.Equal(t, before, f.snapshot(), "a refused request changed the store")
	assert.Empty(t, f.mail.Messages())
}

func TestAdminRoutesRefuseByDefault(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, fixtureConfig{noAuth: true})
	u := f.create(users.CreateUserInput{Email: "ada@example.com"})
	before := f.snapshot()
	for _, rt := range adminRoutes(f, u.ID) {
		// Not even the token the other fixtures accept.
		r := request(rt.method, rt.target, rt.body)
		r.Header.Set("Authorization", "Bearer "+adminToken)
		wantError(t, f.serve(r), http.StatusForbidden, "FORBIDDEN", "You don't have permission to access this.")
	}
	assert.Equal(t, before, f.snapshot())
}

func TestAdminRoutesAcceptTheToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.create(users.CreateUserInput{Email: "ada@example.com"})
	for i, rt := range adminRoutes(f, u.ID) {
		if strings.Contains(rt.target+rt.body, "VICTIM") {
			victim := f.create(users.CreateUserInput{Email: fmt.Sprintf("victim%d@example.com", i)})
			rt.target, rt.body = strings.ReplaceAll(rt.target, "VICTIM", victim.ID), strings.ReplaceAll(rt.body, "VICTIM", victim.ID)
		}
		w := f.admin(rt.method, strings.Replace(rt.target, "new@", fmt.Sprintf("new%d@", i), 1), strings.Replace(rt.body, "new@", fmt.Sprintf("new%d@", i), 1))
		assert.Contains(t, []int{200, 204}, w.Code, "%s %s: %s", rt.method, rt.target, w.Body.String())
	}
	// The access_token query parameter, as Directus accepts it.
	w := f.serve(request("GET", "/roles?access_token="+url.QueryEscape(adminToken), ""))
	assert.Equal(t, http.StatusOK, w.Code)
	// A lower-case scheme.
	r := request("GET", "/roles", "")
	r.Header.Set("Authorization", "bearer "+adminToken)
	assert.Equal(t, http.StatusOK, f.serve(r).Code)
}

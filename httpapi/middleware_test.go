package httpapi_test

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// authApp is an application behind Authenticate: /whoami answers the
// principal's email (or "anonymous"), /member needs a user, /staff an
// administrator, /role the fixture's role.
type authApp struct {
	*fixture
	app    http.Handler
	secret []byte
}

func newAuthApp(t *testing.T, opts ...httpapi.Option) *authApp {
	secret := []byte("0123456789abcdef0123456789abcdef")
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{users.WithSecret(secret)}})
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, r *http.Request) {
		if p := httpapi.PrincipalFrom(r.Context()); p != nil {
			_, _ = w.Write([]byte(p.User.Email))
			return
		}
		_, _ = w.Write([]byte("anonymous"))
	}
	mux.HandleFunc("/whoami", ok)
	mux.Handle("/member", httpapi.RequireUser(http.HandlerFunc(ok)))
	mux.Handle("/staff", httpapi.RequireAdmin(http.HandlerFunc(ok)))
	mux.Handle("/role", httpapi.RequireRole(f.role.ID)(http.HandlerFunc(ok)))
	opts = append([]httpapi.Option{httpapi.WithLogger(slogTo(f))}, opts...)
	return &authApp{fixture: f, app: httpapi.Authenticate(f.m, opts...)(mux), secret: secret}
}

// login opens a session for a new user (an administrator when admin) and
// returns it.
func (a *authApp) login(email string, admin, inRole, sessionCookie bool) *users.Session {
	a.t.Helper()
	in := users.CreateUserInput{Email: email, Password: password}
	if inRole {
		in.Role = &a.role.ID
	}
	if admin {
		r, err := a.m.CreateRole(a.ctx, users.Role{Name: "Admin " + email, AdminAccess: true})
		require.NoError(a.t, err)
		in.Role = &r.ID
	}
	a.create(in)
	s, err := a.m.Login(a.ctx, users.LoginInput{Email: email, Password: password, SessionCookie: sessionCookie})
	require.NoError(a.t, err)
	return s
}

func (a *authApp) serveApp(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	a.app.ServeHTTP(w, r)
	return w
}

func bearer(method, target, tok string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func withCookie(method, target, name, tok string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.AddCookie(&http.Cookie{Name: name, Value: tok})
	return r
}

func TestAuthenticatePrincipal(t *testing.T) {
	a := newAuthApp(t)
	s := a.login("ada@example.com", false, true, false)
	cs := a.login("bob@example.com", false, false, true)

	for name, r := range map[string]*http.Request{
		"bearer":        bearer("GET", "/whoami", s.AccessToken),
		"query":         httptest.NewRequest("GET", "/whoami?access_token="+s.AccessToken, nil),
		"query escaped": httptest.NewRequest("GET", "/whoami?page=2&access%5Ftoken="+s.AccessToken, nil),
		"directus":      withCookie("GET", "/whoami", httpapi.DefaultSessionCookieName, s.AccessToken),
		"console":       withCookie("GET", "/whoami", httpapi.ConsoleCookieName, s.AccessToken),
		"none":          httptest.NewRequest("GET", "/whoami", nil),
		"bearer first":  withCookie("GET", "/whoami", httpapi.DefaultSessionCookieName, cs.AccessToken),
	} {
		t.Run(name, func(t *testing.T) {
			want := "ada@example.com"
			switch name {
			case "none":
				want = "anonymous"
			case "bearer first":
				r.Header.Set("Authorization", "Bearer "+s.AccessToken)
			}
			w := a.serveApp(r)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, want, w.Body.String())
		})
	}

	// The principal holds the user, its role, admin access and session.
	var got *users.Principal
	h := httpapi.Authenticate(a.m)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = httpapi.PrincipalFrom(r.Context())
	}))
	h.ServeHTTP(httptest.NewRecorder(), bearer("GET", "/", s.AccessToken))
	require.NotNil(t, got)
	assert.Equal(t, s.User.ID, got.User.ID)
	assert.Equal(t, "ada@example.com", got.User.Email)
	require.NotNil(t, got.User.Role)
	assert.Equal(t, a.role.ID, *got.User.Role)
	assert.False(t, got.Admin)
	assert.Equal(t, s.ID, got.SessionID)
	assert.Nil(t, httpapi.PrincipalFrom(a.ctx), "a context Authenticate never saw")
}

func TestRequireGuards(t *testing.T) {
	a := newAuthApp(t)
	member := a.login("member@example.com", false, true, false).AccessToken
	plain := a.login("plain@example.com", false, false, false).AccessToken
	admin := a.login("admin@example.com", true, false, false).AccessToken

	for _, tc := range []struct {
		path, tok string
		status    int
		code      string
	}{
		{"/member", member, 200, ""},
		{"/member", plain, 200, ""},
		{"/member", "", 401, "INVALID_CREDENTIALS"},
		{"/staff", admin, 200, ""},
		{"/staff", member, 403, "FORBIDDEN"},
		{"/staff", "", 401, "INVALID_CREDENTIALS"},
		{"/role", member, 200, ""},
		{"/role", admin, 200, ""},
		{"/role", plain, 403, "FORBIDDEN"},
	} {
		r := httptest.NewRequest("GET", tc.path, nil)
		if tc.tok != "" {
			r.Header.Set("Authorization", "Bearer "+tc.tok)
		}
		w := a.serveApp(r)
		if tc.code == "" {
			assert.Equal(t, tc.status, w.Code, "%s %s", tc.path, w.Body.String())
			continue
		}
		wantError(t, w, tc.status, tc.code, "")
		assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	}
}

func TestRequireUserPages(t *testing.T) {
	a := newAuthApp(t, httpapi.WithSignInURL("/login"))
	member := a.login("member@example.com", false, false, true).AccessToken

	page := func(method, target, tok string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		r.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		if tok != "" {
			r.AddCookie(&http.Cookie{Name: httpapi.ConsoleCookieName, Value: tok})
		}
		return a.serveApp(r)
	}
	// Anonymous: to the sign-in page, coming back here afterwards.
	w := page("GET", "/member?tab=2", "")
	require.Equal(t, http.StatusSeeOther, w.Code)
	assert.Equal(t, "/login?next="+url.QueryEscape("/member?tab=2"), w.Header().Get("Location"))
	// A POST is not replayed after signing in.
	w = page("POST", "/member", "")
	require.Equal(t, http.StatusSeeOther, w.Code)
	assert.Equal(t, "/login", w.Header().Get("Location"))
	// Signed in without admin access: a 403 page, not the sign-in page.
	w = page("GET", "/staff", member)
	require.Equal(t, http.StatusForbidden, w.Code)
	assert.Contains(t, w.Header().Get("Content-Type"), "text/html")
	assert.Contains(t, w.Body.String(), "Access Denied")
	assert.Contains(t, w.Header().Get("Content-Security-Policy"), "default-src 'none'")
	w = page("GET", "/member", member)
	assert.Equal(t, http.StatusOK, w.Code)
	// An expired cookie: to the sign-in page, which renews it.
	a.clock.Advance(a.m.Lifetimes().Access + time.Second)
	w = page("GET", "/member", member)
	require.Equal(t, http.StatusSeeOther, w.Code)
	assert.True(t, strings.HasPrefix(w.Header().Get("Location"), "/login?next="))
}

func TestRequireWithoutAuthenticate(t *testing.T) {
	w := httptest.NewRecorder()
	httpapi.RequireUser(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Fatal("let through")
	})).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
}

func TestAuthenticateSignInURLChecked(t *testing.T) {
	f := newFixture(t)
	for _, bad := range []string{"//evil.example", "javascript:alert(1)", "login", "/\\evil", "https://u:p@evil.example/"} {
		assert.Panics(t, func() { httpapi.Authenticate(f.m, httpapi.WithSignInURL(bad)) }, bad)
	}
	assert.Panics(t, func() { httpapi.Authenticate(f.m, httpapi.WithTrustedOrigins("not an origin")) })
}

// Attacks: each credential below must leave the request anonymous and
// be refused by the guard.
func TestAuthenticateAttacks(t *testing.T) {
	a := newAuthApp(t)
	s := a.login("ada@example.com", true, false, false)
	claims := func() jwt.MapClaims {
		p, _, err := jwt.NewParser().ParseUnverified(s.AccessToken, jwt.MapClaims{})
		require.NoError(t, err)
		return p.Claims.(jwt.MapClaims)
	}
	sign := func(c jwt.MapClaims, key []byte) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
		require.NoError(t, err)
		return tok
	}
	b64 := base64.RawURLEncoding.EncodeToString
	parts := strings.Split(s.AccessToken, ".")
	algNone := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	tampered := claims()
	tampered["admin_access"] = true
	tampered["id"] = "00000000-0000-0000-0000-000000000000"
	longLived := claims()
	longLived["exp"] = time.Now().Add(24 * time.Hour).Unix()

	for name, tc := range map[string]struct {
		tok, code string
		status    int
	}{
		"alg none":                          {algNone, "INVALID_TOKEN", 403},
		"other secret":                      {sign(claims(), []byte("another secret, 32 bytes long...")), "INVALID_TOKEN", 403},
		"tampered claims":                   {parts[0] + "." + b64([]byte(`{"id":"x","session":"y","iss":"directus","exp":9999999999}`)) + "." + parts[2], "INVALID_TOKEN", 403},
		"re-signed":                         {sign(tampered, a.secret), "INVALID_CREDENTIALS", 401},
		"refresh token":                     {s.RefreshToken, "INVALID_CREDENTIALS", 401},
		"garbage":                           {"a.b.c", "INVALID_TOKEN", 403},
		"longer exp, our key, real session": {sign(longLived, []byte("x")), "INVALID_TOKEN", 403},
	} {
		t.Run(name, func(t *testing.T) {
			w := a.serveApp(bearer("GET", "/whoami", tc.tok))
			assert.Equal(t, "anonymous", w.Body.String())
			wantError(t, a.serveApp(bearer("GET", "/staff", tc.tok)), tc.status, tc.code, "")
		})
	}

	t.Run("malformed header", func(t *testing.T) {
		for _, h := range []string{"Basic " + s.AccessToken, "Bearer", "Bearer ", s.AccessToken} {
			r := httptest.NewRequest("GET", "/member", nil)
			r.Header.Set("Authorization", h)
			r.AddCookie(&http.Cookie{Name: httpapi.DefaultSessionCookieName, Value: s.AccessToken})
			wantError(t, a.serveApp(r), 401, "INVALID_CREDENTIALS", "")
		}
	})
	t.Run("expired", func(t *testing.T) {
		a := newAuthApp(t)
		s := a.login("old@example.com", false, false, false)
		a.clock.Advance(a.m.Lifetimes().Access + time.Second)
		wantError(t, a.serveApp(bearer("GET", "/member", s.AccessToken)), 401, "TOKEN_EXPIRED", "")
	})
	t.Run("revoked session", func(t *testing.T) {
		a := newAuthApp(t)
		s := a.login("gone@example.com", false, false, false)
		require.Equal(t, 200, a.serveApp(bearer("GET", "/member", s.AccessToken)).Code)
		require.NoError(t, a.m.EndSession(a.ctx, s.ID))
		wantError(t, a.serveApp(bearer("GET", "/member", s.AccessToken)), 401, "INVALID_CREDENTIALS", "")
	})
	t.Run("suspended user", func(t *testing.T) {
		a := newAuthApp(t)
		s := a.login("sus@example.com", false, false, false)
		require.Equal(t, 200, a.serveApp(bearer("GET", "/member", s.AccessToken)).Code)
		st := users.StatusSuspended
		_, err := a.m.UpdateUser(a.ctx, s.User.ID, users.UserPatch{Status: &st})
		require.NoError(t, err)
		wantError(t, a.serveApp(bearer("GET", "/member", s.AccessToken)), 401, "INVALID_CREDENTIALS", "")
	})
	t.Run("lost admin role", func(t *testing.T) {
		a := newAuthApp(t)
		a.login("keep@example.com", true, false, false) // the last admin cannot lose its role
		s := a.login("demoted@example.com", true, false, false)
		require.Equal(t, 200, a.serveApp(bearer("GET", "/staff", s.AccessToken)).Code)
		_, err := a.m.UpdateUser(a.ctx, s.User.ID, users.UserPatch{SetRole: true, Role: &a.role.ID})
		require.NoError(t, err)
		wantError(t, a.serveApp(bearer("GET", "/staff", s.AccessToken)), 403, "FORBIDDEN", "")
	})
}

// A browser attaches cookies to requests other sites make: a
// cookie-authenticated state change from another origin is refused before
// the application sees it; a bearer token is exempt.
func TestAuthenticateCrossOrigin(t *testing.T) {
	a := newAuthApp(t)
	s := a.login("ada@example.com", false, false, true)
	reached := 0
	app := httpapi.Authenticate(a.m, httpapi.WithTrustedOrigins("https://partner.example"))(
		httpapi.RequireUser(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached++ })))
	send := func(method, cookie string, hdr map[string]string) int {
		r := httptest.NewRequest(method, "https://app.example.com/member", nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: cookie, Value: s.AccessToken})
		}
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		return w.Code
	}
	cross := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
	sameSite := map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://evil.app.example.com"}
	oldBrowser := map[string]string{"Origin": "https://evil.example"}
	for _, c := range []string{httpapi.DefaultSessionCookieName, httpapi.ConsoleCookieName} {
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			assert.Equal(t, 403, send(m, c, cross), "%s %s", m, c)
			assert.Equal(t, 403, send(m, c, sameSite), "%s %s", m, c)
			assert.Equal(t, 403, send(m, c, oldBrowser), "%s %s", m, c)
		}
	}
	assert.Zero(t, reached, "a refused request reached the application")
	// Same origin, a trusted origin, safe methods, and no browser at all pass.
	assert.Equal(t, 200, send("POST", httpapi.ConsoleCookieName, map[string]string{"Sec-Fetch-Site": "same-origin"}))
	assert.Equal(t, 200, send("POST", httpapi.ConsoleCookieName, map[string]string{"Origin": "https://partner.example"}))
	assert.Equal(t, 200, send("GET", httpapi.ConsoleCookieName, cross))
	assert.Equal(t, 200, send("POST", httpapi.ConsoleCookieName, nil))
	// A bearer token from anywhere passes: no browser sends it by itself.
	r := bearer("POST", "https://app.example.com/member", s.AccessToken)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	w := httptest.NewRecorder()
	app.ServeHTTP(w, r)
	assert.Equal(t, 200, w.Code)
	assert.Equal(t, 5, reached)
	// The refusal is Directus's envelope for an API call, a page for a form.
	r = withCookie("POST", "https://app.example.com/member", httpapi.ConsoleCookieName, s.AccessToken)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	wantError(t, a.serveApp(r), 403, "FORBIDDEN", "")
	r.Header.Set("Accept", "text/html")
	w = a.serveApp(r)
	assert.Equal(t, 403, w.Code)
	assert.Contains(t, w.Body.String(), "Nothing was changed")
}

func slogTo(f *fixture) *slog.Logger { return slog.New(slog.NewTextHandler(f.logs, nil)) }

// A change the application makes with the request's context is recorded
// with the principal as its actor and the request's facts.
func TestAuthenticateRecordsTheActor(t *testing.T) {
	a := newAuthApp(t)
	s := a.login("admin@example.com", true, false, false)
	target := a.create(users.CreateUserInput{Email: "renamed@example.com"})
	app := httpapi.Authenticate(a.m)(httpapi.RequireAdmin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "Renamed"
		_, err := a.m.UpdateUser(r.Context(), target.ID, users.UserPatch{FirstName: &name})
		require.NoError(t, err)
	})))
	r := bearer("POST", "/rename", s.AccessToken)
	r.Header.Set("X-Request-Id", "req-42")
	r.Header.Set("User-Agent", "middleware-test")
	app.ServeHTTP(httptest.NewRecorder(), r)
	list, err := a.m.ListActivity(a.ctx, users.ActivityQuery{Filter: []byte(`{"item":{"_eq":"` + target.ID + `"},"flow":{"_eq":"updated"}}`)})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, s.User.ID, list[0].Actor)
	assert.Equal(t, "req-42", list[0].RequestID)
	assert.Equal(t, "middleware-test", list[0].UserAgent)
}

// A request through Authenticate and a guard costs one Store call,
// whatever the credential and whatever the user's grants: the session, the
// user, its admin access and whether its role or a policy enforces
// two-factor sign-in come in one read (store.Sessions.ResolveSession).
func TestAuthenticateOneStoreCall(t *testing.T) {
	var cs *countingStore
	f := newFixtureWith(t, fixtureConfig{store: func(m *memstore.Store) store.Store {
		cs = newCountingStore(m)
		return cs
	}})
	pol, err := f.m.CreatePolicy(f.ctx, users.Policy{Name: "Reader"})
	require.NoError(t, err)
	strict, err := f.m.CreatePolicy(f.ctx, users.Policy{Name: "Strict", EnforceTFA: true})
	require.NoError(t, err)
	adminRole, err := f.m.CreateRole(f.ctx, users.Role{Name: "Admins", AdminAccess: true})
	require.NoError(t, err)
	login := func(email string, role *string, policies ...string) string {
		f.create(users.CreateUserInput{Email: email, Password: password, Role: role, Policies: policies})
		s, err := f.m.Login(f.ctx, users.LoginInput{Email: email, Password: password})
		require.NoError(t, err)
		return s.AccessToken
	}
	member := login("member@example.com", &f.role.ID, pol.ID)
	admin := login("admin@example.com", &adminRole.ID, pol.ID)
	setup := login("setup@example.com", &f.role.ID, pol.ID, strict.ID) // must set up two-factor sign-in
	ended := login("ended@example.com", &f.role.ID)
	require.NoError(t, f.m.EndSession(f.ctx, f.principal(ended).SessionID))

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if httpapi.PrincipalFrom(r.Context()) == nil {
			_, _ = w.Write([]byte("anonymous"))
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/whoami", ok)
	mux.Handle("/member", httpapi.RequireUser(ok))
	mux.Handle("/staff", httpapi.RequireAdmin(ok))
	mux.Handle("/role", httpapi.RequireRole(f.role.ID)(ok))
	app := httpapi.Authenticate(f.m)(mux)

	credentials := map[string]func(method, path, tok string) *http.Request{
		"bearer": func(method, path, tok string) *http.Request { return bearer(method, path, tok) },
		"query": func(method, path, tok string) *http.Request {
			return httptest.NewRequest(method, path+"?access_token="+tok, nil)
		},
		"session cookie": func(method, path, tok string) *http.Request {
			return withCookie(method, path, httpapi.DefaultSessionCookieName, tok)
		},
		"console cookie": func(method, path, tok string) *http.Request {
			return withCookie(method, path, httpapi.ConsoleCookieName, tok)
		},
	}
	for _, tc := range []struct {
		who, tok, path string
		status         int
	}{
		{"member", member, "/member", 200},
		{"member", member, "/staff", 403},
		{"member", member, "/role", 200},
		{"admin", admin, "/staff", 200},
		{"admin", admin, "/role", 200},
		{"setup", setup, "/whoami", 200},
		{"setup", setup, "/member", 403},
		{"ended", ended, "/member", 401},
	} {
		for cred, req := range credentials {
			for _, method := range []string{"GET", "POST"} {
				r := req(method, "https://app.example.com"+tc.path, tc.tok)
				r.Header.Set("Sec-Fetch-Site", "same-origin")
				cs.take()
				w := httptest.NewRecorder()
				app.ServeHTTP(w, r)
				what := fmt.Sprintf("%s %s %s by %s", method, tc.path, cred, tc.who)
				require.Equal(t, tc.status, w.Code, what)
				assert.Equal(t, map[string]int{"ResolveSession": 1}, cs.take(), "%s: the Store calls", what)
			}
		}
	}
	// Without a credential, or with one that is not a token, the Store is
	// not asked at all.
	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/member", nil),
		bearer("GET", "/member", "not-a-token"),
		withCookie("GET", "/member", httpapi.ConsoleCookieName, "a.b"),
	} {
		cs.take()
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		assert.Equal(t, 401, w.Code)
		assert.Empty(t, cs.take(), "the Store calls without a token")
	}
}

// principal resolves an access token, which must resolve.
func (f *fixture) principal(tok string) *users.Principal {
	f.t.Helper()
	p, err := f.m.ResolveAccessToken(f.ctx, tok)
	require.NoError(f.t, err)
	return p
}

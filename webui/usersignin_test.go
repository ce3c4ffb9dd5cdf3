package webui_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/webui"
)

// userSignInEnv is a console with WithUserSignIn("/home"), an
// administrator (admin@example.com) and a member (member@example.com),
// both with password "pw".
func userSignInEnv(t *testing.T) *handlerEnv {
	t.Helper()
	e := newHandlerEnv(t, webui.WithUserSignIn("/home"))
	ctx := context.Background()
	r, err := e.m.CreateRole(ctx, users.Role{Name: "Admin", AdminAccess: true})
	require.NoError(t, err)
	_, err = e.m.CreateUser(ctx, users.CreateUserInput{Email: "admin@example.com", Password: "pw", Role: &r.ID})
	require.NoError(t, err)
	_, err = e.m.CreateUser(ctx, users.CreateUserInput{Email: "member@example.com", Password: "pw"})
	require.NoError(t, err)
	return e
}

func signIn(t *testing.T, h http.Handler, email, next string) (*http.Response, *http.Cookie) {
	t.Helper()
	res, _ := do(t, h, "POST", "/admin/login", url.Values{"email": {email}, "password": {"pw"}, "next": {next}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, next)
	for _, k := range res.Cookies() {
		if k.Name == "webui_session" {
			return res, k
		}
	}
	t.Fatal("no session cookie")
	return nil, nil
}

// The console's cookie is the one httpapi.Authenticate reads.
func TestConsoleCookieName(t *testing.T) {
	t.Parallel()
	e := userSignInEnv(t)
	_, c := signIn(t, e.h, "member@example.com", "")
	assert.Equal(t, httpapi.ConsoleCookieName, c.Name)
}

func TestUserSignInLanding(t *testing.T) {
	t.Parallel()
	e := userSignInEnv(t)
	for _, tc := range []struct{ who, next, want string }{
		{"member@example.com", "", "/home"},
		{"member@example.com", "/projects/7?tab=files", "/projects/7?tab=files"},
		{"member@example.com", "/admin/users", "/home"}, // never to a console page
		{"member@example.com", "/admin/reset-password?token=x", "/admin/reset-password?token=x"},
		{"admin@example.com", "", "/admin/users"},
		{"admin@example.com", "/admin/roles", "/admin/roles"},
		{"admin@example.com", "/projects/7", "/projects/7"},
	} {
		res, c := signIn(t, e.h, tc.who, tc.next)
		assert.Equal(t, tc.want, res.Header.Get("Location"), "%s next=%q", tc.who, tc.next)
		// The whole site receives the session: the application's pages too.
		assert.Equal(t, "/", c.Path)
		assert.True(t, c.HttpOnly)
		assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	}
}

// Attacks on ?next=: nothing sends a user to another site, whether the
// URL is absolute, protocol-relative, backslashed, encoded or hidden
// behind whitespace that browsers strip.
func TestUserSignInNextOpenRedirect(t *testing.T) {
	t.Parallel()
	e := userSignInEnv(t)
	for _, next := range []string{
		"//evil.example",
		"//evil.example/home",
		"/\\evil.example",
		"\\\\evil.example",
		"/\\/evil.example",
		"https://evil.example/",
		"http:evil.example",
		"javascript:alert(1)",
		"data:text/html,x",
		"/%2F/evil.example",
		"/%2f%2fevil.example",
		"/%5Cevil.example",
		"/%5cevil.example",
		"/\t/evil.example",
		"/\n/evil.example",
		"/\r\n/evil.example",
		" //evil.example",
		"/ /evil.example",
		"/\x00/evil.example",
		"/../evil",
		"/a/../../evil",
		"/home/..",
		"evil.example",
		"/admin/login",
		"/" + strings.Repeat("a", 3000),
	} {
		for _, who := range []string{"member@example.com", "admin@example.com"} {
			res, _ := signIn(t, e.h, who, next)
			loc := res.Header.Get("Location")
			assert.Contains(t, []string{"/home", "/admin/users"}, loc, "%s next=%q", who, next)
		}
		// The sign-in page does not echo it either.
		_, body := do(t, e.h, "GET", "/admin/login?next="+url.QueryEscape(next), nil)
		assert.NotContains(t, body, "evil.example", "next=%q", next)
	}
	// Signed in already, the sign-in page sends on at once: same rules.
	_, c := signIn(t, e.h, "member@example.com", "")
	for _, next := range []string{"//evil.example", "/\\evil.example", "https://evil.example", "/%2F/evil.example"} {
		res := get(t, e.h, "/admin/login?next="+url.QueryEscape(next), c)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, "/home", res.Header.Get("Location"), next)
	}
}

// A signed-in user without admin access gets a 403 page from the console,
// never the console.
func TestUserSignInConsoleForbidden(t *testing.T) {
	t.Parallel()
	e := userSignInEnv(t)
	_, c := signIn(t, e.h, "member@example.com", "")
	for _, path := range []string{"/admin/users", "/admin/roles", "/admin/settings", "/admin/"} {
		res := get(t, e.h, path, c)
		if path == "/admin/" {
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			res = get(t, e.h, res.Header.Get("Location"), c)
		}
		assert.Equal(t, http.StatusForbidden, res.StatusCode, path)
	}
	res, body := do(t, e.h, "GET", "/admin/users", nil, "Cookie", c.Name+"="+c.Value)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Contains(t, body, "administrators only")
	assert.Contains(t, body, `href="/home"`)
	// A state change is refused before anything is read.
	res, _ = do(t, e.h, "POST", "/admin/settings", url.Values{"public_registration": {"on"}}, "Cookie", c.Name+"="+c.Value)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	s, err := e.m.Settings(context.Background())
	require.NoError(t, err)
	assert.False(t, s.PublicRegistration)
	// An administrator still reaches it.
	_, ac := signIn(t, e.h, "admin@example.com", "")
	assert.Equal(t, http.StatusOK, get(t, e.h, "/admin/users", ac).StatusCode)
}

// Sign out, forgot and reset password work for a user without admin
// access; the reset's done page offers the sign-in.
func TestUserSignInOutAndReset(t *testing.T) {
	t.Parallel()
	e := userSignInEnv(t)
	_, c := signIn(t, e.h, "member@example.com", "")
	res, _ := do(t, e.h, "POST", "/admin/logout", url.Values{}, "Cookie", c.Name+"="+c.Value)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	var cleared bool
	for _, k := range res.Cookies() {
		if k.Name == "webui_session" && k.MaxAge < 0 && k.Path == "/" {
			cleared = true
		}
	}
	assert.True(t, cleared, "the site-wide cookie is cleared")
	// The session is over: the old cookie no longer signs anyone in.
	res = get(t, e.h, "/admin/login", c)
	assert.Equal(t, http.StatusOK, res.StatusCode)

	res, _ = do(t, e.h, "POST", "/admin/forgot-password", url.Values{"email": {"member@example.com"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	link := e.link(t, "member@example.com")
	u, err := url.Parse(link)
	require.NoError(t, err)
	token := u.Query().Get("token")
	res, _ = do(t, e.h, "POST", "/admin/reset-password", url.Values{"token": {token}, "password": {"new-pw-new-pw"}, "confirm_password": {"new-pw-new-pw"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	flash := res.Cookies()
	done := httptestGetWithCookies(t, e.h, res.Header.Get("Location"), flash)
	assert.Contains(t, done, "Your password is changed")
	assert.Contains(t, done, `href="/admin/login"`)
	res, _ = do(t, e.h, "POST", "/admin/login", url.Values{"email": {"member@example.com"}, "password": {"new-pw-new-pw"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/home", res.Header.Get("Location"))
}

func TestWithUserSignInChecked(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	for _, bad := range []string{"home", "//evil.example", "https://evil.example/", "/\\evil", "/a b"} {
		assert.Panics(t, func() { webui.New(e.m, webui.WithUserSignIn(bad)) }, bad)
	}
}

// httptestGetWithCookies GETs path with cookies and returns the body.
func httptestGetWithCookies(t *testing.T, h http.Handler, path string, cookies []*http.Cookie) string {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Body.String()
}

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
)

// memberCookie opens a session-cookie session for a user (of any role) the
// way the sign-in page does, and returns its cookie.
func memberCookie(t *testing.T, m *users.Manager, email, password, agent string) (*http.Cookie, *users.Session) {
	t.Helper()
	s, err := m.Login(context.Background(), users.LoginInput{Email: email, Password: password, IP: "198.51.100.7",
		UserAgent: agent, SessionCookie: true})
	require.NoError(t, err)
	return &http.Cookie{Name: "webui_session", Value: s.AccessToken}, s
}

// doAs serves one request with a cookie.
func doAs(t *testing.T, h http.Handler, c *http.Cookie, method, target string, form url.Values) (*http.Response, string) {
	t.Helper()
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	if c != nil {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	return res, w.Body.String()
}

func cookieOf(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// The account page serves every signed-in user, administrators or not,
// and only them.
func TestAccountPageForEveryUser(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	_, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "member@example.com", Password: "pw", FirstName: "Mia"})
	require.NoError(t, err)
	c, _ := memberCookie(t, e.m, "member@example.com", "pw", "Firefox on Linux")

	res, body := doAs(t, e.h, nil, "GET", "/admin/account", nil)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/admin/login?next=%2Fadmin%2Faccount", res.Header.Get("Location"), body)
	res, _ = doAs(t, e.h, nil, "POST", "/admin/account/names", url.Values{"first_name": {"Eve"}})
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)

	res, body = doAs(t, e.h, c, "GET", "/admin/account", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "member@example.com")
	assert.Contains(t, body, `value="Mia"`)
	assert.Contains(t, body, "Firefox on Linux")
	assert.Contains(t, body, "198.51.100.7")
	assert.Contains(t, body, "(this browser)")
	assert.NotContains(t, body, `href="/admin/users"`, "no console navigation for a member")
	assert.Contains(t, body, `href="/admin/account"`)

	// With an authorizer the console knows no user: no account page.
	h := newHandlerEnv(t, asAdmin)
	res, _ = doAs(t, h.h, nil, "GET", "/admin/account", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestAccountNamesAndPassword(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	u, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "member@example.com", Password: "pw"})
	require.NoError(t, err)
	c, _ := memberCookie(t, e.m, "member@example.com", "pw", "this one")
	_, other := memberCookie(t, e.m, "member@example.com", "pw", "another one")

	res, _ := doAs(t, e.h, c, "POST", "/admin/account/names", url.Values{"first_name": {"Mia"}, "last_name": {"Muster"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	got, err := e.m.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "Mia", got.FirstName)
	assert.Equal(t, "Muster", got.LastName)
	res, body := doAs(t, e.h, c, "POST", "/admin/account/names", url.Values{"first_name": {strings.Repeat("n", 51)}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, body)

	res, body = doAs(t, e.h, c, "POST", "/admin/account/password",
		url.Values{"current_password": {"wrong"}, "password": {"new password"}, "confirm_password": {"new password"}})
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Contains(t, body, "The current password is wrong.")
	res, _ = doAs(t, e.h, c, "POST", "/admin/account/password",
		url.Values{"current_password": {"pw"}, "password": {"new password"}, "confirm_password": {"other"}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	_, err = e.m.Authenticate(ctx, "member@example.com", "pw")
	require.NoError(t, err, "refusals change nothing")

	res, _ = doAs(t, e.h, c, "POST", "/admin/account/password",
		url.Values{"current_password": {"pw"}, "password": {"new password"}, "confirm_password": {"new password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/admin/account", res.Header.Get("Location"))
	fresh := cookieOf(res, "webui_session")
	require.NotNil(t, fresh, "this browser stays signed in")
	_, err = e.m.ResolveAccessToken(ctx, other.AccessToken)
	assert.ErrorIs(t, err, users.ErrInvalidCredentials, "the other session ended")
	res, _ = doAs(t, e.h, &http.Cookie{Name: fresh.Name, Value: fresh.Value}, "GET", "/admin/account", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	_, err = e.m.Authenticate(ctx, "member@example.com", "new password")
	require.NoError(t, err)
}

func TestAccountSessions(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	_, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "member@example.com", Password: "pw"})
	require.NoError(t, err)
	_, err = e.m.CreateUser(ctx, users.CreateUserInput{Email: "other@example.com", Password: "pw"})
	require.NoError(t, err)
	c, _ := memberCookie(t, e.m, "member@example.com", "pw", "mine")
	_, second := memberCookie(t, e.m, "member@example.com", "pw", "second")
	_, third := memberCookie(t, e.m, "member@example.com", "pw", "third")
	_, stranger := memberCookie(t, e.m, "other@example.com", "pw", "stranger")

	// Another user's session id is not the member's to end.
	res, _ := doAs(t, e.h, c, "POST", "/admin/account/sessions/end", url.Values{"session": {stranger.ID}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, err = e.m.ResolveAccessToken(ctx, stranger.AccessToken)
	require.NoError(t, err)

	res, _ = doAs(t, e.h, c, "POST", "/admin/account/sessions/end", url.Values{"session": {second.ID}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, err = e.m.ResolveAccessToken(ctx, second.AccessToken)
	assert.ErrorIs(t, err, users.ErrInvalidCredentials)
	_, err = e.m.ResolveAccessToken(ctx, third.AccessToken)
	require.NoError(t, err)

	res, _ = doAs(t, e.h, c, "POST", "/admin/account/sessions/end", url.Values{"others": {"1"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, err = e.m.ResolveAccessToken(ctx, third.AccessToken)
	assert.ErrorIs(t, err, users.ErrInvalidCredentials)
	res, body := doAs(t, e.h, c, "GET", "/admin/account", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, body, "Sign Out Everywhere Else", "no other session left")
	_, err = e.m.ResolveAccessToken(ctx, stranger.AccessToken)
	require.NoError(t, err)
}

// The pages behind an email change's links show what they will do and act
// only on POST.
func TestAccountEmailChangePages(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	u, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "member@example.com", Password: "pw"})
	require.NoError(t, err)
	c, _ := memberCookie(t, e.m, "member@example.com", "pw", "mine")

	res, body := doAs(t, e.h, c, "POST", "/admin/account/email", url.Values{"email": {"not an address"}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, body)
	res, _ = doAs(t, e.h, c, "POST", "/admin/account/email", url.Values{"email": {"new@example.com"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	confirm := e.link(t, "new@example.com")
	cancel := e.link(t, "member@example.com")
	cu, err := url.Parse(confirm)
	require.NoError(t, err)
	assert.Equal(t, "/admin/confirm-email", cu.Path)

	for range 2 {
		res, body = doAs(t, e.h, nil, "GET", cu.RequestURI(), nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, "member@example.com")
		assert.Contains(t, body, "new@example.com")
	}
	got, err := e.m.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "member@example.com", got.Email, "GET changes nothing")

	res, _ = doAs(t, e.h, nil, "POST", "/admin/confirm-email", url.Values{"token": {cu.Query().Get("token")}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	got, err = e.m.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "new@example.com", got.Email)

	res, body = doAs(t, e.h, nil, "POST", "/admin/confirm-email", url.Values{"token": {cu.Query().Get("token")}})
	assert.Equal(t, http.StatusGone, res.StatusCode)
	assert.Contains(t, body, "already used")
	ku, err := url.Parse(cancel)
	require.NoError(t, err)
	res, body = doAs(t, e.h, nil, "GET", ku.RequestURI(), nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "cancel after confirm")
	assert.Contains(t, body, "can no longer be cancelled")
}

package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/store"
)

const ownerEmail = "owner@example.com"

type tokens struct {
	AccessToken  string `json:"access_token"`
	Expires      int64  `json:"expires"`
	RefreshToken string `json:"refresh_token"`
}

// login logs in with email and pw (mode json) and returns the tokens.
func (f *fixture) login(email, pw string) tokens {
	f.t.Helper()
	var tk tokens
	data(f.t, f.do("POST", "/auth/login", loginBody(email, pw, "")), &tk)
	return tk
}

// withBearer sends r with an access token.
func (f *fixture) withBearer(r *http.Request, tok string) *httptest.ResponseRecorder {
	f.t.Helper()
	r.Header.Set("Authorization", "Bearer "+tok)
	return f.serve(r)
}

func (f *fixture) owner(role *users.Role) *users.User {
	f.t.Helper()
	in := users.CreateUserInput{Email: ownerEmail, Password: password}
	if role != nil {
		in.Role = &role.ID
	}
	return f.create(in)
}

func loginBody(email, pw, mode string) string {
	b := `{"email":` + jsonString(email) + `,"password":` + jsonString(pw)
	if mode != "" {
		b += `,"mode":` + jsonString(mode)
	}
	return b + "}"
}

// cookie returns the Set-Cookie of the answer with that name.
func cookie(t *testing.T, w *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, w.Header().Values("Set-Cookie"))
	return nil
}

// The flow of @directus/sdk's authentication('json'): login, readMe,
// refresh, logout.
func TestJSONSessionFlow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.owner(nil)

	tk := f.login(ownerEmail, password)
	assert.EqualValues(t, 900000, tk.Expires, "ACCESS_TOKEN_TTL in ms")
	assert.Len(t, tk.RefreshToken, 43)
	assert.Equal(t, 2, strings.Count(tk.AccessToken, "."))

	var me wireUser
	data(t, f.withBearer(request("GET", "/users/me", ""), tk.AccessToken), &me)
	assert.Equal(t, u.ID, me.ID)
	assert.Equal(t, ownerEmail, *me.Email)
	assert.Equal(t, "**********", *me.Password)
	// The access token also works as Directus's query parameter.
	data(t, f.do("GET", "/users/me?access_token="+tk.AccessToken, ""), &me)
	assert.Equal(t, u.ID, me.ID)

	var next tokens
	data(t, f.do("POST", "/auth/refresh", `{"refresh_token":`+jsonString(tk.RefreshToken)+`,"mode":"json"}`), &next)
	assert.NotEqual(t, tk.RefreshToken, next.RefreshToken)
	data(t, f.withBearer(request("GET", "/users/me", ""), next.AccessToken), &me)

	// Without mode: json, because the body holds the token.
	var third tokens
	data(t, f.do("POST", "/auth/refresh", `{"refresh_token":`+jsonString(next.RefreshToken)+`}`), &third)
	require.NotEmpty(t, third.RefreshToken)

	w := f.do("POST", "/auth/logout", `{"refresh_token":`+jsonString(third.RefreshToken)+`}`)
	assert.Equal(t, http.StatusNoContent, w.Code)
	wantError(t, f.withBearer(request("GET", "/users/me", ""), third.AccessToken), 401, "INVALID_CREDENTIALS", "Invalid user credentials.")
	wantError(t, f.do("POST", "/auth/refresh", `{"refresh_token":`+jsonString(third.RefreshToken)+`}`), 401, "INVALID_CREDENTIALS", "Invalid user credentials.")
}

func TestRefreshTokenReuseEndsTheSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.owner(nil)
	var tk, next tokens
	data(t, f.do("POST", "/auth/login", loginBody(ownerEmail, password, "json")), &tk)
	data(t, f.do("POST", "/auth/refresh", `{"refresh_token":`+jsonString(tk.RefreshToken)+`}`), &next)
	// The old token again (a thief's copy): 401, and the session is over
	// for its legitimate holder too.
	wantError(t, f.do("POST", "/auth/refresh", `{"refresh_token":`+jsonString(tk.RefreshToken)+`}`), 401, "INVALID_CREDENTIALS", "")
	wantError(t, f.do("POST", "/auth/refresh", `{"refresh_token":`+jsonString(next.RefreshToken)+`}`), 401, "INVALID_CREDENTIALS", "")
	wantError(t, f.withBearer(request("GET", "/users/me", ""), next.AccessToken), 401, "INVALID_CREDENTIALS", "")
}

func TestLoginErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.owner(nil)
	wantError(t, f.do("POST", "/auth/login", loginBody(ownerEmail, "wrong", "")), 401, "INVALID_CREDENTIALS", "Invalid user credentials.")
	wantError(t, f.do("POST", "/auth/login", loginBody("nobody@example.com", password, "")), 401, "INVALID_CREDENTIALS", "Invalid user credentials.")
	wantError(t, f.do("POST", "/auth/login", loginBody(ownerEmail, password, "jwt")), 400, "INVALID_PAYLOAD",
		`Invalid payload. "mode" must be one of [cookie, json, session].`)
	wantError(t, f.do("POST", "/auth/refresh", ""), 400, "INVALID_PAYLOAD",
		"Invalid payload. The refresh token is required in either the payload or cookie.")
	wantError(t, f.do("POST", "/auth/logout", `{"mode":"cookie"}`), 400, "INVALID_PAYLOAD", "")
	wantError(t, f.do("POST", "/auth/refresh", `{"refresh_token":"garbage"}`), 401, "INVALID_CREDENTIALS", "")
	wantError(t, f.do("POST", "/auth/refresh", `{"refresh_token":"x","extra":1}`), 400, "INVALID_PAYLOAD", `Invalid payload. "extra" is not allowed.`)
	// A body without a JSON Content-Type is refused, an empty one is not.
	r := httptest.NewRequest("POST", "/auth/refresh", strings.NewReader(`{"refresh_token":"x"}`))
	wantError(t, f.serve(r), 400, "INVALID_PAYLOAD", "Invalid payload. Content-Type must be application/json.")
	// Logging out with a token that names no session is fine, as Directus.
	assert.Equal(t, http.StatusNoContent, f.do("POST", "/auth/logout", `{"refresh_token":"garbage"}`).Code)
	// No token, a static token, a garbage token on /users/me.
	wantError(t, f.do("GET", "/users/me", ""), 401, "INVALID_CREDENTIALS", "")
	wantError(t, f.admin("GET", "/users/me", ""), 401, "INVALID_CREDENTIALS", "")
	wantError(t, f.withBearer(request("GET", "/users/me", ""), "a.b.c"), 403, "INVALID_TOKEN", "Invalid token.")
}

func TestCookieMode(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.owner(nil)
	w := f.do("POST", "/auth/login", loginBody(ownerEmail, password, "cookie"))
	var tk tokens
	data(t, w, &tk)
	assert.Empty(t, tk.RefreshToken, "the refresh token is in the cookie only")
	assert.NotEmpty(t, tk.AccessToken)
	c := cookie(t, w, "directus_refresh_token")
	assert.Len(t, c.Value, 43)
	assert.True(t, c.HttpOnly)
	assert.False(t, c.Secure, "Directus's default")
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.Equal(t, 7*24*3600, c.MaxAge)
	raw := strings.Join(w.Header().Values("Set-Cookie"), "\n")
	assert.Contains(t, raw, "HttpOnly")
	assert.Contains(t, raw, "SameSite=Lax")

	// Refresh with the cookie and no body at all, as browsers do.
	r := httptest.NewRequest("POST", "/auth/refresh", nil)
	r.AddCookie(c)
	w = f.serve(r)
	data(t, w, &tk)
	assert.Empty(t, tk.RefreshToken)
	next := cookie(t, w, "directus_refresh_token")
	assert.NotEqual(t, c.Value, next.Value)

	// Log out: 204, the cookie cleared, the session over.
	r = request("POST", "/auth/logout", `{"mode":"cookie"}`)
	r.AddCookie(next)
	w = f.serve(r)
	assert.Equal(t, http.StatusNoContent, w.Code)
	cleared := cookie(t, w, "directus_refresh_token")
	assert.Equal(t, -1, cleared.MaxAge)
	assert.Empty(t, cleared.Value)
	r = request("POST", "/auth/refresh", `{"mode":"cookie"}`)
	r.AddCookie(next)
	wantError(t, f.serve(r), 401, "INVALID_CREDENTIALS", "")
}

func TestCookieOptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, httpapi.WithRefreshCookie(httpapi.CookieOptions{
		Name: "rt", Domain: "example.com", Path: "/api", Secure: true, SameSite: http.SameSiteNoneMode}),
		httpapi.WithSessionCookie(httpapi.CookieOptions{Name: "st", Secure: true, SameSite: http.SameSiteStrictMode}),
		httpapi.WithDeviceCookie(httpapi.CookieOptions{Name: "dev", Path: "/auth"}))
	f.owner(nil)
	w := f.do("POST", "/auth/login", loginBody(ownerEmail, password, "cookie"))
	c := cookie(t, w, "rt")
	assert.True(t, c.Secure)
	assert.Equal(t, http.SameSiteNoneMode, c.SameSite)
	assert.Equal(t, "example.com", c.Domain)
	assert.Equal(t, "/api", c.Path)
	d := cookie(t, w, "dev")
	assert.Equal(t, "/auth", d.Path)
	assert.True(t, d.HttpOnly)
	assert.Equal(t, int(users.DeviceCookieLifetime/time.Second), d.MaxAge)

	w = f.do("POST", "/auth/login", loginBody(ownerEmail, password, "session"))
	s := cookie(t, w, "st")
	assert.True(t, s.Secure)
	assert.Equal(t, http.SameSiteStrictMode, s.SameSite)

	for name, opt := range map[string]httpapi.Option{
		"None without Secure": httpapi.WithRefreshCookie(httpapi.CookieOptions{SameSite: http.SameSiteNoneMode}),
		"bad name":            httpapi.WithSessionCookie(httpapi.CookieOptions{Name: "a b"}),
		"relative path":       httpapi.WithDeviceCookie(httpapi.CookieOptions{Path: "auth"}),
	} {
		assert.Panics(t, func() { httpapi.New(f.m, opt) }, name)
	}
}

// The flow of authentication('session'): the access token lives in an
// HttpOnly cookie that the API reads.
func TestSessionMode(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.owner(nil)
	w := f.do("POST", "/auth/login", loginBody(ownerEmail, password, "session"))
	var tk tokens
	data(t, w, &tk)
	assert.Empty(t, tk.AccessToken)
	assert.Empty(t, tk.RefreshToken)
	assert.EqualValues(t, 900000, tk.Expires)
	sc := cookie(t, w, "directus_session_token")
	assert.True(t, sc.HttpOnly)
	assert.Equal(t, 7*24*3600, sc.MaxAge, "the session's end")

	r := request("GET", "/users/me", "")
	r.AddCookie(sc)
	var me wireUser
	data(t, f.serve(r), &me)
	assert.Equal(t, u.ID, me.ID)

	// After the access token expired, a refresh renews the cookie.
	f.clock.Advance(time.Hour)
	r = request("GET", "/users/me", "")
	r.AddCookie(sc)
	wantError(t, f.serve(r), 401, "TOKEN_EXPIRED", "Token expired.")
	r = request("POST", "/auth/refresh", `{"mode":"session"}`)
	r.AddCookie(sc)
	w = f.serve(r)
	data(t, w, &tk)
	assert.Empty(t, tk.AccessToken)
	renewed := cookie(t, w, "directus_session_token")
	r = request("GET", "/users/me", "")
	r.AddCookie(renewed)
	data(t, f.serve(r), &me)

	r = request("POST", "/auth/logout", `{"mode":"session"}`)
	r.AddCookie(renewed)
	w = f.serve(r)
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, -1, cookie(t, w, "directus_session_token").MaxAge)
	r = request("GET", "/users/me", "")
	r.AddCookie(renewed)
	wantError(t, f.serve(r), 401, "INVALID_CREDENTIALS", "")

	// A json-mode access token put in the session cookie does not renew.
	var j tokens
	data(t, f.do("POST", "/auth/login", loginBody(ownerEmail, password, "json")), &j)
	r = request("POST", "/auth/refresh", `{"mode":"session"}`)
	r.AddCookie(&http.Cookie{Name: "directus_session_token", Value: j.AccessToken})
	wantError(t, f.serve(r), 401, "INVALID_CREDENTIALS", "")
	r = request("POST", "/auth/refresh", `{"mode":"session"}`)
	r.AddCookie(&http.Cookie{Name: "directus_session_token", Value: j.RefreshToken})
	wantError(t, f.serve(r), 401, "INVALID_CREDENTIALS", "")
}

// A copy of an expired session cookie (stolen from the owner's browser)
// renews only within the 10 s grace after the owner's renewal; after it,
// POST /auth/refresh in session mode refuses it and the session ends, the
// owner's renewed cookie included. The owner's requests racing its own
// renewal with the old cookie are not signed out.
func TestSessionModeRenewalRetiresTheCookie(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.owner(nil)
	w := f.do("POST", "/auth/login", loginBody(ownerEmail, password, "session"))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	stolen := cookie(t, w, "directus_session_token")
	refresh := func(c *http.Cookie) *httptest.ResponseRecorder {
		r := request("POST", "/auth/refresh", `{"mode":"session"}`)
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		return f.serve(r)
	}
	me := func(c *http.Cookie) *httptest.ResponseRecorder {
		r := request("GET", "/users/me", "")
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		return f.serve(r)
	}

	f.clock.Advance(time.Hour)
	w = refresh(stolen) // the owner's browser, with the same cookie
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	owner := cookie(t, w, "directus_session_token")
	f.clock.Advance(5 * time.Second)
	w = refresh(stolen) // another tab, at once
	require.Equal(t, http.StatusOK, w.Code, "within the grace: %s", w.Body.String())
	require.Equal(t, http.StatusOK, me(cookie(t, w, "directus_session_token")).Code)

	f.clock.Advance(10 * time.Second)
	wantError(t, refresh(stolen), 401, "INVALID_CREDENTIALS", "Invalid user credentials.")
	wantError(t, me(owner), 401, "INVALID_CREDENTIALS", "")
	wantError(t, refresh(owner), 401, "INVALID_CREDENTIALS", "")
}

// A device that logged in before keeps getting in while strangers have
// locked the address for everyone else.
func TestDeviceCookieThroughTheAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.owner(nil)
	w := f.do("POST", "/auth/login", loginBody(ownerEmail, password, ""))
	dev := cookie(t, w, "users_device")
	for i := range 40 {
		r := request("POST", "/auth/login", loginBody(ownerEmail, "guess", ""))
		r.RemoteAddr = "203.0.113." + string(rune('1'+i%8)) + ":1234"
		f.serve(r)
	}
	wantError(t, f.do("POST", "/auth/login", loginBody(ownerEmail, password, "")), 429, "REQUESTS_EXCEEDED", "")
	r := request("POST", "/auth/login", loginBody(ownerEmail, password, ""))
	r.AddCookie(dev)
	var tk tokens
	data(t, f.serve(r), &tk)
	assert.NotEmpty(t, tk.AccessToken)
}

func TestTokensOfSuspendedAndDeletedUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.owner(nil)
	other := f.create(users.CreateUserInput{Email: "other@example.com", Password: password})
	var a, b tokens
	data(t, f.do("POST", "/auth/login", loginBody(ownerEmail, password, "")), &a)
	data(t, f.do("POST", "/auth/login", loginBody("other@example.com", password, "")), &b)

	w := f.admin("PATCH", "/users/"+u.ID, `{"status":"suspended"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	wantError(t, f.withBearer(request("GET", "/users/me", ""), a.AccessToken), 401, "INVALID_CREDENTIALS", "")
	wantError(t, f.do("POST", "/auth/refresh", `{"refresh_token":`+jsonString(a.RefreshToken)+`}`), 401, "INVALID_CREDENTIALS", "")

	require.NoError(t, f.store.DeleteUsers(f.ctx, []string{other.ID}, store.Condition{}))
	wantError(t, f.withBearer(request("GET", "/users/me", ""), b.AccessToken), 401, "INVALID_CREDENTIALS", "")
	wantError(t, f.do("POST", "/auth/refresh", `{"refresh_token":`+jsonString(b.RefreshToken)+`}`), 401, "INVALID_CREDENTIALS", "")
}

func TestLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.create(users.CreateUserInput{Email: "ada@example.com", Password: password, FirstName: "Ada", Role: &f.role.ID})
	f.create(users.CreateUserInput{Email: "suspended@example.com", Password: password, Status: users.StatusSuspended})
	f.create(users.CreateUserInput{Email: "nopass@example.com"})

	for _, body := range []string{
		registerBody("ada@example.com", password),
		`{"email":"ADA@example.com","password":` + jsonString(password) + `,"mode":"json"}`,
		`{"email":"ada@example.com","password":` + jsonString(password) + `,"otp":"123456"}`,
	} {
		var got tokens
		data(t, f.do("POST", "/auth/login", body), &got)
		var me wireUser
		data(t, f.withBearer(request("GET", "/users/me", ""), got.AccessToken), &me)
		assert.Equal(t, u.ID, me.ID)
		assert.Equal(t, "Ada", *me.FirstName)
		assert.Equal(t, "**********", *me.Password)
	}
	before := f.snapshot()
	for name, body := range map[string]string{
		"wrong password": registerBody("ada@example.com", "wrong"),
		"unknown email":  registerBody("nobody@example.com", password),
		"suspended":      registerBody("suspended@example.com", password),
		"no password":    registerBody("nopass@example.com", "x"),
	} {
		wantError(t, f.do("POST", "/auth/login", body), http.StatusUnauthorized, "INVALID_CREDENTIALS", "Invalid user credentials.")
		_ = name
	}
	for body, msg := range map[string]string{
		`{"email":"ada@example.com","password":"x","mode":"jwt"}`:       `Invalid payload. "mode" must be one of [cookie, json, session].`,
		`{"email":"ada@example.com","password":null}`:                   `Invalid payload. "password" must be a string.`,
		`{"email":["ada@example.com"],"password":"x"}`:                  `Invalid payload. "email" must be a string.`,
		`{"email":"ada@example.com","password":"x","remember":true}`:    `Invalid payload. "remember" is not allowed.`,
		`{"email":"ada@example.com","password":"x"}{}`:                  "Invalid payload. Request body must hold one JSON object and nothing after it.",
		`{"email":"ada@example.com","password":"x","otp":123}`:          `Invalid payload. "otp" must be a string.`,
		`{"email":"ada@example.com","password":"x","password":"y"}`:     `Invalid payload. "password" must not be given more than once.`,
		`{"email":"ada@example.com","password":"\ud800","mode":"json"}`: `Invalid payload. "password" must be valid Unicode text.`,
	} {
		wantError(t, f.do("POST", "/auth/login", body), http.StatusBadRequest, "INVALID_PAYLOAD", msg)
	}
	assert.Equal(t, before, f.snapshot())
}

// TestLoginShapeErrors: a login whose email or password is missing,
// empty or (the email) malformed is answered as Directus answers it, 400
// INVALID_PAYLOAD in Joi's words, before anyone is looked up: the answer is
// the same whether the address has an account or not, counts no failed
// login and changes nothing.
func TestLoginShapeErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.create(users.CreateUserInput{Email: "ada@example.com", Password: password})
	f.create(users.CreateUserInput{Email: "nopass@example.com"})
	before := f.snapshot()
	pw := jsonString(password)
	for _, c := range []struct{ body, msg string }{
		{`{}`, `Invalid payload. "email" is required.`},
		{`{"password":` + pw + `}`, `Invalid payload. "email" is required.`},
		{`{"email":"","password":` + pw + `}`, `Invalid payload. "email" is not allowed to be empty.`},
		{`{"email":"ada","password":` + pw + `}`, `Invalid payload. "email" must be a valid email.`},
		{`{"email":"ada@","password":` + pw + `}`, `Invalid payload. "email" must be a valid email.`},
		{`{"email":"ada@example","password":` + pw + `}`, `Invalid payload. "email" must be a valid email.`},
		{`{"email":"ada@@example.com","password":` + pw + `}`, `Invalid payload. "email" must be a valid email.`},
		{`{"email":"ada"}`, `Invalid payload. "email" must be a valid email.`},
		{`{"email":"ada@example.com"}`, `Invalid payload. "password" is required.`},
		{`{"email":"nobody@example.com"}`, `Invalid payload. "password" is required.`},
		{`{"email":"ada@example.com","password":""}`, `Invalid payload. "password" is not allowed to be empty.`},
		{`{"email":"nobody@example.com","password":""}`, `Invalid payload. "password" is not allowed to be empty.`},
		{`{"email":"nopass@example.com","password":""}`, `Invalid payload. "password" is not allowed to be empty.`},
	} {
		// Many times: were these counted as failed logins, the limit
		// would answer 429.
		for range 12 {
			wantError(t, f.do("POST", "/auth/login", c.body), http.StatusBadRequest, "INVALID_PAYLOAD", c.msg)
		}
	}
	assert.Equal(t, before, f.snapshot())
	// The account still logs in: nothing was counted against it.
	f.login("ada@example.com", password)
}

func TestLoginLimiterAnswers429(t *testing.T) {
	t.Parallel()
	lim := &users.MemoryLimiter{Points: 2, Window: time.Minute}
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{limits(func(l *users.Limits) { l.Login = lim })}})
	f.create(users.CreateUserInput{Email: "ada@example.com", Password: password})
	for range 2 {
		wantError(t, f.do("POST", "/auth/login", registerBody("ada@example.com", "wrong")), http.StatusUnauthorized, "INVALID_CREDENTIALS", "")
	}
	w := f.do("POST", "/auth/login", registerBody("ada@example.com", password))
	wantError(t, w, http.StatusTooManyRequests, "REQUESTS_EXCEEDED", "")
	assert.Regexp(t, `^Too many requests, retry after \d+s\.$`, errMessage(t, w))
	assert.Regexp(t, `^[1-9]\d*$`, w.Header().Get("Retry-After"))
}

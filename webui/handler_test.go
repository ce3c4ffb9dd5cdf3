package webui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/userstest"
	"github.com/gousers/users/webui"
)

// Tests through the handler, without a browser.

// do serves one request and returns the response with its body read.
func do(t *testing.T, h http.Handler, method, target string, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

// handlerEnv is a console with a Manager on a clock the test moves.
type handlerEnv struct {
	m   *users.Manager
	h   http.Handler
	now *time.Time
	box *memmailer.Mailer
}

func newHandlerEnv(t *testing.T, opts ...webui.Option) *handlerEnv {
	t.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := &handlerEnv{now: &now, box: memmailer.New()}
	m, err := users.New(newStore(), e.box,
		users.WithHasher(userstest.Hasher{}),
		users.WithClock(func() time.Time { return *e.now }),
		webui.LinkPaths(""),
		limits(func(l *users.Limits) {
			// The limits left run on the env's clock, as the Manager's own
			// defaults would.
			l.Mail, l.Login = nil, nil
			for _, lim := range []users.Limiter{l.AdminMail, l.LoginIP, l.Device} {
				lim.(*users.MemoryLimiter).Now = func() time.Time { return *e.now }
			}
		}))
	require.NoError(t, err)
	e.m, e.h = m, webui.New(m, opts...)
	return e
}

func (e *handlerEnv) link(t *testing.T, to string) string {
	t.Helper()
	_, err := e.m.DeliverPending(context.Background())
	require.NoError(t, err)
	ms := e.box.To(to)
	require.NotEmpty(t, ms)
	return memmailer.Link(ms[len(ms)-1])
}

func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	form := url.Values{"public_registration": {"on"}}
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "https://evil.example"},
	} {
		res, body := do(t, e.h, "POST", "http://console.example/admin/settings", form, hdr...)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, hdr)
		assert.Contains(t, body, "sent from another site", hdr)
		s, err := e.m.Settings(context.Background())
		require.NoError(t, err)
		assert.False(t, s.PublicRegistration, "nothing saved (%v)", hdr)
	}
	// Public forms too: a cross-site page cannot sign anyone in or up.
	res, _ := do(t, e.h, "POST", "http://console.example/admin/register", url.Values{"email": {"a@example.com"}}, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, res.StatusCode)

	// The same origin is served.
	res, _ = do(t, e.h, "POST", "http://console.example/admin/settings", form, "Sec-Fetch-Site", "same-origin")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	s, err := e.m.Settings(context.Background())
	require.NoError(t, err)
	assert.True(t, s.PublicRegistration)
}

func TestUnauthenticatedGoesToSignIn(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	for _, path := range []string{"/admin/users", "/admin/settings", "/admin/roles", "/admin/roles/x", "/admin/users/x?a=b"} {
		res, _ := do(t, e.h, "GET", path, nil)
		assert.Equal(t, http.StatusSeeOther, res.StatusCode, path)
		assert.Equal(t, "/admin/login?next="+url.QueryEscape(path), res.Header.Get("Location"), path)
	}
	// A POST changes nothing and goes to the sign-in page.
	res, _ := do(t, e.h, "POST", "/admin/roles", url.Values{"name": {"Sneaky"}})
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/admin/login", res.Header.Get("Location"))
	roles, err := e.m.ListRoles(context.Background())
	require.NoError(t, err)
	assert.Empty(t, roles)
	// A forged or stale session cookie is no better.
	r := httptest.NewRequest("GET", "/admin/users", nil)
	r.AddCookie(&http.Cookie{Name: "webui_session", Value: "eyJhbGciOiJIUzI1NiJ9.e30.x"})
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusSeeOther, w.Code)
}

func TestAuthorizerRefusal(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, webui.WithAuthorizer(func(r *http.Request) bool { return r.Header.Get("X-Admin") == "yes" }))
	res, body := do(t, e.h, "GET", "/admin/users", nil)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Contains(t, body, "administrators only")
	res, _ = do(t, e.h, "GET", "/admin/users", nil, "X-Admin", "yes")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = do(t, e.h, "GET", "/admin/login", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "the built-in sign-in is off")
}

func TestSignInNextStaysInConsole(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	r, err := e.m.CreateRole(ctx, users.Role{Name: "Admin", AdminAccess: true})
	require.NoError(t, err)
	_, err = e.m.CreateUser(ctx, users.CreateUserInput{Email: "a@example.com", Password: "pw", Role: &r.ID})
	require.NoError(t, err)
	for next, want := range map[string]string{
		"/admin/roles":          "/admin/roles",
		"//evil.example/admin/": "/admin/users",
		"https://evil.example/": "/admin/users",
		"/elsewhere":            "/admin/users",
		"/admin/../x":           "/admin/users",
		"/\\evil.example":       "/admin/users",
	} {
		res, _ := do(t, e.h, "POST", "/admin/login", url.Values{"email": {"a@example.com"}, "password": {"pw"}, "next": {next}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, next)
		assert.Equal(t, want, res.Header.Get("Location"), next)
		var c *http.Cookie
		for _, k := range res.Cookies() {
			if k.Name == "webui_session" {
				c = k
			}
		}
		require.NotNil(t, c)
		assert.True(t, c.HttpOnly)
		assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
		assert.Equal(t, "/admin/", c.Path)
	}
}

func TestSecureCookies(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, webui.WithSecureCookies(true))
	ctx := context.Background()
	r, err := e.m.CreateRole(ctx, users.Role{Name: "Admin", AdminAccess: true})
	require.NoError(t, err)
	_, err = e.m.CreateUser(ctx, users.CreateUserInput{Email: "a@example.com", Password: "pw", Role: &r.ID})
	require.NoError(t, err)
	res, _ := do(t, e.h, "POST", "/admin/login", url.Values{"email": {"a@example.com"}, "password": {"pw"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.NotEmpty(t, res.Cookies())
	for _, c := range res.Cookies() {
		assert.True(t, c.Secure, c.Name)
		assert.True(t, c.HttpOnly, c.Name)
	}
}

func TestScriptInNameIsInert(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	evil := `<script>alert(1)</script>`
	role, err := e.m.CreateRole(ctx, users.Role{Name: evil})
	require.NoError(t, err)
	u, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "x@example.com", FirstName: evil, LastName: `"><img src=x onerror=alert(2)>`, Role: &role.ID})
	require.NoError(t, err)
	for _, path := range []string{"/admin/users", "/admin/users/" + u.ID, "/admin/roles", "/admin/roles/" + role.ID, "/admin/roles/" + role.ID + "?panel=add&q=" + url.QueryEscape(evil)} {
		res, body := do(t, e.h, "GET", path, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.NotContains(t, body, "<script>", path)
		assert.NotContains(t, body, "<img", path)
		assert.Contains(t, body, "&lt;script&gt;", path)
	}
}

// wantCSP is the console's whole Content-Security-Policy, compared
// exactly: a weakened one ("script-src *", an added origin) must fail a
// test, which checking a few fragments would not.
const wantCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	for _, path := range []string{"/admin/login", "/admin/register", "/admin/accept-invite?token=x", "/admin/nowhere", "/admin/users"} {
		res, body := do(t, e.h, "GET", path, nil)
		csp := res.Header.Get("Content-Security-Policy")
		assert.Equal(t, []string{wantCSP}, res.Header.Values("Content-Security-Policy"), path)
		assert.Contains(t, csp, "default-src 'none'", path)
		assert.NotContains(t, csp, "unsafe-inline", path)
		assert.Contains(t, csp, "frame-ancestors 'none'", path)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), path)
		assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"), path)
		assert.NotContains(t, body, "<script", path)
		assert.NotContains(t, body, "style=", path)
		assert.NotRegexp(t, `(src|href)="(https?:)?//`, body, "nothing from another origin: %s", path)
	}
	// The stylesheet is served with its version, and cached.
	_, body := do(t, e.h, "GET", "/admin/login", nil)
	i := strings.Index(body, `href="/admin/static/style.css?v=`)
	require.GreaterOrEqual(t, i, 0)
	href := body[i+6 : i+6+strings.Index(body[i+6:], `"`)]
	res, css := do(t, e.h, "GET", strings.ReplaceAll(href, "&amp;", "&"), nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Type"), "text/css")
	assert.Contains(t, res.Header.Get("Cache-Control"), "immutable")
	assert.Contains(t, css, ":focus-visible")
}

func TestTokenPages(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	role, err := e.m.CreateRole(ctx, users.Role{Name: "Editors"})
	require.NoError(t, err)
	_, err = e.m.Invite(ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: role.ID})
	require.NoError(t, err)
	link := e.link(t, "i@example.com")
	u, err := url.Parse(link)
	require.NoError(t, err)
	require.Equal(t, "/admin/accept-invite", u.Path)
	tok := u.Query().Get("token")
	status := func() users.Status {
		list, err := e.m.ListUsers(ctx, users.UserQuery{})
		require.NoError(t, err)
		require.Len(t, list, 1)
		return list[0].Status
	}
	accept := func(token string) (*http.Response, string) {
		return do(t, e.h, "POST", "/admin/accept-invite", url.Values{"token": {token}, "password": {"pw12345"}, "confirm_password": {"pw12345"}})
	}

	// A wrong token: explained, nothing changes.
	for _, bad := range []string{"", "nonsense", tok[:len(tok)-2] + "AA"} {
		res, body := do(t, e.h, "GET", "/admin/accept-invite?token="+url.QueryEscape(bad), nil)
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
		assert.Contains(t, body, "This link is not valid")
		assert.Contains(t, body, "Ask the administrator who invited you")
		assert.NotContains(t, body, `name="password"`)
		res, body = accept(bad)
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
		assert.Contains(t, body, "This link is not valid")
	}
	assert.Equal(t, users.StatusInvited, status())

	// Another purpose's page does not take it.
	res, body := do(t, e.h, "GET", "/admin/verify-email?token="+url.QueryEscape(tok), nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Contains(t, body, "not valid")

	// The good one: the page shows the address and changes nothing.
	res, body = do(t, e.h, "GET", "/admin/accept-invite?token="+url.QueryEscape(tok), nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "i@example.com")
	assert.Equal(t, users.StatusInvited, status())
	res, _ = accept(tok)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/admin/accept-invite/done", res.Header.Get("Location"))
	assert.Equal(t, users.StatusActive, status())

	// Used.
	res, body = do(t, e.h, "GET", "/admin/accept-invite?token="+url.QueryEscape(tok), nil)
	assert.Equal(t, http.StatusGone, res.StatusCode)
	assert.Contains(t, body, "This link was already used.")
	res, body = accept(tok)
	assert.Equal(t, http.StatusGone, res.StatusCode)
	assert.Contains(t, body, "already used")

	// Expired.
	_, err = e.m.Invite(ctx, users.InviteInput{Emails: []string{"late@example.com"}, Role: role.ID})
	require.NoError(t, err)
	late := tokenOf(t, e.link(t, "late@example.com"))
	*e.now = e.now.Add(8 * 24 * time.Hour)
	res, body = do(t, e.h, "GET", "/admin/accept-invite?token="+url.QueryEscape(late), nil)
	assert.Equal(t, http.StatusGone, res.StatusCode)
	assert.Contains(t, body, "This link has expired.")
	res, body = accept(late)
	assert.Equal(t, http.StatusGone, res.StatusCode)
	assert.Contains(t, body, "expired")
	list, err := e.m.ListUsers(ctx, users.UserQuery{Search: "late"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, users.StatusInvited, list[0].Status)
}

func TestVerifyLinkHeadAndGetConsumeNothing(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	openRegistration(t, e.m)
	require.NoError(t, e.m.Register(ctx, users.RegisterInput{Email: "v@example.com", Password: "pw"}))
	link := e.link(t, "v@example.com")
	u, err := url.Parse(link)
	require.NoError(t, err)
	for _, m := range []string{"HEAD", "GET", "GET"} {
		do(t, e.h, m, u.RequestURI(), nil)
	}
	list, err := e.m.ListUsers(ctx, users.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, users.StatusUnverified, list[0].Status, "a mail scanner that opens the link verifies nothing")
	res, _ := do(t, e.h, "POST", "/admin/verify-email", url.Values{"token": {u.Query().Get("token")}})
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	list, err = e.m.ListUsers(ctx, users.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, users.StatusActive, list[0].Status)
}

// Pages that answer for an address say the same whether or not it has an
// account.
func TestSameAnswerForKnownAndUnknownAddresses(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	s, err := e.m.Settings(ctx)
	require.NoError(t, err)
	s.PublicRegistration = true
	_, err = e.m.UpdateSettings(ctx, s)
	require.NoError(t, err)
	_, err = e.m.CreateUser(ctx, users.CreateUserInput{Email: "known@example.com", Password: "secret pw"})
	require.NoError(t, err)

	answer := func(path string, form url.Values) string {
		res, body := do(t, e.h, "POST", path, form)
		var flash string
		for _, c := range res.Cookies() {
			if c.Name == "webui_flash" {
				flash = c.Value
			}
		}
		return res.Status + " " + res.Header.Get("Location") + " " + flash + " " + body
	}
	for _, c := range []struct {
		path string
		form func(email string) url.Values
	}{
		{"/admin/register", func(email string) url.Values {
			return url.Values{"email": {email}, "password": {"another pw"}}
		}},
		{"/admin/forgot-password", func(email string) url.Values { return url.Values{"email": {email}} }},
		{"/admin/login", func(email string) url.Values { return url.Values{"email": {email}, "password": {"wrong pw"}} }},
	} {
		known := answer(c.path, c.form("known@example.com"))
		unknown := answer(c.path, c.form("unknown@example.com"))
		assert.Equal(t, strings.ReplaceAll(known, "known@", "X@"), strings.ReplaceAll(unknown, "unknown@", "X@"), c.path)
	}
}

func TestBadFilterNamesThePathAndSavesNothing(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	res, body := do(t, e.h, "POST", "/admin/settings", url.Values{
		"public_registration":              {"on"},
		"public_registration_email_filter": {`{"_or":[{"email":{"_eq":"a@b.c"}},{"mail":{"_eq":"x"}}]}`},
	})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Contains(t, body, `id="public_registration_email_filter-error"`)
	assert.Contains(t, body, "_or[1]")
	s, err := e.m.Settings(context.Background())
	require.NoError(t, err)
	assert.False(t, s.PublicRegistration)
}

func TestSettingsOfferNoAdminRole(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	admin, err := e.m.CreateRole(ctx, users.Role{Name: "Boss", AdminAccess: true})
	require.NoError(t, err)
	_, body := do(t, e.h, "GET", "/admin/settings", nil)
	assert.NotContains(t, body, "Boss")
	// Forcing it is refused next to the field.
	res, body := do(t, e.h, "POST", "/admin/settings", url.Values{"public_registration_role": {admin.ID}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Contains(t, body, `id="public_registration_role-error"`)
	s, err := e.m.Settings(ctx)
	require.NoError(t, err)
	assert.Nil(t, s.PublicRegistrationRole)
}

func TestFlashCannotBeForged(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	r := httptest.NewRequest("GET", "/admin/users", nil)
	r.AddCookie(&http.Cookie{Name: "webui_flash", Value: "eyJzIjpbIkZvcmdlZCJdfQ.AAAA"})
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	assert.NotContains(t, w.Body.String(), "Forged")
}

func TestRemovingTheLastAdministratorIsRefused(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	admins, err := e.m.CreateRole(ctx, users.Role{Name: "Administrator", AdminAccess: true})
	require.NoError(t, err)
	u, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "only@example.com", Password: "pw", Role: &admins.ID})
	require.NoError(t, err)
	res, body := do(t, e.h, "POST", "/admin/roles/"+admins.ID+"/remove", url.Values{"user": {u.ID}})
	assert.Equal(t, http.StatusConflict, res.StatusCode)
	assert.Contains(t, body, `role="alert"`)
	assert.Contains(t, body, "no active user with admin access")
	got, err := e.m.User(ctx, u.ID)
	require.NoError(t, err)
	require.NotNil(t, got.Role)
	assert.Equal(t, admins.ID, *got.Role)

	// Nor through the user page.
	res, _ = do(t, e.h, "POST", "/admin/users/"+u.ID, url.Values{"role": {""}, "status": {"active"}})
	assert.Equal(t, http.StatusConflict, res.StatusCode)
	got, err = e.m.User(ctx, u.ID)
	require.NoError(t, err)
	assert.NotNil(t, got.Role)
}

func TestInviteManyAddressesFitsTheMessage(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	role, err := e.m.CreateRole(ctx, users.Role{Name: "Crowd"})
	require.NoError(t, err)
	var list []string
	for i := range 300 {
		list = append(list, "person"+strconv.Itoa(i)+"@example.com")
	}
	list = append(list, "bad address")
	res, _ := do(t, e.h, "POST", "/admin/roles/"+role.ID+"/invite", url.Values{"emails": {strings.Join(list, "\n")}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	var flash *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "webui_flash" {
			flash = c
		}
	}
	require.NotNil(t, flash)
	assert.Less(t, len(flash.Value), 4000, "the outcome fits a cookie")
	r := httptest.NewRequest("GET", "/admin/roles/"+role.ID, nil)
	r.AddCookie(&http.Cookie{Name: flash.Name, Value: flash.Value})
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	body := w.Body.String()
	assert.Contains(t, body, "300 invitations sent; 1 refused; 0 left alone.")
	assert.Contains(t, body, "person0@example.com: invited.")
	assert.Contains(t, body, "more lines were left out")
	n, err := e.m.CountUsers(ctx, users.UserQuery{Role: &role.ID})
	require.NoError(t, err)
	assert.Equal(t, 300, n)
}

func TestPolicyFailureShowsTheDescriptionNotTheExpression(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	res, _ := do(t, e.h, "POST", "/admin/settings", url.Values{
		"public_registration":              {"on"},
		"auth_password_policy":             {`/^(?=.*\d).{12,}$/`},
		"auth_password_policy_description": {"at least 12 characters, with a digit"},
	})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	s, err := e.m.Settings(ctx)
	require.NoError(t, err)
	assert.Equal(t, "at least 12 characters, with a digit", s.PasswordPolicyDescription)

	_, body := do(t, e.h, "GET", "/admin/register", nil)
	assert.Contains(t, body, "The password must have at least 12 characters, with a digit.")
	res, body = do(t, e.h, "POST", "/admin/register", url.Values{"email": {"a@example.com"}, "password": {"short1"}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Contains(t, body, `id="password-error"`)
	assert.Contains(t, body, "at least 12 characters, with a digit")
	assert.NotContains(t, body, `(?=`)
	n, err := e.m.CountUsers(ctx, users.UserQuery{})
	require.NoError(t, err)
	assert.Zero(t, n)
}

// signInCookie signs in through the page and returns the session cookie.
func signInCookie(t *testing.T, h http.Handler, email, password string) *http.Cookie {
	t.Helper()
	res, _ := do(t, h, "POST", "/admin/login", url.Values{"email": {email}, "password": {password}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	for _, c := range res.Cookies() {
		if c.Name == "webui_session" {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func get(t *testing.T, h http.Handler, path string, c *http.Cookie) *http.Response {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	if c != nil {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func TestSessionRenewalAndRevocation(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	admins, err := e.m.CreateRole(ctx, users.Role{Name: "Administrator", AdminAccess: true})
	require.NoError(t, err)
	u, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "a@example.com", Password: "pw", Role: &admins.ID})
	require.NoError(t, err)
	_, err = e.m.CreateUser(ctx, users.CreateUserInput{Email: "b@example.com", Password: "pw", Role: &admins.ID})
	require.NoError(t, err)
	c := signInCookie(t, e.h, "a@example.com", "pw")
	assert.Equal(t, http.StatusOK, get(t, e.h, "/admin/users", c).StatusCode)

	// Past the access token's life, the session renews it.
	*e.now = e.now.Add(e.m.Lifetimes().Access + time.Minute)
	res := get(t, e.h, "/admin/users", c)
	require.Equal(t, http.StatusOK, res.StatusCode)
	var renewed *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == "webui_session" {
			renewed = k
		}
	}
	require.NotNil(t, renewed, "a new access token is set")
	assert.NotEqual(t, c.Value, renewed.Value)
	assert.Equal(t, http.StatusOK, get(t, e.h, "/admin/users", renewed).StatusCode)

	// Losing admin access ends the console at once: a 403 page, since
	// signing in again would not help.
	_, err = e.m.UpdateUser(ctx, u.ID, users.UserPatch{SetRole: true})
	require.NoError(t, err)
	res = get(t, e.h, "/admin/users", renewed)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)

	// Past the session's end, nothing renews it.
	_, err = e.m.UpdateUser(ctx, u.ID, users.UserPatch{SetRole: true, Role: &admins.ID})
	require.NoError(t, err)
	c = signInCookie(t, e.h, "a@example.com", "pw")
	*e.now = e.now.Add(e.m.Lifetimes().Refresh + time.Hour)
	assert.Equal(t, http.StatusSeeOther, get(t, e.h, "/admin/users", c).StatusCode)
}

// A copy of the console's expired cookie (stolen from the administrator's
// browser) renews only within the 10 s grace after the owner's renewal;
// later it is refused, its cookie cleared, and the session ends for the
// owner too. A tab racing the owner's renewal with the old cookie is not
// signed out.
func TestSessionRenewalRetiresTheCookie(t *testing.T) {
	e := newHandlerEnv(t)
	ctx := context.Background()
	admins, err := e.m.CreateRole(ctx, users.Role{Name: "Administrator", AdminAccess: true})
	require.NoError(t, err)
	_, err = e.m.CreateUser(ctx, users.CreateUserInput{Email: "a@example.com", Password: "pw", Role: &admins.ID})
	require.NoError(t, err)
	stolen := signInCookie(t, e.h, "a@example.com", "pw")
	sessionOf := func(res *http.Response) *http.Cookie {
		for _, k := range res.Cookies() {
			if k.Name == "webui_session" {
				return k
			}
		}
		return nil
	}

	*e.now = e.now.Add(e.m.Lifetimes().Access + time.Minute)
	res := get(t, e.h, "/admin/users", stolen) // the owner
	require.Equal(t, http.StatusOK, res.StatusCode)
	owner := sessionOf(res)
	require.NotNil(t, owner, "renewed")
	*e.now = e.now.Add(5 * time.Second)
	res = get(t, e.h, "/admin/users", stolen) // another tab, at once
	require.Equal(t, http.StatusOK, res.StatusCode, "within the grace")
	require.NotNil(t, sessionOf(res))

	*e.now = e.now.Add(10 * time.Second)
	res = get(t, e.h, "/admin/users", stolen)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "the copy is refused after the grace")
	if c := sessionOf(res); assert.NotNil(t, c) {
		assert.Empty(t, c.Value, "and its cookie cleared")
	}
	assert.Equal(t, http.StatusSeeOther, get(t, e.h, "/admin/users", owner).StatusCode, "the session ended")
}

// The user page's selects show the user's role and status, and a refused
// status is reported next to its select, which says it is invalid and
// points at the message (as every input does).
func TestUserPageSelects(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	editors, err := e.m.CreateRole(ctx, users.Role{Name: "Editors"})
	require.NoError(t, err)
	res, err := e.m.Invite(ctx, users.InviteInput{Emails: []string{"ann@example.com"}, Role: editors.ID})
	require.NoError(t, err)
	require.Len(t, res, 1)
	page := "/admin/users/" + res[0].UserID

	_, body := do(t, e.h, "GET", page, nil)
	assert.Contains(t, body, `<option value="`+editors.ID+`" selected>Editors</option>`)
	assert.Contains(t, body, `<option value="">No Role</option>`)
	assert.Contains(t, body, `<option value="invited" selected>`)

	resp, body := do(t, e.h, "POST", page, url.Values{"role": {""}, "status": {"bogus"}, "first_name": {"Ann"}, "last_name": {""}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
	assert.Contains(t, body, `<select id="status" name="status" aria-invalid="true" aria-describedby="status-error">`)
	assert.Regexp(t, `<p class="error" id="status-error">Status [^<]+</p>`, body)
	assert.NotContains(t, body, `role="alert"`, "the message is next to its field, not at the top")
}

// The user page shows the user's history: invited by whom, role changes,
// newest first; a change made in the console names its administrator.
func TestUserPageHistory(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := users.WithRequest(context.Background(), users.RequestInfo{Actor: "boss-id"})
	editors, err := e.m.CreateRole(ctx, users.Role{Name: "Editors"})
	require.NoError(t, err)
	res, err := e.m.Invite(ctx, users.InviteInput{Emails: []string{"ann@example.com"}, Role: editors.ID})
	require.NoError(t, err)
	page := "/admin/users/" + res[0].UserID
	resp, body := do(t, e.h, "POST", page, url.Values{"role": {""}, "status": {"invited"}, "first_name": {"Ann"}, "last_name": {""}})
	require.Less(t, resp.StatusCode, 400, body)
	_, body = do(t, e.h, "GET", page, nil)
	assert.Contains(t, body, `<h2 id="history-title">History</h2>`)
	assert.Regexp(t, `(?s)Changed \(no role\).*Invited \(role Editors\)</td><td><a href="/admin/users/boss-id">administrator boss-id</a>`, body)
}

// With the default limits, the forgot-password form takes at least
// Limits.RequestStall, for an address with an account as for one without
// (the other tests run without the stall).
func TestForgotPasswordStallsByDefault(t *testing.T) {
	t.Parallel()
	stall := users.DefaultLimits().RequestStall
	require.Positive(t, stall)
	m, err := users.New(newStore(), memmailer.New(), users.WithHasher(userstest.Hasher{}), webui.LinkPaths(""), users.DefaultLimits())
	require.NoError(t, err)
	_, err = m.CreateUser(context.Background(), users.CreateUserInput{Email: "known@example.com", Password: "a long password", Status: users.StatusActive})
	require.NoError(t, err)
	h := webui.New(m)
	for _, email := range []string{"known@example.com", "unknown@example.com"} {
		start := time.Now()
		res, _ := do(t, h, "POST", "/admin/forgot-password", url.Values{"email": {email}})
		assert.Less(t, res.StatusCode, 400, email)
		assert.GreaterOrEqual(t, time.Since(start), stall, email)
	}
}

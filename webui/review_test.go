package webui_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
	"github.com/gousers/users/webui"
)

// follow serves the page a POST redirected to, with the flash cookie the
// POST set, and returns its body.
func follow(t *testing.T, h http.Handler, res *http.Response, extra ...*http.Cookie) string {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	r := httptest.NewRequest("GET", res.Header.Get("Location"), nil)
	for _, c := range append(res.Cookies(), extra...) {
		if c.MaxAge >= 0 && c.Value != "" {
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Body.String()
}

var statusDiv = regexp.MustCompile(`(?s)<div role="status"[^>]*>(.*?)</div>`)

// statusOf is the outcome a page shows (its role="status" box).
func statusOf(body string) string {
	m := statusDiv.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// An address that has an account elsewhere is not "already a member" of
// the role it was invited to: the administrator must learn that nothing
// was done, and how to give it the role.
func TestInviteOutcomeSaysWhetherTheAccountIsInTheRole(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	editors, err := e.m.CreateRole(ctx, users.Role{Name: "Editors"})
	require.NoError(t, err)
	other, err := e.m.CreateRole(ctx, users.Role{Name: "Other"})
	require.NoError(t, err)
	for _, in := range []users.CreateUserInput{
		{Email: "member@example.com", Role: &editors.ID, Status: users.StatusActive},
		{Email: "elsewhere@example.com", Role: &other.ID, Status: users.StatusActive},
		{Email: "norole@example.com", Status: users.StatusActive},
		{Email: "suspended@example.com", Role: &other.ID, Status: users.StatusSuspended},
		{Email: "suspended-member@example.com", Role: &editors.ID, Status: users.StatusSuspended},
	} {
		_, err := e.m.CreateUser(ctx, in)
		require.NoError(t, err)
	}
	res, _ := do(t, e.h, "POST", "/admin/roles/"+editors.ID+"/invite", url.Values{"emails": {
		"member@example.com, elsewhere@example.com, norole@example.com, suspended@example.com, suspended-member@example.com"}})
	body := statusOf(follow(t, e.h, res))

	assert.Contains(t, body, "member@example.com: already a member (active), nothing sent.")
	assert.Contains(t, body, "suspended-member@example.com: already a member (suspended), nothing sent.")
	for _, a := range []string{"elsewhere@example.com", "norole@example.com", "suspended@example.com"} {
		assert.NotContains(t, body, "<li>"+a+": already a member", a)
		assert.Contains(t, body, a+": ", a)
	}
	assert.Contains(t, body, "elsewhere@example.com: has an active account in another role, nothing sent; Add Existing gives it this role.")
	assert.Contains(t, body, "norole@example.com: has an active account with no role, nothing sent; Add Existing gives it this role.")
	assert.Contains(t, body, "suspended@example.com: has a suspended account in another role, nothing sent; Add Existing gives it this role.")

	// Nothing changed.
	for email, role := range map[string]string{"elsewhere@example.com": other.ID, "suspended@example.com": other.ID} {
		list, err := e.m.ListUsers(ctx, users.UserQuery{Search: email})
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, role, *list[0].Role, email)
	}
}

// A used invitation link has done its job: the account is active, and a new
// invitation would do nothing ("already active"). The page must send its
// owner to the sign-in or the password reset, not back to the inviter.
func TestUsedInviteLinkSaysTheAccountIsReady(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	role, err := e.m.CreateRole(ctx, users.Role{Name: "Editors"})
	require.NoError(t, err)
	_, err = e.m.Invite(ctx, users.InviteInput{Emails: []string{"grace@example.com"}, Role: role.ID})
	require.NoError(t, err)
	link := e.link(t, "grace@example.com")
	u, err := url.Parse(link)
	require.NoError(t, err)
	token := u.Query().Get("token")
	res, _ := do(t, e.h, "POST", u.RequestURI(), url.Values{"token": {token}, "password": {"a password"}, "confirm_password": {"a password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	for _, method := range []string{"GET", "POST"} {
		var form url.Values
		if method == "POST" {
			form = url.Values{"token": {token}, "password": {"another one"}, "confirm_password": {"another one"}}
		}
		res, body := do(t, e.h, method, u.RequestURI(), form)
		assert.Equal(t, http.StatusGone, res.StatusCode, method)
		assert.Contains(t, body, "This link was already used.", method)
		assert.NotContains(t, body, "send a new invitation", method)
		assert.Contains(t, body, "Your account is set up", method)
		assert.Contains(t, body, `href="/admin/forgot-password"`, method)
	}
	// An expired one still sends its owner to the inviter.
	_, err = e.m.Invite(ctx, users.InviteInput{Emails: []string{"late@example.com"}, Role: role.ID})
	require.NoError(t, err)
	late, err := url.Parse(e.link(t, "late@example.com"))
	require.NoError(t, err)
	*e.now = e.now.Add(8 * 24 * time.Hour) // past the default 7 days
	_, body := do(t, e.h, "GET", late.RequestURI(), nil)
	assert.Contains(t, body, "send a new invitation")
}

// The pages carry the project's name (the one the mails show), so that a
// person who followed "You have been invited to join Acme" lands on a page
// that says Acme; without one, "Users".
func TestPagesShowTheProjectName(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	_, body := do(t, e.h, "GET", "/admin/login", nil)
	assert.Contains(t, body, `<span class="brand">Users</span>`)
	assert.Contains(t, body, `<title>Sign In · Users</title>`)

	s, err := e.m.Settings(context.Background())
	require.NoError(t, err)
	s.ProjectName = "Acme <Tools>"
	_, err = e.m.UpdateSettings(context.Background(), s)
	require.NoError(t, err)
	for _, path := range []string{"/admin/login", "/admin/accept-invite?token=x", "/admin/forgot-password"} {
		_, body = do(t, e.h, "GET", path, nil)
		assert.Contains(t, body, `<span class="brand">Acme &lt;Tools&gt;</span>`, path)
		assert.Contains(t, body, ` · Acme &lt;Tools&gt;</title>`, path)
	}
}

// The register page is a way to register as much as POST /users/register
// is: the host's per-IP registration limit must hold on it too, or anyone
// registers (and mails) without bound through the console.
func TestRegisterPageKeepsTheRegistrationLimit(t *testing.T) {
	t.Parallel()
	limit := &users.MemoryLimiter{Points: 2, Window: time.Minute}
	e := newHandlerEnv(t, webui.WithRegisterRateLimiter(limit))
	ctx := context.Background()
	openRegistration(t, e.m)

	register := func(email, ip string) (*http.Response, string) {
		r := httptest.NewRequest("POST", "/admin/register", strings.NewReader(url.Values{"email": {email}, "password": {"a password"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = ip + ":1234"
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		return w.Result(), w.Body.String()
	}
	for _, a := range []string{"a@example.com", "b@example.com"} {
		res, _ := register(a, "192.0.2.1")
		require.Equal(t, http.StatusSeeOther, res.StatusCode, a)
	}
	res, body := register("c@example.com", "192.0.2.1")
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Contains(t, body, `role="alert"`)
	assert.Contains(t, body, "Too many attempts")
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	n, err := e.m.CountUsers(ctx, users.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the refused registration made nothing")

	res, _ = register("d@example.com", "192.0.2.2")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "another address has its own count")
}

// The page after a mailed link offers the console's sign-in only to whom
// it can serve: someone invited to a role without admin access who follows
// "Sign In" is only told the account cannot use the console.
func TestDonePagesOfferTheConsoleToAdministratorsOnly(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	editors, err := e.m.CreateRole(ctx, users.Role{Name: "Editors"})
	require.NoError(t, err)
	admins, err := e.m.CreateRole(ctx, users.Role{Name: "Admins", AdminAccess: true})
	require.NoError(t, err)
	accept := func(email, role string) string {
		_, err := e.m.Invite(ctx, users.InviteInput{Emails: []string{email}, Role: role})
		require.NoError(t, err)
		u, err := url.Parse(e.link(t, email))
		require.NoError(t, err)
		res, _ := do(t, e.h, "POST", u.RequestURI(), url.Values{"token": {u.Query().Get("token")},
			"password": {"a password"}, "confirm_password": {"a password"}})
		return follow(t, e.h, res)
	}
	body := accept("editor@example.com", editors.ID)
	assert.Contains(t, statusOf(body), "Your account is ready")
	assert.NotContains(t, body, `href="/admin/login"`, "no console sign-in for an account without admin access")
	assert.Contains(t, statusOf(body), "application")

	body = accept("boss@example.com", admins.ID)
	assert.Contains(t, statusOf(body), "Your account is ready")
	assert.Contains(t, body, `href="/admin/login"`, "an administrator goes on to the console")
}

// With a host app's own login (WithAuthorizer) there is no /login page:
// the page-not-found answer must not send people there.
func TestNotFoundPointsToAnExistingSignIn(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	res, body := do(t, e.h, "GET", "/admin/nowhere", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.NotContains(t, body, `href="/admin/login"`)
	res, _ = do(t, e.h, "GET", "/admin/login", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "the page it would have linked")

	e = newHandlerEnv(t)
	_, body = do(t, e.h, "GET", "/admin/nowhere", nil)
	assert.Contains(t, body, `href="/admin/login"`, "the built-in sign-in is linked")
}

func TestForgotPasswordLinksAnExistingSignIn(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	_, body := do(t, e.h, "GET", "/admin/forgot-password", nil)
	assert.NotContains(t, body, `href="/admin/login"`, "no /login with WithAuthorizer")
	e = newHandlerEnv(t)
	_, body = do(t, e.h, "GET", "/admin/forgot-password", nil)
	assert.Contains(t, body, `href="/admin/login"`)
}

// Registration never gives admin access (its role cannot have it): the
// page after it offers no console sign-in either.
func TestRegisterDoneOffersNoConsole(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	openRegistration(t, e.m)
	res, _ := do(t, e.h, "POST", "/admin/register", url.Values{"email": {"reg@example.com"}, "password": {"a password"}})
	body := follow(t, e.h, res)
	assert.Contains(t, statusOf(body), "Thank you.")
	assert.NotContains(t, body, `href="/admin/login"`)
}

// The console's Resend for an unverified user is mail an administrator
// asked for: it must not depend on the registration settings, must not be
// refused because anonymous registrations used up the address's mail
// allowance, and must never say "sent" when nothing was.
func TestResendVerificationIsTheAdministrators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	box := memmailer.New()
	m, err := users.New(newStore(), box,
		users.WithHasher(userstest.Hasher{}),
		webui.LinkPaths(""),
		limits(func(l *users.Limits) {
			l.Mail = &users.MemoryLimiter{Points: 1, Window: time.Hour}
			l.AdminMail = &users.MemoryLimiter{Points: 2, Window: time.Hour}
		}))
	require.NoError(t, err)
	h := webui.New(m, asAdmin)
	s, err := m.Settings(ctx)
	require.NoError(t, err)
	s.PublicRegistration = true
	_, err = m.UpdateSettings(ctx, s)
	require.NoError(t, err)
	require.NoError(t, m.Register(ctx, users.RegisterInput{Email: "ada@example.com", Password: "a password"}))
	// Anonymous traffic uses up the address's allowance.
	require.NoError(t, m.ResendVerification(ctx, "ada@example.com", ""))
	// And registration closes.
	s.PublicRegistration = false
	_, err = m.UpdateSettings(ctx, s)
	require.NoError(t, err)
	list, err := m.ListUsers(ctx, users.UserQuery{Search: "ada@example.com"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	ada := list[0]
	mails := func() int {
		_, err := m.DeliverPending(ctx)
		require.NoError(t, err)
		return len(box.To("ada@example.com"))
	}
	before := mails()
	require.Equal(t, 1, before, "the registration's mail only")

	for i := range 2 {
		res, _ := do(t, h, "POST", "/admin/users/"+ada.ID+"/resend", url.Values{})
		body := statusOf(follow(t, h, res))
		assert.Contains(t, body, "Sent the verification mail to ada@example.com again.", i)
		assert.Equal(t, before+i+1, mails(), "a mail went (%d)", i)
	}
	// Over the administrators' own allowance, the page says so.
	res, body := do(t, h, "POST", "/admin/users/"+ada.ID+"/resend", url.Values{})
	if res.StatusCode == http.StatusSeeOther {
		body = follow(t, h, res)
	}
	assert.NotContains(t, body, "Sent the verification mail")
	assert.Regexp(t, `role="alert"[^>]*><ul><li>No mail was sent: too many mails`, body)
	assert.Equal(t, before+2, mails(), "nothing more went")
}

// An id is escaped as one path segment wherever a page builds a URL from
// it. A role id "../settings?x" (left by an older version, or written to
// the store by hand) once linked to /admin/settings, where the role
// page's forms then posted and reset every setting.
func TestRoleIDIsOnePathSegment(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	ctx := context.Background()
	require.NoError(t, st.CreateRole(ctx, &store.Role{ID: "../settings?x", Name: "Legacy"}))
	m, err := users.New(st, memmailer.New(), users.WithHasher(userstest.Hasher{}), webui.LinkPaths(""))
	require.NoError(t, err)
	res, body := do(t, webui.New(m, asAdmin), "GET", "/admin/roles", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	found := regexp.MustCompile(`<a href="([^"]*)">Legacy</a>`).FindStringSubmatch(body)
	require.NotNil(t, found, body)
	ref, err := url.Parse(html.UnescapeString(found[1]))
	require.NoError(t, err)
	base, err := url.Parse("https://console.example/admin/roles")
	require.NoError(t, err)
	got := base.ResolveReference(ref)
	assert.Equal(t, "/admin/roles/..%2Fsettings%3Fx", got.EscapedPath(), "one segment under /admin/roles/")
	assert.Empty(t, got.RawQuery)
}

// The console shows a contested registration as such, on the list and on
// its page, and activating it there keeps neither password.
func TestConsoleShowsAContestedRegistration(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	s, err := e.m.Settings(ctx)
	require.NoError(t, err)
	s.PublicRegistration = true
	_, err = e.m.UpdateSettings(ctx, s)
	require.NoError(t, err)
	for _, pw := range []string{"attacker pw 1", "victim pw 12"} {
		require.NoError(t, e.m.Register(ctx, users.RegisterInput{Email: "victim@example.com", Password: pw}))
	}
	list, err := e.m.ListUsers(ctx, users.UserQuery{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	id := list[0].ID
	_, body := do(t, e.h, "GET", "/admin/users", nil)
	assert.Contains(t, body, "unverified (contested)")
	_, body = do(t, e.h, "GET", "/admin/users/"+id, nil)
	assert.Contains(t, body, "Contested: this address was registered more than once")
	assert.Contains(t, body, "Activating it keeps no password")

	res, _ := do(t, e.h, "POST", "/admin/users/"+id, url.Values{"status": {"active"}, "role": {""}, "first_name": {""}, "last_name": {""}})
	require.Less(t, res.StatusCode, 400)
	u, err := e.m.User(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, users.StatusInvited, u.Status)
	assert.False(t, u.HasPassword)
	assert.Contains(t, e.link(t, "victim@example.com"), "token=")
}

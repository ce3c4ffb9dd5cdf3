package webui_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// One test per page, in a browser, by accessible names; each checks the
// store afterwards.

// cookie returns the value of the browser's cookie with this name ("" if
// none).
func (p *page) cookie(name string) string {
	p.t.Helper()
	cs, err := chromedp.Run(p.ctx, func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
		res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.e.base + "/"}})
		return res.Cookies, err
	})
	require.NoError(p.t, err)
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (e *env) admin(email, password string) *users.User {
	e.t.Helper()
	r := e.role("Administrator", true)
	return e.user(users.CreateUserInput{Email: email, Password: password, Role: &r.ID})
}

func TestPageSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.admin("admin@example.com", "admin password")
	e.user(users.CreateUserInput{Email: "plain@example.com", Password: "plain password"})
	p := e.newPage()

	// An admin page sends a stranger to the sign-in page, and back after.
	require.Equal(t, 200, p.open("/users?q=x"))
	require.Equal(t, "/login?next=%2Fadmin%2Fusers%3Fq%3Dx", p.location())
	p.shot("login")

	p.fill("Email", "admin@example.com")
	p.fill("Password", "wrong")
	require.Equal(t, 401, p.click("button", "Sign In"))
	assert.Equal(t, "Wrong email or password.", p.text("alert", ""))
	assert.Empty(t, p.cookie("webui_session"))

	p.fill("Email", "plain@example.com")
	p.fill("Password", "plain password")
	require.Equal(t, 403, p.click("button", "Sign In"))
	assert.Contains(t, p.text("alert", ""), "no admin access")
	assert.Empty(t, p.cookie("webui_session"))

	p.fill("Email", "admin@example.com")
	p.fill("Password", "admin password")
	p.press("button", "Sign In", "\r") // by keyboard
	require.NoError(t, chromedp.Do(p.ctx, chromedp.WaitVisible(`heading "Users"`, byName("heading", "Users"))))
	assert.Equal(t, "/users?q=x", p.location())
	tok := p.cookie("webui_session")
	require.NotEmpty(t, tok)
	who, err := e.m.ResolveAccessToken(context.Background(), tok)
	require.NoError(t, err, "the cookie holds a live session")
	assert.True(t, who.Admin)
	assert.Equal(t, "admin@example.com", who.User.Email)

	require.Equal(t, 200, p.click("button", "Sign Out"))
	assert.Contains(t, p.text("status", ""), "signed out")
	_, err = e.m.ResolveAccessToken(context.Background(), tok)
	assert.Error(t, err, "signing out ends the session in the store")
	require.Equal(t, 200, p.open("/settings"))
	assert.True(t, strings.HasPrefix(p.location(), "/login"))
}

func TestPageRegister(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	member := e.role("Member", false)
	s := e.settings()
	s.PublicRegistration, s.PublicRegistrationVerifyEmail, s.PublicRegistrationRole = true, true, &member.ID
	_, err := e.m.UpdateSettings(context.Background(), s)
	require.NoError(t, err)
	e.user(users.CreateUserInput{Email: "taken@example.com", Password: "whatever1"})
	p := e.newPage()

	answer := func(email string) string {
		require.Equal(t, 200, p.open("/register"))
		p.fill("Email", email)
		p.fill("Password", "a good password")
		p.fill("First Name", "Reg")
		p.fill("Last Name", "Istered")
		require.Equal(t, 200, p.click("button", "Register"))
		return p.text("status", "")
	}
	require.Equal(t, 200, p.open("/register"))
	p.shot("register")
	fresh := answer("new@example.com")
	assert.Contains(t, fresh, "mail is on its way")
	assert.Equal(t, fresh, answer("taken@example.com"), "the same answer for a known address")

	u := e.byEmail("new@example.com")
	require.NotNil(t, u)
	assert.Equal(t, users.StatusUnverified, u.Status)
	assert.Equal(t, "Reg", u.FirstName)
	require.NotNil(t, u.Role)
	assert.Equal(t, member.ID, *u.Role)
	assert.Contains(t, e.lastLink("new@example.com"), e.srv.URL+"/admin/verify-email?token=")

	// Closed registration says so, and registers nobody.
	s.PublicRegistration = false
	_, err = e.m.UpdateSettings(context.Background(), s)
	require.NoError(t, err)
	require.Equal(t, 404, p.open("/register"))
	assert.Equal(t, "Registration is closed.", p.text("alert", ""))
}

func TestPageVerifyEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	openRegistration(t, e.m)
	require.NoError(t, e.m.Register(context.Background(), users.RegisterInput{Email: "v@example.com", Password: "a password"}))
	link := e.lastLink("v@example.com")
	require.True(t, strings.HasPrefix(link, e.srv.URL+"/admin/verify-email?token="), link)
	p := e.newPage()

	require.Equal(t, 200, p.open(link))
	p.shot("verify-email")
	assert.Contains(t, p.text("main", ""), "v@example.com")
	assert.Equal(t, users.StatusUnverified, e.byEmail("v@example.com").Status, "opening the link consumes nothing")
	require.Equal(t, 200, p.click("button", "Verify Email"))
	assert.Contains(t, p.text("status", ""), "verified")
	assert.Equal(t, users.StatusActive, e.byEmail("v@example.com").Status)

	require.Equal(t, 410, p.open(link))
	assert.Equal(t, "This link was already used.", p.text("alert", ""))
	assert.False(t, p.has("button", "Verify Email"))

	require.Equal(t, 404, p.open("/verify-email?token=nonsense"))
	assert.Contains(t, p.text("alert", ""), "not valid")
}

func TestPageAcceptInvite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	editors := e.role("Editors", false)
	s := e.settings()
	pol, err := users.ParsePasswordPolicy(users.PasswordPolicyStrong)
	require.NoError(t, err)
	s.PasswordPolicy = pol
	_, err = e.m.UpdateSettings(context.Background(), s)
	require.NoError(t, err)
	_, err = e.m.Invite(context.Background(), users.InviteInput{Emails: []string{"inv@example.com"}, Role: editors.ID})
	require.NoError(t, err)
	link := e.lastLink("inv@example.com")
	require.True(t, strings.HasPrefix(link, e.srv.URL+"/admin/accept-invite?token="), link)
	p := e.newPage()

	require.Equal(t, 200, p.open(link))
	p.shot("accept-invite")
	assert.Contains(t, p.text("main", ""), "inv@example.com", "the page shows the invited address")

	p.fill("Password", "Str0ng!pass")
	p.fill("Confirm Password", "Str0ng!pasz")
	require.Equal(t, 422, p.click("button", "Accept Invite"))
	assert.Contains(t, p.describedBy("Confirm Password"), "differ")

	p.fill("Password", "weakpassword")
	p.fill("Confirm Password", "weakpassword")
	require.Equal(t, 422, p.click("button", "Accept Invite"))
	d := p.describedBy("Password")
	assert.Contains(t, d, "upper-case letter", "the policy in words")
	assert.NotContains(t, d, "(?=", "never the expression")
	assert.Equal(t, users.StatusInvited, e.byEmail("inv@example.com").Status)

	p.fill("Password", "Str0ng!pass")
	p.fill("Confirm Password", "Str0ng!pass")
	require.Equal(t, 200, p.click("button", "Accept Invite"))
	assert.Contains(t, p.text("status", ""), "ready")
	assert.Equal(t, users.StatusActive, e.byEmail("inv@example.com").Status)
	_, err = e.m.Authenticate(context.Background(), "inv@example.com", "Str0ng!pass")
	assert.NoError(t, err)

	require.Equal(t, 410, p.open(link))
	assert.Equal(t, "This link was already used.", p.text("alert", ""))
}

func TestPageSetPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	openRegistration(t, e.m)
	ctx := context.Background()
	// Two registrations of one address with different passwords: once
	// verified, only the mailbox's owner chooses the password.
	require.NoError(t, e.m.Register(ctx, users.RegisterInput{Email: "c@example.com", Password: "first password"}))
	first := e.lastLink("c@example.com")
	require.NoError(t, e.m.Register(ctx, users.RegisterInput{Email: "c@example.com", Password: "other password"}))
	link := e.lastLink("c@example.com")
	require.NotEqual(t, first, link)
	_, err := e.m.VerifyEmail(ctx, tokenOf(t, link))
	require.NoError(t, err)
	link = e.lastLink("c@example.com")
	require.True(t, strings.HasPrefix(link, e.srv.URL+"/admin/set-password?token="), link)
	p := e.newPage()

	require.Equal(t, 200, p.open(link))
	p.shot("set-password")
	assert.Contains(t, p.text("main", ""), "c@example.com")
	p.fill("Password", "my own password")
	p.fill("Confirm Password", "my own password")
	require.Equal(t, 200, p.click("button", "Set Password"))
	assert.Contains(t, p.text("status", ""), "password is set")
	assert.Equal(t, users.StatusActive, e.byEmail("c@example.com").Status)
	_, err = e.m.Authenticate(ctx, "c@example.com", "my own password")
	assert.NoError(t, err)
}

func TestPageResetPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(users.CreateUserInput{Email: "r@example.com", Password: "old password"})
	p := e.newPage()

	require.Equal(t, 200, p.open("/login"))
	require.Equal(t, 200, p.click("link", "Forgot your password?"))
	p.shot("forgot-password")
	p.fill("Email", "r@example.com")
	require.Equal(t, 200, p.click("button", "Send Reset Link"))
	known := p.text("status", "")
	require.Equal(t, 200, p.open("/forgot-password"))
	p.fill("Email", "nobody@example.com")
	require.Equal(t, 200, p.click("button", "Send Reset Link"))
	assert.Equal(t, known, p.text("status", ""), "the same answer for an unknown address")

	link := e.lastLink("r@example.com")
	require.True(t, strings.HasPrefix(link, e.srv.URL+"/admin/reset-password?token="), link)
	require.Equal(t, 200, p.open(link))
	p.shot("reset-password")
	p.fill("Password", "new password")
	p.fill("Confirm Password", "new password")
	require.Equal(t, 200, p.click("button", "Reset Password"))
	assert.Contains(t, p.text("status", ""), "password is changed")
	ctx := context.Background()
	_, err := e.m.Authenticate(ctx, "r@example.com", "new password")
	assert.NoError(t, err)
	_, err = e.m.Authenticate(ctx, "r@example.com", "old password")
	assert.Error(t, err)
}

func TestPageUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, asAdmin)
	editors := e.role("Editors", false)
	for i := range 60 {
		e.user(users.CreateUserInput{Email: fmt.Sprintf("u%02d@example.com", i), FirstName: "User", LastName: fmt.Sprint(i)})
	}
	e.user(users.CreateUserInput{Email: "zed@example.org", FirstName: "Zed", Status: users.StatusSuspended, Role: &editors.ID})
	p := e.newPage()

	require.Equal(t, 200, p.open("/users"))
	p.shot("users")
	assert.Contains(t, p.text("main", ""), "61 users")
	assert.True(t, p.has("link", "u00@example.com"))
	assert.False(t, p.has("link", "u55@example.com"), "50 a page")
	require.Equal(t, 200, p.click("link", "Next"))
	assert.True(t, p.has("link", "u55@example.com"))
	require.Equal(t, 200, p.click("link", "Previous"))
	assert.True(t, p.has("link", "u00@example.com"))

	p.fill("Search", "zed")
	require.Equal(t, 200, p.click("button", "Search"))
	assert.True(t, p.has("link", "zed@example.org"))
	assert.False(t, p.has("link", "u00@example.com"))
	require.Equal(t, 200, p.open("/users"))
	p.choose("Status", "Suspended")
	require.Equal(t, 200, p.click("button", "Search"))
	assert.True(t, p.has("link", "zed@example.org"))
	assert.Contains(t, p.text("main", ""), "1 user")
}

func TestPageUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, asAdmin)
	editors := e.role("Editors", false)
	u := e.user(users.CreateUserInput{Email: "edit@example.com", FirstName: "Old", Role: &editors.ID})
	p := e.newPage()

	require.Equal(t, 200, p.open("/users"))
	require.Equal(t, 200, p.click("link", "edit@example.com"))
	p.shot("user")
	assert.False(t, p.has("button", "Resend"), "an active user has nothing to resend")
	p.choose("Role", "No Role")
	p.choose("Status", "Suspended")
	p.fill("First Name", "New")
	p.fill("Last Name", "Name")
	require.Equal(t, 200, p.click("button", "Save"))
	assert.Contains(t, p.text("status", ""), "Saved")
	got, err := e.m.User(context.Background(), u.ID)
	require.NoError(t, err)
	assert.Nil(t, got.Role)
	assert.Equal(t, users.StatusSuspended, got.Status)
	assert.Equal(t, "New", got.FirstName)
	assert.Equal(t, "Name", got.LastName)

	// An unverified user's mail is sent again.
	openRegistration(t, e.m)
	require.NoError(t, e.m.Register(context.Background(), users.RegisterInput{Email: "unv@example.com", Password: "a password"}))
	first := e.lastLink("unv@example.com")
	require.Equal(t, 200, p.open("/users?q=unv"))
	require.Equal(t, 200, p.click("link", "unv@example.com"))
	require.Equal(t, 200, p.click("button", "Resend"))
	assert.Contains(t, p.text("status", ""), "again")
	assert.NotEqual(t, first, e.lastLink("unv@example.com"), "a new mail with a new link")
	assert.Len(t, e.mail.To("unv@example.com"), 2)
}

func TestPageRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, asAdmin)
	e.role("Editors", false)
	p := e.newPage()

	require.Equal(t, 200, p.open("/roles"))
	p.shot("roles")
	assert.True(t, p.has("link", "Editors"))
	p.fill("Name", "Reviewers")
	require.Equal(t, 200, p.click("button", "Create Role"))
	require.NoError(t, chromedp.Do(p.ctx, chromedp.WaitVisible(`heading "Reviewers"`, byName("heading", "Reviewers"))))
	roles, err := e.m.ListRoles(context.Background())
	require.NoError(t, err)
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
		if r.Name == "Reviewers" {
			assert.False(t, r.AdminAccess)
		}
	}
	assert.ElementsMatch(t, []string{"Editors", "Reviewers"}, names)
	require.Equal(t, 200, p.click("link", "Roles"))
	assert.True(t, p.has("link", "Reviewers"))
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	return u.Query().Get("token")
}

package webui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// signIn signs in through the sign-in page.
func (p *page) signIn(email, password string) {
	p.t.Helper()
	require.Equal(p.t, 200, p.open("/login"))
	p.fill("Email", email)
	p.fill("Password", password)
	require.Equal(p.t, 200, p.click("button", "Sign In"))
}

// useSession puts a session's access token in the tab's session cookie,
// as the sign-in page would.
func (p *page) useSession(s *users.Session) {
	p.t.Helper()
	u, err := url.Parse(p.e.base)
	require.NoError(p.t, err)
	_, err = chromedp.Call(p.ctx, network.SetCookie, network.SetCookieParams{Name: "webui_session", Value: s.AccessToken,
		Domain: u.Hostname(), Path: "/admin", HTTPOnly: ptr(true)})
	require.NoError(p.t, err)
}

// mailLinks returns the links of the last mail to addr, by path.
func (e *env) mailLinks(addr string) map[string]string {
	e.t.Helper()
	_, err := e.m.DeliverPending(context.Background())
	require.NoError(e.t, err)
	ms := e.mail.To(addr)
	require.NotEmpty(e.t, ms, "no mail to %s", addr)
	out := map[string]string{}
	for _, f := range strings.Fields(ms[len(ms)-1].Text) {
		if u, err := url.Parse(f); err == nil && u.Scheme != "" {
			out[u.Path] = f
		}
	}
	require.NotEmpty(e.t, out, "no link in the mail to %s", addr)
	return out
}

// controlsNamed asserts that every control of the open page has an
// accessible name.
func (p *page) controlsNamed(what string) {
	p.t.Helper()
	nodes, err := chromedp.Run(p.ctx, func(ctx context.Context, t *chromedp.Target) ([]*accessibility.Node, error) {
		res, err := cdp.Call(ctx, t, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
		return res.Nodes, err
	})
	require.NoError(p.t, err)
	for _, n := range nodes {
		if n.Ignored || n.Role == nil {
			continue
		}
		switch axString(n.Role) {
		case "textbox", "searchbox", "combobox", "checkbox", "button", "link", "radio", "listbox":
			assert.NotEmpty(p.t, strings.TrimSpace(axString(n.Name)), "%s: a %s without a name", what, axString(n.Role))
		}
	}
	for _, w := range []int64{360, 1280} {
		require.NoError(p.t, chromedp.Do(p.ctx, chromedp.EmulateViewport(w, 800)))
		over, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		require.NoError(p.t, err)
		assert.False(p.t, over, "%s scrolls sideways at %d px", what, w)
	}
}

// A user who is no administrator has the account page, without the
// console's navigation.
func TestPageAccountForAMember(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.admin("admin@example.com", "admin password")
	e.user(users.CreateUserInput{Email: "mia@example.com", Password: "mia password", FirstName: "Mia"})
	s, err := e.m.Login(context.Background(), users.LoginInput{Email: "mia@example.com", Password: "mia password",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", IP: "203.0.113.9", SessionCookie: true})
	require.NoError(t, err)
	p := e.newPage()
	require.Equal(t, 200, p.open("/account"))
	assert.True(t, strings.HasPrefix(p.location(), "/login"), "no session: the sign-in page")
	p.useSession(s)
	require.Equal(t, 200, p.open("/account"))
	assert.Equal(t, "/account", p.location())
	assert.False(t, p.has("link", "Users"), "no console navigation")
	assert.True(t, p.has("link", "Account"))
	assert.Equal(t, "Mia", p.value("field", "First Name"))
	p.controlsNamed("/account")
	require.NoError(t, chromedp.Do(p.ctx, chromedp.EmulateViewport(1280, 800)))

	p.fill("Last Name", "Muster")
	require.Equal(t, 200, p.click("button", "Save Name"))
	assert.Contains(t, p.text("status", ""), "Your name is saved.")
	assert.Equal(t, "Muster", e.byEmail("mia@example.com").LastName)
}

// An email change asked on the account page is confirmed from the new
// address's mail, and another one is cancelled from the old address's.
func TestPageAccountEmailChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.admin("admin@example.com", "admin password")
	p := e.newPage()
	p.signIn("admin@example.com", "admin password")
	require.Equal(t, 200, p.click("link", "Account"))
	assert.Equal(t, "/account", p.location())
	p.shot("account")

	// Cancelled from the old address.
	p.fill("New Email", "someone.else@example.org")
	require.Equal(t, 200, p.click("button", "Change Email"))
	assert.Contains(t, p.text("status", ""), "A link to confirm the change is on its way to someone.else@example.org")
	notice := e.mailLinks("admin@example.com")
	require.Contains(t, notice, "/admin/cancel-email-change")
	require.Contains(t, notice, "/admin/reset-password")
	confirmFirst := e.mailLinks("someone.else@example.org")["/admin/confirm-email"]
	require.Equal(t, 200, p.open(notice["/admin/cancel-email-change"]))
	assert.Contains(t, p.text("main", ""), "someone.else@example.org")
	p.shot("email-change-cancel")
	require.Equal(t, 200, p.click("button", "Cancel the Change"))
	assert.Contains(t, p.text("status", ""), "The change is cancelled")
	assert.Equal(t, "admin@example.com", e.byEmail("admin@example.com").Email)
	// Cancelling signed every session out, this browser's included.
	require.Equal(t, 200, p.open("/account"))
	assert.True(t, strings.HasPrefix(p.location(), "/login"))
	// The first change's confirm link is dead.
	require.Equal(t, 404, p.open(confirmFirst))
	assert.Contains(t, p.text("alert", ""), "not valid")

	// Confirmed from the new address.
	p.signIn("admin@example.com", "admin password")
	require.Equal(t, 200, p.open("/account"))
	p.fill("New Email", "new.admin@example.org")
	require.Equal(t, 200, p.click("button", "Change Email"))
	confirm := e.mailLinks("new.admin@example.org")["/admin/confirm-email"]
	cancel := e.mailLinks("admin@example.com")["/admin/cancel-email-change"]
	require.NotEmpty(t, confirm)
	// Until confirmed, sign-in stays on the old address.
	_, err := e.m.Authenticate(context.Background(), "new.admin@example.org", "admin password")
	require.ErrorIs(t, err, users.ErrInvalidCredentials)
	require.Equal(t, 200, p.open(confirm))
	assert.Contains(t, p.text("main", ""), "admin@example.com")
	p.shot("email-change-confirm")
	require.Equal(t, 200, p.click("button", "Confirm New Email"))
	assert.Contains(t, p.text("status", ""), "Your account's address is now new.admin@example.org")
	p.signIn("new.admin@example.org", "admin password")
	assert.Equal(t, "/users", p.location())
	// The old address's cancel link no longer works once confirmed.
	require.Equal(t, 404, p.open(cancel))
	assert.Contains(t, p.text("main", ""), "can no longer be cancelled")
}

// The sessions list: one Sign Out per session, Sign Out Everywhere Else;
// a password change keeps this browser and ends the others.
func TestPageAccountSessionsAndPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.admin("admin@example.com", "admin password")
	ctx := context.Background()
	phone, err := e.m.Login(ctx, users.LoginInput{Email: "admin@example.com", Password: "admin password",
		UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Safari/604.1", IP: "198.51.100.23"})
	require.NoError(t, err)
	laptop, err := e.m.Login(ctx, users.LoginInput{Email: "admin@example.com", Password: "admin password",
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/133.0", IP: "192.0.2.44"})
	require.NoError(t, err)
	p := e.newPage()
	p.signIn("admin@example.com", "admin password")
	require.Equal(t, 200, p.open("/account#sessions-title"))
	body := p.text("region", "Sessions")
	assert.Contains(t, body, "iPhone")
	assert.Contains(t, body, "198.51.100.23")
	assert.Contains(t, body, "(this browser)")
	p.shot("account-sessions")
	p.controlsNamed("/account with sessions")
	require.NoError(t, chromedp.Do(p.ctx, chromedp.EmulateViewport(1280, 800)))

	list, err := e.m.UserSessions(ctx, e.byEmail("admin@example.com").ID)
	require.NoError(t, err)
	var started string
	for _, s := range list {
		if s.ID == phone.ID {
			started = s.CreatedAt.UTC().Format("2006-01-02 15:04 MST")
		}
	}
	require.NotEmpty(t, started)
	require.Equal(t, 200, p.click("button", "Sign out Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Safari/604.1 (198.51.100.23, started "+started+")"))
	assert.Contains(t, p.text("status", ""), "signed out")
	_, err = e.m.Refresh(ctx, phone.RefreshToken)
	assert.Error(t, err, "the phone's session ended")

	require.Equal(t, 200, p.click("button", "Sign Out Everywhere Else"))
	assert.Contains(t, p.text("status", ""), "1 other session is signed out.")
	_, err = e.m.Refresh(ctx, laptop.RefreshToken)
	assert.Error(t, err, "the laptop's session ended")
	assert.False(t, p.has("button", "Sign Out Everywhere Else"))

	// A new password: the current one is required; this browser stays.
	other, err := e.m.Login(ctx, users.LoginInput{Email: "admin@example.com", Password: "admin password"})
	require.NoError(t, err)
	p.fill("Current Password", "wrong")
	p.fill("New Password", "a new admin password")
	p.fill("Confirm New Password", "a new admin password")
	require.Equal(t, 401, p.click("button", "Change Password"))
	assert.Contains(t, p.describedBy("Current Password"), "wrong")
	p.fill("Current Password", "admin password")
	p.fill("New Password", "a new admin password")
	p.fill("Confirm New Password", "a new admin password")
	require.Equal(t, 200, p.click("button", "Change Password"))
	assert.Contains(t, p.text("status", ""), "Your password is changed. Every other session is signed out.")
	assert.Equal(t, "/account", p.location())
	_, err = e.m.Refresh(ctx, other.RefreshToken)
	assert.Error(t, err, "the other session ended")
	_, err = e.m.Authenticate(ctx, "admin@example.com", "a new admin password")
	require.NoError(t, err)
}

// The Users page creates, invites and deletes; Delete asks first, and the
// last administrator stays.
func TestPageUsersCreateInviteDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin("admin@example.com", "admin password")
	editors := e.role("Editors", false)
	p := e.newPage()
	p.signIn("admin@example.com", "admin password")

	require.Equal(t, 200, p.click("button", "Create User"))
	p.fill("Email", "made@example.com")
	p.fill("Password", "made password")
	p.choose("Role", "Editors")
	p.choose("Account Status", "Active")
	p.shot("users-create")
	require.Equal(t, 200, p.click("button", "Save"))
	assert.Contains(t, p.text("status", ""), "Created made@example.com")
	made := e.byEmail("made@example.com")
	require.NotNil(t, made)
	require.NotNil(t, made.Role)
	assert.Equal(t, editors.ID, *made.Role)

	require.Equal(t, 200, p.open("/users"))
	require.Equal(t, 200, p.click("button", "Invite Users"))
	p.fill("Emails", "inv@example.com\nnope\nmade@example.com")
	p.choose("Role", "Editors")
	require.Equal(t, 200, p.click("button", "Invite"))
	assert.Contains(t, p.text("status", ""), "inv@example.com: invited")
	assert.NotContains(t, p.text("status", ""), "nope")
	assert.Contains(t, p.text("alert", "Refused"), "nope: refused")
	assert.Contains(t, p.text("status", "Left alone"), "made@example.com")
	p.shot("users-invite-results")

	require.Equal(t, 200, p.click("button", "Delete made@example.com"))
	assert.Contains(t, p.text("main", ""), "Delete made@example.com?")
	p.shot("user-delete-confirm")
	require.Equal(t, 200, p.click("link", "Cancel"))
	assert.NotNil(t, e.byEmail("made@example.com"), "Cancel deletes nothing")
	require.Equal(t, 200, p.click("button", "Delete made@example.com"))
	require.Equal(t, 200, p.click("button", "Delete"))
	assert.Contains(t, p.text("status", ""), "Deleted made@example.com")
	assert.Nil(t, e.byEmail("made@example.com"))

	require.Equal(t, 200, p.click("button", "Delete admin@example.com"))
	require.Equal(t, 409, p.click("button", "Delete"))
	assert.Contains(t, p.text("alert", ""), "no active user with admin access")
	_, err := e.m.User(context.Background(), admin.ID)
	require.NoError(t, err)
}

// codeAt is the TOTP code of secret for the time t.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	require.NoError(t, err)
	return c
}

// signInWith fills the sign-in form, with a code when not empty, and
// returns the answer's status.
func (p *page) signInWith(email, password, code string) int {
	p.t.Helper()
	require.Equal(p.t, 200, p.open("/login"))
	p.fill("Email", email)
	p.fill("Password", password)
	if code != "" {
		p.fill("Two-Factor Code", code)
	}
	return p.click("button", "Sign In")
}

// Two-factor sign-in, enrolled on the account page: the code is computed
// from the key the page shows; after signing out, sign-in is refused
// without a code and with a code already used, and succeeds with a fresh
// code, then with a recovery code (once).
func TestPageAccountTwoFactor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.admin("admin@example.com", "admin password")
	p := e.newPage()
	p.signIn("admin@example.com", "admin password")
	require.Equal(t, 200, p.open("/account"))

	p.fill("Password", "wrong")
	require.Equal(t, 401, p.click("button", "Set Up Two-Factor Sign-In"))
	p.fill("Password", "admin password")
	require.Equal(t, 200, p.click("button", "Set Up Two-Factor Sign-In"))
	alt, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector("img.qr").alt`))
	require.NoError(t, err)
	assert.Equal(t, "QR code of the two-factor key shown below", alt, "the QR code is an image with a text alternative")
	src, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector("img.qr").getAttribute("src")`))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(src, "data:image/png;base64,"), "rendered on the server")
	natural, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`document.querySelector("img.qr").naturalWidth`))
	require.NoError(t, err)
	assert.Positive(t, natural, "the image loads under the page's CSP")
	key, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector("code.secret").textContent`))
	require.NoError(t, err)
	secret := strings.ReplaceAll(key, " ", "")
	require.NotEmpty(t, secret)
	p.shot("account-tfa-setup")
	p.controlsNamed("/account two-factor set-up")
	require.NoError(t, chromedp.Do(p.ctx, chromedp.EmulateViewport(1280, 800)))

	p.fill("Code from the App", "000000")
	require.Equal(t, 422, p.click("button", "Turn On Two-Factor Sign-In"))
	assert.Contains(t, p.describedBy("Code from the App"), "invalid")
	enrolled := codeAt(t, secret, time.Now())
	p.fill("Code from the App", enrolled)
	require.Equal(t, 200, p.click("button", "Turn On Two-Factor Sign-In"))
	assert.Contains(t, p.text("status", ""), "Two-factor sign-in is on")
	codes, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("ul.recovery code")].map(c => c.textContent)`))
	require.NoError(t, err)
	require.Len(t, codes, 10)
	p.shot("account-tfa-codes")
	u := e.byEmail("admin@example.com")
	assert.True(t, u.TwoFactor)

	require.Equal(t, 200, p.click("button", "Sign Out"))
	require.Equal(t, 401, p.signInWith("admin@example.com", "admin password", ""), "no code")
	assert.Contains(t, p.describedBy("Two-Factor Code"), "two-factor code")
	require.Equal(t, 401, p.signInWith("admin@example.com", "admin password", enrolled), "a code already used")
	require.Equal(t, 200, p.signInWith("admin@example.com", "admin password", codeAt(t, secret, time.Now().Add(30*time.Second))))
	assert.Equal(t, "/users", p.location())
	require.Equal(t, 200, p.click("button", "Sign Out"))

	require.Equal(t, 200, p.signInWith("admin@example.com", "admin password", codes[0]))
	assert.Equal(t, "/users", p.location(), "a recovery code signs in")
	require.Equal(t, 200, p.click("link", "Account"))
	assert.Contains(t, p.text("main", ""), "9 recovery codes are left.")
	p.shot("account-tfa-on")
	require.Equal(t, 200, p.click("button", "Sign Out"))
	require.Equal(t, 401, p.signInWith("admin@example.com", "admin password", codes[0]), "a recovery code works once")
}

// A role that requires two-factor sign-in sends its users to set it up
// before anything else.
func TestPageEnforcedTwoFactor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	strict, err := e.m.CreateRole(ctx, users.Role{Name: "Strict Admins", AdminAccess: true, EnforceTFA: true})
	require.NoError(t, err)
	e.user(users.CreateUserInput{Email: "strict@example.com", Password: "strict password", Role: &strict.ID})
	p := e.newPage()
	p.signIn("strict@example.com", "strict password")
	assert.Equal(t, "/account", p.location(), "set-up first")
	assert.Contains(t, p.text("main", ""), "Your role requires two-factor sign-in")
	assert.False(t, p.has("button", "Change Email"), "nothing else on the page")
	p.shot("account-tfa-required")
	require.Equal(t, 200, p.open("/users"))
	assert.Equal(t, "/account", p.location(), "the console waits")
	require.Equal(t, 200, p.open("/settings"))
	assert.Equal(t, "/account", p.location())

	p.fill("Password", "strict password")
	require.Equal(t, 200, p.click("button", "Set Up Two-Factor Sign-In"))
	key, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector("code.secret").textContent`))
	require.NoError(t, err)
	p.fill("Code from the App", codeAt(t, strings.ReplaceAll(key, " ", ""), time.Now()))
	require.Equal(t, 200, p.click("button", "Turn On Two-Factor Sign-In"))
	assert.Contains(t, p.text("status", ""), "Two-factor sign-in is on")
	require.Equal(t, 200, p.open("/users"))
	assert.Equal(t, "/users", p.location(), "with a second factor, the console opens")
}

package webui_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// tfaOn sets up the user's second factor through the Manager and returns
// its secret; the clock then moves to the next time step.
func (e *handlerEnv) tfaOn(t *testing.T, u *users.User, pw string) string {
	t.Helper()
	ctx := context.Background()
	secret, _, err := e.m.GenerateTwoFactorSecret(ctx, u.ID, pw)
	require.NoError(t, err)
	_, err = e.m.EnableTwoFactor(ctx, u.ID, secret, e.code(t, secret))
	require.NoError(t, err)
	*e.now = e.now.Add(30 * time.Second)
	return secret
}

func (e *handlerEnv) code(t *testing.T, secret string) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, *e.now)
	require.NoError(t, err)
	return c
}

func TestConsoleSignInTakesTheCode(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	admins, err := e.m.CreateRole(ctx, users.Role{Name: "Administrator", AdminAccess: true})
	require.NoError(t, err)
	u, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "a@example.com", Password: "pw", Role: &admins.ID})
	require.NoError(t, err)
	secret := e.tfaOn(t, u, "pw")

	_, body := do(t, e.h, "GET", "/admin/login", nil)
	assert.Contains(t, body, `<label for="otp">Two-Factor Code</label>`)
	assert.Contains(t, body, `autocomplete="one-time-code"`)

	for _, otp := range []string{"", "000000x"} {
		res, body := do(t, e.h, "POST", "/admin/login", url.Values{"email": {"a@example.com"}, "password": {"pw"}, "otp": {otp}})
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
		assert.Contains(t, body, `<p class="error" id="otp-error">This account signs in with a two-factor code`)
		for _, c := range res.Cookies() {
			assert.NotEqual(t, "webui_session", c.Name, "no session without the code")
		}
	}
	res, _ := do(t, e.h, "POST", "/admin/login", url.Values{"email": {"a@example.com"}, "password": {"pw"}, "otp": {e.code(t, secret)}})
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
}

func TestUserPageShowsAndRemovesTwoFactor(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	u, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "ann@example.com", Password: "pw"})
	require.NoError(t, err)
	page := "/admin/users/" + u.ID

	_, body := do(t, e.h, "GET", page, nil)
	assert.Contains(t, body, `<h2 id="tfa-title">Two-Factor Sign-In</h2>`)
	assert.Contains(t, body, "Off: this user signs in with the password alone.")
	assert.NotContains(t, body, "Remove Two-Factor Sign-In")

	secret := e.tfaOn(t, u, "pw")
	_, err = e.m.Login(ctx, users.LoginInput{Email: "ann@example.com", Password: "pw", OTP: "bad"})
	require.ErrorIs(t, err, users.ErrInvalidOTP)
	_, body = do(t, e.h, "GET", page, nil)
	assert.Contains(t, body, "On: this user signs in with a code from an authenticator app, or one of 10 unused recovery codes.")
	assert.Contains(t, body, `<form method="post" action="`+page+`/tfa/remove"><button type="submit" class="secondary">Remove Two-Factor Sign-In</button></form>`)
	assert.NotContains(t, body, secret)

	res, _ := do(t, e.h, "POST", page+"/tfa/remove", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	got, err := e.m.User(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, got.TwoFactor)
	_, err = e.m.Login(ctx, users.LoginInput{Email: "ann@example.com", Password: "pw"})
	require.NoError(t, err, "the password alone signs in again")

	res, _ = do(t, e.h, "POST", "/admin/users/00000000-0000-0000-0000-000000000000/tfa/remove", url.Values{})
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

// Only an administrator reaches the remove action.
func TestRemoveTwoFactorNeedsAnAdministrator(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	u, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "ann@example.com", Password: "pw"})
	require.NoError(t, err)
	e.tfaOn(t, u, "pw")
	res, _ := do(t, e.h, "POST", "/admin/users/"+u.ID+"/tfa/remove", url.Values{})
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "to the sign-in page")
	assert.Contains(t, res.Header.Get("Location"), "/admin/login")
	got, err := e.m.User(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, got.TwoFactor, "nothing removed")
}

// An administrator whose role enforces two-factor sign-in is sent to its
// account page, not into the console, until it has set it up.
func TestConsoleWaitsForTwoFactorSetUp(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t)
	ctx := context.Background()
	strict, err := e.m.CreateRole(ctx, users.Role{Name: "Administrator", AdminAccess: true, EnforceTFA: true})
	require.NoError(t, err)
	u, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "a@example.com", Password: "pw", Role: &strict.ID})
	require.NoError(t, err)
	c := signInCookie(t, e.h, "a@example.com", "pw")
	res := get(t, e.h, "/admin/users/"+u.ID, c)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, res.Header.Get("Location"), "/admin/account")
	res, _ = do(t, e.h, "POST", "/admin/users/"+u.ID+"/tfa/remove", url.Values{}, "Cookie", c.Name+"="+c.Value)
	assert.NotEqual(t, http.StatusOK, res.StatusCode)

	e.tfaOn(t, u, "pw")
	assert.Equal(t, http.StatusOK, get(t, e.h, "/admin/users/"+u.ID, c).StatusCode)
}

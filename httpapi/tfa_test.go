package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// otpNow is the TOTP code of secret at the fixture's time.
func (f *fixture) otpNow(secret string) string {
	f.t.Helper()
	c, err := totp.GenerateCode(secret, f.clock.Now())
	require.NoError(f.t, err)
	return c
}

// bearer sends a request with an access token.
func (f *fixture) bearer(tok, method, target, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	return f.withBearer(request(method, target, body), tok)
}

// tfaOn sets up the second factor of the user whose access token is tok,
// over HTTP, and returns the secret; the clock then moves to the next
// time step.
func (f *fixture) tfaOn(tok string) string {
	f.t.Helper()
	var gen struct {
		Secret     string `json:"secret"`
		OTPAuthURL string `json:"otpauth_url"`
	}
	data(f.t, f.bearer(tok, "POST", "/users/me/tfa/generate", `{"password":`+jsonString(password)+`}`), &gen)
	require.NotEmpty(f.t, gen.Secret)
	require.True(f.t, strings.HasPrefix(gen.OTPAuthURL, "otpauth://totp/"), gen.OTPAuthURL)
	w := f.bearer(tok, "POST", "/users/me/tfa/enable", `{"secret":`+jsonString(gen.Secret)+`,"otp":`+jsonString(f.otpNow(gen.Secret))+`}`)
	require.Equal(f.t, http.StatusNoContent, w.Code, w.Body.String())
	f.clock.Advance(30e9)
	return gen.Secret
}

func loginOTP(email, pw, otp string) string {
	return `{"email":` + jsonString(email) + `,"password":` + jsonString(pw) + `,"otp":` + jsonString(otp) + `}`
}

func TestTFAOverHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.owner(f.role)
	tk := f.login(ownerEmail, password)

	wantError(t, f.bearer(tk.AccessToken, "POST", "/users/me/tfa/generate", `{}`), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "password" is required.`)
	wantError(t, f.bearer(tk.AccessToken, "POST", "/users/me/tfa/generate", `{"password":"nope"}`), http.StatusUnauthorized, "INVALID_CREDENTIALS", "Invalid user credentials.")
	wantError(t, f.do("POST", "/users/me/tfa/generate", `{"password":`+jsonString(password)+`}`), http.StatusUnauthorized, "INVALID_CREDENTIALS", "")
	wantError(t, f.bearer(tk.AccessToken, "POST", "/users/me/tfa/enable", `{"otp":"123456"}`), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "secret" is required.`)

	var me wireUserTFA
	data(t, f.bearer(tk.AccessToken, "GET", "/users/me", ""), &me)
	assert.Nil(t, me.TFASecret, "null when not set")

	secret := f.tfaOn(tk.AccessToken)
	for _, w := range []*httptest.ResponseRecorder{f.bearer(tk.AccessToken, "GET", "/users/me", ""), f.admin("GET", "/users/"+u.ID, ""), f.admin("GET", "/users", "")} {
		assert.NotContains(t, w.Body.String(), secret, "the secret is never shown again")
		assert.Contains(t, w.Body.String(), `"tfa_secret":"**********"`)
	}

	wantError(t, f.do("POST", "/auth/login", loginBody(ownerEmail, password, "")), http.StatusUnauthorized, "INVALID_OTP", "Invalid user OTP.")
	wantError(t, f.do("POST", "/auth/login", loginOTP(ownerEmail, password, "000000x")), http.StatusUnauthorized, "INVALID_OTP", "Invalid user OTP.")
	wantError(t, f.do("POST", "/auth/login", loginOTP(ownerEmail, "wrong", f.otpNow(secret))), http.StatusUnauthorized, "INVALID_CREDENTIALS", "")
	code := f.otpNow(secret)
	var tk2 tokens
	data(t, f.do("POST", "/auth/login", loginOTP(ownerEmail, password, code)), &tk2)
	require.NotEmpty(t, tk2.AccessToken)
	wantError(t, f.do("POST", "/auth/login", loginOTP(ownerEmail, password, code)), http.StatusUnauthorized, "INVALID_OTP", "Invalid user OTP.")

	// Already on: generate again is refused, as Directus refuses it.
	wantError(t, f.bearer(tk.AccessToken, "POST", "/users/me/tfa/generate", `{"password":`+jsonString(password)+`}`), http.StatusBadRequest, "INVALID_PAYLOAD", "Invalid payload. TFA Secret is already set for this user.")

	f.clock.Advance(30e9)
	wantError(t, f.bearer(tk.AccessToken, "POST", "/users/me/tfa/disable", `{}`), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "otp" is required.`)
	wantError(t, f.bearer(tk.AccessToken, "POST", "/users/me/tfa/disable", `{"otp":"12"}`), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "otp" is invalid.`)
	w := f.bearer(tk.AccessToken, "POST", "/users/me/tfa/disable", `{"otp":`+jsonString(f.otpNow(secret))+`}`)
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	f.login(ownerEmail, password) // no code needed any more

	assert.NotContains(t, f.logs.String(), secret)
}

// A stolen access token cannot install a secret of the thief's choosing.
func TestTFAEnableRefusesAForeignSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.owner(f.role)
	tk := f.login(ownerEmail, password)
	chosen := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	w := f.bearer(tk.AccessToken, "POST", "/users/me/tfa/enable", `{"secret":"`+chosen+`","otp":`+jsonString(f.otpNow(chosen))+`}`)
	wantError(t, w, http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "secret" was not generated for this user, or has expired: generate a new one.`)
	var me wireUserTFA
	data(t, f.bearer(tk.AccessToken, "GET", "/users/me", ""), &me)
	assert.Nil(t, me.TFASecret)
	f.login(ownerEmail, password)
}

func TestTFAAdminDisable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.owner(f.role)
	tk := f.login(ownerEmail, password)
	secret := f.tfaOn(tk.AccessToken)
	other := f.create(users.CreateUserInput{Email: "other@example.com", Password: password, Role: &f.role.ID})
	otk := f.login("other@example.com", password)

	target := "/users/" + u.ID + "/tfa/disable"
	wantError(t, f.do("POST", target, ""), http.StatusForbidden, "FORBIDDEN", "")
	wantError(t, f.bearer(otk.AccessToken, "POST", target, ""), http.StatusForbidden, "FORBIDDEN", "")
	// Not even for one's own id: /users/me/tfa/disable takes a code.
	wantError(t, f.bearer(tk.AccessToken, "POST", target, ""), http.StatusForbidden, "FORBIDDEN", "")
	wantError(t, f.bearer(otk.AccessToken, "POST", "/users/"+other.ID+"/tfa/disable", ""), http.StatusForbidden, "FORBIDDEN", "")
	got, err := f.m.User(f.ctx, u.ID)
	require.NoError(t, err)
	require.True(t, got.TwoFactor, "nothing removed")
	wantError(t, f.do("POST", "/auth/login", loginBody(ownerEmail, password, "")), http.StatusUnauthorized, "INVALID_OTP", "")

	w := f.admin("POST", target, "")
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	f.login(ownerEmail, password)
	wantError(t, f.admin("POST", "/users/00000000-0000-0000-0000-000000000000/tfa/disable", ""), http.StatusForbidden, "FORBIDDEN", "")
	assert.NotContains(t, f.logs.String(), secret)
}

func TestTFASecretCannotBePatched(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.owner(f.role)
	tk := f.login(ownerEmail, password)
	for _, body := range []string{`{"tfa_secret":null}`, `{"tfa_secret":"JBSWY3DPEHPK3PXP"}`} {
		wantError(t, f.admin("PATCH", "/users/"+u.ID, body), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "tfa_secret" is not allowed.`)
		wantError(t, f.bearer(tk.AccessToken, "PATCH", "/users/me", body), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "tfa_secret" is not allowed.`)
	}
}

// Trying codes is limited per user: over the limit even the right code is
// refused (429), and nothing is learned.
func TestTFACodeBruteForceIsLimited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.owner(f.role)
	tk := f.login(ownerEmail, password)
	secret := f.tfaOn(tk.AccessToken)
	right := f.otpNow(secret)
	wrong := "000000"
	if right == wrong {
		wrong = "000001"
	}
	refused := 0
	for range 12 {
		w := f.do("POST", "/auth/login", loginOTP(ownerEmail, password, wrong))
		if w.Code == http.StatusTooManyRequests {
			refused++
			continue
		}
		wantError(t, w, http.StatusUnauthorized, "INVALID_OTP", "")
	}
	assert.Positive(t, refused)
	wantError(t, f.do("POST", "/auth/login", loginOTP(ownerEmail, password, right)), http.StatusTooManyRequests, "REQUESTS_EXCEEDED", "")
}

func TestEnforceTFAOverHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var role users.Role
	data(t, f.admin("POST", "/roles", `{"name":"Staff","admin_access":true,"enforce_tfa":true}`), &role)
	require.True(t, role.EnforceTFA)
	f.owner(&role)

	tk := f.login(ownerEmail, password) // signing in works
	me := f.bearer(tk.AccessToken, "GET", "/users/me", "")
	require.Equal(t, http.StatusOK, me.Code)
	forbidden := "You don't have permission to access this. Set up two-factor sign-in first."
	wantError(t, f.bearer(tk.AccessToken, "PATCH", "/users/me", `{"first_name":"A"}`), http.StatusForbidden, "FORBIDDEN", forbidden)
	wantError(t, f.bearer(tk.AccessToken, "GET", "/users", ""), http.StatusForbidden, "FORBIDDEN", forbidden)
	wantError(t, f.bearer(tk.AccessToken, "GET", "/settings", ""), http.StatusForbidden, "FORBIDDEN", forbidden)
	wantError(t, f.bearer(tk.AccessToken, "POST", "/users/me/tfa/disable", `{"otp":"123456"}`), http.StatusForbidden, "FORBIDDEN", forbidden)

	f.tfaOn(tk.AccessToken) // the set-up routes stay open
	require.Equal(t, http.StatusOK, f.bearer(tk.AccessToken, "GET", "/users", "").Code)
	require.Equal(t, http.StatusOK, f.bearer(tk.AccessToken, "PATCH", "/users/me", `{"first_name":"A"}`).Code)
}

// wireUserTFA is the tfa_secret of a user on the wire.
type wireUserTFA struct {
	TFASecret *string `json:"tfa_secret"`
}

// The guards of an application's own routes keep out a user who must set
// up two-factor sign-in first, until it has.
func TestGuardsRequireTwoFactorSetUp(t *testing.T) {
	t.Parallel()
	a := newAuthApp(t)
	strict, err := a.m.CreateRole(a.ctx, users.Role{Name: "Strict", AdminAccess: true, EnforceTFA: true})
	require.NoError(t, err)
	a.create(users.CreateUserInput{Email: "kim@example.com", Password: password, Role: &strict.ID})
	s, err := a.m.Login(a.ctx, users.LoginInput{Email: "kim@example.com", Password: password})
	require.NoError(t, err)

	for _, path := range []string{"/member", "/staff", "/role"} {
		wantError(t, a.serveApp(bearer("GET", path, s.AccessToken)), http.StatusForbidden, "FORBIDDEN",
			"You don't have permission to access this. Set up two-factor sign-in first.")
	}
	r := bearer("GET", "/member", s.AccessToken)
	r.Header.Set("Accept", "text/html")
	w := a.serveApp(r)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Contains(t, w.Body.String(), "Two-Factor Sign-In Required")
	assert.Equal(t, "kim@example.com", a.serveApp(bearer("GET", "/whoami", s.AccessToken)).Body.String(), "Authenticate itself still says who it is")

	a.tfaOn(s.AccessToken)
	for _, path := range []string{"/member", "/staff"} {
		assert.Equal(t, http.StatusOK, a.serveApp(bearer("GET", path, s.AccessToken)).Code, path)
	}
}

package users_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/userstest"
)

// code is the TOTP code of secret at the env's current time.
func (e *env) code(secret string) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.clock.Now())
	require.NoError(e.t, err)
	return c
}

// enrol sets up the owner's second factor and returns its secret and
// recovery codes; the clock then moves to the next time step, so that a
// code computed next is a new one.
func (e *env) enrol(u *users.User, pw string) (string, []string) {
	e.t.Helper()
	secret, _, err := e.m.GenerateTwoFactorSecret(e.ctx, u.ID, pw)
	require.NoError(e.t, err)
	codes, err := e.m.EnableTwoFactor(e.ctx, u.ID, secret, e.code(secret))
	require.NoError(e.t, err)
	e.clock.Advance(30 * time.Second)
	return secret, codes
}

func (e *env) loginOTP(email, pw, otp string) (*users.Session, error) {
	return e.m.Login(e.ctx, users.LoginInput{Email: email, Password: pw, OTP: otp})
}

func TestTwoFactorEnrolAndSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSecret(), users.WithProjectName("Acme Portal"))
	u := e.owner(e.member)

	_, _, err := e.m.GenerateTwoFactorSecret(e.ctx, u.ID, "wrong password")
	require.ErrorIs(t, err, users.ErrInvalidCredentials)
	_, _, err = e.m.GenerateTwoFactorSecret(e.ctx, u.ID, "")
	requireField(t, err, "password", users.ErrInvalidPayload)

	secret, link, err := e.m.GenerateTwoFactorSecret(e.ctx, u.ID, ownerPass)
	require.NoError(t, err)
	assert.Len(t, secret, 32, "160 bits, base32")
	parsed, err := url.Parse(link)
	require.NoError(t, err)
	assert.Equal(t, "otpauth", parsed.Scheme)
	assert.Equal(t, "totp", parsed.Host)
	assert.Equal(t, "Acme Portal:"+ownerEmail, strings.TrimPrefix(parsed.Path, "/"))
	assert.Equal(t, secret, parsed.Query().Get("secret"))
	assert.Equal(t, "Acme Portal", parsed.Query().Get("issuer"))

	// Not on until enabled: a login needs no code yet.
	_, err = e.loginOTP(ownerEmail, ownerPass, "")
	require.NoError(t, err)

	_, err = e.m.EnableTwoFactor(e.ctx, u.ID, secret, "000000x")
	requireField(t, err, "otp", users.ErrInvalidPayload)
	codes, err := e.m.EnableTwoFactor(e.ctx, u.ID, secret, e.code(secret))
	require.NoError(t, err)
	require.Len(t, codes, 10)
	got, err := e.m.User(e.ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, got.TwoFactor)

	// The enabling code is spent: not even a login in the same step takes it.
	_, err = e.loginOTP(ownerEmail, ownerPass, e.code(secret))
	require.ErrorIs(t, err, users.ErrInvalidOTP)

	e.clock.Advance(30 * time.Second)
	_, err = e.loginOTP(ownerEmail, ownerPass, "")
	require.ErrorIs(t, err, users.ErrInvalidOTP, "no code")
	_, err = e.loginOTP(ownerEmail, "wrong password", e.code(secret))
	require.ErrorIs(t, err, users.ErrInvalidCredentials, "the password is checked first")
	_, err = e.loginOTP(ownerEmail, ownerPass, "123456")
	require.ErrorIs(t, err, users.ErrInvalidOTP, "a wrong code")
	c := e.code(secret)
	s, err := e.loginOTP(ownerEmail, ownerPass, c)
	require.NoError(t, err)
	assert.True(t, s.User.TwoFactor)
	_, err = e.loginOTP(ownerEmail, ownerPass, c)
	require.ErrorIs(t, err, users.ErrInvalidOTP, "a code is accepted once")

	// The previous step's code, after a later one was used, is refused too.
	e.clock.Advance(30 * time.Second)
	prev, err := totp.GenerateCode(secret, e.clock.Now().Add(-30*time.Second))
	require.NoError(t, err)
	if prev != c {
		_, err = e.loginOTP(ownerEmail, ownerPass, prev)
		require.ErrorIs(t, err, users.ErrInvalidOTP)
	}
	// Within the window a code of the next step (a fast phone) is taken.
	next, err := totp.GenerateCode(secret, e.clock.Now().Add(30*time.Second))
	require.NoError(t, err)
	_, err = e.loginOTP(ownerEmail, ownerPass, next)
	require.NoError(t, err)

	// Authenticate takes no code: a user with a second factor cannot get
	// through it.
	_, err = e.m.Authenticate(e.ctx, ownerEmail, ownerPass)
	require.ErrorIs(t, err, users.ErrInvalidOTP)
}

func TestTwoFactorEnableTakesOnlyTheSecretGeneratedForTheUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSecret())
	u := e.owner(e.member)
	other, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "other@example.com", Password: ownerPass})
	require.NoError(t, err)

	// A secret of the caller's choosing (Directus takes it).
	chosen := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	_, err = e.m.EnableTwoFactor(e.ctx, u.ID, chosen, e.code(chosen))
	requireField(t, err, "secret", users.ErrInvalidPayload)

	// A secret generated for someone else.
	theirs, _, err := e.m.GenerateTwoFactorSecret(e.ctx, other.ID, ownerPass)
	require.NoError(t, err)
	_, err = e.m.EnableTwoFactor(e.ctx, u.ID, theirs, e.code(theirs))
	requireField(t, err, "secret", users.ErrInvalidPayload)

	// A secret replaced by a newer one, and one past its 10 minutes.
	old, _, err := e.m.GenerateTwoFactorSecret(e.ctx, u.ID, ownerPass)
	require.NoError(t, err)
	fresh, _, err := e.m.GenerateTwoFactorSecret(e.ctx, u.ID, ownerPass)
	require.NoError(t, err)
	_, err = e.m.EnableTwoFactor(e.ctx, u.ID, old, e.code(old))
	requireField(t, err, "secret", users.ErrInvalidPayload)
	e.clock.Advance(10*time.Minute + time.Second)
	_, err = e.m.EnableTwoFactor(e.ctx, u.ID, fresh, e.code(fresh))
	requireField(t, err, "secret", users.ErrInvalidPayload)

	for _, id := range []string{u.ID, other.ID} {
		got, err := e.m.User(e.ctx, id)
		require.NoError(t, err)
		assert.False(t, got.TwoFactor, "nothing was enabled")
	}

	// The owner's own, in time, works once; then the user has one.
	secret, _, err := e.m.GenerateTwoFactorSecret(e.ctx, u.ID, ownerPass)
	require.NoError(t, err)
	_, err = e.m.EnableTwoFactor(e.ctx, u.ID, secret, e.code(secret))
	require.NoError(t, err)
	_, err = e.m.EnableTwoFactor(e.ctx, u.ID, secret, e.code(secret))
	requireField(t, err, "tfa_secret", users.ErrInvalidPayload)
	_, _, err = e.m.GenerateTwoFactorSecret(e.ctx, u.ID, ownerPass)
	requireField(t, err, "tfa_secret", users.ErrInvalidPayload)
}

// A thief with the password (or a session) cannot try every code: code
// attempts are limited per user, whichever operation makes them, and a
// correct code is refused too while over the limit.
func TestTwoFactorCodeAttemptsAreLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSecret())
	u := e.owner(e.member)
	secret, _ := e.enrol(u, ownerPass)

	wrong := func(c string) string { // a code that is not c
		if c == "000000" {
			return "000001"
		}
		return "000000"
	}
	for range 10 {
		err := e.m.DisableTwoFactor(e.ctx, u.ID, wrong(e.code(secret)))
		requireField(t, err, "otp", users.ErrInvalidPayload)
	}
	err := e.m.DisableTwoFactor(e.ctx, u.ID, e.code(secret))
	require.ErrorIs(t, err, users.ErrRateLimited, "the right code, over the limit")
	_, err = e.loginOTP(ownerEmail, ownerPass, e.code(secret))
	require.ErrorIs(t, err, users.ErrRateLimited, "login shares the user's code limit")
	got, err := e.m.User(e.ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, got.TwoFactor)

	e.clock.Advance(15 * time.Minute)
	_, err = e.loginOTP(ownerEmail, ownerPass, e.code(secret))
	require.NoError(t, err, "the window passed")
}

func TestTwoFactorRecoveryCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSecret())
	u := e.owner(e.member)
	secret, codes := e.enrol(u, ownerPass)
	require.Len(t, codes, 10)
	seen := map[string]bool{}
	for _, c := range codes {
		assert.Regexp(t, `^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$`, c)
		assert.False(t, seen[c], "codes are distinct")
		seen[c] = true
	}

	// Typed in lower case, without dashes: still the code.
	typed := strings.ToLower(strings.ReplaceAll(codes[0], "-", ""))
	_, err := e.loginOTP(ownerEmail, ownerPass, typed)
	require.NoError(t, err)
	_, err = e.loginOTP(ownerEmail, ownerPass, codes[0])
	require.ErrorIs(t, err, users.ErrInvalidOTP, "a recovery code is single-use")
	left, err := e.m.RecoveryCodesLeft(e.ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 9, left)

	// Regenerating needs a code and replaces every unused one.
	_, err = e.m.RegenerateRecoveryCodes(e.ctx, u.ID, "")
	requireField(t, err, "otp", users.ErrInvalidPayload)
	fresh, err := e.m.RegenerateRecoveryCodes(e.ctx, u.ID, e.code(secret))
	require.NoError(t, err)
	require.Len(t, fresh, 10)
	_, err = e.loginOTP(ownerEmail, ownerPass, codes[1])
	require.ErrorIs(t, err, users.ErrInvalidOTP, "an old code after regeneration")
	_, err = e.loginOTP(ownerEmail, ownerPass, fresh[9])
	require.NoError(t, err)

	// A recovery code also turns the second factor off.
	require.NoError(t, e.m.DisableTwoFactor(e.ctx, u.ID, fresh[8]))
	left, err = e.m.RecoveryCodesLeft(e.ctx, u.ID)
	require.NoError(t, err)
	assert.Zero(t, left)
	_, err = e.loginOTP(ownerEmail, ownerPass, "")
	require.NoError(t, err, "no second factor any more")
}

func TestTwoFactorDisableAndRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSecret())
	u := e.owner(e.member)
	secret, _ := e.enrol(u, ownerPass)

	requireField(t, e.m.DisableTwoFactor(e.ctx, u.ID, ""), "otp", users.ErrInvalidPayload)
	requireField(t, e.m.DisableTwoFactor(e.ctx, u.ID, "12345678901234567890"), "otp", users.ErrInvalidPayload)
	require.NoError(t, e.m.DisableTwoFactor(e.ctx, u.ID, e.code(secret)))
	requireField(t, e.m.DisableTwoFactor(e.ctx, u.ID, e.code(secret)), "otp", users.ErrInvalidPayload)

	e.clock.Advance(time.Minute)
	e.enrol(u, ownerPass)
	require.NoError(t, e.m.RemoveTwoFactor(e.ctx, u.ID))
	require.NoError(t, e.m.RemoveTwoFactor(e.ctx, u.ID), "removing what is not there is not an error")
	_, err := e.loginOTP(ownerEmail, ownerPass, "")
	require.NoError(t, err)
	require.ErrorIs(t, e.m.RemoveTwoFactor(e.ctx, "00000000-0000-0000-0000-000000000000"), users.ErrUserNotFound)
}

// The secret is stored sealed, never appears in an error or a log line,
// and a Manager with another secret cannot use it (recovery codes, stored
// hashed, still work).
func TestTwoFactorSecretStaysSecret(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := newEnv(t, withSecret(), users.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	u := e.owner(e.member)
	secret, codes := e.enrol(u, ownerPass)

	rec, err := e.store.GetTwoFactor(e.ctx, u.ID)
	require.NoError(t, err)
	assert.NotContains(t, string(rec.Secret), secret, "stored sealed")
	assert.NotContains(t, strings.ToUpper(string(rec.Secret)), secret)
	u2, err := e.store.GetUser(e.ctx, u.ID)
	require.NoError(t, err)
	assert.NotContains(t, strings.ToUpper(string(u2.PasswordHash)), secret)

	// Another secret: the sealed TOTP secret does not open.
	other, err := users.New(e.store, e.mail, users.WithSecret([]byte("another-secret-of-at-least-32-bytes!!")),
		users.WithClock(e.clock.Now), users.WithHasher(userstest.Hasher{}), users.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	_, err = other.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, OTP: e.code(secret)})
	require.ErrorIs(t, err, users.ErrInvalidOTP)
	assert.Contains(t, logs.String(), "cannot be opened")
	_, err = other.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, OTP: codes[0]})
	require.NoError(t, err, "recovery codes do not depend on the secret")

	// Errors and logs of every refusal name neither the secret nor a code.
	var errs []error
	_, err = e.m.EnableTwoFactor(e.ctx, u.ID, secret, e.code(secret))
	errs = append(errs, err)
	errs = append(errs, e.m.DisableTwoFactor(e.ctx, u.ID, "999999"))
	_, err = e.loginOTP(ownerEmail, ownerPass, codes[0])
	errs = append(errs, err)
	_, err = e.m.EnableTwoFactor(e.ctx, u.ID, secret+"AAAA", "123456")
	errs = append(errs, err)
	for _, err := range errs {
		require.Error(t, err)
		assert.NotContains(t, err.Error(), secret)
		assert.NotContains(t, err.Error(), codes[0])
		assert.NotContains(t, err.Error(), "999999")
	}
	assert.NotContains(t, logs.String(), secret)
	assert.NotContains(t, logs.String(), codes[0])
}

func TestEnforceTFARequiresSetUpFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSecret())
	strict, err := e.m.CreateRole(e.ctx, users.Role{Name: "Strict", EnforceTFA: true})
	require.NoError(t, err)
	u := e.owner(strict)

	s := e.login(ownerEmail, ownerPass) // the sign-in itself succeeds
	p, err := e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.NoError(t, err)
	assert.True(t, p.TwoFactorSetupRequired)

	e.enrol(u, ownerPass)
	p, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.NoError(t, err)
	assert.False(t, p.TwoFactorSetupRequired, "set up: the same session goes on")

	// By a policy, on a user whose role does not ask for it.
	pol, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "Strict policy", EnforceTFA: true})
	require.NoError(t, err)
	v, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "v@example.com", Password: ownerPass, Role: &e.member.ID, Policies: []string{pol.ID}})
	require.NoError(t, err)
	sv := e.login("v@example.com", ownerPass)
	p, err = e.m.ResolveAccessToken(e.ctx, sv.AccessToken)
	require.NoError(t, err)
	assert.True(t, p.TwoFactorSetupRequired)
	assert.Equal(t, v.ID, p.User.ID)

	// Not enforced: never required.
	e.newMember("m@example.com")
	sm := e.login("m@example.com", "pw")
	p, err = e.m.ResolveAccessToken(e.ctx, sm.AccessToken)
	require.NoError(t, err)
	assert.False(t, p.TwoFactorSetupRequired)
}

// Concurrent logins with one code: exactly one gets in.
func TestTwoFactorCodeOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSecret())
	u := e.owner(e.member)
	secret, _ := e.enrol(u, ownerPass)
	c := e.code(secret)
	const n = 6
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := e.m.Login(context.Background(), users.LoginInput{Email: ownerEmail, Password: ownerPass, OTP: c})
			errs <- err
		}()
	}
	ok := 0
	for range n {
		if err := <-errs; err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, users.ErrInvalidOTP)
		}
	}
	assert.Equal(t, 1, ok)
}

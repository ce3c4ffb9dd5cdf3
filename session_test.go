package users_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

const (
	ownerEmail = "owner@example.com"
	ownerPass  = "the-owners-password"
	testSecret = "0123456789abcdef0123456789abcdef-test-secret"
)

// withSecret is the fixed secret most session tests use.
func withSecret() users.Option { return users.WithSecret([]byte(testSecret)) }

// owner creates an active user with a password (and a role, if given).
func (e *env) owner(role *users.Role) *users.User {
	e.t.Helper()
	in := users.CreateUserInput{Email: ownerEmail, Password: ownerPass}
	if role != nil {
		in.Role = &role.ID
	}
	u, err := e.m.CreateUser(e.ctx, in)
	require.NoError(e.t, err)
	return u
}

func (e *env) login(email, pw string) *users.Session {
	e.t.Helper()
	s, err := e.m.Login(e.ctx, users.LoginInput{Email: email, Password: pw, IP: "192.0.2.1"})
	require.NoError(e.t, err)
	return s
}

// claims decodes an access token's payload without checking it.
func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(b, &c))
	return c
}

func TestLoginAnswersDirectusTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSecret())
	u := e.owner(e.member)
	s := e.login(ownerEmail, ownerPass)

	assert.Equal(t, u.ID, s.User.ID)
	assert.Equal(t, e.clock.Now().Add(15*time.Minute), s.AccessExpires)
	assert.Equal(t, e.clock.Now().Add(7*24*time.Hour), s.RefreshExpires)
	assert.Len(t, s.RefreshToken, 43, "256 bits, base64url")
	assert.NotEmpty(t, s.Device)

	c := claims(t, s.AccessToken)
	assert.Equal(t, u.ID, c["id"])
	assert.Equal(t, e.member.ID, c["role"])
	assert.Equal(t, false, c["admin_access"])
	assert.Equal(t, false, c["app_access"])
	assert.Equal(t, s.ID, c["session"])
	assert.Equal(t, "directus", c["iss"])
	assert.EqualValues(t, s.AccessExpires.Unix(), c["exp"])
	assert.EqualValues(t, e.clock.Now().Unix(), c["iat"])
	assert.NotContains(t, c, "session_cookie")

	// Signed with the secret, HS256: a Directus verifier accepts it.
	parsed, err := jwt.Parse(s.AccessToken, func(*jwt.Token) (any, error) { return []byte(testSecret), nil },
		jwt.WithTimeFunc(e.clock.Now), jwt.WithIssuer("directus"))
	require.NoError(t, err)
	assert.Equal(t, "HS256", parsed.Method.Alg())

	p, err := e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, u.ID, p.User.ID)
	assert.Equal(t, s.ID, p.SessionID)
	assert.False(t, p.Admin)
	assert.Equal(t, s.AccessExpires, p.ExpiresAt)
}

func TestLoginFailuresAreOneError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.owner(nil)
	susp := users.StatusSuspended
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "suspended@example.com", Password: ownerPass, Status: susp})
	require.NoError(t, err)
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "nopass@example.com"})
	require.NoError(t, err)
	for _, in := range []users.LoginInput{
		{Email: "nobody@example.com", Password: ownerPass},
		{Email: ownerEmail, Password: "wrong"},
		{Email: "suspended@example.com", Password: ownerPass},
		{Email: "nopass@example.com", Password: ownerPass},
		{Email: "not an email", Password: ownerPass},
		{Email: ownerEmail, Password: ""},
	} {
		_, err := e.m.Login(e.ctx, in)
		assert.ErrorIs(t, err, users.ErrInvalidCredentials, "%+v", in.Email)
	}
	// Nothing was opened for any of them.
	s := e.login(ownerEmail, ownerPass)
	assert.NotEmpty(t, s.ID)
}

func TestAuthenticateOneErrorForEveryFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, in := range []users.CreateUserInput{
		{Email: "active@example.com", Password: "pw"},
		{Email: "suspended@example.com", Password: "pw", Status: users.StatusSuspended},
		{Email: "unverified@example.com", Password: "pw", Status: users.StatusUnverified},
		{Email: "nopw@example.com"},
	} {
		_, err := e.m.CreateUser(e.ctx, in)
		require.NoError(t, err)
	}
	var msgs []string
	for _, c := range [][2]string{
		{"nobody@example.com", "pw"}, {"active@example.com", "wrong"}, {"suspended@example.com", "pw"},
		{"unverified@example.com", "pw"}, {"nopw@example.com", ""}, {"nopw@example.com", "x"},
		{"not an email", "pw"}, {"active@example.com", strings.Repeat("p", 2000)},
	} {
		_, err := e.m.Authenticate(e.ctx, c[0], c[1])
		require.ErrorIs(t, err, users.ErrInvalidCredentials, c[0])
		msgs = append(msgs, err.Error())
	}
	for _, m := range msgs {
		assert.Equal(t, msgs[0], m, "one error text for every failure")
	}
	u, err := e.m.Authenticate(e.ctx, " Active@Example.com ", "pw")
	require.NoError(t, err)
	assert.Equal(t, "active@example.com", u.Email)
}

func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSecret())
	e.owner(nil)
	s1 := e.login(ownerEmail, ownerPass)

	e.clock.Advance(time.Minute)
	s2, err := e.m.Refresh(e.ctx, s1.RefreshToken)
	require.NoError(t, err)
	assert.Equal(t, s1.ID, s2.ID, "the session goes on")
	assert.NotEqual(t, s1.RefreshToken, s2.RefreshToken)
	assert.NotEqual(t, s1.AccessToken, s2.AccessToken)
	assert.Equal(t, e.clock.Now().Add(7*24*time.Hour), s2.RefreshExpires, "the session slides")
	assert.Empty(t, s2.Device)

	// The rotated token comes back (stolen, or replayed): the whole
	// session ends, the thief's copy and the owner's new tokens alike.
	_, err = e.m.Refresh(e.ctx, s1.RefreshToken)
	require.ErrorIs(t, err, users.ErrTokenReused)
	require.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.m.Refresh(e.ctx, s2.RefreshToken)
	assert.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.m.ResolveAccessToken(e.ctx, s2.AccessToken)
	assert.ErrorIs(t, err, users.ErrInvalidCredentials)

	// Garbage is refused before the Store is asked.
	for _, bad := range []string{"", "x", strings.Repeat("A", 43) + "=", s1.RefreshToken + "A"} {
		_, err = e.m.Refresh(e.ctx, bad)
		assert.ErrorIs(t, err, users.ErrInvalidToken)
	}
}

func TestSessionLifetimes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.Lifetimes{Access: 10 * time.Minute, Refresh: 24 * time.Hour})
	e.owner(nil)
	s := e.login(ownerEmail, ownerPass)
	assert.Equal(t, e.clock.Now().Add(10*time.Minute), s.AccessExpires)

	e.clock.Advance(10 * time.Minute)
	_, err := e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.ErrorIs(t, err, users.ErrTokenExpired)
	s, err = e.m.Refresh(e.ctx, s.RefreshToken)
	require.NoError(t, err)

	e.clock.Advance(24 * time.Hour)
	_, err = e.m.Refresh(e.ctx, s.RefreshToken)
	assert.ErrorIs(t, err, users.ErrTokenExpired)

	for _, bad := range [][2]time.Duration{{-time.Minute, 0}, {time.Hour, time.Minute}, {time.Millisecond, 0}} {
		_, err := users.New(e.store, e.mail, users.Lifetimes{Access: bad[0], Refresh: bad[1]})
		assert.Error(t, err, "%v", bad)
	}
}

func TestSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSecret())
	e.owner(nil)
	s := e.login(ownerEmail, ownerPass)
	assert.False(t, e.m.SecretIsRandom())

	// Another instance on the same store and secret accepts the token…
	other, err := users.New(e.store, e.mail, withSecret(), users.WithClock(e.clock.Now), users.WithHasher(userstest.Hasher{}))
	require.NoError(t, err)
	_, err = other.ResolveAccessToken(e.ctx, s.AccessToken)
	require.NoError(t, err)
	// …one with its own random secret does not.
	random, err := users.New(e.store, e.mail, users.WithClock(e.clock.Now), users.WithHasher(userstest.Hasher{}))
	require.NoError(t, err)
	assert.True(t, random.SecretIsRandom())
	_, err = random.ResolveAccessToken(e.ctx, s.AccessToken)
	assert.ErrorIs(t, err, users.ErrInvalidToken)

	_, err = users.New(e.store, e.mail, users.WithSecret([]byte("short")))
	assert.ErrorContains(t, err, "at least 32 bytes")
}

func TestForgedAccessTokensAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSecret())
	admin := e.owner(e.admin)
	s := e.login(ownerEmail, ownerPass)
	c := claims(t, s.AccessToken)

	sign := func(method jwt.SigningMethod, key any, mutate func(jwt.MapClaims)) string {
		mc := jwt.MapClaims{}
		for k, v := range c {
			mc[k] = v
		}
		mutate(mc)
		tok, err := jwt.NewWithClaims(method, mc).SignedString(key)
		require.NoError(t, err)
		return tok
	}
	same := func(jwt.MapClaims) {}
	parts := strings.Split(s.AccessToken, ".")
	for name, tok := range map[string]string{
		"other key":        sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-0000"), same),
		"alg none":         sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, same),
		"HS512":            sign(jwt.SigningMethodHS512, []byte(testSecret), same),
		"tampered payload": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"id":"x","session":"y","iss":"directus","exp":9999999999}`)) + "." + parts[2],
		"no signature":     parts[0] + "." + parts[1] + ".",
		"other issuer":     sign(jwt.SigningMethodHS256, []byte(testSecret), func(m jwt.MapClaims) { m["iss"] = "elsewhere" }),
		"no exp":           sign(jwt.SigningMethodHS256, []byte(testSecret), func(m jwt.MapClaims) { delete(m, "exp") }),
		"huge":             strings.Repeat("a.", 3000) + "a",
	} {
		_, err := e.m.ResolveAccessToken(e.ctx, tok)
		assert.ErrorIs(t, err, users.ErrInvalidToken, name)
	}
	// Signed right, but naming another user than its session's.
	other, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "other@example.com", Password: ownerPass})
	require.NoError(t, err)
	tok := sign(jwt.SigningMethodHS256, []byte(testSecret), func(m jwt.MapClaims) { m["id"] = other.ID })
	_, err = e.m.ResolveAccessToken(e.ctx, tok)
	assert.ErrorIs(t, err, users.ErrInvalidCredentials)
	// Claims do not grant admin access: the Store does.
	p, err := e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.NoError(t, err)
	assert.True(t, p.Admin)
	assert.Equal(t, admin.ID, p.User.ID)
}

func TestAdminAccessIsReadAtEachResolution(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(e.admin)
	s := e.login(ownerEmail, ownerPass)
	assert.Equal(t, true, claims(t, s.AccessToken)["admin_access"])
	p, err := e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.NoError(t, err)
	assert.True(t, p.Admin)
	ok, err := e.m.HasAdminAccess(e.ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, ok)

	// A second administrator, so that the role can be taken away.
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "second@example.com", Role: &e.admin.ID})
	require.NoError(t, err)
	require.NoError(t, e.m.AssignRole(e.ctx, e.member.ID, u.ID))
	p, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.NoError(t, err)
	assert.False(t, p.Admin, "the old claim does not count")

	pol, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "Administrator", AdminAccess: true})
	require.NoError(t, err)
	_, err = e.m.SetPolicies(e.ctx, u.ID, pol.ID)
	require.NoError(t, err)
	p, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.NoError(t, err)
	assert.True(t, p.Admin, "a policy with admin access grants it")

	_, err = e.m.HasAdminAccess(e.ctx, "no-such-user")
	assert.ErrorIs(t, err, users.ErrUserNotFound)
}

// Each of these ends every session of the user at once: the access token
// stops resolving and the refresh token stops refreshing.
func TestSessionsEndWithTheUsersChanges(t *testing.T) {
	t.Parallel()
	newPass := "a-brand-new-password"
	for name, end := range map[string]func(e *env, u *users.User, s *users.Session){
		"logout": func(e *env, _ *users.User, s *users.Session) {
			require.NoError(t, e.m.Logout(e.ctx, s.RefreshToken))
		},
		"end session": func(e *env, _ *users.User, s *users.Session) {
			require.NoError(t, e.m.EndSession(e.ctx, s.ID))
		},
		"change password": func(e *env, u *users.User, _ *users.Session) {
			_, err := e.m.ChangePassword(e.ctx, u.ID, ownerPass, newPass)
			require.NoError(t, err)
		},
		"admin sets password": func(e *env, u *users.User, _ *users.Session) {
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Password: &newPass})
			require.NoError(t, err)
		},
		"suspended": func(e *env, u *users.User, _ *users.Session) {
			st := users.StatusSuspended
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Status: &st})
			require.NoError(t, err)
		},
		"email changed": func(e *env, u *users.User, _ *users.Session) {
			addr := "new-address@example.com"
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Email: &addr})
			require.NoError(t, err)
		},
		"deleted": func(e *env, u *users.User, _ *users.Session) {
			require.NoError(t, e.store.DeleteUsers(e.ctx, []string{u.ID}, store.Condition{}))
		},
		"password reset": func(e *env, _ *users.User, _ *users.Session) {
			require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
			_, err := e.m.ResetPassword(e.ctx, resetToken(t, e.onlyMail(ownerEmail)), newPass)
			require.NoError(t, err)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.owner(nil)
			s := e.login(ownerEmail, ownerPass)
			other := e.login(ownerEmail, ownerPass)
			_, err := e.m.ResolveAccessToken(e.ctx, s.AccessToken)
			require.NoError(t, err)

			end(e, u, s)
			_, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
			assert.ErrorIs(t, err, users.ErrInvalidCredentials)
			_, err = e.m.Refresh(e.ctx, s.RefreshToken)
			assert.ErrorIs(t, err, users.ErrInvalidToken)
			if name == "logout" || name == "end session" {
				_, err = e.m.ResolveAccessToken(e.ctx, other.AccessToken)
				assert.NoError(t, err, "only that session ends")
				return
			}
			_, err = e.m.ResolveAccessToken(e.ctx, other.AccessToken)
			assert.ErrorIs(t, err, users.ErrInvalidCredentials, "every session ends")
			if name == "suspended" {
				// Back to active: the old sessions stay dead.
				act := users.StatusActive
				_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Status: &act})
				require.NoError(t, err)
				_, err = e.m.ResolveAccessToken(e.ctx, other.AccessToken)
				assert.ErrorIs(t, err, users.ErrInvalidCredentials)
				_, err = e.m.Refresh(e.ctx, other.RefreshToken)
				assert.ErrorIs(t, err, users.ErrInvalidToken)
			}
		})
	}
}

func TestLogoutIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.owner(nil)
	s := e.login(ownerEmail, ownerPass)
	s2, err := e.m.Refresh(e.ctx, s.RefreshToken)
	require.NoError(t, err)
	// Logging out with the rotated token ends the session too.
	require.NoError(t, e.m.Logout(e.ctx, s.RefreshToken))
	_, err = e.m.Refresh(e.ctx, s2.RefreshToken)
	assert.ErrorIs(t, err, users.ErrInvalidToken)
	for _, tok := range []string{s.RefreshToken, s2.RefreshToken, "", "garbage", s2.AccessToken} {
		assert.NoError(t, e.m.Logout(e.ctx, tok))
	}
	assert.NoError(t, e.m.EndSession(e.ctx, "no-such-session"))
}

func TestSessionCookieSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.owner(nil)
	s, err := e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, SessionCookie: true})
	require.NoError(t, err)
	assert.Empty(t, s.RefreshToken)
	assert.Equal(t, true, claims(t, s.AccessToken)["session_cookie"])

	// The access token renews itself, expired or not, while the session lasts.
	e.clock.Advance(time.Hour)
	_, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.ErrorIs(t, err, users.ErrTokenExpired)
	s2, err := e.m.Refresh(e.ctx, s.AccessToken)
	require.NoError(t, err)
	assert.Empty(t, s2.RefreshToken)
	assert.Equal(t, s.RefreshExpires, s2.RefreshExpires, "the session keeps its end")
	_, err = e.m.ResolveAccessToken(e.ctx, s2.AccessToken)
	require.NoError(t, err)

	// A json-mode access token cannot do that: it would turn a leaked
	// access token into a session.
	j := e.login(ownerEmail, ownerPass)
	_, err = e.m.Refresh(e.ctx, j.AccessToken)
	assert.ErrorIs(t, err, users.ErrInvalidToken)
	require.NoError(t, e.m.Logout(e.ctx, j.AccessToken))
	_, err = e.m.ResolveAccessToken(e.ctx, j.AccessToken)
	assert.NoError(t, err, "logout with a json-mode access token does nothing")

	require.NoError(t, e.m.Logout(e.ctx, s.AccessToken))
	_, err = e.m.Refresh(e.ctx, s2.AccessToken)
	assert.ErrorIs(t, err, users.ErrInvalidToken)

	// The session's end is the end.
	s, err = e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, SessionCookie: true})
	require.NoError(t, err)
	e.clock.Advance(7 * 24 * time.Hour)
	_, err = e.m.Refresh(e.ctx, s.AccessToken)
	assert.ErrorIs(t, err, users.ErrTokenExpired)
}

// A renewal retires the session-cookie token it renewed: a copy of it (a
// stolen cookie) renews only within the 10 s grace after its owner's
// renewal, and presented later it ends the whole session, the owner's
// renewed token included. Requests sent at once with the same expired
// cookie all renew within the grace.
func TestSessionCookieRenewalRetiresTheToken(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := newEnv(t, users.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	u := e.owner(nil)
	s, err := e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, SessionCookie: true})
	require.NoError(t, err)
	stolen := s.AccessToken
	e.clock.Advance(time.Hour) // both copies expired

	owner, err := e.m.Refresh(e.ctx, s.AccessToken)
	require.NoError(t, err)
	assert.EqualValues(t, 1, claims(t, owner.AccessToken)["session_generation"])
	// The owner's parallel requests with the old cookie, within the grace,
	// get a token of the current generation; nothing advances twice.
	e.clock.Advance(9 * time.Second)
	for range 3 {
		again, err := e.m.Refresh(e.ctx, s.AccessToken)
		require.NoError(t, err, "within the grace")
		assert.EqualValues(t, 1, claims(t, again.AccessToken)["session_generation"])
	}
	// The owner renews on; the chain goes on.
	e.clock.Advance(time.Hour)
	owner, err = e.m.Refresh(e.ctx, owner.AccessToken)
	require.NoError(t, err)
	assert.EqualValues(t, 2, claims(t, owner.AccessToken)["session_generation"])
	logs.Reset()

	// The copy comes back after the grace: refused, and the session ends.
	e.clock.Advance(time.Minute)
	_, err = e.m.Refresh(e.ctx, stolen)
	require.ErrorIs(t, err, users.ErrTokenReused)
	assert.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.store.GetSession(e.ctx, s.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "the session was ended")
	_, err = e.m.ResolveAccessToken(e.ctx, owner.AccessToken)
	assert.ErrorIs(t, err, users.ErrInvalidCredentials, "the owner's unexpired token stops working")
	_, err = e.m.Refresh(e.ctx, owner.AccessToken)
	assert.ErrorIs(t, err, users.ErrInvalidToken)
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), u.ID)
	for _, tok := range []string{stolen, owner.AccessToken, s.ID} {
		assert.NotContains(t, logs.String(), tok, "no token in the log")
	}

	// The copy renewing first ends the session for the owner the same way.
	s, err = e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, SessionCookie: true})
	require.NoError(t, err)
	e.clock.Advance(time.Hour)
	_, err = e.m.Refresh(e.ctx, s.AccessToken)
	require.NoError(t, err, "the thief renews first")
	e.clock.Advance(11 * time.Second)
	_, err = e.m.Refresh(e.ctx, s.AccessToken)
	require.ErrorIs(t, err, users.ErrTokenReused, "the owner's renewal finds its token retired")
	_, err = e.store.GetSession(e.ctx, s.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "the thief's session ended with it")
}

func TestRefreshOfAnInactiveUserEndsTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(nil)
	s := e.login(ownerEmail, ownerPass)
	// Behind the Manager's back (no EndSessions effect), as a host's own
	// SQL might do: the status check still holds.
	susp := users.StatusSuspended
	_, err := e.store.UpdateUser(e.ctx, u.ID, store.Condition{}, store.UserChange{Status: &susp, UpdatedAt: e.clock.Now()}, store.Effects{})
	require.NoError(t, err)
	_, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	assert.ErrorIs(t, err, users.ErrInvalidCredentials)
	_, err = e.m.Refresh(e.ctx, s.RefreshToken)
	assert.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.store.GetSession(e.ctx, s.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "the session was ended")
}

func TestSessionRecordsClientInfo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.owner(nil)
	ua := strings.Repeat("é", 400) // 800 bytes
	s, err := e.m.Login(e.ctx, users.LoginInput{Email: " Owner@Example.com ", Password: ownerPass, IP: "198.51.100.7", UserAgent: ua})
	require.NoError(t, err)
	rec, err := e.store.GetSession(e.ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, "198.51.100.7", rec.IP)
	assert.Equal(t, strings.Repeat("é", 256), rec.UserAgent, "cut at 512 bytes on a character boundary")
	assert.Equal(t, s.User.ID, rec.UserID)
	assert.NotContains(t, fmt.Sprint(rec.TokenHash), s.RefreshToken)
}

// Expired sessions and tokens go a day after they expire, not before (an
// expired token is still told from an unknown one for that day).
func TestPurgeExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.owner(nil)
	s := e.login(ownerEmail, ownerPass)
	e.clock.Advance(7*24*time.Hour + time.Minute)
	n, err := e.m.PurgeExpired(e.ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = e.m.Refresh(e.ctx, s.RefreshToken)
	assert.ErrorIs(t, err, users.ErrTokenExpired)

	e.clock.Advance(24 * time.Hour)
	n, err = e.m.PurgeExpired(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = e.store.GetSession(e.ctx, s.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.m.Refresh(e.ctx, s.RefreshToken)
	assert.ErrorIs(t, err, users.ErrInvalidToken)
}

// Login reports its outcome to the observer as Authenticate does, and each
// refusing login limiter by name.
func TestLoginIsObserved(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	e := newEnv(t, users.WithObserver(rec.Observe), limits(func(l *users.Limits) { l.LoginIP = &users.MemoryLimiter{Points: 1, Window: time.Hour} }))
	e.owner(nil)
	rec.take()
	e.login(ownerEmail, ownerPass)
	_, err := e.try(ownerEmail, "wrong", "192.0.2.7", "")
	require.ErrorIs(t, err, users.ErrInvalidCredentials)
	_, err = e.try(ownerEmail, "wrong", "192.0.2.7", "")
	require.ErrorIs(t, err, users.ErrRateLimited)
	assert.Equal(t, []users.Observation{
		flow(users.FlowLogin, users.OutcomeAuthenticated, ""),
		flow(users.FlowLogin, users.OutcomeRefused, "invalid_credentials"),
		{Kind: users.KindRateLimited, Limiter: "login_ip"},
		flow(users.FlowLogin, users.OutcomeRefused, "rate_limited"),
	}, rec.take(users.KindFlow, users.KindRateLimited))
}

// The HS256 pin holds where a session-cookie token is taken expired or
// not — renewal (Refresh) and Logout — not only in ResolveAccessToken: a
// copy of the token re-signed with another algorithm (HS512 with the same
// secret), another key or none renews nothing and ends nothing.
func TestForgedSessionCookieTokensAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSecret())
	e.owner(nil)
	s, err := e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, SessionCookie: true})
	require.NoError(t, err)
	c := claims(t, s.AccessToken)
	sign := func(method jwt.SigningMethod, key any) string {
		tok, err := jwt.NewWithClaims(method, jwt.MapClaims(c)).SignedString(key)
		require.NoError(t, err)
		return tok
	}
	for name, tok := range map[string]string{
		"HS512":     sign(jwt.SigningMethodHS512, []byte(testSecret)),
		"HS384":     sign(jwt.SigningMethodHS384, []byte(testSecret)),
		"other key": sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-0000")),
		"alg none":  sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType),
	} {
		_, err := e.m.Refresh(e.ctx, tok)
		assert.ErrorIs(t, err, users.ErrInvalidToken, "renewal with %s", name)
		require.NoError(t, e.m.Logout(e.ctx, tok), name)
		_, err = e.m.Refresh(e.ctx, s.AccessToken)
		require.NoError(t, err, "logout with %s ended nothing", name)
	}
	// The genuine token works, on both paths.
	require.NoError(t, e.m.Logout(e.ctx, s.AccessToken))
	_, err = e.m.Refresh(e.ctx, s.AccessToken)
	assert.ErrorIs(t, err, users.ErrInvalidToken, "ended by the genuine logout")
}

// Lifetimes.RenewalGrace sets how long a renewed session-cookie token
// still renews; it may not be negative or outlast an access token.
func TestRenewalGraceIsConfigurable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.Lifetimes{RenewalGrace: 2 * time.Second})
	e.owner(nil)
	s, err := e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, SessionCookie: true})
	require.NoError(t, err)
	e.clock.Advance(time.Hour)
	_, err = e.m.Refresh(e.ctx, s.AccessToken)
	require.NoError(t, err)
	e.clock.Advance(1500 * time.Millisecond)
	_, err = e.m.Refresh(e.ctx, s.AccessToken)
	require.NoError(t, err, "within the 2 s grace")
	e.clock.Advance(time.Second)
	_, err = e.m.Refresh(e.ctx, s.AccessToken)
	require.ErrorIs(t, err, users.ErrTokenReused, "past the 2 s grace (the default 10 s would still renew)")

	for _, l := range []users.Lifetimes{{RenewalGrace: -time.Second}, {RenewalGrace: 16 * time.Minute}, {Access: time.Minute, RenewalGrace: 2 * time.Minute}} {
		_, err := users.New(memstore.New(), memmailer.New(), l)
		require.Error(t, err, "%+v", l)
		assert.Contains(t, err.Error(), "RenewalGrace")
	}
}

package users_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

const resetURL = "https://app.example.com/reset"

// resetToken takes the token out of a password-reset mail's link.
func resetToken(t *testing.T, msg users.Message) string {
	t.Helper()
	i := strings.Index(msg.Text, "http")
	require.GreaterOrEqual(t, i, 0, "no link in %q", msg.Text)
	link := strings.Fields(msg.Text[i:])[0]
	u, err := url.Parse(link)
	require.NoError(t, err)
	return u.Query().Get("token")
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.Links{PasswordResetURLs: []string{resetURL}})
	u := e.owner(nil)
	s := e.login(ownerEmail, ownerPass)

	require.NoError(t, e.m.RequestPasswordReset(e.ctx, " OWNER@example.com ", ""))
	msg := e.onlyMail(ownerEmail)
	assert.Equal(t, "Password Reset Request", msg.Subject)
	assert.Contains(t, msg.Text, appURL+"/admin/reset-password?token=")
	assert.Contains(t, msg.HTML, appURL+"/admin/reset-password?token=")
	tok := resetToken(t, msg)

	_, err := e.m.ResetPassword(e.ctx, tok, "")
	require.ErrorIs(t, err, users.ErrInvalidPayload)
	got, err := e.m.ResetPassword(e.ctx, tok, "brand-new-password")
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
	assert.True(t, got.HasPassword)

	_, err = e.m.ResetPassword(e.ctx, tok, "another-password")
	assert.ErrorIs(t, err, users.ErrTokenUsed, "single use")
	_, err = e.m.Authenticate(e.ctx, ownerEmail, ownerPass)
	assert.ErrorIs(t, err, users.ErrInvalidCredentials)
	_, err = e.m.Authenticate(e.ctx, ownerEmail, "brand-new-password")
	assert.NoError(t, err)
	_, err = e.m.Refresh(e.ctx, s.RefreshToken)
	assert.ErrorIs(t, err, users.ErrInvalidToken, "the reset ended the sessions")

	// reset_url: on the allow-list only.
	err = e.m.RequestPasswordReset(e.ctx, ownerEmail, "https://evil.example/reset")
	var ve *users.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "reset_url", ve.Field)
	assert.Equal(t, `users: request password reset: URL "https://evil.example/reset" can't be used to reset passwords`, err.Error())
	require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, resetURL))
	assert.Contains(t, e.onlyMail(ownerEmail).Text, resetURL+"?token=")
	// A query the allow-list does not name is refused (a stranger's
	// parameters do not ride along in a mailed link).
	err = e.m.RequestPasswordReset(e.ctx, ownerEmail, resetURL+"?next=https://evil.example")
	require.ErrorIs(t, err, users.ErrURLNotAllowed)

	err = e.m.RequestPasswordReset(e.ctx, "not an address", "")
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "email", ve.Field)
}

func TestPasswordResetTokenRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(nil)
	request := func() string {
		t.Helper()
		require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
		return resetToken(t, e.onlyMail(ownerEmail))
	}

	// A newer link revokes the older one.
	first, second := request(), request()
	_, err := e.m.ResetPassword(e.ctx, first, "brand-new-password")
	assert.ErrorIs(t, err, users.ErrInvalidToken)

	// One hour.
	e.clock.Advance(time.Hour)
	_, err = e.m.ResetPassword(e.ctx, second, "brand-new-password")
	assert.ErrorIs(t, err, users.ErrTokenExpired)

	// A user who became suspended cannot use the link mailed before.
	tok := request()
	susp := users.StatusSuspended
	_, err = e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Status: &susp})
	require.NoError(t, err)
	_, err = e.m.ResetPassword(e.ctx, tok, "brand-new-password")
	assert.ErrorIs(t, err, users.ErrInvalidToken)
	act := users.StatusActive
	_, err = e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Status: &act})
	require.NoError(t, err)

	// Nor once the address changed.
	tok = request()
	addr := "moved@example.com"
	_, err = e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Email: &addr})
	require.NoError(t, err)
	_, err = e.m.ResetPassword(e.ctx, tok, "brand-new-password")
	assert.ErrorIs(t, err, users.ErrInvalidToken)
	assert.Equal(t, e.userByEmail(addr).PasswordHash, e.userByEmail(addr).PasswordHash)
	_, err = e.m.Authenticate(e.ctx, addr, ownerPass)
	assert.NoError(t, err, "the password did not change")

	// Another purpose's token, garbage.
	for _, bad := range []string{"", "garbage", strings.Repeat("A", 43)} {
		_, err = e.m.ResetPassword(e.ctx, bad, "brand-new-password")
		assert.ErrorIs(t, err, users.ErrInvalidToken)
	}
}

// Only active users get a link; the answer is nil for every address.
func TestPasswordResetOnlyForActiveUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.owner(nil)
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "suspended@example.com", Password: ownerPass, Status: users.StatusSuspended})
	require.NoError(t, err)
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"invited@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	e.deliver()
	for _, addr := range []string{"nobody@example.com", "suspended@example.com", "invited@example.com"} {
		require.NoError(t, e.m.RequestPasswordReset(e.ctx, addr, ""))
	}
	assert.Empty(t, e.deliver())
	before := e.userByEmail(ownerEmail).UpdatedAt
	e.clock.Advance(time.Minute)
	require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
	assert.Len(t, e.deliver(), 1)
	assert.Equal(t, before, e.userByEmail(ownerEmail).UpdatedAt, "asking for a link is not an edit")
}

// Mail limits apply: over the limit no mail, no new token (the last link
// stays good), the same answer.
func TestPasswordResetMailLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.owner(nil)
	var last string
	for range 5 {
		require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
		last = resetToken(t, e.onlyMail(ownerEmail))
	}
	require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
	assert.Empty(t, e.deliver())
	_, err := e.m.ResetPassword(e.ctx, last, "brand-new-password")
	assert.NoError(t, err)
}

// callLog is a Store that records the methods called on it.
type callLog struct {
	store.Store
	calls []string
}

func (c *callLog) GetUserByEmailKey(ctx context.Context, key string) (*store.User, error) {
	c.calls = append(c.calls, "GetUserByEmailKey")
	return c.Store.GetUserByEmailKey(ctx, key)
}

func (c *callLog) UpdateUser(ctx context.Context, id string, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	c.calls = append(c.calls, fmt.Sprintf("UpdateUser(token %v, mail %v)", fx.Token != nil, fx.Mail != nil))
	return c.Store.UpdateUser(ctx, id, cond, ch, fx)
}

// countingLimiter counts its calls.
type countingLimiter struct{ n int }

func (l *countingLimiter) Allow(context.Context, string) (time.Duration, error) { l.n++; return 0, nil }

func (l *countingLimiter) Reset(context.Context, string) error { return nil }

// RequestPasswordReset does the same Store and limiter work for an
// address with an active account as for one without.
func TestPasswordResetRequestWork(t *testing.T) {
	t.Parallel()
	log := &callLog{Store: memstore.New()}
	lim := &countingLimiter{}
	e := newEnvOn(t, log, limits(func(l *users.Limits) { l.Mail = lim }))
	e.owner(nil)
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "suspended@example.com", Password: ownerPass, Status: users.StatusSuspended})
	require.NoError(t, err)
	work := func(addr string) ([]string, int) {
		log.calls, lim.n = nil, 0
		require.NoError(t, e.m.RequestPasswordReset(e.ctx, addr, ""))
		return log.calls, lim.n
	}
	known, knownLimits := work(ownerEmail)
	require.Equal(t, []string{"GetUserByEmailKey", "UpdateUser(token true, mail true)"}, known)
	for _, addr := range []string{"nobody@example.com", "suspended@example.com"} {
		calls, limits := work(addr)
		assert.Equal(t, known, calls, addr)
		assert.Equal(t, knownLimits, limits, addr)
	}
	assert.Len(t, e.deliver(), 1, "only the active user got mail")
}

// A reset token is bound to the address it was mailed to: one whose
// record names no address, or another address than the user's, is refused
// before the password is even checked (an empty password gives
// ErrInvalidToken, not a password error), and a good password does not
// get in either. Tokens are written to the store directly, as an older
// version or a change that forgot to revoke them would leave them.
func TestResetTokenBoundToItsAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(nil)
	require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
	real := resetToken(t, e.onlyMail(ownerEmail))
	now := e.clock.Now()
	for i, key := range []string{"", "someone.else@example.com"} {
		tok := string(rune('A'+i)) + real[1:]
		require.NotEqual(t, real, tok)
		_, err := e.store.UpdateUser(e.ctx, u.ID, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{Token: &store.Token{
			Hash: tokenHash(tok), Purpose: store.PurposePasswordReset, UserID: u.ID, EmailKey: key, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}})
		require.NoError(t, err)
		_, err = e.m.ResetPassword(e.ctx, tok, "")
		require.ErrorIs(t, err, users.ErrInvalidToken, "address %q: refused before the password is looked at", key)
		_, err = e.m.ResetPassword(e.ctx, tok, "a new password 1")
		require.ErrorIs(t, err, users.ErrInvalidToken, "address %q", key)
		e.login(ownerEmail, ownerPass) // the password is unchanged
	}
}

package users_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

const resetURL = "https://app.example.com/reset"

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.WithPasswordResetURLAllowList(resetURL))
	u := e.owner(nil)
	s := e.login(ownerEmail, ownerPass)

	require.NoError(t, e.m.RequestPasswordReset(e.ctx, " OWNER@example.com ", ""))
	msg := e.onlyMail(ownerEmail)
	assert.Equal(t, users.SubjectPasswordReset, msg.Subject)
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

	// reset_url: on the allow-list only; its query is kept.
	err = e.m.RequestPasswordReset(e.ctx, ownerEmail, "https://evil.example/reset")
	var ve *users.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "reset_url", ve.Field)
	assert.Equal(t, `users: URL "https://evil.example/reset" can't be used to reset passwords`, err.Error()[len("users: request password reset: "):])
	require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, resetURL+"?from=app"))
	assert.Contains(t, e.onlyMail(ownerEmail).Text, resetURL+"?from=app&token=")

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
	_, err := e.m.Create(e.ctx, users.CreateInput{Email: "suspended@example.com", Password: ownerPass, Status: users.StatusSuspended})
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

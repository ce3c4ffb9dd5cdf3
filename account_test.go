package users_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(nil)
	e.open(func(s *users.Settings) {
		p, err := users.ParsePasswordPolicy("/^.{8,}$/")
		require.NoError(t, err)
		s.PasswordPolicy = p
	})
	_, err := e.m.ChangePassword(e.ctx, u.ID, "wrong-current", "a-new-password")
	assert.ErrorIs(t, err, users.ErrInvalidCredentials)
	_, err = e.m.ChangePassword(e.ctx, u.ID, ownerPass, "short")
	assert.ErrorIs(t, err, users.ErrPasswordPolicy)
	_, err = e.m.ChangePassword(e.ctx, "nobody", ownerPass, "a-new-password")
	assert.ErrorIs(t, err, users.ErrUserNotFound)
	// Wrong current passwords count against the address's login limit
	// (10 in 15 minutes): one above, nine here.
	for range 9 {
		_, err = e.m.ChangePassword(e.ctx, u.ID, "wrong-current", "a-new-password")
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
	_, err = e.m.ChangePassword(e.ctx, u.ID, ownerPass, "a-new-password")
	assert.ErrorIs(t, err, users.ErrRateLimited)
	e.clock.Advance(16 * time.Minute)
	_, err = e.m.ChangePassword(e.ctx, u.ID, ownerPass, "a-new-password")
	require.NoError(t, err)
	_, err = e.m.Authenticate(e.ctx, ownerEmail, ownerPass)
	assert.ErrorIs(t, err, users.ErrInvalidCredentials)
	_, err = e.m.Authenticate(e.ctx, ownerEmail, "a-new-password")
	assert.NoError(t, err)
}

func TestUserSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(nil)
	a := e.login(ownerEmail, ownerPass)
	e.clock.Advance(time.Minute)
	b := e.login(ownerEmail, ownerPass)
	e.clock.Advance(time.Minute)
	c := e.login(ownerEmail, ownerPass)
	bob := e.newMember("bob@example.com")
	bs := e.login("bob@example.com", "pw")

	list, err := e.m.UserSessions(e.ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Equal(t, []string{c.ID, b.ID, a.ID}, []string{list[0].ID, list[1].ID, list[2].ID}, "the most recent first")
	for _, s := range list {
		assert.Nil(t, s.TokenHash, "no hash leaves the Manager")
		assert.Equal(t, "192.0.2.1", s.IP)
	}

	// Another user's session is not the owner's to end.
	n, err := e.m.EndUserSessions(e.ctx, u.ID, bs.ID, false)
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = e.m.ResolveAccessToken(e.ctx, bs.AccessToken)
	require.NoError(t, err)
	n, err = e.m.EndUserSessions(e.ctx, bob.ID, bs.ID, true)
	require.NoError(t, err)
	assert.Zero(t, n, "bob has no session but this one")

	n, err = e.m.EndUserSessions(e.ctx, u.ID, a.ID, false)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = e.m.ResolveAccessToken(e.ctx, a.AccessToken)
	require.ErrorIs(t, err, users.ErrInvalidCredentials)

	n, err = e.m.EndUserSessions(e.ctx, u.ID, c.ID, true)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = e.m.ResolveAccessToken(e.ctx, b.AccessToken)
	require.ErrorIs(t, err, users.ErrInvalidCredentials)
	_, err = e.m.ResolveAccessToken(e.ctx, c.AccessToken)
	require.NoError(t, err, "this session goes on")
	_, err = e.m.ResolveAccessToken(e.ctx, bs.AccessToken)
	require.NoError(t, err)

	// A lapsed session is not listed.
	e.clock.Advance(8 * 24 * time.Hour)
	list, err = e.m.UserSessions(e.ctx, u.ID)
	require.NoError(t, err)
	assert.Empty(t, list)
}

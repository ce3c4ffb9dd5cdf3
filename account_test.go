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

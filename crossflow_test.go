package users_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// Attacks that cross flows: what one flow leaves behind (a mailed link, a
// device cookie, a session) must not outlive the change that should have
// ended it.

// A password-reset link is a way to set the password: a new password,
// however it is set, revokes the links mailed before it (Directus binds
// its reset tokens to the password hash for the same reason). Otherwise
// whoever got hold of a link — a forwarded mail, a shared screen — sets
// the password again after its owner changed it to lock them out.
func TestPasswordChangeRevokesResetLinks(t *testing.T) {
	t.Parallel()
	newPass := "the-owners-new-password"
	for name, change := range map[string]func(e *env, u *users.User){
		"change password": func(e *env, u *users.User) {
			_, err := e.m.ChangePassword(e.ctx, u.ID, ownerPass, newPass)
			require.NoError(t, err)
		},
		"admin sets password": func(e *env, u *users.User) {
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Password: &newPass})
			require.NoError(t, err)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.owner(nil)
			require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
			leaked := resetToken(t, e.onlyMail(ownerEmail))

			change(e, u)
			_, err := e.m.ResetPassword(e.ctx, leaked, "the-attackers-password")
			assert.ErrorIs(t, err, users.ErrInvalidToken)
			_, err = e.m.Authenticate(e.ctx, ownerEmail, newPass)
			assert.NoError(t, err, "the owner's password stands")

			// A link asked for after the change works.
			require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
			_, err = e.m.ResetPassword(e.ctx, resetToken(t, e.onlyMail(ownerEmail)), "yet-another-password")
			assert.NoError(t, err)
		})
	}

	// A rehash on login is not a change of password: the link stays good.
	t.Run("rehash", func(t *testing.T) {
		t.Parallel()
		current := &users.Argon2id{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
		legacy := &users.Argon2id{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
		e := newEnv(t, users.WithHasher(current))
		u := e.owner(nil)
		old, err := legacy.Hash(ownerPass)
		require.NoError(t, err)
		_, err = e.store.UpdateUser(e.ctx, u.ID, users.Condition{}, users.UserChange{PasswordHash: &old, UpdatedAt: u.UpdatedAt}, users.Effects{})
		require.NoError(t, err)
		require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
		tok := resetToken(t, e.onlyMail(ownerEmail))
		before := e.userByEmail(ownerEmail).PasswordHash
		e.login(ownerEmail, ownerPass)
		require.NotEqual(t, before, e.userByEmail(ownerEmail).PasswordHash, "rehashed")
		_, err = e.m.ResetPassword(e.ctx, tok, "brand-new-password")
		assert.NoError(t, err)
	})
}

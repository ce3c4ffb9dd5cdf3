package users_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// A token resolved before is remembered verified, and the memory changes
// no answer: its expiry still counts, a token differing by one character
// is still refused, and the session and the user are still read.
func TestResolveRemembersVerifiedTokens(t *testing.T) {
	e := newEnv(t, withSecret())
	u := e.owner(nil)
	s, err := e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass})
	require.NoError(t, err)
	for range 3 {
		p, err := e.m.ResolveAccessToken(e.ctx, s.AccessToken)
		require.NoError(t, err)
		assert.Equal(t, u.ID, p.User.ID)
	}
	// One character of the signature changed: refused, the original
	// remembered or not.
	last := s.AccessToken[len(s.AccessToken)-2]
	swap := byte('A')
	if last == 'A' {
		swap = 'B'
	}
	forged := s.AccessToken[:len(s.AccessToken)-2] + string(swap) + s.AccessToken[len(s.AccessToken)-1:]
	_, err = e.m.ResolveAccessToken(e.ctx, forged)
	assert.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.m.ResolveAccessToken(e.ctx, strings.ToUpper(s.AccessToken[:1])+s.AccessToken[1:]+".")
	assert.ErrorIs(t, err, users.ErrInvalidToken)

	// A remembered token ends with its session...
	require.NoError(t, e.m.EndSession(e.ctx, s.ID))
	_, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	assert.ErrorIs(t, err, users.ErrInvalidCredentials)

	// ...and at its expiry.
	s, err = e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass})
	require.NoError(t, err)
	_, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.NoError(t, err)
	e.clock.Advance(e.m.Lifetimes().Access)
	_, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	assert.ErrorIs(t, err, users.ErrTokenExpired)
}

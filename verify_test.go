package users_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
)

func TestVerifyEmailBadTokensChangeNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "pw"}))
	tok := memmailer.Token(e.onlyMail("v@example.com"))
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	inviteTok := memmailer.Token(e.onlyMail("i@example.com"))

	for name, bad := range map[string]string{
		"empty":          "",
		"short":          "abc",
		"too long":       tok + "A",
		"huge":           strings.Repeat("A", 1<<16),
		"not base64url":  strings.Repeat("+", 43),
		"padding":        tok[:42] + "=",
		"non-canonical":  tok[:42] + string(nonCanonical(tok[42])),
		"unknown":        strings.Repeat("A", 43),
		"wrong purpose":  inviteTok,
		"with spaces":    " " + tok[1:],
		"unicode":        "é" + tok[2:],
		"sql injection":  "' OR 1=1 --" + strings.Repeat("A", 32),
		"path traversal": "../../../../etc/passwd" + strings.Repeat("A", 21),
	} {
		_, err := e.m.VerifyEmail(e.ctx, bad)
		require.ErrorIs(t, err, users.ErrInvalidToken, name)
		if bad != "" {
			assert.NotContains(t, err.Error(), bad, "%s: tokens never appear in errors", name)
		}
	}
	assert.Equal(t, users.StatusUnverified, e.userByEmail("v@example.com").Status)
	assert.Equal(t, users.StatusInvited, e.userByEmail("i@example.com").Status)

	e.clock.Advance(7 * 24 * time.Hour)
	_, err = e.m.VerifyEmail(e.ctx, tok)
	require.ErrorIs(t, err, users.ErrTokenExpired, "7 days by default")
	assert.Equal(t, users.StatusUnverified, e.userByEmail("v@example.com").Status)
}

// nonCanonical returns another base64url character whose value differs
// from c only in the low padding bits, so that the token decodes to the
// same bytes unless decoding is strict.
func nonCanonical(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return alphabet[i^1]
}

func TestVerifyEmailTokenOfUserNoLongerUnverified(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "pw"}))
	tok := memmailer.Token(e.onlyMail("v@example.com"))
	u := e.userByEmail("v@example.com")
	suspended := users.StatusSuspended
	_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Status: &suspended})
	require.NoError(t, err)
	_, err = e.m.VerifyEmail(e.ctx, tok)
	require.ErrorIs(t, err, users.ErrInvalidToken)
	assert.Equal(t, users.StatusSuspended, e.userByEmail("v@example.com").Status, "a verification link cannot lift a suspension")
}

package users_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
)

func TestLinkPathsDefaults(t *testing.T) {
	e := newEnv(t)
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "pw12345"}))
	assert.True(t, strings.HasPrefix(memmailer.Link(e.onlyMail("v@example.com")), appURL+"/users/register/verify-email?token="))
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(memmailer.Link(e.onlyMail("i@example.com")), appURL+"/admin/accept-invite?token="))
	assert.Equal(t, "/admin/reset-password", users.DefaultLinkPaths().ResetPassword)
}

func TestLinkPathsOption(t *testing.T) {
	e := newEnv(t, users.WithLinkPaths(users.LinkPaths{
		VerifyEmail: "/console/verify", AcceptInvite: "/console/accept", SetPassword: "/console/set", ResetPassword: "/console/reset",
	}))
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "c@example.com", Password: "first pw"}))
	first := memmailer.Link(e.onlyMail("c@example.com"))
	assert.True(t, strings.HasPrefix(first, appURL+"/console/verify?token="), first)
	// A contested registration: once verified, the set-password mail has its
	// own path.
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "c@example.com", Password: "other pw"}))
	second := memmailer.Link(e.onlyMail("c@example.com"))
	_, err := e.m.VerifyEmail(e.ctx, tokenIn(t, second))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(memmailer.Link(e.onlyMail("c@example.com")), appURL+"/console/set?token="))

	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(memmailer.Link(e.onlyMail("i@example.com")), appURL+"/console/accept?token="))

	_, err = e.m.Create(e.ctx, users.CreateInput{Email: "r@example.com", Password: "pw"})
	require.NoError(t, err)
	require.NoError(t, e.m.RequestPasswordReset(e.ctx, "r@example.com", ""))
	assert.True(t, strings.HasPrefix(memmailer.Link(e.onlyMail("r@example.com")), appURL+"/console/reset?token="))

	// An empty field keeps its default.
	e2 := newEnv(t, users.WithLinkPaths(users.LinkPaths{AcceptInvite: "/x/accept"}))
	e2.open()
	require.NoError(t, e2.m.Register(e2.ctx, users.RegisterInput{Email: "d@example.com", Password: "pw12345"}))
	assert.True(t, strings.HasPrefix(memmailer.Link(e2.onlyMail("d@example.com")), appURL+"/users/register/verify-email?token="))
}

func TestLinkPathsRefused(t *testing.T) {
	for _, bad := range []string{"admin/accept", "//evil.example/x", "/a?b=c", "/a#b", "https://evil.example/x", "/a b", "/a\\b"} {
		m, err := users.New(newEnv(t).store, memmailer.New(), users.WithLinkPaths(users.LinkPaths{VerifyEmail: bad}))
		assert.Nil(t, m, bad)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "link path", bad)
	}
}

func TestTokenUser(t *testing.T) {
	e := newEnv(t)
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	tok := tokenIn(t, memmailer.Link(e.onlyMail("i@example.com")))

	u, err := e.m.TokenUser(e.ctx, tok, store.PurposeInvite)
	require.NoError(t, err)
	assert.Equal(t, "i@example.com", u.Email)
	assert.Equal(t, users.StatusInvited, u.Status, "reading changes nothing")
	_, err = e.m.TokenUser(e.ctx, tok, store.PurposeInvite)
	require.NoError(t, err, "and can be repeated")

	_, err = e.m.TokenUser(e.ctx, tok, store.PurposeVerifyEmail)
	assert.ErrorIs(t, err, users.ErrInvalidToken, "another purpose")
	_, err = e.m.TokenUser(e.ctx, "garbage", store.PurposeInvite)
	assert.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.m.TokenUser(e.ctx, tok, "other")
	assert.ErrorIs(t, err, users.ErrInvalidPayload)

	e.clock.Advance(8 * 24 * time.Hour)
	_, err = e.m.TokenUser(e.ctx, tok, store.PurposeInvite)
	assert.ErrorIs(t, err, users.ErrTokenExpired)

	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"j@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	tok = tokenIn(t, memmailer.Link(e.onlyMail("j@example.com")))
	_, err = e.m.AcceptInvite(e.ctx, tok, "a password")
	require.NoError(t, err)
	_, err = e.m.TokenUser(e.ctx, tok, store.PurposeInvite)
	assert.ErrorIs(t, err, users.ErrTokenUsed)
	assert.False(t, errors.Is(err, users.ErrTokenExpired))
}

func tokenIn(t *testing.T, link string) string {
	t.Helper()
	i := strings.Index(link, "token=")
	require.GreaterOrEqual(t, i, 0, link)
	return link[i+len("token="):]
}

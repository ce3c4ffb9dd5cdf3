package users_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	mm := memmailer.New()
	// Each bad option is refused with an error naming it.
	for name, tc := range map[string]struct {
		opt  users.Option
		want string
	}{
		"relative allow-list entry": {users.WithRegisterURLAllowList("/verify"), `register URL allow-list: users: allow-list entry "/verify"`},
		"javascript entry":          {users.WithInviteURLAllowList("javascript:alert(1)"), `invite URL allow-list: users: allow-list entry "javascript:alert(1)"`},
		"bad public URL":            {users.WithPublicURL("ftp://x"), `public URL "ftp://x"`},
		"nil clock":                 {users.WithClock(nil), "clock must not be nil"},
		"negative ttl":              {users.WithTokenLifetimes(-time.Second, 0), "token lifetimes must not be negative"},
		"bad delivery":              {users.WithDelivery(users.DeliveryOptions{}), "delivery: MaxAttempts"},
		"incomplete templates":      {users.WithTemplates(users.Templates{}), "templates: no template"},
	} {
		m, err := users.New(st, mm, tc.opt)
		assert.Nil(t, m, name)
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), tc.want, name)
		}
	}
	_, err := users.New(nil, mm)
	assert.EqualError(t, err, "users: store must not be nil")
	_, err = users.New(st, nil)
	assert.EqualError(t, err, "users: mailer must not be nil")
	// The options above are refused for themselves: the same store and
	// mailer build a Manager.
	_, err = users.New(st, mm)
	assert.NoError(t, err)
}

func TestTokenLifetimeOption(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.WithTokenLifetimes(time.Hour, 2*time.Hour))
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "pw"}))
	tok := memmailer.Token(e.onlyMail("v@example.com"))
	e.clock.Advance(time.Hour - time.Second)
	_, err := e.m.VerifyEmail(e.ctx, tok)
	require.NoError(t, err)

	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	inv := memmailer.Token(e.onlyMail("i@example.com"))
	e.clock.Advance(2 * time.Hour)
	_, err = e.m.AcceptInvite(e.ctx, inv, "pw")
	require.ErrorIs(t, err, users.ErrTokenExpired)
}

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

package users_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

// An administrator's resend of a verification mail does not depend on the
// registration settings and has its own allowance, which anonymous traffic
// cannot use up; over that allowance it says so.
func TestResendVerificationFor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	box := memmailer.New()
	m, err := users.New(memstore.New(), box, users.WithHasher(userstest.Hasher{}),
		limits(func(l *users.Limits) {
			l.Mail = &users.MemoryLimiter{Points: 1, Window: time.Hour}
			l.AdminMail = &users.MemoryLimiter{Points: 2, Window: time.Hour}
		}))
	require.NoError(t, err)
	s, err := m.Settings(ctx)
	require.NoError(t, err)
	s.PublicRegistration = true
	_, err = m.UpdateSettings(ctx, s)
	require.NoError(t, err)
	require.NoError(t, m.Register(ctx, users.RegisterInput{Email: "ada@example.com", Password: "pw", FirstName: "Ada"}))
	require.NoError(t, m.ResendVerification(ctx, "ada@example.com", ""), "anonymous: over its allowance, silently")
	s.PublicRegistration = false
	_, err = m.UpdateSettings(ctx, s)
	require.NoError(t, err)
	list, err := m.ListUsers(ctx, users.UserQuery{Search: "ada@example.com"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	ada := list[0]
	deliver := func() []users.Message {
		_, err := m.DeliverPending(ctx)
		require.NoError(t, err)
		return box.To("ada@example.com")
	}
	require.Len(t, deliver(), 1)
	first := deliver()[0]

	require.NoError(t, m.ResendVerificationFor(ctx, ada.ID))
	got := deliver()
	require.Len(t, got, 2)
	assert.NotContains(t, got[1].Text, "Ada", "no unverified name")
	_, err = m.VerifyEmail(ctx, mailToken(t, first))
	assert.ErrorIs(t, err, users.ErrInvalidToken, "the earlier link stops working")

	require.NoError(t, m.ResendVerificationFor(ctx, ada.ID))
	err = m.ResendVerificationFor(ctx, ada.ID)
	assert.ErrorIs(t, err, users.ErrRateLimited)
	var rl *users.RateLimitError
	assert.True(t, errors.As(err, &rl))
	assert.Len(t, deliver(), 3, "nothing more went")
	_, err = m.VerifyEmail(ctx, mailToken(t, deliver()[2]))
	assert.NoError(t, err, "the last link mailed still works")

	err = m.ResendVerificationFor(ctx, ada.ID)
	var ve *users.ValidationError
	assert.True(t, errors.As(err, &ve), "an active user has nothing to resend: %v", err)
	assert.ErrorIs(t, m.ResendVerificationFor(ctx, "00000000-0000-0000-0000-000000000000"), users.ErrUserNotFound)
}

func mailToken(t *testing.T, msg users.Message) string {
	t.Helper()
	tok := memmailer.Token(msg)
	require.NotEmpty(t, tok)
	return tok
}

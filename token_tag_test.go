package users_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// tokenReads is a Store that counts the reads and consumptions of mailed
// tokens that reach it.
type tokenReads struct {
	store.Store
	n atomic.Int64
}

func (s *tokenReads) GetToken(ctx context.Context, hash []byte) (*store.Token, error) {
	s.n.Add(1)
	return s.Store.GetToken(ctx, hash)
}

func (s *tokenReads) ConsumeToken(ctx context.Context, hash []byte, p store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	s.n.Add(1)
	return s.Store.ConsumeToken(ctx, hash, p, now, cond, ch, fx)
}

var (
	tagSecret   = []byte("a-token-tag-test-secret-0123456789")
	otherSecret = []byte("another-token-tag-secret-0123456789")
)

// randomToken is a well-formed token that no Manager minted.
func randomToken(t *testing.T) string {
	var raw [32]byte
	_, err := rand.Read(raw[:])
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// flipTag changes one bit of a token's tag (its last 8 bytes), keeping
// the encoding canonical.
func flipTag(t *testing.T, tok string) string {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	require.NoError(t, err)
	raw[len(raw)-2] ^= 0x01
	return base64.RawURLEncoding.EncodeToString(raw)
}

// With a configured secret, a made-up mailed token — well formed, never
// minted — is refused by every consuming call without reaching the Store,
// so a flood of them costs no database reads; a genuine token still works.
func TestMadeUpMailedTokensCostNoStoreWork(t *testing.T) {
	t.Parallel()
	st := &tokenReads{Store: memstore.New()}
	e := newEnvOn(t, st, users.WithSecret(tagSecret))
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "pw"}))
	tok := memmailer.Token(e.onlyMail("v@example.com"))
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	inviteTok := memmailer.Token(e.onlyMail("i@example.com"))

	st.n.Store(0)
	for i, bad := range []string{randomToken(t), randomToken(t), flipTag(t, tok), flipTag(t, inviteTok)} {
		_, err := e.m.VerifyEmail(e.ctx, bad)
		require.ErrorIs(t, err, users.ErrInvalidToken, "token %d", i)
		_, err = e.m.AcceptInvite(e.ctx, bad, "a new password")
		require.ErrorIs(t, err, users.ErrInvalidToken, "token %d", i)
		_, err = e.m.ResetPassword(e.ctx, bad, "a new password")
		require.ErrorIs(t, err, users.ErrInvalidToken, "token %d", i)
		_, err = e.m.TokenUser(e.ctx, bad, store.PurposeInvite)
		require.ErrorIs(t, err, users.ErrInvalidToken, "token %d", i)
		assert.NotContains(t, err.Error(), bad, "tokens never appear in errors")
	}
	assert.Zero(t, st.n.Load(), "a made-up token reached the Store")
	assert.Equal(t, users.StatusUnverified, e.userByEmail("v@example.com").Status)
	assert.Equal(t, users.StatusInvited, e.userByEmail("i@example.com").Status)

	_, err = e.m.VerifyEmail(e.ctx, tok)
	require.NoError(t, err, "a genuine token still works")
	_, err = e.m.AcceptInvite(e.ctx, inviteTok, "a new password")
	require.NoError(t, err)
	assert.Equal(t, users.StatusActive, e.userByEmail("i@example.com").Status)
}

// Mailed links survive a restart: under the default random secret a
// Manager accepts a token another Manager (the process before a restart)
// mailed; under a configured secret, one with the same secret does, and
// one with another secret refuses it without Store work.
func TestMailedTokensAcrossManagers(t *testing.T) {
	t.Parallel()
	mint := func(t *testing.T, st store.Store, opts ...users.Option) string {
		e := newEnvOn(t, st, opts...)
		e.open()
		require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "pw"}))
		return memmailer.Token(e.onlyMail("v@example.com"))
	}
	t.Run("random secret", func(t *testing.T) {
		st := memstore.New()
		tok := mint(t, st)
		e := newEnvOn(t, st)
		_, err := e.m.VerifyEmail(e.ctx, tok)
		require.NoError(t, err)
	})
	t.Run("same secret", func(t *testing.T) {
		st := memstore.New()
		tok := mint(t, st, users.WithSecret(tagSecret))
		e := newEnvOn(t, st, users.WithSecret(tagSecret))
		_, err := e.m.VerifyEmail(e.ctx, tok)
		require.NoError(t, err)
	})
	t.Run("another secret", func(t *testing.T) {
		st := &tokenReads{Store: memstore.New()}
		tok := mint(t, st, users.WithSecret(tagSecret))
		e := newEnvOn(t, st, users.WithSecret(otherSecret))
		st.n.Store(0)
		_, err := e.m.VerifyEmail(e.ctx, tok)
		require.ErrorIs(t, err, users.ErrInvalidToken)
		assert.Zero(t, st.n.Load())
		assert.Equal(t, users.StatusUnverified, e.userByEmail("v@example.com").Status)
	})
	t.Run("a secret set after a random one", func(t *testing.T) {
		st := memstore.New()
		tok := mint(t, st)
		e := newEnvOn(t, st, users.WithSecret(tagSecret))
		_, err := e.m.VerifyEmail(e.ctx, tok)
		require.ErrorIs(t, err, users.ErrInvalidToken, "an untagged token is refused once a secret is set")
		assert.False(t, strings.Contains(err.Error(), tok))
	})
}

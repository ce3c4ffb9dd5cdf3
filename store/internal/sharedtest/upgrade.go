package sharedtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/testkit"
)

// CheckLowerCasedCopies checks a store just migrated from a schema without
// the lower-cased copies that its case-insensitive queries read, whose
// database held, before the upgrade:
//   - a role 'RÔLE-Ü';
//   - user u1, ÜNAL@Example.com (key ünal@example.com), Ünal ÖZTÜRK, active,
//     of role 'RÔLE-Ü';
//   - user u2, bob@example.com, Bob Smith, active, of no role;
//   - a pending invite token of u1, hash 0x0102, bound to no address.
//
// The copies must be filled for the users that exist, folded as
// strings.ToLower folds them, and the pending token bound to its user's
// address.
func CheckLowerCasedCopies(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	// A token mailed before tokens were bound to an address is bound to
	// the address its user has at the upgrade, so the link still works.
	tok, err := s.GetToken(ctx, []byte{1, 2})
	require.NoError(t, err)
	assert.Equal(t, "ünal@example.com", tok.EmailKey)
	for _, q := range []store.UserQuery{
		{Search: "ün"},
		{Search: "öztürk"},
		{Filter: &store.Filter{Field: store.FieldEmail, Op: store.OpIStartsWith, Value: "üNAL@"}},
		{Filter: &store.Filter{Field: store.FieldRole, Op: store.OpIContains, Value: "rôle-ü"}},
	} {
		got, err := s.ListUsers(ctx, q)
		require.NoError(t, err)
		if assert.Len(t, got, 1, "%+v", q) {
			assert.Equal(t, "u1", got[0].ID)
		}
	}
}

// CancelWhileWaiting checks that a call cancelled while it waits on a
// lock returns the context's error and leaves the store usable. hold
// locks the row of user "u1" from another instance (SELECT … FOR UPDATE
// on a handle of its own) and returns what releases the lock.
func CancelWhileWaiting(t *testing.T, s store.Store, hold func(ctx context.Context) (release func() error)) {
	t.Helper()
	ctx := context.Background()
	t0 := testkit.T0
	require.NoError(t, s.CreateUser(ctx, testkit.User("u1", "a@example.com"), store.Effects{}))
	tok := &store.Token{Hash: testkit.HashOf("t"), Purpose: store.PurposeInvite, UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	_, err := s.UpdateUser(ctx, "u1", store.Condition{}, store.UserChange{UpdatedAt: t0}, store.Effects{Token: tok})
	require.NoError(t, err)

	release := hold(ctx)
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = s.ConsumeToken(cctx, tok.Hash, store.PurposeInvite, t0, store.Condition{}, store.UserChange{UpdatedAt: t0}, store.Effects{})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, release())

	got, err := s.ConsumeToken(ctx, tok.Hash, store.PurposeInvite, t0, store.Condition{}, store.UserChange{UpdatedAt: t0}, store.Effects{})
	require.NoError(t, err)
	assert.Equal(t, "u1", got.ID)
}

package mysqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/mysqlstore"
)

// A statement cancelled while it waits on a lock gives the context's error
// and leaves the store usable.
func TestContextCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := newDatabase(t)
	s, err := mysqlstore.New(ctx, newDB(t, dsn))
	require.NoError(t, err)
	u := user("u1", "a@example.com")
	require.NoError(t, s.CreateUser(ctx, u, store.Effects{}))
	tok := &store.Token{Hash: hashOf("t"), Purpose: store.PurposeInvite, UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	_, err = s.UpdateUser(ctx, "u1", store.Condition{}, store.UserChange{UpdatedAt: t0}, store.Effects{Token: tok})
	require.NoError(t, err)

	// Hold the user's row lock from another "instance".
	tx, err := newDB(t, dsn).BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, "SELECT 1 FROM users_users WHERE id = 'u1' FOR UPDATE")
	require.NoError(t, err)

	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = s.ConsumeToken(cctx, hashOf("t"), store.PurposeInvite, t0, store.Condition{}, store.UserChange{UpdatedAt: t0}, store.Effects{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	require.NoError(t, tx.Rollback())

	got, err := s.ConsumeToken(ctx, hashOf("t"), store.PurposeInvite, t0, store.Condition{}, store.UserChange{UpdatedAt: t0}, store.Effects{})
	require.NoError(t, err)
	assert.Equal(t, "u1", got.ID)
}

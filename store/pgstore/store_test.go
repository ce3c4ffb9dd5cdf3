package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/pgstore"
)

// A statement cancelled while it waits on a lock gives context.Canceled
// and leaves the connection usable.
func TestContextCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	s, err := pgstore.New(ctx, newPool(t, schema))
	require.NoError(t, err)
	u := user("u1", "a@example.com")
	require.NoError(t, s.CreateUser(ctx, u, store.Effects{}))
	tok := &store.Token{Hash: hashOf("t"), Purpose: store.PurposeInvite, UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	_, err = s.UpdateUser(ctx, "u1", store.Condition{}, store.UserChange{UpdatedAt: t0}, store.Effects{Token: tok})
	require.NoError(t, err)

	// Hold the user's row lock from another "instance".
	tx, err := newPool(t, schema).Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "SELECT 1 FROM users_users WHERE id = 'u1' FOR UPDATE")
	require.NoError(t, err)

	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = s.ConsumeToken(cctx, hashOf("t"), store.PurposeInvite, t0, store.Condition{}, store.UserChange{UpdatedAt: t0}, store.Effects{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	require.NoError(t, tx.Rollback(ctx))

	got, err := s.ConsumeToken(ctx, hashOf("t"), store.PurposeInvite, t0, store.Condition{}, store.UserChange{UpdatedAt: t0}, store.Effects{})
	require.NoError(t, err)
	assert.Equal(t, "u1", got.ID)
}

func TestWithSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The pool's search_path names another schema: WithSchema wins.
	other := newSchema(t)
	pool := newPool(t, other)
	schema := other + "_x"
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	s, err := pgstore.New(ctx, pool, pgstore.WithSchema(schema), pgstore.WithRetries(2))
	require.NoError(t, err)
	require.NoError(t, s.CreateUser(ctx, user("u1", "a@example.com"), store.Effects{Mail: mail("m", "u1", "a@example.com", t0)}))
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.users_users`).Scan(&n))
	assert.Equal(t, 1, n)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = $1`, other).Scan(&n))
	assert.Zero(t, n, "nothing in the search_path schema")
	// New again: already migrated.
	_, err = pgstore.New(ctx, pool, pgstore.WithSchema(schema))
	require.NoError(t, err)
}

func TestNewWithoutSchemaOnSearchPath(t *testing.T) {
	t.Parallel()
	pool := newPool(t, "users_test_does_not_exist")
	_, err := pgstore.New(context.Background(), pool)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "search_path")
}

package pgstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/pgstore"
)

// A statement cancelled while it waits on a lock gives context.Canceled
// and leaves the connection usable.
func TestContextCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, err := pgstore.New(context.Background(), newPool(t, schema))
	require.NoError(t, err)
	sharedtest.CancelWhileWaiting(t, s, func(ctx context.Context) func() error {
		tx, err := newPool(t, schema).Begin(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = tx.Rollback(ctx) })
		_, err = tx.Exec(ctx, "SELECT 1 FROM users_users WHERE id = 'u1' FOR UPDATE")
		require.NoError(t, err)
		return func() error { return tx.Rollback(ctx) }
	})
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

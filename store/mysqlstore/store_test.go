package mysqlstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/mysqlstore"
)

// A statement cancelled while it waits on a lock gives the context's error
// and leaves the store usable.
func TestContextCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	dsn := newDatabase(t)
	s, err := mysqlstore.New(context.Background(), newDB(t, dsn))
	require.NoError(t, err)
	sharedtest.CancelWhileWaiting(t, s, func(ctx context.Context) func() error {
		tx, err := newDB(t, dsn).BeginTx(ctx, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = tx.Rollback() })
		_, err = tx.ExecContext(ctx, "SELECT 1 FROM users_users WHERE id = 'u1' FOR UPDATE")
		require.NoError(t, err)
		return tx.Rollback
	})
}

package mysqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/testkit"
	"github.com/gousers/users/store/mysqlstore"
)

// A lock wait timeout (1205) is retried, whole: with the server's wait cut
// to one second, an update that waits 1.5 s for a row another client holds
// fails its first attempt and succeeds on a later one; without retries the
// caller gets the timeout, and nothing was written.
func TestLockWaitTimeoutRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := newDatabase(t)
	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	cfg.Params = map[string]string{"innodb_lock_wait_timeout": "1"} // seconds
	short := newDB(t, cfg.FormatDSN())
	s, err := mysqlstore.New(ctx, short)
	require.NoError(t, err)
	require.NoError(t, s.CreateUser(ctx, testkit.User("u1", "a@example.com"), store.Effects{}))
	noRetry, err := mysqlstore.New(ctx, short, mysqlstore.WithRetries(0))
	require.NoError(t, err)

	// hold locks u1's row from another client for d; the channel is
	// closed once it let go.
	hold := func(d time.Duration) <-chan struct{} {
		tx, err := newDB(t, dsn).BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, "SELECT 1 FROM users_users WHERE id = 'u1' FOR UPDATE")
		require.NoError(t, err)
		released := make(chan struct{})
		time.AfterFunc(d, func() { _ = tx.Rollback(); close(released) })
		return released
	}

	released := hold(3 * time.Second)
	_, err = noRetry.UpdateUser(ctx, "u1", store.Condition{}, store.UserChange{FirstName: ptr("X"), UpdatedAt: testkit.T0}, store.Effects{})
	var me *mysql.MySQLError
	require.True(t, errors.As(err, &me), "%v", err)
	assert.EqualValues(t, 1205, me.Number)
	got, err := s.GetUser(ctx, "u1")
	require.NoError(t, err)
	assert.Empty(t, got.FirstName, "nothing written")
	<-released

	hold(1500 * time.Millisecond)
	began := time.Now()
	got, err = s.UpdateUser(ctx, "u1", store.Condition{}, store.UserChange{FirstName: ptr("Y"), UpdatedAt: testkit.T0}, store.Effects{})
	require.NoError(t, err)
	assert.Equal(t, "Y", got.FirstName)
	assert.Greater(t, time.Since(began), time.Second, "the first attempt timed out")
}

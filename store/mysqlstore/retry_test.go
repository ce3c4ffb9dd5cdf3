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
// caller gets the timeout (the row held until then), and nothing was
// written.
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

	// hold locks u1's row from another client for d, or until release is
	// called.
	hold := func(d time.Duration) (release func()) {
		tx, err := newDB(t, dsn).BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, "SELECT 1 FROM users_users WHERE id = 'u1' FOR UPDATE")
		require.NoError(t, err)
		timer := time.AfterFunc(d, func() { _ = tx.Rollback() })
		return func() { timer.Stop(); _ = tx.Rollback() }
	}

	release := hold(time.Minute)
	_, err = noRetry.UpdateUser(ctx, "u1", store.Condition{}, store.UserChange{FirstName: ptr("X"), UpdatedAt: testkit.T0}, store.Effects{})
	release()
	var me *mysql.MySQLError
	require.True(t, errors.As(err, &me), "%v", err)
	assert.EqualValues(t, 1205, me.Number)
	got, err := s.GetUser(ctx, "u1")
	require.NoError(t, err)
	assert.Empty(t, got.FirstName, "nothing written")

	hold(1500 * time.Millisecond)
	began := time.Now()
	got, err = s.UpdateUser(ctx, "u1", store.Condition{}, store.UserChange{FirstName: ptr("Y"), UpdatedAt: testkit.T0}, store.Effects{})
	require.NoError(t, err)
	assert.Equal(t, "Y", got.FirstName)
	assert.Greater(t, time.Since(began), time.Second, "the first attempt timed out")
}

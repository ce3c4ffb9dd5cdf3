package mysqlstore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/mysqlstore"
)

// A session already at READ COMMITTED (set in the DSN) spares every
// transaction the statement that sets the level; any other session level
// (the server's default, REPEATABLE READ) keeps it, so that the store's
// writes never run at a level it did not choose.
func TestSessionIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := newDatabase(t)

	s, err := mysqlstore.New(ctx, newDB(t, dsn))
	require.NoError(t, err)
	assert.Equal(t, sql.LevelReadCommitted, mysqlstore.TxLevel(s), "a REPEATABLE READ session must not be trusted")

	var rc *sql.DB
	for _, v := range []string{"transaction_isolation", "tx_isolation"} {
		cfg, err := mysql.ParseDSN(dsn)
		require.NoError(t, err)
		cfg.Params = map[string]string{v: "'READ-COMMITTED'"}
		db := newDB(t, cfg.FormatDSN())
		if db.PingContext(ctx) == nil {
			rc = db
			break
		}
	}
	require.NotNil(t, rc, "neither transaction_isolation nor tx_isolation could be set in the DSN")
	s, err = mysqlstore.New(ctx, rc)
	require.NoError(t, err)
	assert.Equal(t, sql.LevelDefault, mysqlstore.TxLevel(s))

	// The store works on it: a token is consumed once.
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &store.User{ID: "u1", Email: "a@example.com", EmailKey: "a@example.com", Status: store.StatusUnverified, CreatedAt: now, UpdatedAt: now}
	hash := make([]byte, 32)
	require.NoError(t, s.CreateUser(ctx, u, store.Effects{Token: &store.Token{Hash: hash, Purpose: store.PurposeVerifyEmail, UserID: "u1",
		EmailKey: "a@example.com", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}))
	active := store.StatusActive
	got, err := s.ConsumeToken(ctx, hash, store.PurposeVerifyEmail, now, store.Condition{Status: store.StatusUnverified},
		store.UserChange{Status: &active, UpdatedAt: now}, store.Effects{})
	require.NoError(t, err)
	assert.Equal(t, store.StatusActive, got.Status)
	_, err = s.ConsumeToken(ctx, hash, store.PurposeVerifyEmail, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{})
	assert.ErrorIs(t, err, store.ErrTokenUsed)
}

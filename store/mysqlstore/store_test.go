package mysqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/internal/testkit"
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

// On a handle that sends several statements at once, a registration whose
// inserts fail half way (its user inserted, then a token whose hash
// exists) leaves nothing behind and no connection inside its transaction:
// on a pool of one connection, the next registration is committed, and
// nothing else, as another handle sees.
func TestMultiStatementsRollBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := mysql.ParseDSN(newDatabase(t))
	require.NoError(t, err)
	cfg.InterpolateParams, cfg.MultiStatements = true, true
	db := newDB(t, cfg.FormatDSN())
	db.SetMaxOpenConns(1)
	s, err := mysqlstore.New(ctx, db)
	require.NoError(t, err)
	require.True(t, mysqlstore.MultiStatements(s))

	t0 := testkit.T0
	mk := func(id, email string) (*store.User, store.Effects) {
		u := testkit.User(id, email)
		return u, store.Effects{
			Token:  &store.Token{Hash: testkit.HashOf(id), Purpose: store.PurposeVerifyEmail, UserID: id, EmailKey: u.EmailKey, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			Events: []*store.Event{{Action: "create", Flow: "registered", Collection: "users", Item: id, Time: t0}},
		}
	}
	u, fx := mk("u1", "a@example.com")
	require.NoError(t, s.CreateUser(ctx, u, fx))
	for i := range 3 {
		u, fx := mk(fmt.Sprintf("dup%d", i), fmt.Sprintf("dup%d@example.com", i))
		fx.Token.Hash = testkit.HashOf("u1")
		require.Error(t, s.CreateUser(ctx, u, fx))
	}
	u, fx = mk("u2", "b@example.com")
	require.NoError(t, s.CreateUser(ctx, u, fx))

	other := newDB(t, cfg.FormatDSN())
	var users, tokens, events int
	require.NoError(t, other.QueryRow(`SELECT (SELECT COUNT(*) FROM users_users), (SELECT COUNT(*) FROM users_tokens),
	(SELECT COUNT(*) FROM users_events)`).Scan(&users, &tokens, &events))
	assert.Equal(t, []int{2, 2, 2}, []int{users, tokens, events})
}

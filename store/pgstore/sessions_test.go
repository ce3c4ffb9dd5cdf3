package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/pgstore"
)

// Twenty rotations of one refresh token on two instances, released at the
// same instant: the test holds the user's row locked until all twenty
// wait on it, so every one of them reads the session while the others do.
// Exactly one rotates; the others find the token rotated, the session is
// ended, and nobody gets an error outside the contract (a duplicate
// earlier hash, a lost update).
func TestRotateSessionRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	app := appName()
	const n = 20
	var stores []*pgstore.Store
	for range 2 {
		cfg, err := pgxpool.ParseConfig(testDSN(t))
		require.NoError(t, err)
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
		cfg.ConnConfig.RuntimeParams["application_name"] = app
		cfg.MaxConns = n / 2
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		s, err := pgstore.New(ctx, pool)
		require.NoError(t, err)
		stores = append(stores, s)
	}
	for round := range 3 {
		id := fmt.Sprint("u", round)
		require.NoError(t, stores[0].CreateUser(ctx, user(id, id+"@example.com"), store.Effects{}))
		sess := &store.Session{ID: id + "-s", UserID: id, TokenHash: hashOf(id + "t0"), CreatedAt: t0, RefreshedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		require.NoError(t, stores[0].CreateSession(ctx, sess, store.Condition{}))

		blocker, err := newPool(t, schema).Begin(ctx)
		require.NoError(t, err)
		_, err = blocker.Exec(ctx, `SELECT 1 FROM users_users WHERE id = $1 FOR UPDATE`, id)
		require.NoError(t, err)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, _, errs[i] = stores[i%2].RotateSession(ctx, sess.TokenHash, hashOf(fmt.Sprint(id, "t", i+1)), t0, t0.Add(time.Hour), store.Condition{Status: store.StatusActive})
			})
		}
		waitForLockWaits(t, newPool(t, schema), app, n)
		require.NoError(t, blocker.Commit(ctx))
		wg.Wait()

		wins, reused := 0, 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrTokenReused):
				reused++
			case !errors.Is(err, store.ErrInvalidToken):
				t.Errorf("round %d, call %d: %v; want nil, ErrTokenReused or ErrInvalidToken", round, i, err)
			}
		}
		assert.Equal(t, 1, wins, "round %d: rotations that succeeded", round)
		assert.NotZero(t, reused, "round %d: no call found the token rotated", round)
		_, err = stores[1].GetSession(ctx, sess.ID)
		assert.ErrorIs(t, err, store.ErrNotFound, "round %d: the session must end", round)
	}
}

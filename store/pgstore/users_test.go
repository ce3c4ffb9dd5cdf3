package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/testkit"
	"github.com/gousers/users/store/pgstore"
)

// Two instances each remove one of the last two active admins, with
// KeepAdmin, at the same instant: the test holds both users' rows until
// both calls wait, so both have begun before either has changed anything.
// Exactly one succeeds; the other gets ErrLastAdmin. Under every isolation
// level a pool may default to.
func TestKeepAdminRace(t *testing.T) {
	t.Parallel()
	for _, iso := range []string{"read committed", "repeatable read", "serializable"} {
		t.Run(iso, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			schema := newSchema(t)
			app := appName()
			var stores []*pgstore.Store
			for range 2 {
				s, err := pgstore.New(ctx, newPoolWith(t, schema, map[string]string{
					"application_name": app, "default_transaction_isolation": iso,
				}))
				require.NoError(t, err)
				stores = append(stores, s)
			}
			require.NoError(t, stores[0].CreateRole(ctx, &store.Role{ID: "admin", Name: "Admin", AdminAccess: true}))
			require.NoError(t, stores[0].CreatePolicy(ctx, &store.Policy{ID: "all", Name: "All", AdminAccess: true}))
			watcher := newPool(t, schema)
			for round := range 4 {
				x, y := user(fmt.Sprint("x", round), fmt.Sprint("x", round, "@example.com")), user(fmt.Sprint("y", round), fmt.Sprint("y", round, "@example.com"))
				x.Role, y.Policies = ptr("admin"), []string{"all"}
				require.NoError(t, stores[0].CreateUser(ctx, x, store.Effects{}))
				require.NoError(t, stores[0].CreateUser(ctx, y, store.Effects{}))

				blocker, err := watcher.Begin(ctx)
				require.NoError(t, err)
				_, err = blocker.Exec(ctx, `SELECT 1 FROM users_users WHERE id = ANY($1) FOR UPDATE`, []string{x.ID, y.ID})
				require.NoError(t, err)
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for i, u := range []*store.User{x, y} {
					wg.Go(func() {
						if round%2 == 0 {
							errs[i] = stores[i].DeleteUsers(ctx, []string{u.ID}, store.Condition{KeepAdmin: true})
							return
						}
						_, errs[i] = stores[i].UpdateUser(ctx, u.ID, store.Condition{KeepAdmin: true},
							store.UserChange{Status: ptr(store.StatusSuspended), UpdatedAt: t0}, store.Effects{})
					})
				}
				waitForLockWaits(t, watcher, app, 2)
				require.NoError(t, blocker.Commit(ctx))
				wg.Wait()
				wins := testkit.Wins(t, fmt.Sprintf("round %d", round), errs, store.ErrLastAdmin)
				require.Equal(t, 1, wins, "round %d: both last admins were removed, or neither", round)
				n, err := stores[0].CountUsers(ctx, store.UserQuery{Filter: &store.Filter{Field: store.FieldStatus, Op: store.OpEq, Value: "active"}})
				require.NoError(t, err)
				assert.Equal(t, 1, n, "round %d: active users left", round)
				// The next round starts with no active admin.
				_, err = watcher.Exec(ctx, `UPDATE users_users SET status = 'archived'`)
				require.NoError(t, err)
			}
		})
	}
}

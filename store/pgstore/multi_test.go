package pgstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/pgstore"
	"github.com/gousers/users/store/storetest/multitest"
)

// database is the multi-instance suite's factory: a fresh schema, on which
// each instance opens a pool of its own with the run-time parameters
// params.
func database(params map[string]string) multitest.Factory {
	return func(t *testing.T) multitest.Database {
		schema := newSchema(t)
		files, err := filepath.Glob("migrations/*.sql")
		require.NoError(t, err)
		return multitest.Database{
			Connect: func(t *testing.T) func(context.Context) (store.Store, error) {
				pool := newPoolWith(t, schema, params)
				require.NoError(t, pool.Ping(context.Background()))
				return func(ctx context.Context) (store.Store, error) { return pgstore.New(ctx, pool) }
			},
			Migrations: func(t *testing.T) (rows, versions int) {
				require.NoError(t, newPool(t, schema).QueryRow(context.Background(),
					`SELECT count(*), count(DISTINCT version) FROM users_schema_migrations`).Scan(&rows, &versions))
				return rows, versions
			},
			Want: len(files),
		}
	}
}

// TestMulti races several Stores, each on a pool of its own, on one
// schema, as several instances of an app share one database.
func TestMulti(t *testing.T) {
	t.Parallel() // its sub-tests run side by side with the package's other tests
	multitest.Run(t, database(nil))
}

// With serializable transactions, a consumer that waited for the winner
// fails with a serialization error: the store retries it, and it then sees
// the token used.
func TestMultiConsumeTokenOnceSerializable(t *testing.T) {
	t.Parallel()
	multitest.ConsumeTokenOnce(t, database(map[string]string{"default_transaction_isolation": "serializable"}))
}

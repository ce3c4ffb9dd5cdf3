package mysqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/mysqlstore"
	"github.com/gousers/users/store/storetest/multitest"
)

// database is the multi-instance suite's factory: a fresh database, on
// which each instance opens a handle of its own.
func database(t *testing.T) multitest.Database {
	dsn := newDatabase(t)
	return multitest.Database{
		Connect: func(t *testing.T) func(context.Context) (store.Store, error) {
			db := newDB(t, dsn)
			require.NoError(t, db.Ping())
			return func(ctx context.Context) (store.Store, error) { return mysqlstore.New(ctx, db) }
		},
		Migrations: func(t *testing.T) (rows, versions int) {
			db := newDB(t, dsn)
			require.NoError(t, db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM users_schema_migrations`).Scan(&rows, &versions))
			return rows, versions
		},
		Want: migrationFiles(t), // versions may have gaps
	}
}

// TestMulti races several Stores, each on a handle of its own, on one
// database, as several instances of an app share one.
func TestMulti(t *testing.T) {
	t.Parallel() // its sub-tests run side by side with the package's other tests
	multitest.Run(t, database)
}

// migrationFiles counts the embedded migrations: the versions a migrated
// database records (their numbers may have gaps).
func migrationFiles(t *testing.T) int {
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return len(files)
}

package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/sqlitestore"
	"github.com/gousers/users/store/storetest/multitest"
)

// database is the multi-instance suite's factory: a fresh database file,
// on which each instance opens a *sql.DB of its own, as separate processes
// sharing the file would.
func database(t *testing.T) multitest.Database {
	path := filepath.Join(t.TempDir(), "users.db")
	open := func(t *testing.T) *sql.DB {
		db, err := sql.Open("sqlite3", sqlitestore.DSN(path))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		require.NoError(t, db.Ping())
		return db
	}
	return multitest.Database{
		Connect: func(t *testing.T) func(context.Context) (store.Store, error) {
			db := open(t)
			return func(context.Context) (store.Store, error) {
				s, err := sqlitestore.New(db)
				if err != nil {
					return nil, err
				}
				t.Cleanup(func() { s.Close() })
				return s, nil
			}
		},
		Migrations: func(t *testing.T) (rows, versions int) {
			require.NoError(t, open(t).QueryRow(`SELECT count(*), count(DISTINCT version) FROM users_schema_migrations`).Scan(&rows, &versions))
			return rows, versions
		},
		Want: migrationFiles(t), // versions may have gaps
	}
}

// TestMulti races several Stores, each on a handle of its own, on one
// database file.
func TestMulti(t *testing.T) {
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

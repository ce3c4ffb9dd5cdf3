package sqlitestore_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/sqlitestore"
)

// openTemp opens a migrated store on a fresh database file in t.TempDir.
func openTemp(t *testing.T) (*sqlitestore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.db")
	s, db, err := sqlitestore.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		require.NoError(t, db.Close())
	})
	return s, path
}

// openApp opens the database at path the way an application might, with
// its own DSN, and closes it when the test ends.
func openApp(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenUsesWAL(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	_ = s
	// A second handle reads the persistent, per-database setting.
	db := openApp(t, path)
	var mode string
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "wal", mode)
}

func TestNewSwitchesAppDatabaseToWAL(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	db := openApp(t, "file:"+path+"?_foreign_keys=on") // default journal: delete
	var mode string
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	require.Equal(t, "delete", mode)
	_, err := sqlitestore.New(db)
	require.NoError(t, err)
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "wal", mode)
}

// A handle opened without _foreign_keys=on is refused, with the fix in the
// message, and nothing is created in its database.
func TestNewRefusesForeignKeysOff(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	db := openApp(t, path) // go-sqlite3's default: foreign keys off
	_, err := sqlitestore.New(db)
	require.ErrorIs(t, err, sqlitestore.ErrForeignKeysOff)
	assert.ErrorContains(t, err, "_foreign_keys=on")
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&n))
	assert.Zero(t, n, "New created tables in a database it refused")

	// A PRAGMA run with db.Exec reaches one pooled connection only; New
	// checks the connection it is given, and the store checks roles and
	// policies itself, so even a connection without enforcement answers as
	// the contract says.
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`PRAGMA foreign_keys = ON`)
	require.NoError(t, err)
	s, err := sqlitestore.New(db)
	require.NoError(t, err)
	_, err = db.Exec(`PRAGMA foreign_keys = OFF`)
	require.NoError(t, err)
	ctx := t.Context()
	u := &store.User{ID: "u1", Status: store.StatusActive, Role: ptr("nope")}
	require.ErrorIs(t, s.CreateUser(ctx, u, store.Effects{}), store.ErrRoleNotFound)
	u.Role, u.Policies = nil, []string{"nope"}
	require.ErrorIs(t, s.CreateUser(ctx, u, store.Effects{}), store.ErrPolicyNotFound)
	_, err = s.GetUser(ctx, "u1")
	require.ErrorIs(t, err, store.ErrNotFound)
	u.Policies = nil
	require.NoError(t, s.CreateUser(ctx, u, store.Effects{}))
	_, err = s.UpdateUser(ctx, "u1", store.Condition{}, store.UserChange{SetRole: true, Role: ptr("nope")}, store.Effects{})
	require.ErrorIs(t, err, store.ErrRoleNotFound)
	_, err = s.UpdateUser(ctx, "u1", store.Condition{}, store.UserChange{SetPolicies: true, Policies: []string{"nope"}}, store.Effects{})
	require.ErrorIs(t, err, store.ErrPolicyNotFound)
	require.ErrorIs(t, s.UpdateUsers(ctx, []string{"u1"}, store.Condition{}, store.UserChange{SetRole: true, Role: ptr("nope")}), store.ErrRoleNotFound)
	require.ErrorIs(t, s.UpdateUsers(ctx, []string{"u1"}, store.Condition{}, store.UserChange{SetPolicies: true, Policies: []string{"nope"}}), store.ErrPolicyNotFound)
}

func ptr[T any](v T) *T { return &v }

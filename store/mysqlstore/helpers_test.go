package mysqlstore_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/mysqlstore"
)

// TestMain says, in one line, when USERS_TEST_MYSQL_DSN is unset and no
// test ran against MySQL or MariaDB.
func TestMain(m *testing.M) { testenv.Main(m, "mysqlstore", testenv.MySQL) }

// testDSN returns the MySQL or MariaDB server to test against, named by
// USERS_TEST_MYSQL_DSN (e.g. root@tcp(127.0.0.1:3306)/test). The user must
// be allowed to create and drop databases: each test gets one of its own.
// Without the variable the test skips, except under CI (CI=true), where
// nothing may skip.
func testDSN(t testing.TB) string {
	t.Helper()
	return testenv.MySQL.DSN(t)
}

// newDatabase creates a database of its own for the test, dropped with
// everything in it when the test ends, and returns the DSN that names it.
func newDatabase(t testing.TB) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(testDSN(t))
	require.NoError(t, err)
	server := cfg.FormatDSN()
	cfg.DBName = sharedtest.Scratch(t, func(stmt string) error {
		admin, err := sql.Open("mysql", server)
		if err != nil {
			return err
		}
		defer admin.Close()
		_, err = admin.Exec(stmt)
		return err
	}, "CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "DROP DATABASE %s")
	return cfg.FormatDSN()
}

// newDB opens a handle on dsn, closed when the test ends (before the
// database is dropped). Several handles on one database stand in for
// several instances of an app.
func newDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	// The server's connection limit (151 by default) is shared by every
	// test running at once.
	db.SetMaxOpenConns(12)
	db.SetMaxIdleConns(12)
	t.Cleanup(func() { db.Close() })
	return db
}

// newStore returns a Store on a fresh database.
func newStore(t testing.TB) *mysqlstore.Store {
	t.Helper()
	s, err := mysqlstore.New(context.Background(), newDB(t, newDatabase(t)))
	require.NoError(t, err)
	return s
}

func ptr[T any](v T) *T { return &v }

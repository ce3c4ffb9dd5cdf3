package pgstore_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/internal/testkit"
	"github.com/gousers/users/store/pgstore"
)

// TestMain says, in one line, when USERS_TEST_POSTGRES_DSN is unset and no
// test ran against PostgreSQL.
func TestMain(m *testing.M) { testenv.Main(m, "pgstore", testenv.Postgres) }

// testDSN returns the PostgreSQL server to test against, named by
// USERS_TEST_POSTGRES_DSN (e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). Without one
// the test skips, except under CI (CI=true), where nothing may skip.
func testDSN(t testing.TB) string {
	t.Helper()
	return testenv.Postgres.DSN(t)
}

// newSchema creates a schema of its own for the test, dropped with
// everything in it when the test ends, so that tests and runs never see
// each other's rows.
func newSchema(t testing.TB) string {
	t.Helper()
	dsn := testDSN(t)
	return sharedtest.Scratch(t, func(stmt string) error {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, stmt)
		return err
	}, "CREATE SCHEMA %s", "DROP SCHEMA %s CASCADE")
}

// newPool opens a pool whose connections use schema, closed when the test
// ends (before the schema is dropped). Several pools on one schema stand in
// for several instances of an app.
func newPool(t testing.TB, schema string) *pgxpool.Pool {
	t.Helper()
	return newPoolWith(t, schema, nil)
}

// newPoolWith is newPool with more run-time parameters.
func newPoolWith(t testing.TB, schema string, params map[string]string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	for k, v := range params {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// newStore returns a Store on a fresh schema.
func newStore(t testing.TB) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(context.Background(), newPool(t, newSchema(t)))
	require.NoError(t, err)
	return s
}

// The fixtures every store's tests share.
var (
	t0     = testkit.T0
	hashOf = testkit.HashOf
	user   = testkit.User
	mail   = testkit.Mail
)

func ptr[T any](v T) *T { return &v }

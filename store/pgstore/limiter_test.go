package pgstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/pgstore"
	"github.com/gousers/users/store/storetest/limitertest"
)

var _ users.Limiter = (*pgstore.Limiter)(nil)

// newLimiter returns a Limiter on pool, failing the test if it cannot.
func newLimiter(t testing.TB, pool *pgxpool.Pool, name string, points int, window time.Duration, opts ...pgstore.LimiterOption) *pgstore.Limiter {
	t.Helper()
	l, err := pgstore.NewLimiter(context.Background(), pool, name, points, window, opts...)
	require.NoError(t, err)
	return l
}

// limiterDatabase is the shared limiter suite's factory: a fresh schema;
// each limiter (instance) gets a pool of its own with the run-time
// parameters params.
func limiterDatabase(params map[string]string) limitertest.Factory {
	return func(t *testing.T) limitertest.Database {
		schema := newSchema(t)
		admin := newPool(t, schema)
		return limitertest.Database{
			NewLimiter: func(t *testing.T, name string, points int, window time.Duration, clock func() time.Time) users.Limiter {
				return newLimiter(t, newPoolWith(t, schema, params), name, points, window, pgstore.WithLimiterClock(clock))
			},
			Rows: func(t *testing.T) (rows, events int) {
				require.NoError(t, admin.QueryRow(context.Background(),
					`SELECT count(*), COALESCE(sum(n), 0) FROM users_limiter_events`).Scan(&rows, &events))
				return rows, events
			},
			Block: func(t *testing.T) func() {
				tx, err := newPool(t, schema).Begin(context.Background())
				require.NoError(t, err)
				_, err = tx.Exec(context.Background(), "LOCK TABLE users_limiter_events IN ACCESS EXCLUSIVE MODE")
				require.NoError(t, err)
				return func() { require.NoError(t, tx.Rollback(context.Background())) }
			},
			Break: func(t *testing.T) {
				_, err := admin.Exec(context.Background(), "DROP TABLE users_limiter_events")
				require.NoError(t, err)
			},
			NewStore: func(t *testing.T) store.Store {
				s, err := pgstore.New(context.Background(), newPool(t, schema))
				require.NoError(t, err)
				return s
			},
		}
	}
}

// TestLimiter runs the limiter suite shared by the SQL limiters.
func TestLimiter(t *testing.T) {
	t.Parallel() // its sub-tests run side by side with the package's other tests
	limitertest.Run(t, limiterDatabase(nil))
}

// Four instances racing on one key allow exactly the limit whatever the
// pools' default isolation level: the Limiter sets its own.
func TestLimiterConcurrentInstancesIsolation(t *testing.T) {
	t.Parallel()
	for _, iso := range []string{"repeatable read", "serializable"} {
		t.Run(strings.ReplaceAll(iso, " ", "-"), func(t *testing.T) {
			t.Parallel()
			limitertest.ConcurrentInstances(t, limiterDatabase(map[string]string{"default_transaction_isolation": iso}))
		})
	}
}

// The table holds only a 32-byte hash of name and key, never the key.
func TestLimiterStoresNoKey(t *testing.T) {
	t.Parallel()
	pool := newPool(t, newSchema(t))
	l := newLimiter(t, pool, "login", 1, time.Hour)
	const key = "Secret.Person+tag@Example.com"
	ctx := context.Background()
	_, err := l.Allow(ctx, key)
	require.NoError(t, err)
	var cols []string
	rows, err := pool.Query(ctx, `SELECT column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = 'users_limiter_events' ORDER BY ordinal_position`)
	require.NoError(t, err)
	for rows.Next() {
		var c string
		require.NoError(t, rows.Scan(&c))
		cols = append(cols, c)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"key_hash", "at", "n", "expires_at"}, cols)
	var hashLen, withKey int
	require.NoError(t, pool.QueryRow(ctx, `SELECT octet_length(key_hash),
	(SELECT count(*) FROM users_limiter_events e WHERE position(convert_to($1, 'UTF8') IN e.key_hash) > 0)
FROM users_limiter_events`, key).Scan(&hashLen, &withKey))
	assert.Equal(t, 32, hashLen)
	assert.Zero(t, withKey)
}

// Allow stays cheap as the table grows: on 20,000 live rows neither the
// sweep nor the count reads the whole table, whether or not the table has
// statistics yet, and whether PostgreSQL plans the prepared statements
// for their parameters or generically. (The sweep once did, on every
// call: 0.5 ms more per Allow at 10,000 rows, growing with the table.)
func TestLimiterStatementsUseIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t, newSchema(t))
	l := newLimiter(t, pool, "login", 10, time.Minute)
	// No autovacuum: the first round must plan without statistics.
	_, err := pool.Exec(ctx, `ALTER TABLE users_limiter_events SET (autovacuum_enabled = false);
INSERT INTO users_limiter_events (key_hash, at, n, expires_at)
SELECT sha256(i::text::bytea), t, 1, t + 60000000000
FROM generate_series(1, 20000) i, LATERAL (SELECT (extract(epoch FROM clock_timestamp()) * 1000000000)::bigint + i AS t) x`)
	require.NoError(t, err)
	sweep, decide, h := pgstore.LimiterStatements(l, "k")
	// A connection of its own, whose settings and prepared statements
	// die with it.
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	require.NoError(t, err)
	defer conn.Close(ctx)
	now := time.Now().UnixNano()
	for _, stats := range []string{"nostats", "analyzed"} {
		if stats == "analyzed" {
			_, err := conn.Exec(ctx, "ANALYZE users_limiter_events")
			require.NoError(t, err)
		}
		for _, mode := range []string{"custom", "generic"} {
			_, err := conn.Exec(ctx, "SET plan_cache_mode = force_"+mode+"_plan")
			require.NoError(t, err)
			name := stats + "_" + mode
			_, err = conn.Exec(ctx, "PREPARE sweep_"+name+"(bigint) AS "+sweep)
			require.NoError(t, err)
			_, err = conn.Exec(ctx, "PREPARE decide_"+name+"(bytea, bigint, bigint, integer) AS "+decide)
			require.NoError(t, err)
			// Each statement must find its rows by an index condition:
			// an index scan that filters every entry is no better than a
			// sequential scan.
			sweepCond, decideCond := "Index Cond: (expires_at <= ", "Index Cond: ((key_hash = "
			for ex, cond := range map[string]string{
				"EXECUTE sweep_" + name + "(NULL)":                                          sweepCond,
				fmt.Sprintf("EXECUTE sweep_%s(%d)", name, now):                              sweepCond,
				fmt.Sprintf(`EXECUTE decide_%s('\x%x', NULL, 60000000000, 10)`, name, h):    decideCond,
				fmt.Sprintf(`EXECUTE decide_%s('\x%x', %d, 60000000000, 10)`, name, h, now): decideCond,
			} {
				var plan strings.Builder
				rows, err := conn.Query(ctx, "EXPLAIN "+ex)
				require.NoError(t, err)
				for rows.Next() {
					var line string
					require.NoError(t, rows.Scan(&line))
					plan.WriteString(line + "\n")
				}
				require.NoError(t, rows.Err())
				assert.NotContains(t, plan.String(), "Seq Scan", "%s:\n%s", ex, plan.String())
				assert.Contains(t, plan.String(), cond, "%s:\n%s", ex, plan.String())
			}
		}
	}
}

// WithLimiterSchema puts the table in the named schema, created if need
// be, whatever the pool's search_path; a Store in that schema finds it
// migrated to the same version.
func TestLimiterWithSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	other := newSchema(t)
	pool := newPool(t, other)
	schema := other + "_lim"
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	l := newLimiter(t, pool, "login", 1, time.Hour, pgstore.WithLimiterSchema(schema))
	_, err := l.Allow(ctx, "k")
	require.NoError(t, err)
	_, err = l.Allow(ctx, "k")
	require.ErrorIs(t, err, users.ErrRateLimited)
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.users_limiter_events`).Scan(&n))
	assert.Equal(t, 1, n)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = $1`, other).Scan(&n))
	assert.Zero(t, n, "nothing in the search_path schema")

	_, err = pgstore.New(ctx, pool, pgstore.WithSchema(schema))
	require.NoError(t, err)
	var versions []int
	rows, err := pool.Query(ctx, `SELECT version FROM `+schema+`.users_schema_migrations ORDER BY version`)
	require.NoError(t, err)
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		versions = append(versions, v)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, migrationVersions(t), versions)
}

// migrationVersions are the versions of the package's migration files, in
// order (numbers may skip).
func migrationVersions(t *testing.T) []int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var vs []int
	for _, f := range files {
		v, err := strconv.Atoi(filepath.Base(f)[:4])
		require.NoError(t, err, f)
		vs = append(vs, v)
	}
	return vs
}

// Bad arguments are errors, reported before any connection is made.
func TestNewLimiterArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://nobody@127.0.0.1:1/none") // connects lazily: never here
	require.NoError(t, err)
	defer pool.Close()
	for _, tc := range []struct {
		name   string
		pool   *pgxpool.Pool
		lname  string
		points int
		window time.Duration
	}{
		{"NilPool", nil, "login", 1, time.Hour},
		{"EmptyName", pool, "", 1, time.Hour},
		{"ZeroPoints", pool, "login", 0, time.Hour},
		{"ZeroWindow", pool, "login", 1, 0},
		{"NegativeWindow", pool, "login", 1, -time.Second},
	} {
		l, err := pgstore.NewLimiter(ctx, tc.pool, tc.lname, tc.points, tc.window)
		assert.Error(t, err, tc.name)
		assert.Nil(t, l, tc.name)
	}
}

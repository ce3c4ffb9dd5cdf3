package mysqlstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/mysqlstore"
	"github.com/gousers/users/store/storetest/limitertest"
)

var _ users.Limiter = (*mysqlstore.Limiter)(nil)

// limiterDatabase is the shared limiter suite's factory: a fresh database;
// params are added to every handle's DSN (session variables).
func limiterDatabase(params map[string]string) limitertest.Factory {
	return func(t *testing.T) limitertest.Database {
		cfg, err := mysql.ParseDSN(newDatabase(t))
		require.NoError(t, err)
		if len(params) > 0 {
			cfg.Params = params
		}
		dsn := cfg.FormatDSN()
		admin := newDB(t, dsn)
		return limitertest.Database{
			NewLimiter: func(t *testing.T, name string, points int, window time.Duration, clock func() time.Time) users.Limiter {
				l, err := mysqlstore.NewLimiter(context.Background(), newDB(t, dsn), name, points, window, mysqlstore.WithLimiterClock(clock))
				require.NoError(t, err)
				return l
			},
			Rows: func(t *testing.T) (rows, events int) {
				require.NoError(t, admin.QueryRow(`SELECT COUNT(*), COALESCE(SUM(n), 0) FROM users_limiter_events`).Scan(&rows, &events))
				return rows, events
			},
			Block: func(t *testing.T) func() {
				conn, err := newDB(t, dsn).Conn(context.Background())
				require.NoError(t, err)
				_, err = conn.ExecContext(context.Background(), "LOCK TABLES users_limiter_events WRITE, users_limiter_keys WRITE")
				require.NoError(t, err)
				return func() {
					_, err := conn.ExecContext(context.Background(), "UNLOCK TABLES")
					require.NoError(t, err)
					require.NoError(t, conn.Close())
				}
			},
			Break: func(t *testing.T) {
				_, err := admin.Exec("DROP TABLE users_limiter_events")
				require.NoError(t, err)
			},
			NewStore: func(t *testing.T) store.Store {
				s, err := mysqlstore.New(context.Background(), newDB(t, dsn))
				require.NoError(t, err)
				return s
			},
		}
	}
}

// TestLimiter runs the shared limiter suite on MariaDB/MySQL.
func TestLimiter(t *testing.T) {
	t.Parallel() // its sub-tests run side by side with the package's other tests
	limitertest.Run(t, limiterDatabase(nil))
}

// The limiter sets its own isolation level: a session default of
// SERIALIZABLE changes nothing.
func TestLimiterConcurrentInstancesSerializable(t *testing.T) {
	t.Parallel()
	limitertest.ConcurrentInstances(t, limiterDatabase(map[string]string{isolationVar(t): "'SERIALIZABLE'"}))
}

// isolationVar is the server's name of the session's default isolation
// level: MySQL 8 has only transaction_isolation, MariaDB before 11.1 only
// tx_isolation.
func isolationVar(t *testing.T) string {
	db := newDB(t, testDSN(t))
	var v sql.NullString
	if err := db.QueryRow("SELECT @@transaction_isolation").Scan(&v); err == nil {
		return "transaction_isolation"
	}
	return "tx_isolation"
}

// The table holds a 32-byte hash of name and key, never the key.
func TestLimiterStoresNoKey(t *testing.T) {
	t.Parallel()
	db := newDB(t, newDatabase(t))
	l, err := mysqlstore.NewLimiter(context.Background(), db, "login", 1, time.Hour)
	require.NoError(t, err)
	const key = "Secret.Person+tag@Example.com"
	_, err = l.Allow(context.Background(), key)
	require.NoError(t, err)
	for _, table := range []string{"users_limiter_events", "users_limiter_keys"} {
		var cols []string
		rows, err := db.Query(`SELECT column_name FROM information_schema.columns
WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`, table)
		require.NoError(t, err)
		for rows.Next() {
			var c string
			require.NoError(t, rows.Scan(&c))
			cols = append(cols, c)
		}
		require.NoError(t, rows.Err())
		assert.NotContains(t, strings.Join(cols, ","), "key,", table)
		var hashLen, withKey int
		require.NoError(t, db.QueryRow(`SELECT MAX(LENGTH(key_hash)),
	(SELECT COUNT(*) FROM `+table+` e WHERE LOCATE(CAST(? AS BINARY), e.key_hash) > 0) FROM `+table, key).Scan(&hashLen, &withKey), table)
		assert.Equal(t, 32, hashLen, table)
		assert.Zero(t, withKey, table)
	}
}

// Allow finds its rows by index, not by reading the table: EXPLAIN of its
// count and sweeps, with the clock given and with the server's, names an
// index on 20,000 live rows, and no full scan.
func TestLimiterStatementsUseIndexes(t *testing.T) {
	t.Parallel()
	db := newDB(t, newDatabase(t))
	l, err := mysqlstore.NewLimiter(context.Background(), db, "login", 10, time.Minute)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO users_limiter_events (key_hash, at, n, expires_at)
SELECT UNHEX(SHA2(i, 256)), 1700000000000000000 + i, 1, 1700000060000000000 + i
FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS i
	FROM (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
		UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) a,
	(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
		UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) b,
	(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
		UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) c,
	(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
		UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) e,
	(SELECT 0 d UNION ALL SELECT 1) f) seq`)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO users_limiter_keys (key_hash, expires_at) SELECT key_hash, expires_at FROM users_limiter_events`)
	require.NoError(t, err)
	_, err = db.Exec(`ANALYZE TABLE users_limiter_events, users_limiter_keys`)
	require.NoError(t, err)
	count, sweepEvents, sweepKeys, _ := mysqlstore.LimiterStatements(l, "k")
	// A key that has a row: the optimizer answers an empty range from the
	// index alone, with no plan to show.
	sum := sha256.Sum256([]byte("5"))
	h := sum[:]
	now := int64(1700000000000005000)
	// And one in the server clock's window.
	_, err = db.Exec(`INSERT INTO users_limiter_events (key_hash, at, n, expires_at) VALUES (?, ?, 1, ?)`,
		h, time.Now().UnixNano(), time.Now().Add(time.Hour).UnixNano())
	require.NoError(t, err)
	for _, c := range []struct {
		q     string
		args  []any
		index string
	}{
		{count, []any{now, h, now, int64(time.Minute)}, "key=PRIMARY"},
		{count, []any{nil, h, nil, int64(time.Minute)}, "key=PRIMARY"},
		{sweepEvents, []any{now}, "key=users_limiter_events_expires_idx"},
		{sweepKeys, []any{now}, "key=users_limiter_keys_expires_idx"},
	} {
		plan := explain(t, db, c.q, c.args...)
		assert.NotContains(t, plan, "type=ALL", "%s:\n%s", c.q, plan)
		assert.Contains(t, plan, c.index, "%s:\n%s", c.q, plan)
	}
}

func explain(t *testing.T, db *sql.DB, q string, args ...any) string {
	rows, err := db.Query("EXPLAIN "+q, args...)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var sb strings.Builder
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for i, c := range cols {
			fmt.Fprintf(&sb, "%s=%s ", c, vals[i].String)
		}
		sb.WriteString("\n")
	}
	require.NoError(t, rows.Err())
	return sb.String()
}

// Bad arguments are errors, reported before any connection is made.
func TestNewLimiterArguments(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("mysql", "nobody@tcp(127.0.0.1:1)/none") // connects lazily: never here
	require.NoError(t, err)
	defer db.Close()
	for _, tc := range []struct {
		name   string
		db     *sql.DB
		lname  string
		points int
		window time.Duration
	}{
		{"NilDB", nil, "login", 1, time.Hour},
		{"EmptyName", db, "", 1, time.Hour},
		{"ZeroPoints", db, "login", 0, time.Hour},
		{"ZeroWindow", db, "login", 1, 0},
		{"NegativeWindow", db, "login", 1, -time.Second},
	} {
		l, err := mysqlstore.NewLimiter(context.Background(), tc.db, tc.lname, tc.points, tc.window)
		assert.Error(t, err, tc.name)
		assert.Nil(t, l, tc.name)
	}
}

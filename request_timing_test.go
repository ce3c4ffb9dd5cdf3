package users_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/mysqlstore"
	"github.com/gousers/users/store/pgstore"
	"github.com/gousers/users/store/sqlitestore"
)

// requestStallSamples is the sample per group of the rank test: enough for
// a difference of a fraction of a millisecond, as the unpadded calls
// show on SQLite, to reach |z| > 4.
const requestStallSamples = 30

// On a real store, RequestPasswordReset and ResendVerification take as
// long for an address with an account as for one without: a one-sided
// write commits on one path only, and the calls are padded to
// Limits.RequestStall. A Mann-Whitney rank test over interleaved calls
// must not tell the paths apart (|z| < 3.5). SQLite always;
// PostgreSQL and MariaDB when USERS_TEST_POSTGRES_DSN and
// USERS_TEST_MYSQL_DSN are set. Not parallel: it measures time.
//
// Checked against the protection: with RequestStall 0 on SQLite, the
// calls for the real account took longer and z was above 4.
func TestRequestStallTimingOnRealStores(t *testing.T) {
	testenv.SkipTiming(t)
	// The stall must exceed the slower path's time on the store, under
	// the machine's load: MariaDB's commit takes longest.
	type real struct {
		open  func(t *testing.T) store.Store
		stall time.Duration
	}
	stores := map[string]real{"sqlite": {sqliteStore, 25 * time.Millisecond}}
	if os.Getenv("USERS_TEST_POSTGRES_DSN") != "" {
		stores["postgres"] = real{pgStore, 25 * time.Millisecond}
	}
	if os.Getenv("USERS_TEST_MYSQL_DSN") != "" {
		stores["mariadb"] = real{mysqlStore, 80 * time.Millisecond}
	}
	for name, st := range stores {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, st.open(t), limits(func(l *users.Limits) { l.RequestStall = st.stall }))
			e.open()
			_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "known@example.com", Password: "the-owners-password"})
			require.NoError(t, err)
			require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "waiting@example.com", Password: "pw"}))
			for _, c := range []struct {
				what       string
				real, none string
				call       func(email string) error
			}{
				{"RequestPasswordReset", "known@example.com", "nobody@example.com",
					func(email string) error { return e.m.RequestPasswordReset(e.ctx, email, "") }},
				{"ResendVerification", "waiting@example.com", "nobody@example.com",
					func(email string) error { return e.m.ResendVerification(e.ctx, email, "") }},
			} {
				timeIt := func(email string) time.Duration {
					e.clock.Advance(13 * time.Minute) // under the mail limit
					t0 := time.Now()
					require.NoError(t, c.call(email))
					return time.Since(t0)
				}
				for range 3 { // warm up
					timeIt(c.real)
					timeIt(c.none)
				}
				var a, b []time.Duration
				for i := range requestStallSamples {
					if i%2 == 0 {
						a, b = append(a, timeIt(c.real)), append(b, timeIt(c.none))
					} else {
						b, a = append(b, timeIt(c.none)), append(a, timeIt(c.real))
					}
				}
				z := rankZ(a, b)
				t.Logf("%s on %s: medians %v (account) and %v (none), z = %.2f", c.what, name, medianOf(a), medianOf(b), z)
				require.Less(t, math.Abs(z), 3.5, "%s: the time tells the paths apart", c.what)
			}
		})
	}
}

// requestWorkSamples is how many interleaved calls of each path
// TestRequestWorkTimingOnRealStores times.
const requestWorkSamples = 40

// On a real store, RequestPasswordReset and ResendVerification do the
// same work for an address without an account as for one with: one
// lookup, a token minted, a mail rendered, and one write transaction,
// which the store commits on one path and refuses on the other. Unpadded
// (RequestStall 0), the path without an account must take at least half
// as long as the path with one, by the medians of interleaved calls
// (about three quarters on SQLite, PostgreSQL and MariaDB: the commit
// costs the one path a little more). On memstore every path takes
// microseconds and this cannot be seen; the stall hides it in service,
// so TestRequestStallTimingOnRealStores cannot see it either. SQLite
// always; PostgreSQL and MariaDB when their DSNs are set. Not parallel:
// it measures time.
//
// Checked against an early return for an address without an account in
// RequestPasswordReset (after the lookup): on SQLite the path without an
// account took a small fraction of the other, and the test failed.
func TestRequestWorkTimingOnRealStores(t *testing.T) {
	testenv.SkipTiming(t)
	stores := map[string]func(t *testing.T) store.Store{"sqlite": sqliteStore}
	if os.Getenv("USERS_TEST_POSTGRES_DSN") != "" {
		stores["postgres"] = pgStore
	}
	if os.Getenv("USERS_TEST_MYSQL_DSN") != "" {
		stores["mariadb"] = mysqlStore
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, open(t), limits(func(l *users.Limits) { l.RequestStall = 0 }))
			e.open()
			_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "known@example.com", Password: "the-owners-password"})
			require.NoError(t, err)
			require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "waiting@example.com", Password: "pw"}))
			for _, c := range []struct {
				what       string
				real, none string
				call       func(email string) error
			}{
				{"RequestPasswordReset", "known@example.com", "nobody@example.com",
					func(email string) error { return e.m.RequestPasswordReset(e.ctx, email, "") }},
				{"ResendVerification", "waiting@example.com", "nobody@example.com",
					func(email string) error { return e.m.ResendVerification(e.ctx, email, "") }},
			} {
				timeIt := func(email string) time.Duration {
					e.clock.Advance(13 * time.Minute) // under the mail limit
					t0 := time.Now()
					require.NoError(t, c.call(email))
					return time.Since(t0)
				}
				for range 3 { // warm up
					timeIt(c.real)
					timeIt(c.none)
				}
				var a, b []time.Duration
				for i := range requestWorkSamples {
					if i%2 == 0 {
						a, b = append(a, timeIt(c.real)), append(b, timeIt(c.none))
					} else {
						b, a = append(b, timeIt(c.none)), append(a, timeIt(c.real))
					}
				}
				ma, mb := medianOf(a), medianOf(b)
				t.Logf("%s on %s: medians %v (account) and %v (none), ratio %.2f", c.what, name, ma, mb, float64(mb)/float64(ma))
				require.GreaterOrEqual(t, mb, ma/2, "%s: the path without an account skips work", c.what)
			}
		})
	}
}

// rankZ is the Mann-Whitney U statistic of a against b as a z-score
// (normal approximation, ties ranked by their mean rank).
func rankZ(a, b []time.Duration) float64 {
	type obs struct {
		d     time.Duration
		fromA bool
	}
	all := make([]obs, 0, len(a)+len(b))
	for _, d := range a {
		all = append(all, obs{d, true})
	}
	for _, d := range b {
		all = append(all, obs{d, false})
	}
	slices.SortFunc(all, func(x, y obs) int { return int(x.d - y.d) })
	var rankA float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].d == all[i].d {
			j++
		}
		mean := float64(i+j+1) / 2 // ranks i+1 … j
		for k := i; k < j; k++ {
			if all[k].fromA {
				rankA += mean
			}
		}
		i = j
	}
	n1, n2 := float64(len(a)), float64(len(b))
	u := rankA - n1*(n1+1)/2
	return (u - n1*n2/2) / math.Sqrt(n1*n2*(n1+n2+1)/12)
}

func sqliteStore(t *testing.T) store.Store {
	s, db, err := sqlitestore.Open(filepath.Join(t.TempDir(), "users.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return s
}

func randomName(t *testing.T) string {
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "users_timing_" + hex.EncodeToString(b)
}

func pgStore(t *testing.T) store.Store {
	ctx := context.Background()
	dsn := os.Getenv("USERS_TEST_POSTGRES_DSN")
	schema := randomName(t)
	admin, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(admin.Close)
	_, err = admin.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := pgstore.New(ctx, pool)
	require.NoError(t, err)
	return s
}

func mysqlStore(t *testing.T) store.Store {
	ctx := context.Background()
	cfg, err := mysql.ParseDSN(os.Getenv("USERS_TEST_MYSQL_DSN"))
	require.NoError(t, err)
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	name := randomName(t)
	_, err = admin.ExecContext(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP DATABASE "+name) })
	cfg.DBName = name
	db, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	s, err := mysqlstore.New(ctx, db)
	require.NoError(t, err)
	return s
}

// medianOf is the median of ds (ds is sorted in place).
func medianOf(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

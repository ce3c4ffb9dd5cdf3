package users_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
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
// USERS_TEST_MYSQL_DSN are set. Not parallel with other tests: it
// measures time. Its own streams of calls (each call on each store, on
// one Manager per store) run side by side: a call spends nearly all of its
// time waiting out the stall, so the streams hardly compete, and each
// stream interleaves its own two paths.
//
// Checked against the protection: with RequestStall 0 on SQLite, the
// calls for the real account took longer and z was above 4; with the
// streams side by side and RequestStall 0 on every store, |z| was above
// 3.5 for every call on every store.
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
	// A stream times one call on one store: requestStallSamples calls for
	// each path, interleaved, after a warm-up.
	type stream struct {
		name       string // store/call
		real, none string
		call       func(email string) error
		advance    func()
		a, b       []time.Duration // the real path's times, the other's
		err        error
	}
	var streams []*stream
	for name, st := range stores {
		e := newEnvOn(t, st.open(t), limits(func(l *users.Limits) { l.RequestStall = st.stall }))
		e.open()
		_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "known@example.com", Password: "the-owners-password"})
		require.NoError(t, err)
		require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "waiting@example.com", Password: "pw"}))
		advance := func() { e.clock.Advance(13 * time.Minute) } // under the mail limit
		streams = append(streams,
			&stream{name: name + "/RequestPasswordReset", real: "known@example.com", none: "nobody@example.com", advance: advance,
				call: func(email string) error { return e.m.RequestPasswordReset(e.ctx, email, "") }},
			&stream{name: name + "/ResendVerification", real: "waiting@example.com", none: "nobody@example.com", advance: advance,
				call: func(email string) error { return e.m.ResendVerification(e.ctx, email, "") }})
	}
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Go(func() {
			timeIt := func(email string) time.Duration {
				s.advance()
				t0 := time.Now()
				if err := s.call(email); err != nil && s.err == nil {
					s.err = err
				}
				return time.Since(t0)
			}
			for range 3 { // warm up
				timeIt(s.real)
				timeIt(s.none)
			}
			for i := range requestStallSamples {
				if i%2 == 0 {
					s.a, s.b = append(s.a, timeIt(s.real)), append(s.b, timeIt(s.none))
				} else {
					s.b, s.a = append(s.b, timeIt(s.none)), append(s.a, timeIt(s.real))
				}
			}
		})
	}
	wg.Wait()
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) {
			require.NoError(t, s.err)
			z := rankZ(s.a, s.b)
			t.Logf("%s: medians %v (account) and %v (none), z = %.2f", s.name, medianOf(s.a), medianOf(s.b), z)
			require.Less(t, math.Abs(z), 3.5, "%s: the time tells the paths apart", s.name)
		})
	}
}

// requestWorkSamples is how many interleaved calls of each kind
// TestRequestWorkTimingOnRealStores times.
const requestWorkSamples = 40

// On a real store, RequestPasswordReset and ResendVerification do their
// whole work for an address without an account (or with one in another
// state) too: one lookup, a token minted, a mail rendered, and one write
// transaction that the store refuses. Unpadded (RequestStall 0), such a
// call must take at least 80% of what one lookup and one refused write
// take on the same store, timed directly and interleaved (medians): the
// call does that and more. A call that returns early for such an address
// — after the lookup, say — takes about a lookup alone. (The path with an
// account commits its write and takes several times longer on every
// store: only the stall, which TestRequestStallTimingOnRealStores checks,
// hides that; so the paths are not compared with each other here.)
// SQLite always; PostgreSQL and MariaDB when their DSNs are set. Not
// parallel: it measures time.
//
// Checked against an early return for an address without an active
// account in RequestPasswordReset, after the lookup: the calls took 5%
// (SQLite), 8% (PostgreSQL) and 34% (MariaDB) of the lower bound, and the
// test failed on every store; TestRequestStallTimingOnRealStores and
// TestPasswordResetRequestTimingDoesNotRevealAccounts passed.
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
			st := open(t)
			e := newEnvOn(t, st, limits(func(l *users.Limits) { l.RequestStall = 0 }))
			e.open()
			_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "suspended@example.com", Status: users.StatusSuspended})
			require.NoError(t, err)
			active := users.StatusActive
			// The least work of a call: one lookup, one write refused.
			bound := func(email string) func() error {
				key := users.NormalizeEmail(email)
				return func() error {
					if _, err := st.GetUserByEmailKey(e.ctx, key); err != nil && !errors.Is(err, store.ErrNotFound) {
						return err
					}
					_, err := st.UpdateUser(e.ctx, "no-such-user-"+randomName(t), store.Condition{Status: active, EmailKey: &key},
						store.UserChange{UpdatedAt: e.clock.Now()}, store.Effects{})
					if err == nil {
						return errors.New("the write was not refused")
					}
					return nil
				}
			}
			for _, c := range []struct {
				what  string
				email string
				call  func(email string) error
			}{
				{"RequestPasswordReset, no account", "nobody@example.com",
					func(email string) error { return e.m.RequestPasswordReset(e.ctx, email, "") }},
				{"RequestPasswordReset, suspended", "suspended@example.com",
					func(email string) error { return e.m.RequestPasswordReset(e.ctx, email, "") }},
				{"ResendVerification, no account", "nobody@example.com",
					func(email string) error { return e.m.ResendVerification(e.ctx, email, "") }},
			} {
				timeIt := func(f func() error) time.Duration {
					e.clock.Advance(13 * time.Minute) // under the mail limit
					t0 := time.Now()
					require.NoError(t, f())
					return time.Since(t0)
				}
				call := func() error { return c.call(c.email) }
				least := bound(c.email)
				for range 3 { // warm up
					timeIt(call)
					timeIt(least)
				}
				var calls, bounds []time.Duration
				for i := range requestWorkSamples {
					if i%2 == 0 {
						calls, bounds = append(calls, timeIt(call)), append(bounds, timeIt(least))
					} else {
						bounds, calls = append(bounds, timeIt(least)), append(calls, timeIt(call))
					}
				}
				mc, mb := medianOf(calls), medianOf(bounds)
				t.Logf("%s on %s: median %v, a lookup and a refused write %v (ratio %.2f)", c.what, name, mc, mb, float64(mc)/float64(mb))
				require.GreaterOrEqual(t, mc, mb*4/5, "%s: the call skips work", c.what)
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

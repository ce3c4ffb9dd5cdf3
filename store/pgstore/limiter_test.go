package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/pgstore"
)

var _ users.ResettableLimiter = (*pgstore.Limiter)(nil)

// limiterClock is a fake clock, safe for concurrent use.
type limiterClock struct {
	mu  sync.Mutex
	now time.Time
}

func newLimiterClock() *limiterClock {
	return &limiterClock{now: time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)}
}

func (c *limiterClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *limiterClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newLimiter returns a Limiter on pool, failing the test if it cannot.
func newLimiter(t testing.TB, pool *pgxpool.Pool, name string, points int, window time.Duration, opts ...pgstore.LimiterOption) *pgstore.Limiter {
	t.Helper()
	l, err := pgstore.NewLimiter(context.Background(), pool, name, points, window, opts...)
	require.NoError(t, err)
	return l
}

// limiterRows returns how many rows the limiter table holds, and how many
// events they record.
func limiterRows(t testing.TB, pool *pgxpool.Pool) (rows, events int) {
	t.Helper()
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT count(*), COALESCE(sum(n), 0) FROM users_limiter_events`).Scan(&rows, &events))
	return rows, events
}

// limiterStep is one event of a sequence: the clock moves by advance, then
// key asks.
type limiterStep struct {
	advance time.Duration
	key     string
}

// The Limiter gives the same answer as users.MemoryLimiter — allowed or
// not, and the same RetryAfter to the nanosecond — on the same sequences of
// events at the same times.
func TestLimiterMatchesMemoryLimiter(t *testing.T) {
	t.Parallel()
	steps := func(advance time.Duration, keys ...string) []limiterStep {
		var s []limiterStep
		for i, k := range keys {
			s = append(s, limiterStep{advance: advance * time.Duration(min(i, 1)), key: k})
		}
		return s
	}
	concat := func(parts ...[]limiterStep) []limiterStep {
		var s []limiterStep
		for _, p := range parts {
			s = append(s, p...)
		}
		return s
	}
	// A long pseudo-random sequence on three keys, with nanosecond jitter
	// and repeated instants.
	var random []limiterStep
	seed := uint32(7)
	for range 300 {
		seed = seed*1664525 + 1013904223
		random = append(random, limiterStep{
			advance: time.Duration(seed>>8%40)*time.Second/4 + time.Duration(seed>>4%3),
			key:     fmt.Sprintf("user%d@example.com", seed>>28%3),
		})
	}
	cases := []struct {
		name   string
		points int
		window time.Duration
		steps  []limiterStep
	}{
		{"SlidingWindow", 3, time.Hour, concat(
			steps(10*time.Minute, "k", "k", "k", "k"), // 0, 10, 20 allowed; 30 denied
			[]limiterStep{
				{30*time.Minute - time.Nanosecond, "k"}, // denied, 1ns to go
				{time.Nanosecond, "k"},                  // 60 min: the 0-min event left
				{0, "k"},                                // 10, 20, 60 fill the window
				{0, "other"},
			})},
		{"SameInstant", 3, time.Minute, concat(
			steps(0, "k", "k", "k", "k", "k"),
			[]limiterStep{{time.Minute - 1, "k"}, {1, "k"}, {0, "k"}, {0, "k"}, {0, "k"}},
		)},
		{"ExactlyOneWindowLater", 2, time.Second, []limiterStep{
			{0, "k"}, {time.Second / 2, "k"}, {time.Second / 2, "k"}, {0, "k"}, {time.Second / 2, "k"}, {0, "k"},
		}},
		{"OnePoint", 1, time.Minute, steps(20*time.Second, "a", "b", "a", "b", "a", "b", "a", "b")},
		{"Random", 4, time.Minute, random},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := newLimiterClock()
			mem := users.NewMemoryLimiter(tc.points, tc.window, users.WithLimiterClock(clock.Now))
			pg := newLimiter(t, newPool(t, newSchema(t)), "test", tc.points, tc.window, pgstore.WithLimiterClock(clock.Now))
			var denied int
			for i, s := range tc.steps {
				clock.Advance(s.advance)
				wantD, wantErr := mem.Allow(ctx, s.key)
				gotD, gotErr := pg.Allow(ctx, s.key)
				require.Equal(t, wantD, gotD, "step %d", i)
				if wantErr == nil {
					require.NoError(t, gotErr, "step %d", i)
					continue
				}
				denied++
				var want, got *users.RateLimitError
				require.ErrorAs(t, wantErr, &want)
				require.ErrorAs(t, gotErr, &got, "step %d", i)
				require.ErrorIs(t, gotErr, users.ErrRateLimited)
				require.Equal(t, *want, *got, "step %d", i)
			}
			assert.NotZero(t, denied, "the sequence exercises denials")
		})
	}
}

// An event counts for exactly one window of the limiter that asks, even
// while its row is still stored: rows written under a longer window (by a
// deployment before the window was shortened) are not yet expired for the
// sweep, and the count itself must leave out those older than the window.
func TestLimiterCountsOnlyItsWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t, newSchema(t))
	clock := newLimiterClock()
	before := newLimiter(t, pool, "login", 2, time.Hour, pgstore.WithLimiterClock(clock.Now))
	after := newLimiter(t, pool, "login", 2, time.Minute, pgstore.WithLimiterClock(clock.Now))
	for range 2 {
		_, err := before.Allow(ctx, "k")
		require.NoError(t, err)
	}
	clock.Advance(time.Minute - 1)
	d, err := after.Allow(ctx, "k")
	require.ErrorIs(t, err, users.ErrRateLimited)
	assert.Equal(t, time.Duration(1), d)
	clock.Advance(1) // exactly one minute: both events have left the window
	_, err = after.Allow(ctx, "k")
	require.NoError(t, err)
	rows, events := limiterRows(t, pool)
	assert.Equal(t, []int{2, 3}, []int{rows, events}, "the old row is still stored, and was not counted")
}

// Four instances (pools), 50 goroutines each, all on one key with
// points=10: exactly 10 are allowed, every other call is a denial, and 10
// events are stored — whatever the pools' default isolation level.
func TestLimiterConcurrentInstances(t *testing.T) {
	t.Parallel()
	for _, iso := range []string{"read committed", "repeatable read", "serializable"} {
		t.Run(strings.ReplaceAll(iso, " ", "-"), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			schema := newSchema(t)
			const instances, goroutines, points = 4, 50, 10
			ls := make([]*pgstore.Limiter, instances)
			var pool *pgxpool.Pool
			for i := range ls {
				pool = newPoolWith(t, schema, map[string]string{"default_transaction_isolation": iso})
				ls[i] = newLimiter(t, pool, "login", points, time.Hour)
			}
			var allowed, deniedN atomic.Int64
			errs := make([]error, instances*goroutines)
			start(instances*goroutines, func(i int) {
				d, err := ls[i%instances].Allow(ctx, "victim@example.com")
				var rl *users.RateLimitError
				switch {
				case err == nil:
					allowed.Add(1)
				case errors.As(err, &rl) && d > 0 && d <= time.Hour && rl.RetryAfter == d:
					deniedN.Add(1)
				default:
					errs[i] = err
				}
			})
			for i, err := range errs {
				require.NoError(t, err, "call %d", i)
			}
			assert.EqualValues(t, points, allowed.Load())
			assert.EqualValues(t, instances*goroutines-points, deniedN.Load())
			_, events := limiterRows(t, pool)
			assert.Equal(t, points, events, "denials record nothing")
		})
	}
}

// Reset forgets a key's events for every instance, and only that key's.
func TestLimiterReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	a := newLimiter(t, newPool(t, schema), "login", 2, time.Hour)
	b := newLimiter(t, newPool(t, schema), "login", 2, time.Hour) // another instance
	for _, k := range []string{"k", "k", "other", "other"} {
		_, err := a.Allow(ctx, k)
		require.NoError(t, err)
	}
	_, err := b.Allow(ctx, "k")
	require.ErrorIs(t, err, users.ErrRateLimited)

	require.NoError(t, b.Reset(ctx, "k"))
	for range 2 {
		_, err = a.Allow(ctx, "k")
		require.NoError(t, err)
	}
	_, err = a.Allow(ctx, "k")
	require.ErrorIs(t, err, users.ErrRateLimited)
	_, err = a.Allow(ctx, "other")
	require.ErrorIs(t, err, users.ErrRateLimited, "another key keeps its count")
	require.NoError(t, a.Reset(ctx, "never seen"))
}

// Limiters with different names count apart in one table, even for the
// same key, with their own points and windows; Reset of one leaves the
// other alone.
func TestLimiterNameIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t, newSchema(t))
	clock := newLimiterClock()
	// Names of one length, so that only their bytes tell them apart.
	login := newLimiter(t, pool, "login", 1, time.Hour, pgstore.WithLimiterClock(clock.Now))
	mail := newLimiter(t, pool, "email", 2, time.Minute, pgstore.WithLimiterClock(clock.Now))
	const key = "someone@example.com"

	_, err := login.Allow(ctx, key)
	require.NoError(t, err)
	_, err = login.Allow(ctx, key)
	require.ErrorIs(t, err, users.ErrRateLimited)
	for range 2 {
		_, err = mail.Allow(ctx, key)
		require.NoError(t, err, "login's event does not count for mail")
	}
	d, err := mail.Allow(ctx, key)
	require.ErrorIs(t, err, users.ErrRateLimited)
	assert.Equal(t, time.Minute, d, "mail's own window")

	require.NoError(t, mail.Reset(ctx, key))
	_, err = mail.Allow(ctx, key)
	require.NoError(t, err)
	_, err = login.Allow(ctx, key)
	require.ErrorIs(t, err, users.ErrRateLimited, "mail's Reset leaves login's count")

	// A second limiter under an existing name counts the same events.
	login2 := newLimiter(t, pool, "login", 1, time.Hour, pgstore.WithLimiterClock(clock.Now))
	_, err = login2.Allow(ctx, key)
	require.ErrorIs(t, err, users.ErrRateLimited)
}

// A context that has ended is reported as such — never as a denial — and
// records nothing; so is a deadline that passes while the limiter waits
// for a lock. The limiter works again afterwards.
func TestLimiterContextCancelled(t *testing.T) {
	t.Parallel()
	pool := newPool(t, newSchema(t))
	l := newLimiter(t, pool, "login", 5, time.Hour)
	const key = "someone@example.com"

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := l.Allow(ctx, key)
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, users.ErrRateLimited)
	assert.Zero(t, d)
	require.ErrorIs(t, l.Reset(ctx, key), context.Canceled)

	// Another transaction holds the table: Allow waits until its deadline.
	bg := context.Background()
	tx, err := pool.Begin(bg)
	require.NoError(t, err)
	_, err = tx.Exec(bg, "LOCK TABLE users_limiter_events IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
	dctx, dcancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer dcancel()
	_, err = l.Allow(dctx, key)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, users.ErrRateLimited)
	require.NoError(t, tx.Rollback(bg))

	rows, _ := limiterRows(t, pool)
	assert.Zero(t, rows, "nothing recorded")
	for range 5 {
		_, err = l.Allow(bg, key)
		require.NoError(t, err)
	}
	_, err = l.Allow(bg, key)
	require.ErrorIs(t, err, users.ErrRateLimited, "all five slots were still free")
}

// The key is in no error — denial, cancellation, back-end failure — and
// not in the table, which holds only a 32-byte hash of name and key.
func TestLimiterKeyNotInErrors(t *testing.T) {
	t.Parallel()
	pool := newPool(t, newSchema(t))
	l := newLimiter(t, pool, "login", 1, time.Hour)
	const key = "Secret.Person+tag@Example.com"
	ctx := context.Background()
	_, err := l.Allow(ctx, key)
	require.NoError(t, err)

	var errs []error
	_, err = l.Allow(ctx, key)
	require.ErrorIs(t, err, users.ErrRateLimited)
	errs = append(errs, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = l.Allow(cctx, key)
	errs = append(errs, err, l.Reset(cctx, key))

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

	_, err = pool.Exec(ctx, "DROP TABLE users_limiter_events")
	require.NoError(t, err)
	_, err = l.Allow(ctx, key)
	errs = append(errs, err, l.Reset(ctx, key))

	for i, err := range errs {
		require.Error(t, err, "error %d", i)
		for _, k := range []string{key, strings.ToLower(key), "Secret.Person", "Example.com"} {
			assert.NotContains(t, err.Error(), k, "error %d: %v", i, err)
		}
	}
	assert.NotErrorIs(t, errs[len(errs)-2], users.ErrRateLimited, "a failing back-end is not a denial")
}

// Expired events of other keys and other limiters are deleted as limiters
// are used, each row by its own window, so the table holds about the
// events still in a window however many keys come and go.
func TestLimiterCleanup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t, newSchema(t))
	clock := newLimiterClock()
	short := newLimiter(t, pool, "short", 1, time.Minute, pgstore.WithLimiterClock(clock.Now))
	long := newLimiter(t, pool, "long", 1, time.Hour, pgstore.WithLimiterClock(clock.Now))
	for i := range 95 {
		_, err := short.Allow(ctx, fmt.Sprintf("ip-%d", i))
		require.NoError(t, err)
	}
	for i := range 5 {
		_, err := long.Allow(ctx, fmt.Sprintf("ip-%d", i))
		require.NoError(t, err)
	}
	rows, _ := limiterRows(t, pool)
	require.Equal(t, 100, rows)

	// Two minutes later the short limiter's events have expired; each
	// call of either limiter deletes up to ten of them.
	clock.Advance(2 * time.Minute)
	for i := range 10 {
		_, err := long.Allow(ctx, "live")
		if i == 0 {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, users.ErrRateLimited)
		}
		rows, _ = limiterRows(t, pool)
		assert.Equal(t, max(95-10*(i+1), 0)+5+1, rows, "after call %d", i)
	}
	// The long limiter's events were not swept: they still count.
	for i := range 5 {
		_, err := long.Allow(ctx, fmt.Sprintf("ip-%d", i))
		require.ErrorIs(t, err, users.ErrRateLimited)
	}

	// A flood of new keys over time: the table stays near the number of
	// events in a window: the long limiter's 6 and the short one's 10 (one
	// event every 6 s, window 1 min), give or take the one on the edge.
	for i := range 1000 {
		clock.Advance(6 * time.Second)
		_, err := short.Allow(ctx, fmt.Sprintf("flood-%d", i))
		require.NoError(t, err)
		if i%50 == 49 {
			rows, _ = limiterRows(t, pool)
			require.LessOrEqual(t, rows, 6+11, "after %d keys", i+1)
		}
	}
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

// The Limiter plugs into a Manager as its login limiter: failed logins on
// two instances count together, a successful login resets the address
// (Limiter is a ResettableLimiter), and over the limit even the right
// password is refused without a check.
func TestLimiterAsLoginLimiter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	ms := make([]*users.Manager, 2)
	for i := range ms {
		pool := newPool(t, schema)
		s, err := pgstore.New(ctx, pool)
		require.NoError(t, err)
		l := newLimiter(t, pool, "login", 3, 15*time.Minute)
		ms[i], err = users.New(s, memmailer.New(), users.WithHasher(users.InsecureHasher{}), users.WithLoginLimiter(l))
		require.NoError(t, err)
	}
	_, err := ms[0].Create(ctx, users.CreateInput{Email: "Ann@example.com", Password: "right-password-1"})
	require.NoError(t, err)

	login := func(i int, pw string) error {
		_, err := ms[i].Authenticate(ctx, "ann@EXAMPLE.com", pw)
		return err
	}
	require.ErrorIs(t, login(0, "wrong"), users.ErrInvalidCredentials)
	require.ErrorIs(t, login(1, "wrong"), users.ErrInvalidCredentials)
	require.NoError(t, login(1, "right-password-1"), "the third attempt, allowed")
	// The success reset the count: three more failures are checked.
	for i := range 3 {
		require.ErrorIs(t, login(i%2, "wrong"), users.ErrInvalidCredentials, "attempt %d", i)
	}
	err = login(1, "right-password-1")
	require.ErrorIs(t, err, users.ErrRateLimited, "instance 1 sees instance 0's failures")
	var rl *users.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, 3, rl.Limit)
	assert.NotContains(t, err.Error(), "ann@")
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
	assert.Equal(t, []int{1, 2, 3}, versions)
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

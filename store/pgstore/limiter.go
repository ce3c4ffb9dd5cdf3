package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gousers/users"
	"github.com/gousers/users/store/internal/sqlstore"
)

// Limiter is a users.Limiter whose counts live
// in PostgreSQL, so that every instance of an application on one database
// shares them: with users.MemoryLimiter each process counts on its own, and
// n instances allow n times the limit. Create it with NewLimiter.
//
// It behaves exactly as users.MemoryLimiter: at most points events per key
// in any sliding window of length window (NewLimiter's arguments; an exact
// sliding log, no burst across a window boundary); a denied event is not
// recorded; a denial is a *users.RateLimitError whose RetryAfter is when
// the oldest counted event leaves the window; any other error means the
// limiter could not decide.
//
// Every Limiter keeps its events in one table, users_limiter_events, told
// apart by name. A key is never stored nor put in an error: a row names
// its (name, key) pair by their SHA-256 only.
//
// Each Allow is one round trip: in one read-committed transaction
// (whatever the pool's default isolation level) it takes a
// transaction-scoped advisory lock on the hash of (name, key), counts the
// events in the window, and records the new one if it fits. The lock makes
// the count and the insert atomic across connections and instances, and
// is released by the commit, so a client that dies holds nothing. Calls
// for one key therefore queue in the database, each holding a pool
// connection while it waits; calls for different keys do not wait for
// each other. Serialization failures and deadlocks are retried up to 5
// times, as a Store retries them by default.
//
// Storage is bounded by the events still in some window: every Allow also
// deletes up to 10 expired rows of any key and any limiter name, oldest
// first, skipping rows another instance is deleting, while each call adds
// at most one row, so expired rows cannot pile up while limiters are in
// use.
//
// It is safe for concurrent use.
type Limiter struct {
	s      *Store // pool, schema, retries; its queries are unused
	name   string
	points int
	window time.Duration
	now    func() time.Time // nil: the database server's clock

	sweep, decide, reset string
}

var _ users.Limiter = (*Limiter)(nil)

// LimiterOption configures NewLimiter.
type LimiterOption func(*limiterOptions)

type limiterOptions struct {
	now    func() time.Time
	schema string
}

// WithLimiterClock makes the Limiter read the time from now, as
// a users.MemoryLimiter's Now field does; tests pass a fake clock.
// Default: the database server's clock (clock_timestamp(), read after the
// key's lock is taken), so that instances whose clocks disagree still count
// in one time line. Every Limiter on one name and database should use the
// same kind of clock. A nil clock is ignored.
func WithLimiterClock(now func() time.Time) LimiterOption {
	return func(o *limiterOptions) {
		if now != nil {
			o.now = now
		}
	}
}

// WithLimiterSchema puts the Limiter's table in the named schema, as
// WithSchema does for a Store: NewLimiter creates the schema when it does
// not exist, migrates it, and every statement then names it, whatever the
// connections' search_path. A Limiter and a Store on one database share the
// schema's migrations. Default: none — the pool's current schema.
func WithLimiterSchema(name string) LimiterOption {
	return func(o *limiterOptions) { o.schema = name }
}

// limiterSweep is how many expired rows each Allow deletes at most. Each
// Allow inserts at most one row, so any value above one drains a backlog;
// a few more let a burst of expiries drain quickly while keeping each
// Allow's extra work small.
const limiterSweep = 10

// dbNow is the database server's clock in Unix nanoseconds (at microsecond
// precision). clock_timestamp() rather than now(): now() is the start of
// the transaction, before the key's lock was granted.
const dbNow = `(extract(epoch FROM clock_timestamp()) * 1000000000)::bigint`

// NewLimiter returns a Limiter allowing points events per key in any
// window, whose counts live in PostgreSQL, shared by every instance on the
// database. name separates independent limiters (for example
// "register-ip", "login", "mail") in one table: limiters with the same name
// on one database count the same events, so give them the same points and
// window.
//
// pool is the host app's, as for New. NewLimiter brings the schema up to
// date first, as New does (the limiter's table is an embedded migration).
// It fails if pool is nil, name is empty, points < 1 or window <= 0.
func NewLimiter(ctx context.Context, pool *pgxpool.Pool, name string, points int, window time.Duration, opts ...LimiterOption) (*Limiter, error) {
	if pool == nil {
		return nil, errors.New("pgstore: NewLimiter: nil pool")
	}
	if err := sqlstore.CheckLimiter(name, points, window); err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	var o limiterOptions
	for _, opt := range opts {
		opt(&o)
	}
	l := &Limiter{
		s:      &Store{pool: pool, schema: o.schema, retries: 5},
		name:   name,
		points: points,
		window: window,
		now:    o.now,
	}
	t := "users_limiter_events"
	if o.schema != "" {
		t = pgx.Identifier{o.schema}.Sanitize() + "." + t
	}
	// $1 is the limiter's time in Unix nanoseconds, NULL for the
	// database's clock. Both the sub-select and the ORDER BY keep the
	// sweep on the expires_at index, so that finding nothing to delete
	// costs one index probe. Without either it read the whole table on
	// every call: the planner cannot scan an index for a comparison with
	// a volatile expression such as clock_timestamp() (the sub-select is
	// computed once, as an init plan); and with LIMIT alone it expects
	// the first rows of a sequential scan to match (ordered by the index,
	// the sweep also deletes the oldest rows first).
	l.sweep = `DELETE FROM ` + t + ` e USING (
	SELECT key_hash, at FROM ` + t + `
	WHERE expires_at <= (SELECT COALESCE($1::bigint, ` + dbNow + `))
	ORDER BY expires_at
	LIMIT ` + fmt.Sprint(limiterSweep) + `
	FOR UPDATE SKIP LOCKED
) d
WHERE e.key_hash = d.key_hash AND e.at = d.at`
	// $1 key hash, $2 time as in sweep, $3 window in nanoseconds, $4
	// points. Run under the key's lock, in a statement of its own so that
	// its snapshot (read committed) sees every event committed by the
	// lock's previous holders. It returns the time it used, and the count
	// and oldest time of the events in the window before this one; the
	// event is recorded only if that count is below points. Events at one
	// instant share a row.
	l.decide = `WITH t AS (
	SELECT COALESCE($2::bigint, ` + dbNow + `) AS now
), c AS (
	SELECT t.now, a.n, a.oldest FROM t, LATERAL (
		SELECT COALESCE(sum(n), 0) AS n, COALESCE(min(at), 0) AS oldest FROM ` + t + `
		WHERE key_hash = $1 AND at > t.now - $3::bigint
	) a
), ins AS (
	INSERT INTO ` + t + ` AS e (key_hash, at, n, expires_at)
	SELECT $1, c.now, 1, LEAST(c.now::numeric + $3::bigint, 9223372036854775807)::bigint
	FROM c WHERE c.n < $4::bigint
	ON CONFLICT (key_hash, at) DO UPDATE SET n = e.n + 1
)
SELECT now, n, oldest FROM c`
	l.reset = `DELETE FROM ` + t + ` WHERE key_hash = $1`
	if err := l.s.migrate(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Allow implements users.Limiter. It returns ctx's error (wrapped) when ctx
// ends first; the event is then recorded or not, as the transaction had
// committed or not.
func (l *Limiter) Allow(ctx context.Context, key string) (time.Duration, error) {
	h := sqlstore.LimiterKey(l.name, key)
	// The key hash's first 8 bytes are the key of the advisory lock: the
	// lock space is shared by the whole database (every schema, every
	// app), where a collision only makes two keys wait for each other.
	lock := int64(binary.BigEndian.Uint64(h))
	var at *int64
	if l.now != nil {
		v := l.now().UnixNano()
		at = &v
	}
	var now, n, oldest int64
	err := l.s.do(ctx, "limiter "+l.name+": allow", func() error {
		return l.s.inTx(ctx, func(c *pgx.Conn) error {
			b := &pgx.Batch{}
			// Read committed whatever the pool's default: under
			// repeatable read the snapshot would predate the lock.
			b.Queue("begin isolation level read committed")
			b.Queue(l.sweep, at)
			b.Queue("SELECT pg_advisory_xact_lock($1)", lock)
			b.Queue(l.decide, h, at, int64(l.window), l.points).QueryRow(func(row pgx.Row) error {
				return row.Scan(&now, &n, &oldest)
			})
			b.Queue("commit")
			return c.SendBatch(ctx, b).Close()
		})
	})
	if err != nil {
		return 0, err
	}
	if n < int64(l.points) {
		return 0, nil
	}
	retry := max(time.Duration(oldest-now)+l.window, 0)
	return retry, &users.RateLimitError{Limit: l.points, Window: l.window, RetryAfter: retry}
}

// Reset implements users.Limiter: it deletes the key's events
// for this limiter's name. An Allow running at the same time either counts
// before the reset or is recorded after it.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	h := sqlstore.LimiterKey(l.name, key)
	return l.s.do(ctx, "limiter "+l.name+": reset", func() error {
		_, err := l.s.pool.Exec(ctx, l.reset, h)
		return err
	})
}

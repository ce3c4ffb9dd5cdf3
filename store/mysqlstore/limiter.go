package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/store/internal/sqlstore"
)

// Limiter is a users.Limiter whose counts live
// in MySQL or MariaDB, so that every instance of an application on one
// database shares them: with users.MemoryLimiter each process counts on
// its own, and n instances allow n times the limit. Create it with
// NewLimiter.
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
// Each Allow is one read-committed transaction (whatever the server's
// default isolation): it locks the pair's row in users_limiter_keys
// (INSERT … ON DUPLICATE KEY UPDATE, which creates it on first use), then,
// in a statement of its own that sees every event committed by the lock's
// previous holders, counts the events in the window and records the new
// one if it fits. The row lock makes the count and the insert atomic
// across connections and instances, and is released by the commit, so a
// client that dies holds nothing. Calls for one key therefore queue in the
// database, each holding a pool connection while it waits; calls for
// different keys do not wait for each other. Deadlocks and lock wait
// timeouts are retried up to 5 times, as a Store retries them by default.
//
// Storage is bounded by the events still in some window: every Allow also
// deletes up to 10 expired event rows and 10 expired key rows, of any key
// and any limiter name, oldest first, skipping rows another instance is
// deleting (SKIP LOCKED), while each call adds at most one of each, so
// expired rows cannot pile up while limiters are in use (any number above
// one drains a backlog; ten drain a burst of expiries quickly while keeping
// each Allow's extra work small).
//
// It is safe for concurrent use.
type Limiter struct {
	db      *sql.DB
	retries int
	name    string
	points  int
	window  time.Duration
	now     func() time.Time // nil: the database server's clock
}

var _ users.Limiter = (*Limiter)(nil)

// LimiterOption configures NewLimiter.
type LimiterOption func(*limiterOptions)

type limiterOptions struct {
	now func() time.Time
}

// WithLimiterClock makes the Limiter read the time from now, as
// a users.MemoryLimiter's Now field does; tests pass a fake clock.
// Default: the database server's clock (UTC_TIMESTAMP(6), read after the
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

// dbNow is the database server's clock in Unix nanoseconds (at
// microsecond precision), free of the session's time zone. It is the
// start of the statement that reads it.
const dbNow = `(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) * 1000)`

// The statements of Allow that read the tables (their plans are tested).
const (
	// limiterCount: $1 the limiter's time in Unix nanoseconds, NULL for the
	// server's clock; $2 the key hash; $3 the time again; $4 the window.
	// One row whatever matches (an aggregate without GROUP BY): the time it
	// used, and the count and oldest time of the events in the window. The
	// range on the primary key (key_hash, at) finds them.
	limiterCount = `SELECT COALESCE(?, ` + dbNow + `), COALESCE(SUM(n), 0), COALESCE(MIN(at), 0)
FROM users_limiter_events
WHERE key_hash = ? AND at > CAST(COALESCE(?, ` + dbNow + `) AS DECIMAL(20)) - ?`

	// limiterSweepEvents and limiterSweepKeys: the expired rows to delete,
	// oldest first by the expires_at index; $1 the time.
	limiterSweepEvents = `SELECT key_hash, at FROM users_limiter_events
WHERE expires_at <= ? ORDER BY expires_at LIMIT 10 FOR UPDATE SKIP LOCKED`
	limiterSweepKeys = `SELECT key_hash FROM users_limiter_keys
WHERE expires_at <= ? ORDER BY expires_at LIMIT 10 FOR UPDATE SKIP LOCKED`
)

// NewLimiter returns a Limiter allowing points events per key in any
// window, whose counts live in the database, shared by every instance on
// it. name separates independent limiters (for example "register-ip",
// "login", "mail") in one table: limiters with the same name on one
// database count the same events, so give them the same points and
// window.
//
// db is the host app's, as for New. NewLimiter brings the schema up to
// date first, as New does (the limiter's tables are an embedded
// migration). It fails if db is nil, name is empty, points < 1 or
// window <= 0.
func NewLimiter(ctx context.Context, db *sql.DB, name string, points int, window time.Duration, opts ...LimiterOption) (*Limiter, error) {
	if db == nil {
		return nil, errors.New("mysqlstore: NewLimiter: nil handle")
	}
	if err := sqlstore.CheckLimiter(name, points, window); err != nil {
		return nil, fmt.Errorf("mysqlstore: %w", err)
	}
	var o limiterOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := migrate(ctx, db); err != nil {
		return nil, err
	}
	return &Limiter{db: db, retries: 5, name: name, points: points, window: window, now: o.now}, nil
}

// Allow implements users.Limiter. It returns ctx's error (wrapped) when ctx
// ends first; the event is then recorded or not, as the transaction had
// committed or not.
func (l *Limiter) Allow(ctx context.Context, key string) (time.Duration, error) {
	h := sqlstore.LimiterKey(l.name, key)
	var at any // NULL: the server's clock
	if l.now != nil {
		at = l.now().UnixNano()
	}
	var now, n, oldest int64
	err := do(ctx, l.retries, "limiter "+l.name+": allow", func() error {
		return inTx(ctx, l.db, func(tx *sql.Tx) error {
			// The key's lock. Its expiry only serves the sweep: the
			// events' own expiry decides what counts.
			if _, err := tx.ExecContext(ctx, `INSERT INTO users_limiter_keys (key_hash, expires_at)
VALUES (?, LEAST(CAST(COALESCE(?, `+dbNow+`) AS DECIMAL(20)) + ?, 9223372036854775807))
ON DUPLICATE KEY UPDATE expires_at = GREATEST(expires_at, VALUES(expires_at))`, h, at, int64(l.window)); err != nil {
				return err
			}
			// One row whatever matches (an aggregate without GROUP BY);
			// both clock readings are the statement's start.
			if err := tx.QueryRowContext(ctx, limiterCount, at, h, at, int64(l.window)).Scan(&now, &n, &oldest); err != nil {
				return err
			}
			if n < int64(l.points) {
				expires := int64(math.MaxInt64)
				if now <= math.MaxInt64-int64(l.window) {
					expires = now + int64(l.window)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO users_limiter_events (key_hash, at, n, expires_at)
VALUES (?, ?, 1, ?) ON DUPLICATE KEY UPDATE n = n + 1`, h, now, expires); err != nil {
					return err
				}
			}
			return l.sweep(ctx, tx, now)
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

// sweep deletes up to 10 expired rows of each table, skipping
// rows other transactions hold. It runs last, after the key's lock was
// taken, and never waits: the rows it deletes are the ones it locked.
func (l *Limiter) sweep(ctx context.Context, tx *sql.Tx, now int64) error {
	rows, err := tx.QueryContext(ctx, limiterSweepEvents, now)
	if err != nil {
		return err
	}
	var (
		conds []string
		args  []any
	)
	for rows.Next() {
		var (
			h  []byte
			at int64
		)
		if err := rows.Scan(&h, &at); err != nil {
			rows.Close()
			return err
		}
		conds = append(conds, "(key_hash = ? AND at = ?)")
		args = append(args, h, at)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if len(conds) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM users_limiter_events WHERE `+joinOr(conds), args...); err != nil {
			return err
		}
	}
	rows, err = tx.QueryContext(ctx, limiterSweepKeys, now)
	if err != nil {
		return err
	}
	var keys []any
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return err
		}
		keys = append(keys, h)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if len(keys) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM users_limiter_keys WHERE key_hash IN (`+placeholders(len(keys))+`)`, keys...); err != nil {
			return err
		}
	}
	return nil
}

func joinOr(conds []string) string {
	s := conds[0]
	for _, c := range conds[1:] {
		s += " OR " + c
	}
	return s
}

// Reset implements users.Limiter: it deletes the key's events
// for this limiter's name. An Allow running at the same time either counts
// before the reset or is recorded after it: the DELETE waits for the
// events an Allow has inserted and not committed yet, and deletes them
// too.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	h := sqlstore.LimiterKey(l.name, key)
	return do(ctx, l.retries, "limiter "+l.name+": reset", func() error {
		_, err := l.db.ExecContext(ctx, `DELETE FROM users_limiter_events WHERE key_hash = ?`, h)
		return err
	})
}

package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gousers/users/store"
)

// Store is a store.Store on PostgreSQL. It is safe for concurrent use, and
// several Stores — in one process or in many — may share one database
// schema. Create it with New.
type Store struct {
	pool    *pgxpool.Pool
	schema  string // "" when the pool's search_path decides
	retries int
	q       queries
	qual    func(string) string // qualifies table names with the schema

	// adminLock names the advisory lock under which KeepAdmin is judged;
	// one per schema (set by migrate).
	adminLock string
}

// adminLockNamespace is hashed with the schema name into the key of the
// advisory lock that serialises the changes made with Condition.KeepAdmin.
const adminLockNamespace = "github.com/gousers/users/store/pgstore keep-admin "

var _ store.Store = (*Store)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	schema  string
	retries int
}

// WithSchema puts the store's tables in the named schema, which New creates
// when it does not exist; every statement then names the schema, whatever
// the connections' search_path. Default: none — the tables live in the
// pool's current schema (the first existing schema of its search_path,
// usually "public"), so a host app that sets search_path on the pool
// decides.
func WithSchema(name string) Option {
	return func(o *options) { o.schema = name }
}

// WithRetries sets how many times an operation that failed with a
// serialization failure (SQLSTATE 40001) or a deadlock (40P01) is retried,
// after a short jittered backoff, before the error is returned. Default 5;
// 0 disables retries.
func WithRetries(n int) Option {
	return func(o *options) {
		if n >= 0 {
			o.retries = n
		}
	}
}

// New returns a Store on pool, which the host app opened and still owns
// (Close it after the last use of the Store). New brings the schema up to
// date first: it applies the embedded migrations the database has not seen,
// in one transaction under an advisory lock, so instances starting at once
// migrate exactly once and each sees the finished schema.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: New: nil pool")
	}
	o := options{retries: 5}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{pool: pool, schema: o.schema, retries: o.retries}
	prefix := ""
	if o.schema != "" {
		prefix = pgx.Identifier{o.schema}.Sanitize() + "."
	}
	s.q = newQueries(prefix)
	s.qual = qualifier(prefix)
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// tables are the names every statement uses; qualify prefixes them with the
// schema when one was given.
var tables = []string{
	"users_users", "users_roles", "users_policies", "users_user_policies",
	"users_tokens", "users_mail", "users_settings", "users_schema_migrations",
	"users_sessions", "users_session_hashes",
}

func qualifier(prefix string) func(string) string {
	if prefix == "" {
		return func(q string) string { return q }
	}
	var pairs []string
	for _, t := range tables {
		pairs = append(pairs, t, prefix+t)
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

// do runs fn, retrying it after serialization failures and deadlocks, and
// turns its error into the one the Store returns: a users sentinel where
// one applies, ctx's error when ctx ended, always prefixed with op.
func (s *Store) do(ctx context.Context, op string, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if attempt < s.retries && retryable(err) && ctx.Err() == nil {
			if serr := sleep(ctx, backoff(attempt)); serr == nil {
				continue
			}
		}
		return wrapErr(ctx, op, err)
	}
}

// retryable reports whether err is a transient failure that a new attempt of
// the whole transaction may not meet.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// backoff is the wait before retry attempt+1: 1-2 ms doubling, at most
// about 64 ms, jittered so that the transactions that collided do not
// collide again.
func backoff(attempt int) time.Duration {
	base := time.Millisecond << min(attempt, 6)
	return base + rand.N(base)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wrapErr maps err to the Store's error for op.
func wrapErr(ctx context.Context, op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505" && pe.ConstraintName == "users_users_email_key_idx":
			err = store.ErrDuplicateEmail
		case pe.Code == "23503" && pe.ConstraintName == "users_users_role_fkey":
			err = store.ErrRoleNotFound
		case pe.Code == "23503" && pe.ConstraintName == "users_user_policies_policy_fkey":
			err = store.ErrPolicyNotFound
		}
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) && !isSentinel(err) {
		// pgx reports a cancelled statement in several ways; make sure
		// errors.Is(err, context.Canceled) holds whichever it was.
		return fmt.Errorf("pgstore: %s: %w (%w)", op, cerr, err)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

func isSentinel(err error) bool {
	for _, s := range []error{
		store.ErrNotFound, store.ErrConflict, store.ErrInvalidToken,
		store.ErrDuplicateEmail, store.ErrRoleNotFound, store.ErrPolicyNotFound,
		store.ErrDuplicateID, store.ErrLastAdmin,
	} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// inTx runs fn on a connection of its own, for an explicit transaction that
// fn begins and commits itself by queueing "begin" and "commit" in its
// batches (one round trip each instead of three). If fn leaves the
// transaction open — an error, a precondition that failed — it is rolled
// back before the connection goes back to the pool.
func (s *Store) inTx(ctx context.Context, fn func(c *pgx.Conn) error) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer func() {
		c := pc.Conn()
		if !c.IsClosed() && c.PgConn().TxStatus() != 'I' {
			// ctx may be cancelled already; the rollback must still run.
			// If it fails, the pool discards the connection (it does so
			// with any connection released inside a transaction).
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, _ = c.Exec(rctx, "rollback")
			cancel()
		}
		pc.Release()
	}()
	return fn(pc.Conn())
}

// sendBatch sends b on the pool and reads every result. A batch without
// "begin" runs as one implicit transaction: all of it or none of it.
func (s *Store) sendBatch(ctx context.Context, b *pgx.Batch) error {
	return s.pool.SendBatch(ctx, b).Close()
}

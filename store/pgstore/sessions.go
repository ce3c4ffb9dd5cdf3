package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// sessionCols reads a store.Session (see scanSession).
const sessionCols = `id, user_id, token_hash, created_at, refreshed_at, expires_at, ip, user_agent, generation`

func scanSession(row pgx.Row) (*store.Session, error) {
	var s store.Session
	err := row.Scan(&s.ID, &s.UserID, &s.TokenHash, &s.CreatedAt, &s.RefreshedAt, &s.ExpiresAt, &s.IP, &s.UserAgent, &s.Generation)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	s.CreatedAt, s.RefreshedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.RefreshedAt.UTC(), s.ExpiresAt.UTC()
	return &s, nil
}

// CreateSession implements store.Store in two round trips: the first
// begins the transaction and locks the user FOR SHARE (a concurrent change
// of the user — a new password that ends its sessions — is ordered before
// or after it, never across); the condition is checked here; the second
// inserts the session and commits.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session, cond store.Condition, events ...*store.Event) error {
	return s.do(ctx, "create session", func() error {
		return s.inTx(ctx, func(c *pgx.Conn) error {
			var st state
			b := &pgx.Batch{}
			b.Queue("begin")
			b.Queue(s.q.lockUserShare, sess.UserID).QueryRow(st.scan)
			if err := st.check(c.SendBatch(ctx, b).Close(), cond); err != nil {
				return err
			}
			b = &pgx.Batch{}
			b.Queue(s.q.insertSession, sess.ID, sess.UserID, sess.TokenHash, sess.CreatedAt, sess.RefreshedAt,
				sess.ExpiresAt, sess.IP, sess.UserAgent, sess.Generation)
			b.Queue(s.eq.lastAccess, sess.UserID, sess.CreatedAt)
			s.queueEvents(b, events)
			b.Queue("commit")
			return c.SendBatch(ctx, b).Close()
		})
	})
}

// GetSession implements store.Store.
func (s *Store) GetSession(ctx context.Context, id string) (*store.Session, error) {
	return queryOne(ctx, s, "get session", s.q.getSession, scanSession, id)
}

// scanFunc scans with a function: it lets one row hold what two scan
// functions read (see ResolveSession).
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// ResolveSession implements store.Store with one SELECT.
func (s *Store) ResolveSession(ctx context.Context, id string) (*store.Session, *store.User, store.Grants, error) {
	var (
		sess *store.Session
		u    *store.User
		g    store.Grants
	)
	err := s.do(ctx, "resolve session", func() (err error) {
		row := s.pool.QueryRow(ctx, s.q.resolveSession, id)
		sess, err = scanSession(scanFunc(func(sd ...any) (err error) {
			u, err = scanUser(scanFunc(func(ud ...any) error {
				return row.Scan(append(append(sd, ud...), &g.AdminAccess, &g.EnforceTFA)...)
			}))
			return err
		}))
		return err
	})
	if err != nil {
		return nil, nil, store.Grants{}, err
	}
	return sess, u, g, nil
}

// RotateSession implements store.Store in two round trips, at read
// committed whatever the pool's default. The first locks the session's
// user FOR SHARE, then the session whose current hash is oldHash FOR
// UPDATE: concurrent rotations of one token queue on that row lock, and
// when the first commits the others no longer find the hash current. The
// checks run here; the second round trip either rotates (keeps oldHash as
// an earlier hash, sets the new one, reads the user) and commits, or —
// when oldHash is an earlier hash — deletes the session and commits that.
func (s *Store) RotateSession(ctx context.Context, oldHash, newHash []byte, now, expiresAt time.Time, cond store.Condition) (*store.Session, *store.User, error) {
	var (
		sess *store.Session
		u    *store.User
	)
	err := s.do(ctx, "rotate session", func() error {
		return s.inTx(ctx, func(c *pgx.Conn) error {
			st, userFound, cur, err := s.lockSessionAndUser(ctx, c, s.q.lockSessionUser, s.q.lockSession, oldHash)
			if err != nil {
				return err
			}
			if cur == nil {
				return s.endReused(ctx, c, oldHash)
			}
			switch {
			case !userFound:
				// The session was committed after the first statement
				// began: it did not exist when this call looked.
				return store.ErrInvalidToken
			case !now.Before(cur.ExpiresAt):
				return store.ErrTokenExpired
			case !st.holds(cond):
				return store.ErrConflict
			}
			b := &pgx.Batch{}
			b.Queue(s.q.insertSessionHash, oldHash, cur.ID)
			b.Queue(s.q.rotateSession, cur.ID, newHash, now, expiresAt).QueryRow(func(row pgx.Row) (err error) {
				sess, err = scanSession(row)
				return err
			})
			b.Queue(s.eq.lastAccess, cur.UserID, now)
			b.Queue(s.q.getUser, cur.UserID).QueryRow(func(row pgx.Row) (err error) {
				u, err = scanUser(row)
				return err
			})
			b.Queue("commit")
			return c.SendBatch(ctx, b).Close()
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// lockSessionAndUser is the first round trip of a rotation or renewal: it
// begins a read-committed transaction, locks the session's user with
// lockUser (its state, and whether it was found) and then the session
// with lockSession, both looked up by arg. cur is nil when no session
// matched.
func (s *Store) lockSessionAndUser(ctx context.Context, c *pgx.Conn, lockUser, lockSession string, arg any) (st state, userFound bool, cur *store.Session, err error) {
	b := &pgx.Batch{}
	b.Queue("begin isolation level read committed")
	b.Queue(lockUser, arg).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			userFound = true
			if err := st.scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	b.Queue(lockSession, arg).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var err error
			if cur, err = scanSession(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	err = c.SendBatch(ctx, b).Close()
	return st, userFound, cur, err
}

// RenewSession implements store.Store in two round trips, at read
// committed whatever the pool's default. The first locks the session's
// user, then the session (as RotateSession does): concurrent renewals of
// one session queue on those locks, and each finds the generation the one
// before it committed. The checks run here; the second round trip
// advances the generation (or, within the grace, writes nothing), reads
// the user and commits — or, for a retired generation, deletes the
// session and commits that.
func (s *Store) RenewSession(ctx context.Context, id string, generation int64, now time.Time, grace time.Duration, cond store.Condition) (*store.Session, *store.User, error) {
	var (
		sess *store.Session
		u    *store.User
	)
	err := s.do(ctx, "renew session", func() error {
		return s.inTx(ctx, func(c *pgx.Conn) error {
			st, userFound, cur, err := s.lockSessionAndUser(ctx, c, s.q.lockRenewUser, s.q.lockSessionByID, id)
			if err != nil {
				return err
			}
			if cur == nil || !userFound {
				// None, or one committed after the first statement began:
				// it did not exist when this call looked.
				return store.ErrNotFound
			}
			verdict := sqlstore.Renew(generation, cur.Generation, cur.RefreshedAt, now, grace)
			switch {
			case verdict == sqlstore.RenewReused:
				// A retired token came back: it leaked. The session ends,
				// and that is committed although the call fails.
				if _, err := c.Exec(ctx, s.q.deleteSession, id); err != nil {
					return err
				}
				if _, err := c.Exec(ctx, "commit"); err != nil {
					return err
				}
				return store.ErrTokenReused
			case !now.Before(cur.ExpiresAt):
				return store.ErrTokenExpired
			case !st.holds(cond):
				return store.ErrConflict
			}
			b := &pgx.Batch{}
			sess = cur
			if verdict == sqlstore.RenewAdvance {
				b.Queue(s.q.renewSession, id, now).QueryRow(func(row pgx.Row) (err error) {
					sess, err = scanSession(row)
					return err
				})
				b.Queue(s.eq.lastAccess, cur.UserID, now)
			}
			b.Queue(s.q.getUser, cur.UserID).QueryRow(func(row pgx.Row) (err error) {
				u, err = scanUser(row)
				return err
			})
			b.Queue("commit")
			return c.SendBatch(ctx, b).Close()
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// endReused deletes, and commits the deletion of, the session of which
// hash is an earlier token: ErrTokenReused; ErrInvalidToken when no
// session has it.
func (s *Store) endReused(ctx context.Context, c *pgx.Conn, hash []byte) error {
	var id string
	err := c.QueryRow(ctx, s.q.deleteReused, hash).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrInvalidToken
	}
	if err != nil {
		return err
	}
	if _, err := c.Exec(ctx, "commit"); err != nil {
		return err
	}
	return store.ErrTokenReused
}

// DeleteSession implements store.Store. The session's earlier hashes go
// by ON DELETE CASCADE.
func (s *Store) DeleteSession(ctx context.Context, id string, events ...*store.Event) error {
	if len(events) > 0 {
		return s.deleteSessionWith(ctx, s.q.deleteSession, s.eq.sessionUser, id, events)
	}
	return s.do(ctx, "delete session", func() error {
		ct, err := s.pool.Exec(ctx, s.q.deleteSession, id)
		return sqlstore.Found(ct.RowsAffected(), err)
	})
}

// DeleteSessionByToken implements store.Store.
func (s *Store) DeleteSessionByToken(ctx context.Context, hash []byte, events ...*store.Event) error {
	if len(events) > 0 {
		return s.deleteSessionWith(ctx, s.q.deleteSessionByToken, s.eq.sessionUserByToken, hash, events)
	}
	return s.do(ctx, "delete session", func() error {
		ct, err := s.pool.Exec(ctx, s.q.deleteSessionByToken, hash)
		return sqlstore.Found(ct.RowsAffected(), err)
	})
}

// PurgeExpired implements store.Store in one statement.
func (s *Store) PurgeExpired(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := s.do(ctx, "purge expired", func() error {
		return s.pool.QueryRow(ctx, s.q.purgeExpired, before).Scan(&n)
	})
	return n, err
}

// ListSessions implements store.Store.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]*store.Session, error) {
	return queryAll(ctx, s, "list sessions", s.q.listSessions, scanSession, userID)
}

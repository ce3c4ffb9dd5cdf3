package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gousers/users/store"
)

// ConsumeToken implements store.Store, in one round trip when no other
// transaction holds the rows it locks: one batch begins the transaction,
// locks the token's user, then the token (SELECT … FOR UPDATE NOWAIT),
// checks in SQL that the token is live and the user satisfies cond
// (liveToken: an error there skips the rest of the batch), marks the
// token consumed, applies the change and the effects to the token's user,
// reads the user back and commits. When the check fails, the rows the
// locks read tell which error to return, and the aborted transaction is
// rolled back.
//
// The locks do not wait there because the commit is already on its way:
// a call cancelled while it waited would still commit once the lock came
// free. When a lock is held (another consumer of the token, a change of
// the user), that transaction is rolled back and the call waits in two
// round trips instead (consumeTokenWait), the commit sent only after the
// locks are held. Concurrent consumers of one token thus queue on the
// user's row lock; when the winner commits, the next one reads the token
// as consumed and gets ErrTokenUsed. A change made with KeepAdmin always
// takes the two round trips.
func (s *Store) ConsumeToken(ctx context.Context, hash []byte, purpose store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	var u *store.User
	err := s.do(ctx, "consume token", func() error {
		return s.inTx(ctx, func(c *pgx.Conn) error {
			if !cond.KeepAdmin {
				var err error
				u, err = s.consumeTokenNowait(ctx, c, hash, purpose, now, cond, ch, fx)
				if !isLockNotAvailable(err) {
					return err
				}
				if _, err := c.Exec(ctx, "rollback"); err != nil {
					return err
				}
			}
			var err error
			u, err = s.consumeTokenWait(ctx, c, hash, purpose, now, cond, ch, fx)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// consumeTokenNowait is ConsumeToken's one round trip, on c; an error
// that isLockNotAvailable says another transaction holds a row it locks.
func (s *Store) consumeTokenNowait(ctx context.Context, c *pgx.Conn, hash []byte, purpose store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	args, err := changeArgs(hash, ch)
	if err != nil {
		return nil, err
	}
	var status *string
	if cond.Status != "" {
		st := string(cond.Status)
		status = &st
	}
	var (
		lk tokenLock
		u  *store.User
	)
	b := &pgx.Batch{}
	b.Queue("begin")
	lk.queue(b, s.q.lockTokenUserNowait, s.q.lockTokenNowait, hash, purpose)
	b.Queue(s.q.liveToken, hash, string(purpose), now, status, cond.Contested, cond.EmailKey, cond.PasswordHash)
	b.Queue(s.q.consumeToken, hash, now)
	s.queueChange(b, &s.q.byToken, hash, ch, args, fx, &u)
	b.Queue("commit")
	err = c.SendBatch(ctx, b).Close()
	if err == nil {
		return u, nil
	}
	var pe *pgconn.PgError
	if errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pe) && pe.Code == divisionByZero {
		if refused := lk.refusal(now, cond); refused != nil {
			return nil, refused
		}
	}
	return nil, err
}

// isLockNotAvailable reports whether err is a NOWAIT lock's refusal.
func isLockNotAvailable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03"
}

// divisionByZero is the SQLSTATE of liveToken's refusal.
const divisionByZero = "22012"

// tokenLock is what the first two statements of ConsumeToken's
// transaction read, locking them: the token's user, then the token.
type tokenLock struct {
	userID    string
	consumed  *time.Time
	expires   time.Time
	st        state
	userFound bool
}

// queue queues the two locking reads on b: lockUser (the token's user),
// then lockToken.
func (lk *tokenLock) queue(b *pgx.Batch, lockUser, lockToken string, hash []byte, purpose store.Purpose) {
	b.Queue(lockUser, hash, string(purpose)).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			lk.userFound = true
			if err := lk.st.scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	b.Queue(lockToken, hash, string(purpose)).QueryRow(func(row pgx.Row) error {
		return row.Scan(&lk.userID, &lk.consumed, &lk.expires)
	})
}

// refusal is the error for a token and user as lk read them, nil when
// the token is live and its user satisfies cond (but for KeepAdmin).
func (lk *tokenLock) refusal(now time.Time, cond store.Condition) error {
	switch {
	case lk.userID == "" || !lk.userFound:
		// No such token; or it was committed after the first statement
		// began: it did not exist when this call looked.
		return store.ErrInvalidToken
	case lk.consumed != nil:
		return store.ErrTokenUsed
	case !now.Before(lk.expires):
		return store.ErrTokenExpired
	case !lk.st.holds(cond):
		return store.ErrConflict
	}
	return nil
}

// consumeTokenWait is ConsumeToken in two round trips on c, whose locks
// wait: the first begins the transaction (see begin) and locks the
// token's user, then the token; the checks run here; the second marks the
// token consumed, applies the change and the effects, reads the user back
// and commits (see finish).
func (s *Store) consumeTokenWait(ctx context.Context, c *pgx.Conn, hash []byte, purpose store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	var (
		lk     tokenLock
		before bool
	)
	b := &pgx.Batch{}
	s.begin(b, cond.KeepAdmin, &before)
	lk.queue(b, s.q.lockTokenUser, s.q.lockToken, hash, purpose)
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, store.ErrInvalidToken
		}
		return nil, err
	}
	if err := lk.refusal(now, cond); err != nil {
		return nil, err
	}
	args, err := changeArgs(lk.userID, ch)
	if err != nil {
		return nil, err
	}
	b = &pgx.Batch{}
	b.Queue(s.q.consumeToken, hash, now)
	return s.applyChange(ctx, c, b, lk.userID, ch, args, fx, cond.KeepAdmin, before)
}

// GetToken implements store.Store.
func (s *Store) GetToken(ctx context.Context, hash []byte) (*store.Token, error) {
	var t *store.Token
	err := s.do(ctx, "get token", func() error {
		var (
			r       store.Token
			purpose string
		)
		err := s.pool.QueryRow(ctx, s.q.getToken, hash).Scan(&r.Hash, &purpose, &r.UserID, &r.EmailKey, &r.CreatedAt, &r.ExpiresAt, &r.ConsumedAt, &r.NewEmail)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		r.Purpose = store.Purpose(purpose)
		r.CreatedAt = r.CreatedAt.UTC()
		r.ExpiresAt = r.ExpiresAt.UTC()
		r.ConsumedAt = utcPtr(r.ConsumedAt)
		t = &r
		return nil
	})
	return t, err
}

// GetTokenUser implements store.Store in one statement, one round trip.
func (s *Store) GetTokenUser(ctx context.Context, hash []byte) (*store.Token, *store.User, error) {
	var t *store.Token
	u, err := queryOne(ctx, s, "get token", s.q.getTokenUser, func(row pgx.Row) (*store.User, error) {
		var (
			r       store.Token
			purpose string
		)
		u, err := scanUser(prefixRow{row, []any{&r.Hash, &purpose, &r.UserID, &r.EmailKey, &r.CreatedAt, &r.ExpiresAt, &r.ConsumedAt, &r.NewEmail}})
		if err != nil {
			return nil, err
		}
		r.Purpose = store.Purpose(purpose)
		r.CreatedAt = r.CreatedAt.UTC()
		r.ExpiresAt = r.ExpiresAt.UTC()
		r.ConsumedAt = utcPtr(r.ConsumedAt)
		t = &r
		return u, nil
	}, hash)
	if err != nil {
		return nil, nil, err
	}
	return t, u, nil
}

// prefixRow is a row whose first columns go to pre, the rest to what Scan
// is given: it lets a row hold what two scan functions read.
type prefixRow struct {
	row pgx.Row
	pre []any
}

func (p prefixRow) Scan(dest ...any) error { return p.row.Scan(append(p.pre, dest...)...) }

package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

func insertToken(ctx context.Context, tx execer, t *store.Token) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO users_tokens (hash, purpose, user_id, email_key, new_email, created_at, expires_at, consumed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.Hash, string(t.Purpose), t.UserID, t.EmailKey, t.NewEmail,
		sqlstore.Micros(t.CreatedAt), sqlstore.Micros(t.ExpiresAt), sqlstore.MicrosPtr(t.ConsumedAt))
	return err
}

// ConsumeToken implements store.Store in one read-committed transaction:
// it locks the token's user's row (SELECT … FOR UPDATE), checks it, marks
// the token consumed if it is live and changes the user (one UPDATE of
// both rows, which locks the token; only a token it does not match is
// read to tell why), applies the effects, and reads the user back. Concurrent
// consumers of one token queue on the user's row lock; when the winner
// commits, the next one reads the token as consumed and gets ErrTokenUsed.
// UpdateUser too locks the user before it revokes tokens: one lock order.
func (s *Store) ConsumeToken(ctx context.Context, hash []byte, purpose store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	set, args, err := changeSetOf("u.", ch)
	if err != nil {
		return nil, fmt.Errorf("mysqlstore: consume token: %w", err)
	}
	var u *store.User
	err = s.change(ctx, "consume token", cond, func(tx *sql.Tx) error {
		// The token's user, locked. The sub-select is a plain
		// read: only the user's row is locked (MySQL and MariaDB
		// lock no row of a sub-select without its own FOR UPDATE),
		// so the lock order stays user, then token.
		var l locked
		err := tx.QueryRowContext(ctx, `SELECT `+lockCols+` FROM users_users u
WHERE u.id = (SELECT t.user_id FROM users_tokens t WHERE t.hash = ? AND t.purpose = ?) FOR UPDATE`, hash, string(purpose)).
			Scan(&l.id, &l.status, &l.contested, &l.emailKey, &l.passwordHash)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrInvalidToken // unknown, or its user deleted meanwhile
		}
		if err != nil {
			return err
		}
		userID := l.id
		// A live token is consumed, and the change made to its user, by
		// one conditional UPDATE of both rows, which locks the token
		// (user, then token, as before); it changes the token's row
		// whenever it matches (consumed_at was NULL), so it reports at
		// least one row changed exactly then. Only when it matches
		// nothing, or the user fails cond, is the token read to tell
		// why, in the order the contract gives: used, expired, then
		// cond.
		if l.holds(cond) {
			res, err := tx.ExecContext(ctx, `UPDATE users_tokens t JOIN users_users u ON u.id = t.user_id
SET t.consumed_at = ?, `+set+`
WHERE t.hash = ? AND t.purpose = ? AND t.consumed_at IS NULL AND t.expires_at > ? AND u.id = ?`,
				append(append([]any{sqlstore.Micros(now)}, args...), hash, string(purpose), sqlstore.Micros(now), userID)...)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n >= 1 {
				u, err = applyRest(ctx, tx, userID, ch, fx)
				return err
			}
		}
		var (
			consumed sql.NullInt64
			expires  int64
		)
		err = tx.QueryRowContext(ctx, `SELECT consumed_at, expires_at FROM users_tokens
WHERE hash = ? AND purpose = ? FOR UPDATE`, hash, string(purpose)).Scan(&consumed, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrInvalidToken // revoked meanwhile
		}
		if err != nil {
			return err
		}
		switch {
		case consumed.Valid:
			return store.ErrTokenUsed
		case !now.Before(sqlstore.FromMicros(expires)):
			return store.ErrTokenExpired
		case !l.holds(cond):
			return store.ErrConflict
		}
		// Live after all: expired exactly at now is caught above, so
		// this is a token that turned live between the two statements,
		// which a locked row cannot do.
		return fmt.Errorf("token neither consumed nor refused")
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// GetToken implements store.Store.
func (s *Store) GetToken(ctx context.Context, hash []byte) (*store.Token, error) {
	var t *store.Token
	err := s.do(ctx, "get token", func() error {
		var (
			r                store.Token
			purpose          string
			created, expires int64
			consumed         sql.NullInt64
		)
		err := s.ro.QueryRowContext(ctx, `SELECT hash, purpose, user_id, email_key, new_email, created_at, expires_at, consumed_at
FROM users_tokens WHERE hash = ?`, hash).Scan(&r.Hash, &purpose, &r.UserID, &r.EmailKey, &r.NewEmail, &created, &expires, &consumed)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		r.Purpose = store.Purpose(purpose)
		r.CreatedAt = sqlstore.FromMicros(created)
		r.ExpiresAt = sqlstore.FromMicros(expires)
		r.ConsumedAt = sqlstore.FromMicrosNull(consumed)
		t = &r
		return nil
	})
	return t, err
}

// GetTokenUser implements store.Store in one statement, one round trip.
func (s *Store) GetTokenUser(ctx context.Context, hash []byte) (*store.Token, *store.User, error) {
	var (
		t store.Token
		u *store.User
	)
	err := s.do(ctx, "get token", func() (err error) {
		var (
			purpose          string
			created, expires int64
			consumed         sql.NullInt64
		)
		u, err = getUserFrom(ctx, s.ro, `users_tokens tok JOIN users_users u ON u.id = tok.user_id`,
			`, tok.hash, tok.purpose, tok.user_id, tok.email_key, tok.new_email, tok.created_at, tok.expires_at, tok.consumed_at`,
			[]any{&t.Hash, &purpose, &t.UserID, &t.EmailKey, &t.NewEmail, &created, &expires, &consumed}, `tok.hash = ?`, hash)
		if err != nil {
			return err
		}
		t.Purpose = store.Purpose(purpose)
		t.CreatedAt = sqlstore.FromMicros(created)
		t.ExpiresAt = sqlstore.FromMicros(expires)
		t.ConsumedAt = sqlstore.FromMicrosNull(consumed)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return &t, u, nil
}

package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gousers/users/store"
)

// ConsumeToken implements store.Store in two round trips: the first begins
// the transaction and locks the token's user, then the token (SELECT … FOR
// UPDATE); the checks run here; the second marks the token consumed,
// applies the change and the effects, reads the user back and commits.
// Concurrent consumers of one token queue on the user's row lock; when the
// winner commits, the next one reads the token as consumed and gets
// ErrTokenUsed.
func (s *Store) ConsumeToken(ctx context.Context, hash []byte, purpose store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	var u *store.User
	err := s.do(ctx, "consume token", func() error {
		return s.inTx(ctx, func(c *pgx.Conn) error {
			var (
				userID    string
				consumed  *time.Time
				expires   time.Time
				st        state
				userFound bool
				before    bool
			)
			b := &pgx.Batch{}
			s.begin(b, cond.KeepAdmin, &before)
			b.Queue(s.q.lockTokenUser, hash, string(purpose)).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					userFound = true
					if err := st.scan(rows); err != nil {
						return err
					}
				}
				return rows.Err()
			})
			b.Queue(s.q.lockToken, hash, string(purpose)).QueryRow(func(row pgx.Row) error {
				return row.Scan(&userID, &consumed, &expires)
			})
			if err := c.SendBatch(ctx, b).Close(); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return store.ErrInvalidToken
				}
				return err
			}
			if !userFound {
				// The token was committed after the first statement
				// began: it did not exist when this call looked.
				return store.ErrInvalidToken
			}
			switch {
			case consumed != nil:
				return store.ErrTokenUsed
			case !now.Before(expires):
				return store.ErrTokenExpired
			case !st.holds(cond):
				return store.ErrConflict
			}
			args, err := changeArgs(userID, ch)
			if err != nil {
				return err
			}
			b = &pgx.Batch{}
			b.Queue(s.q.consumeToken, hash, now)
			u, err = s.applyChange(ctx, c, b, userID, ch, args, fx, cond.KeepAdmin, before)
			return err
		})
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

package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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
	if (s.block || s.multi) && !cond.KeepAdmin {
		return s.consumeBatched(ctx, hash, purpose, now, cond, ch, fx)
	}
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

// consumeBatched is ConsumeToken in fewer round trips, for a condition
// without KeepAdmin: one on MariaDB with interpolated arguments (see
// compoundStatements and consumeBlock), two on a handle that sends
// several statements at once (see multiStatements). The transaction is
// ConsumeToken's, in the same lock order: it locks the token's user
// (SELECT … FOR UPDATE, the token found by a plain read: a token's user
// never changes), then the token, and reads both. In two round trips, the
// store decides from those rows whether to roll back (unknown, used,
// expired, cond, in that order), or to consume the token, change the
// user, write the effects, read the user back and commit. Nothing the
// decision rests on can change in between: both rows are locked.
func (s *Store) consumeBatched(ctx context.Context, hash []byte, purpose store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	set, setArgs, err := changeSet(ch)
	if err != nil {
		return nil, fmt.Errorf("mysqlstore: consume token: %w", err)
	}
	micros := sqlstore.Micros(now)
	if s.block {
		return s.consumeBlock(ctx, hash, purpose, micros, cond, ch, set, setArgs, fx)
	}
	var b batch
	if s.level != sql.LevelDefault {
		// The session's level is not READ COMMITTED: set it for this
		// transaction (see inTx).
		b.sql.WriteString("SET TRANSACTION ISOLATION LEVEL READ COMMITTED;\n")
	}
	b.sql.WriteString("START TRANSACTION;\n")
	b.ExecContext(ctx, `SELECT `+lockCols+` FROM users_users u
WHERE u.id = (SELECT t.user_id FROM users_tokens t WHERE t.hash = ? AND t.purpose = ?) FOR UPDATE`, hash, string(purpose))
	b.sql.WriteString(`SELECT consumed_at, expires_at FROM users_tokens WHERE hash = ? AND purpose = ? FOR UPDATE`)
	b.args = append(b.args, hash, string(purpose))
	var u *store.User
	err = s.do(ctx, "consume token", func() error {
		u = nil
		return onConn(ctx, s.db, func(conn *sql.Conn, done *bool) error {
			rows, err := conn.QueryContext(ctx, b.sql.String(), b.args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			var (
				l        locked
				found    bool
				live     bool
				consumed sql.NullInt64
				expires  int64
			)
			if rows.Next() {
				found = true
				if err := rows.Scan(&l.id, &l.status, &l.contested, &l.emailKey, &l.passwordHash); err != nil {
					return err
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if rows.NextResultSet() && rows.Next() {
				live = true
				if err := rows.Scan(&consumed, &expires); err != nil {
					return err
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := refusal(found && live, consumed.Valid, expires, micros, l.holds(cond)); err != nil {
				return err
			}
			var w batch
			w.ExecContext(ctx, `UPDATE users_tokens SET consumed_at = ? WHERE hash = ? AND purpose = ?`, micros, hash, string(purpose))
			w.ExecContext(ctx, `UPDATE users_users SET `+set+` WHERE id = ?`, append(slices.Clone(setArgs), l.id)...)
			if err := consumeWrites(ctx, &w, l.id, ch, fx); err != nil {
				return err
			}
			w.sql.WriteString("COMMIT")
			rows2, err := conn.QueryContext(ctx, w.sql.String(), w.args...)
			if err != nil {
				return err
			}
			ru, err := scanUserRows(rows2)
			if cerr := rows2.Close(); err == nil {
				err = cerr // the COMMIT's
			}
			if err != nil {
				return err
			}
			*done, u = true, ru
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// refusal is the error of a consumption that must not happen, in the order
// the contract gives, from what the locking reads saw: whether the token
// and its user exist, whether the token was consumed, when it expires,
// and whether the user satisfies the condition; nil when it may happen.
func refusal(exists, consumed bool, expires, now int64, holds bool) error {
	switch {
	case !exists:
		return store.ErrInvalidToken // unknown, revoked, or its user deleted
	case consumed:
		return store.ErrTokenUsed
	case expires <= now:
		return store.ErrTokenExpired
	case !holds:
		return store.ErrConflict
	}
	return nil
}

// consumeWrites queues on w what follows the consumption of a token of the
// user userID (an id, or a variable of a block): the policies ch sets, the
// effects, and the read of the user.
func consumeWrites(ctx context.Context, w *batch, userID any, ch store.UserChange, fx store.Effects) error {
	if ch.SetPolicies {
		w.ExecContext(ctx, `DELETE FROM users_user_policies WHERE user_id = ?`, userID)
		if err := insertPolicies(ctx, w, []any{userID}, ch.Policies); err != nil {
			return err
		}
	}
	if err := applyEffects(ctx, w, userID, fx); err != nil {
		return err
	}
	w.ExecContext(ctx, userSelect(`users_users u`, "", `u.id = ?`), userID)
	return nil
}

// consumeBlock is ConsumeToken in one round trip: an anonymous block
// (BEGIN NOT ATOMIC … END) begins the transaction, locks the token's
// user and then the token into variables, sends them back (one row), and
// only when the token is live and the user satisfies cond (the same test
// as refusal's) consumes the token, changes the user, writes the effects
// and reads the user back (a second result); then it commits. When no
// user comes back, the row read tells why. When the session's isolation
// level is not READ COMMITTED, a statement before the block sets it for
// the block's transaction (a round trip more, as inTx's).
func (s *Store) consumeBlock(ctx context.Context, hash []byte, purpose store.Purpose, micros int64, cond store.Condition, ch store.UserChange, set string, setArgs []any, fx store.Effects) (*store.User, error) {
	// The variables that hold text have the columns' collation
	// (utf8mb4_nopad_bin on MariaDB: see the package documentation, Text
	// and ordering), so that they compare as the columns do.
	const text = " CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
	b := &batch{}
	b.sql.WriteString("BEGIN NOT ATOMIC\nDECLARE uid VARCHAR(255)" + text + ";\nDECLARE st VARCHAR(32)" + text +
		";\nDECLARE ek VARCHAR(320)" + text + ";\nDECLARE ph TEXT" + text + ";\nDECLARE con BOOL;\nDECLARE tc, te BIGINT;\n")
	b.sql.WriteString("START TRANSACTION;\n")
	// The token's user, locked; the sub-select is a plain read, as in
	// ConsumeToken.
	b.ExecContext(ctx, `SELECT u.id, u.status, u.contested, COALESCE(u.email_key, ''), u.password_hash INTO uid, st, con, ek, ph
FROM users_users u WHERE u.id = (SELECT t.user_id FROM users_tokens t WHERE t.hash = ? AND t.purpose = ?) FOR UPDATE`, hash, string(purpose))
	b.ExecContext(ctx, `SELECT consumed_at, expires_at INTO tc, te FROM users_tokens WHERE hash = ? AND purpose = ? FOR UPDATE`, hash, string(purpose))
	b.ExecContext(ctx, `SELECT uid, st, con, ek, ph, tc, te`)
	// The condition on the variables, as locked.holds tests it.
	c := "st IS NOT NULL AND te IS NOT NULL AND tc IS NULL AND te > ?"
	cargs := []any{micros}
	if cond.Status != "" {
		c += " AND st = ?"
		cargs = append(cargs, string(cond.Status))
	}
	if cond.Contested != nil {
		c += " AND con = ?"
		cargs = append(cargs, *cond.Contested)
	}
	if cond.EmailKey != nil {
		c += " AND ek = ?"
		cargs = append(cargs, *cond.EmailKey)
	}
	if cond.PasswordHash != nil {
		c += " AND ph = ?"
		cargs = append(cargs, *cond.PasswordHash)
	}
	b.sql.WriteString("IF " + c + " THEN\n")
	b.args = append(b.args, cargs...)
	uid := sqlExpr("uid")
	b.ExecContext(ctx, `UPDATE users_tokens SET consumed_at = ? WHERE hash = ? AND purpose = ?`, micros, hash, string(purpose))
	b.ExecContext(ctx, `UPDATE users_users SET `+set+` WHERE id = ?`, append(slices.Clone(setArgs), uid)...)
	if err := consumeWrites(ctx, b, uid, ch, fx); err != nil {
		return nil, fmt.Errorf("mysqlstore: consume token: %w", err)
	}
	b.sql.WriteString("END IF;\nCOMMIT;\nEND")
	var u *store.User
	err := s.do(ctx, "consume token", func() error {
		u = nil
		return onConn(ctx, s.db, func(conn *sql.Conn, done *bool) error {
			if s.level != sql.LevelDefault {
				if _, err := conn.ExecContext(ctx, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"); err != nil {
					return err
				}
			}
			rows, err := conn.QueryContext(ctx, b.sql.String(), b.args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			var (
				l        locked
				id, st   sql.NullString
				con      sql.NullBool
				ek, ph   sql.NullString
				tc, te   sql.NullInt64
				consumed bool
			)
			if !rows.Next() {
				if err := rows.Err(); err != nil {
					return err
				}
				return errors.New("the block read no row")
			}
			if err := rows.Scan(&id, &st, &con, &ek, &ph, &tc, &te); err != nil {
				return err
			}
			l = locked{id: id.String, status: st.String, contested: con.Bool, emailKey: ek.String, passwordHash: ph.String}
			consumed = tc.Valid
			if rows.NextResultSet() {
				// The block changed the user and read it back.
				ru, err := scanUserRows(rows)
				if cerr := rows.Close(); err == nil {
					err = cerr // the COMMIT's
				}
				if err != nil {
					return err
				}
				*done, u = true, ru
				return nil
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if err := rows.Close(); err != nil {
				return err
			}
			*done = true // the block ran to its end: it committed (nothing)
			if err := refusal(st.Valid && te.Valid, consumed, te.Int64, micros, l.holds(cond)); err != nil {
				return err
			}
			// The rows say the block should have consumed the token: a
			// token cannot turn live under its lock.
			return fmt.Errorf("token neither consumed nor refused")
		})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

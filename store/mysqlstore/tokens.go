package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
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
// compoundStatements), two on a handle that sends several statements at
// once (see multiStatements). The transaction is ConsumeToken's, in the
// same lock order: it locks the token's user (SELECT … FOR UPDATE, the
// token found by a plain read: a token's user never changes), then the
// token, and reads both.
//
// In one round trip, an anonymous block (BEGIN NOT ATOMIC … END) sends
// those reads back and goes on: one UPDATE of both rows consumes the token
// and changes its user only if the token is live and the user satisfies
// cond, and only if it did are the effects written and the user read
// back. In two, the store decides from the two rows it read whether to
// roll back, or to consume the token, change the user, write the effects,
// read the user back and commit. Either way, when no user comes back, the
// rows read tell why (unknown, used, expired, cond, in that order).
func (s *Store) consumeBatched(ctx context.Context, hash []byte, purpose store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	block := s.block
	prefix := ""
	if block {
		prefix = "u."
	}
	set, setArgs, err := changeSetOf(prefix, ch)
	if err != nil {
		return nil, fmt.Errorf("mysqlstore: consume token: %w", err)
	}
	micros := sqlstore.Micros(now)
	// The user's id: a local variable of the block; in two round trips,
	// the id the first one read.
	var (
		b   batch
		uid any = sqlExpr("uid")
	)
	if block {
		// The users' ids are utf8mb4_nopad_bin (MariaDB: see the package
		// documentation, Text and ordering), and so is the variable.
		b.sql.WriteString("BEGIN NOT ATOMIC\nDECLARE uid VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;\n")
	}
	if s.level != sql.LevelDefault {
		// The session's level is not READ COMMITTED: set it for this
		// transaction (see inTx).
		b.sql.WriteString("SET TRANSACTION ISOLATION LEVEL READ COMMITTED;\n")
	}
	b.sql.WriteString("START TRANSACTION;\n")
	if block {
		b.ExecContext(ctx, `SET uid = (SELECT t.user_id FROM users_tokens t WHERE t.hash = ? AND t.purpose = ?)`, hash, string(purpose))
		b.ExecContext(ctx, `SELECT `+lockCols+` FROM users_users u WHERE u.id = uid FOR UPDATE`)
	} else {
		b.ExecContext(ctx, `SELECT `+lockCols+` FROM users_users u
WHERE u.id = (SELECT t.user_id FROM users_tokens t WHERE t.hash = ? AND t.purpose = ?) FOR UPDATE`, hash, string(purpose))
	}
	b.sql.WriteString(`SELECT consumed_at, expires_at FROM users_tokens WHERE hash = ? AND purpose = ? FOR UPDATE`)
	b.args = append(b.args, hash, string(purpose))
	// writes queues what consumes the token and follows from it, then the
	// read of the user, on w.
	writes := func(w *batch, userID any) error {
		if block {
			c, cargs := condSQL(cond)
			w.ExecContext(ctx, `UPDATE users_tokens t JOIN users_users u ON u.id = t.user_id
SET t.consumed_at = ?, `+set+`
WHERE t.hash = ? AND t.purpose = ? AND t.consumed_at IS NULL AND t.expires_at > ? AND u.id = uid`+c,
				append(append(append([]any{micros}, setArgs...), hash, string(purpose), micros), cargs...)...)
			w.sql.WriteString("IF ROW_COUNT() > 0 THEN\n")
		} else {
			w.ExecContext(ctx, `UPDATE users_tokens SET consumed_at = ? WHERE hash = ? AND purpose = ?`, micros, hash, string(purpose))
			w.ExecContext(ctx, `UPDATE users_users SET `+set+` WHERE id = ?`, append(slices.Clone(setArgs), userID)...)
		}
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
		if block {
			w.sql.WriteString("END IF;\n")
		}
		w.sql.WriteString("COMMIT")
		if block {
			w.sql.WriteString(";\nEND")
		}
		return nil
	}
	if block {
		b.sql.WriteString(";\n")
		if err := writes(&b, uid); err != nil {
			return nil, fmt.Errorf("mysqlstore: consume token: %w", err)
		}
	}
	var u *store.User
	err = s.do(ctx, "consume token", func() error {
		u = nil
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		done := false
		defer func() {
			if !done {
				rollback(ctx, conn)
			}
		}()
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
		if block && found && live {
			if rows.NextResultSet() {
				// The block changed the user and read it back.
				ru, err := scanUserRows(rows)
				if cerr := rows.Close(); err == nil {
					err = cerr // the COMMIT's
				}
				if err != nil {
					return err
				}
				done, u = true, ru
				return nil
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		// The block, having run to its end, committed (nothing).
		done = block
		switch {
		case !found || !live:
			return store.ErrInvalidToken // unknown, revoked, or its user deleted
		case consumed.Valid:
			return store.ErrTokenUsed
		case expires <= micros:
			return store.ErrTokenExpired
		case !l.holds(cond):
			return store.ErrConflict
		case block:
			// The block committed nothing, and the rows it read say
			// it should have: a token cannot turn live under its lock.
			return fmt.Errorf("token neither consumed nor refused")
		}
		var w batch
		if err := writes(&w, l.id); err != nil {
			return err
		}
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
		done, u = true, ru
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// condSQL is cond (but KeepAdmin) as conditions on users_users u, each
// after AND, with their arguments.
func condSQL(cond store.Condition) (string, []any) {
	var (
		sb   strings.Builder
		args []any
	)
	if cond.Status != "" {
		sb.WriteString(" AND u.status = ?")
		args = append(args, string(cond.Status))
	}
	if cond.Contested != nil {
		sb.WriteString(" AND u.contested = ?")
		args = append(args, *cond.Contested)
	}
	if cond.EmailKey != nil {
		sb.WriteString(" AND COALESCE(u.email_key, '') = ?")
		args = append(args, *cond.EmailKey)
	}
	if cond.PasswordHash != nil {
		sb.WriteString(" AND u.password_hash = ?")
		args = append(args, *cond.PasswordHash)
	}
	return sb.String(), args
}

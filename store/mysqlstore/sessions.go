package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

const sessionCols = `s.id, s.user_id, s.token_hash, s.created_at, s.refreshed_at, s.expires_at, s.ip, s.user_agent, s.generation`

func scanSession(row interface{ Scan(...any) error }) (*store.Session, error) {
	var (
		r                           store.Session
		created, refreshed, expires int64
	)
	if err := row.Scan(&r.ID, &r.UserID, &r.TokenHash, &created, &refreshed, &expires, &r.IP, &r.UserAgent, &r.Generation); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		return nil, err
	}
	r.CreatedAt = sqlstore.FromMicros(created)
	r.RefreshedAt = sqlstore.FromMicros(refreshed)
	r.ExpiresAt = sqlstore.FromMicros(expires)
	return &r, nil
}

// CreateSession implements store.Store: one read-committed transaction
// locks the user's row, checks cond and inserts the session.
func (s *Store) CreateSession(ctx context.Context, r *store.Session, cond store.Condition, events ...*store.Event) error {
	return s.do(ctx, "create session", func() error {
		return s.inTx(ctx, func(tx *sql.Tx) error {
			l, err := lockUser(ctx, tx, r.UserID)
			if err != nil {
				return err
			}
			if !l.holds(cond) {
				return store.ErrConflict
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO users_sessions (id, user_id, token_hash, created_at, refreshed_at, expires_at, ip, user_agent, generation)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.UserID, r.TokenHash, sqlstore.Micros(r.CreatedAt), sqlstore.Micros(r.RefreshedAt),
				sqlstore.Micros(r.ExpiresAt), r.IP, r.UserAgent, r.Generation)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE users_users SET last_access = ? WHERE id = ?`, sqlstore.Micros(r.CreatedAt), r.UserID); err != nil {
				return err
			}
			return insertEvents(ctx, tx, events)
		})
	})
}

// GetSession implements store.Store.
func (s *Store) GetSession(ctx context.Context, id string) (*store.Session, error) {
	var r *store.Session
	err := s.do(ctx, "get session", func() (err error) {
		r, err = scanSession(s.ro.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM users_sessions s WHERE s.id = ?`, id))
		return err
	})
	return r, err
}

// scanFunc scans with a function: it lets one row hold what two scan
// functions read (see ResolveSession).
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// resolveSessionSQL reads a session, its user and what the user's role
// and policies grant it in one statement: a row per policy of the user,
// with its position (one with a NULL policy when it has none), each with the
// role's flags and that policy's (NULL when the role or the policy no
// longer exists: it grants nothing).
const resolveSessionSQL = `SELECT ` + userJoinCols + `, p.policy_id, p.position, ` + sessionCols + `,
	COALESCE(r.admin_access, FALSE), COALESCE(r.enforce_tfa, FALSE),
	COALESCE(ap.admin_access, FALSE), COALESCE(ap.enforce_tfa, FALSE)
FROM users_sessions s JOIN users_users u ON u.id = s.user_id
LEFT JOIN users_roles r ON r.id = u.role` + userJoins + `
LEFT JOIN users_policies ap ON ap.id = p.policy_id
WHERE s.id = ?`

// ResolveSession implements store.Store with one SELECT.
func (s *Store) ResolveSession(ctx context.Context, id string) (*store.Session, *store.User, store.Grants, error) {
	var (
		sess *store.Session
		u    *store.User
		g    store.Grants
	)
	err := s.do(ctx, "resolve session", func() error {
		sess, u, g = nil, nil, store.Grants{}
		rows, err := s.ro.QueryContext(ctx, resolveSessionSQL, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		var pos policyOrder
		for rows.Next() {
			var (
				policy                           sql.NullString
				position                         sql.NullInt64
				ru                               *store.User
				roleAdmin, roleTFA, pAdmin, pTFA bool
			)
			rs, err := scanSession(scanFunc(func(sd ...any) (err error) {
				ru, err = scanUser(rows, append(append([]any{&policy, &position}, sd...), &roleAdmin, &roleTFA, &pAdmin, &pTFA)...)
				return err
			}))
			if err != nil {
				return err
			}
			if u == nil {
				sess, u = rs, ru
			}
			pos.add(policy, position)
			g.AdminAccess = g.AdminAccess || roleAdmin || pAdmin
			g.EnforceTFA = g.EnforceTFA || roleTFA || pTFA
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if u == nil {
			return store.ErrNotFound
		}
		u.Policies = pos.sorted()
		return nil
	})
	if err != nil {
		return nil, nil, store.Grants{}, err
	}
	return sess, u, g, nil
}

// errReused carries, out of the transaction that found it, the id of the
// session whose earlier token was presented.
type errReused struct{ id string }

func (errReused) Error() string { return "refresh token reused" }

// RotateSession implements store.Store. One read-committed transaction
// locks the row of the user whose session has the current hash, then the
// session's (the order every user change takes), and checks them;
// concurrent rotations of one token queue on the user's lock, and the
// ones after the winner no longer find the hash current. A hash found
// among the earlier ones ends the session in a transaction of its own,
// committed, and answers ErrTokenReused.
func (s *Store) RotateSession(ctx context.Context, oldHash, newHash []byte, now, expiresAt time.Time, cond store.Condition) (*store.Session, *store.User, error) {
	var (
		sess *store.Session
		u    *store.User
	)
	err := s.do(ctx, "rotate session", func() error {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			// The session's user, locked; the sub-select locks
			// nothing (see ConsumeToken).
			var l locked
			err := tx.QueryRowContext(ctx, `SELECT `+lockCols+` FROM users_users u
WHERE u.id = (SELECT s.user_id FROM users_sessions s WHERE s.token_hash = ?) FOR UPDATE`, oldHash).
				Scan(&l.id, &l.status, &l.contested, &l.emailKey, &l.passwordHash)
			if errors.Is(err, sql.ErrNoRows) {
				return earlier(ctx, tx, oldHash) // rotated, or its user deleted meanwhile
			}
			if err != nil {
				return err
			}
			userID := l.id
			sess, err = scanSession(tx.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM users_sessions s
WHERE s.token_hash = ? FOR UPDATE`, oldHash))
			if errors.Is(err, store.ErrNotFound) {
				return earlier(ctx, tx, oldHash) // rotated meanwhile
			}
			if err != nil {
				return err
			}
			switch {
			case !now.Before(sess.ExpiresAt):
				return store.ErrTokenExpired
			case !l.holds(cond):
				return store.ErrConflict
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO users_session_hashes (hash, session_id) VALUES (?, ?)`, oldHash, sess.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE users_sessions SET token_hash = ?, refreshed_at = ?, expires_at = ? WHERE id = ?`,
				newHash, sqlstore.Micros(now), sqlstore.Micros(expiresAt), sess.ID); err != nil {
				return err
			}
			sess.TokenHash = append([]byte(nil), newHash...)
			sess.RefreshedAt = sqlstore.FromMicros(sqlstore.Micros(now))
			sess.ExpiresAt = sqlstore.FromMicros(sqlstore.Micros(expiresAt))
			if _, err := tx.ExecContext(ctx, `UPDATE users_users SET last_access = ? WHERE id = ?`, sqlstore.Micros(now), userID); err != nil {
				return err
			}
			u, err = getUser(ctx, tx, `u.id = ?`, userID)
			return err
		})
		return s.endReused(ctx, err)
	})
	if err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// RenewSession implements store.Store. One read-committed transaction
// locks the row of the session's user, then the session's (the order
// every user change takes), and checks them; concurrent renewals of one
// session queue on the user's lock, and each finds the generation the one
// before it committed. A retired generation ends the session in a
// transaction of its own, committed, and answers ErrTokenReused.
func (s *Store) RenewSession(ctx context.Context, id string, generation int64, now time.Time, grace time.Duration, cond store.Condition) (*store.Session, *store.User, error) {
	var (
		sess *store.Session
		u    *store.User
	)
	err := s.do(ctx, "renew session", func() error {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			// The session's user, locked; the sub-select locks
			// nothing (see ConsumeToken).
			var l locked
			err := tx.QueryRowContext(ctx, `SELECT `+lockCols+` FROM users_users u
WHERE u.id = (SELECT s.user_id FROM users_sessions s WHERE s.id = ?) FOR UPDATE`, id).
				Scan(&l.id, &l.status, &l.contested, &l.emailKey, &l.passwordHash)
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound // none, or ended meanwhile
			}
			if err != nil {
				return err
			}
			sess, err = scanSession(tx.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM users_sessions s
WHERE s.id = ? FOR UPDATE`, id))
			if err != nil {
				return err // ErrNotFound when it ended meanwhile
			}
			verdict := sqlstore.Renew(generation, sess.Generation, sess.RefreshedAt, now, grace)
			switch {
			case verdict == sqlstore.RenewReused:
				return errReused{id: id}
			case !now.Before(sess.ExpiresAt):
				return store.ErrTokenExpired
			case !l.holds(cond):
				return store.ErrConflict
			case verdict == sqlstore.RenewAdvance:
				if _, err := tx.ExecContext(ctx, `UPDATE users_sessions SET generation = generation + 1, refreshed_at = ? WHERE id = ?`,
					sqlstore.Micros(now), id); err != nil {
					return err
				}
				sess.Generation++
				sess.RefreshedAt = sqlstore.FromMicros(sqlstore.Micros(now))
				if _, err := tx.ExecContext(ctx, `UPDATE users_users SET last_access = ? WHERE id = ?`, sqlstore.Micros(now), l.id); err != nil {
					return err
				}
			}
			u, err = getUser(ctx, tx, `u.id = ?`, l.id)
			return err
		})
		return s.endReused(ctx, err)
	})
	if err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// endReused passes err on, except errReused: a token of the session that
// was already rotated or renewed came back (it leaked), so the session is
// deleted — a deletion kept, outside the rolled-back transaction — and
// the answer is ErrTokenReused.
func (s *Store) endReused(ctx context.Context, err error) error {
	var reused errReused
	if !errors.As(err, &reused) {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM users_sessions WHERE id = ?`, reused.id); err != nil {
		return err
	}
	return store.ErrTokenReused
}

// earlier looks hash up among the sessions' earlier hashes: errReused with
// the session's id when it is one, ErrInvalidToken when it is not.
func earlier(ctx context.Context, tx *sql.Tx, hash []byte) error {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT session_id FROM users_session_hashes WHERE hash = ?`, hash).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrInvalidToken
	}
	if err != nil {
		return err
	}
	return errReused{id: id}
}

// DeleteSession implements store.Store; its earlier hashes go with it (ON
// DELETE CASCADE).
func (s *Store) DeleteSession(ctx context.Context, id string, events ...*store.Event) error {
	if len(events) > 0 {
		return s.do(ctx, "delete session", func() error {
			return s.inTx(ctx, func(tx *sql.Tx) error {
				if err := fillEventUser(ctx, tx, events, `SELECT u.id, u.email, COALESCE(u.role, '') FROM users_users u
JOIN users_sessions s ON s.user_id = u.id WHERE s.id = ?`, id); err != nil {
					return err
				}
				if err := sqlstore.Found(sqlstore.Affected(tx.ExecContext(ctx, `DELETE FROM users_sessions WHERE id = ?`, id))); err != nil {
					return err
				}
				return insertEvents(ctx, tx, events)
			})
		})
	}
	return s.do(ctx, "delete session", func() error {
		return sqlstore.Found(sqlstore.Affected(s.db.ExecContext(ctx, `DELETE FROM users_sessions WHERE id = ?`, id)))
	})
}

// DeleteSessionByToken implements store.Store: the session whose current
// hash is hash, else the one that had it before.
func (s *Store) DeleteSessionByToken(ctx context.Context, hash []byte, events ...*store.Event) error {
	if len(events) > 0 {
		return s.do(ctx, "delete session by token", func() error {
			return s.inTx(ctx, func(tx *sql.Tx) error {
				if err := fillEventUser(ctx, tx, events, `SELECT u.id, u.email, COALESCE(u.role, '') FROM users_users u
JOIN users_sessions s ON s.user_id = u.id
WHERE s.token_hash = ? OR s.id = (SELECT h.session_id FROM users_session_hashes h WHERE h.hash = ?)`, hash, hash); err != nil {
					return err
				}
				if err := sqlstore.Found(sqlstore.Affected(tx.ExecContext(ctx, `DELETE FROM users_sessions
WHERE token_hash = ? OR id = (SELECT session_id FROM (SELECT h.session_id FROM users_session_hashes h WHERE h.hash = ?) AS x)`, hash, hash))); err != nil {
					return err
				}
				return insertEvents(ctx, tx, events)
			})
		})
	}
	return s.do(ctx, "delete session by token", func() error {
		err := sqlstore.Found(sqlstore.Affected(s.db.ExecContext(ctx, `DELETE FROM users_sessions WHERE token_hash = ?`, hash)))
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return sqlstore.Found(sqlstore.Affected(s.db.ExecContext(ctx, `DELETE FROM users_sessions
WHERE id = (SELECT h.session_id FROM users_session_hashes h WHERE h.hash = ?)`, hash)))
	})
}

// PurgeExpired implements store.Store: two DELETEs by the expires_at
// indexes (the sessions' earlier hashes go with them).
func (s *Store) PurgeExpired(ctx context.Context, before time.Time) (int, error) {
	var total int
	err := s.do(ctx, "purge expired", func() error {
		total = 0
		for _, q := range []string{
			`DELETE FROM users_sessions WHERE expires_at <= ?`,
			`DELETE FROM users_tokens WHERE expires_at <= ?`,
		} {
			n, err := sqlstore.Affected(s.db.ExecContext(ctx, q, sqlstore.Micros(before)))
			if err != nil {
				return err
			}
			total += int(n)
		}
		return nil
	})
	return total, err
}

// ListSessions implements store.Store.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]*store.Session, error) {
	return read(ctx, s, "list sessions", func() ([]*store.Session, error) {
		return queryAll(ctx, s.db, `SELECT `+sessionCols+` FROM users_sessions s WHERE s.user_id = ?
ORDER BY s.created_at DESC, s.id`, func(rows *sql.Rows) (*store.Session, error) { return scanSession(rows) }, userID)
	})
}

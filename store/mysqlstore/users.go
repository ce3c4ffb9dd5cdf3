package mysqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// userCols reads a store.User (see scanUser) from users_users AS u;
// the policies are read apart (loadPolicies).
const userCols = userFields + `,
	EXISTS (SELECT 1 FROM users_tfa t WHERE t.user_id = u.id)`

// userFields are the columns of userCols read from users_users itself.
const userFields = `u.id, u.email, COALESCE(u.email_key, ''), u.password_hash, u.first_name, u.last_name,
	u.status, u.role, u.contested, u.metadata, u.created_at, u.updated_at, u.last_access`

// userJoinCols are userCols for a statement that joins users_tfa tf (see
// userJoins): where one user is read, a join costs the server less than
// the sub-select.
const userJoinCols = userFields + `, tf.user_id IS NOT NULL`

// userJoins joins what userJoinCols and the policies read to users_users u.
const userJoins = `
LEFT JOIN users_tfa tf ON tf.user_id = u.id
LEFT JOIN users_user_policies p ON p.user_id = u.id`

// lockCols reads what a Condition is checked against (see lockedUser).
const lockCols = `u.id, u.status, u.contested, COALESCE(u.email_key, ''), u.password_hash`

// CreateUser implements store.Store, in one transaction. A concurrent
// insert of the same email key waits on the unique index until the first
// commits, then fails with ErrDuplicateEmail.
//
// When its effects concern only the new user (as they always do when the
// Manager registers, invites or creates), the transaction only inserts:
// there is nothing of the user's to revoke yet, and no row it reads
// depends on the isolation level, so it runs at the session's and skips
// the round trip that would set one; on a handle that sends several
// statements at once (see the package documentation, The DSN), the whole
// transaction is one round trip. Otherwise it
// runs at READ COMMITTED, like every other write.
func (s *Store) CreateUser(ctx context.Context, u *store.User, fx store.Effects) error {
	meta, err := sqlstore.EncodeMetadata(u.Metadata)
	if err != nil {
		return fmt.Errorf("mysqlstore: create user: %w", err)
	}
	fresh := !fx.EndSessions && len(fx.RevokeTokens) == 0 && (fx.Token == nil || fx.Token.UserID == u.ID)
	insertUser := func(tx execer) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users_users (id, email, email_key, password_hash,
	first_name, last_name, id_lc, email_lc, first_name_lc, last_name_lc, status, role, role_lc, contested, metadata,
	created_at, updated_at)
VALUES (?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.EmailKey, u.PasswordHash, u.FirstName, u.LastName,
			strings.ToLower(u.ID), strings.ToLower(u.Email), strings.ToLower(u.FirstName), strings.ToLower(u.LastName),
			string(u.Status), u.Role, sqlstore.LowerPtr(u.Role), u.Contested, meta, sqlstore.Micros(u.CreatedAt), sqlstore.Micros(u.UpdatedAt)); err != nil {
			return err
		}
		return insertPolicies(ctx, tx, []any{u.ID}, u.Policies)
	}
	// The rows of a fresh user: the user, its policies, its token, its
	// mail and the events.
	insertFresh := func(tx execer) error {
		if err := insertUser(tx); err != nil {
			return err
		}
		if t := fx.Token; t != nil {
			if err := insertToken(ctx, tx, t); err != nil {
				return err
			}
		}
		if m := fx.Mail; m != nil {
			if err := insertMail(ctx, tx, m); err != nil {
				return err
			}
		}
		return insertEvents(ctx, tx, fx.Events)
	}
	if fresh && s.multi {
		// One round trip.
		var b batch
		if err := insertFresh(&b); err != nil {
			return fmt.Errorf("mysqlstore: create user: %w", err)
		}
		return s.do(ctx, "create user", func() error { return b.run(ctx, s.db) })
	}
	level := s.level
	if fresh {
		level = sql.LevelDefault
	}
	return s.do(ctx, "create user", func() error {
		return inTxLevel(ctx, s.db, level, func(tx *sql.Tx) error {
			if fresh {
				return insertFresh(tx)
			}
			if err := insertUser(tx); err != nil {
				return err
			}
			return applyEffects(ctx, tx, u.ID, fx)
		})
	})
}

// insertPolicies links every user in ids to policies, in their order.
func insertPolicies(ctx context.Context, tx execer, ids []any, policies []string) error {
	if len(policies) == 0 || len(ids) == 0 {
		return nil
	}
	var (
		sb   strings.Builder
		args []any
	)
	sb.WriteString("INSERT INTO users_user_policies (user_id, position, policy_id) VALUES ")
	for i, id := range ids {
		for j, p := range policies {
			if i > 0 || j > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?)")
			args = append(args, id, j, p)
		}
	}
	_, err := tx.ExecContext(ctx, sb.String(), args...)
	return err
}

// applyEffects writes fx for the user userID, inside tx.
func applyEffects(ctx context.Context, tx execer, userID any, fx store.Effects) error {
	if len(fx.RevokeTokens) > 0 {
		args := []any{userID}
		for _, p := range fx.RevokeTokens {
			args = append(args, string(p))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users_tokens
WHERE user_id = ? AND consumed_at IS NULL AND purpose IN (`+placeholders(len(fx.RevokeTokens))+`)`, args...); err != nil {
			return err
		}
	}
	if t := fx.Token; t != nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM users_tokens WHERE user_id = ? AND purpose = ? AND consumed_at IS NULL`,
			t.UserID, string(t.Purpose)); err != nil {
			return err
		}
		if err := insertToken(ctx, tx, t); err != nil {
			return err
		}
	}
	if fx.EndSessions {
		if _, err := tx.ExecContext(ctx, `DELETE FROM users_sessions WHERE user_id = ?`, userID); err != nil {
			return err
		}
	}
	if m := fx.Mail; m != nil {
		if err := insertMail(ctx, tx, m); err != nil {
			return err
		}
	}
	return insertEvents(ctx, tx, fx.Events)
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	var u *store.User
	err := s.do(ctx, "get user", func() (err error) {
		u, err = getUser(ctx, s.ro, `u.id = ?`, id)
		return err
	})
	return u, err
}

// GetUserByEmailKey implements store.Store. The empty key names no user
// (users without an email have a NULL key).
func (s *Store) GetUserByEmailKey(ctx context.Context, key string) (*store.User, error) {
	if key == "" {
		return nil, fmt.Errorf("mysqlstore: get user by email: %w", store.ErrNotFound)
	}
	var u *store.User
	err := s.do(ctx, "get user by email", func() (err error) {
		// The column's collation does not pad (utf8mb4_nopad_bin,
		// utf8mb4_0900_bin): equality is exact.
		u, err = getUser(ctx, s.ro, `u.email_key = ?`, key)
		return err
	})
	return u, err
}

// getUser reads the one user that cond (over users_users AS u) selects,
// with its policies, in one statement: a row per policy with its position
// (one row with a NULL policy when it has none). The policies are put in
// order here: an ORDER BY on the joined table made the server build a
// temporary table and sort it for every read of a user.
func getUser(ctx context.Context, q querier, cond string, args ...any) (*store.User, error) {
	return getUserFrom(ctx, q, `users_users u`, "", nil, cond, args...)
}

// getUserFrom is getUser over from, which names users_users u and may
// join other tables: extraCols (", col, …") are read into extra as well.
func getUserFrom(ctx context.Context, q querier, from, extraCols string, extra []any, cond string, args ...any) (*store.User, error) {
	rows, err := q.QueryContext(ctx, userSelect(from, extraCols, cond), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanUserRows(rows, extra...)
}

// userSelect is the statement of getUserFrom.
func userSelect(from, extraCols, cond string) string {
	return `SELECT ` + userJoinCols + `, p.policy_id, p.position` + extraCols + ` FROM ` + from + userJoins + `
WHERE ` + cond
}

// scanUserRows reads the user that the rows of a userSelect hold, and
// extra from its first row; ErrNotFound when there are none.
func scanUserRows(rows *sql.Rows, extra ...any) (*store.User, error) {
	var (
		u   *store.User
		pos policyOrder
	)
	for rows.Next() {
		var (
			policy   sql.NullString
			position sql.NullInt64
		)
		r, err := scanUser(rows, append([]any{&policy, &position}, extra...)...)
		if err != nil {
			return nil, err
		}
		if u == nil {
			u = r
		}
		pos.add(policy, position)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if u == nil {
		return nil, store.ErrNotFound
	}
	u.Policies = pos.sorted()
	return u, nil
}

// policyOrder collects a user's policies as the rows of a join bring them,
// each with its position, and gives them back in position order.
type policyOrder struct {
	list []positioned
}

type positioned struct {
	pos int64
	id  string
}

// add records policy at position; a NULL policy (a user without any) is
// skipped.
func (o *policyOrder) add(policy sql.NullString, position sql.NullInt64) {
	if policy.Valid {
		o.list = append(o.list, positioned{position.Int64, policy.String})
	}
}

// sorted returns the policies in position order, nil when there are none.
func (o *policyOrder) sorted() []string {
	if len(o.list) == 0 {
		return nil
	}
	slices.SortFunc(o.list, func(a, b positioned) int { return cmp.Compare(a.pos, b.pos) })
	ids := make([]string, len(o.list))
	for i, p := range o.list {
		ids[i] = p.id
	}
	return ids
}

// queryUsers reads the users query selects (with userCols), then their
// policies.
func queryUsers(ctx context.Context, q querier, query string, args ...any) ([]*store.User, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var list []*store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, u)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := loadPolicies(ctx, q, list); err != nil {
		return nil, err
	}
	return list, nil
}

// loadPolicies fills in the policies of list, in one query.
func loadPolicies(ctx context.Context, q querier, list []*store.User) error {
	if len(list) == 0 {
		return nil
	}
	byID := make(map[string]*store.User, len(list))
	ids := make([]any, 0, len(list))
	for _, u := range list {
		if _, dup := byID[u.ID]; !dup {
			byID[u.ID] = u
			ids = append(ids, u.ID)
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT user_id, policy_id FROM users_user_policies
WHERE user_id IN (`+placeholders(len(ids))+`) ORDER BY user_id, position`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var uid, pid string
		if err := rows.Scan(&uid, &pid); err != nil {
			return err
		}
		if u := byID[uid]; u != nil {
			u.Policies = append(u.Policies, pid)
		}
	}
	return rows.Err()
}

// scanUser reads the userCols of a row, and the extra columns after them.
func scanUser(rows *sql.Rows, extra ...any) (*store.User, error) {
	var (
		u                store.User
		status           string
		role             sql.NullString
		meta             sql.NullString
		created, updated int64
		last             sql.NullInt64
	)
	if err := rows.Scan(append([]any{&u.ID, &u.Email, &u.EmailKey, &u.PasswordHash, &u.FirstName, &u.LastName,
		&status, &role, &u.Contested, &meta, &created, &updated, &last, &u.TwoFactor}, extra...)...); err != nil {
		return nil, err
	}
	u.Status = store.Status(status)
	if role.Valid {
		r := role.String
		u.Role = &r
	}
	u.CreatedAt = sqlstore.FromMicros(created)
	u.UpdatedAt = sqlstore.FromMicros(updated)
	u.LastAccess = sqlstore.FromMicrosNull(last)
	if meta.Valid {
		if err := json.Unmarshal([]byte(meta.String), &u.Metadata); err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
	}
	return &u, nil
}

// ListUsers implements store.Store: one query for the page, one for its
// users' policies.
func (s *Store) ListUsers(ctx context.Context, q store.UserQuery) ([]*store.User, error) {
	var w where
	if err := w.query(q); err != nil {
		return nil, fmt.Errorf("mysqlstore: list users: %w", err)
	}
	order, err := orderBy(q.Sort)
	if err != nil {
		return nil, fmt.Errorf("mysqlstore: list users: %w", err)
	}
	query := `SELECT ` + userCols + ` FROM users_users u` + w.String() + order
	args := w.args
	switch {
	case q.Limit > 0:
		query += " LIMIT ? OFFSET ?"
		args = append(args, q.Limit, max(q.Offset, 0))
	case q.Offset > 0:
		query += " LIMIT 18446744073709551615 OFFSET ?"
		args = append(args, q.Offset)
	}
	var list []*store.User
	err = s.do(ctx, "list users", func() (err error) {
		list, err = queryUsers(ctx, s.db, query, args...)
		return err
	})
	return list, err
}

// CountUsers implements store.Store.
func (s *Store) CountUsers(ctx context.Context, q store.UserQuery) (int, error) {
	var w where
	if err := w.query(q); err != nil {
		return 0, fmt.Errorf("mysqlstore: count users: %w", err)
	}
	var n int
	err := s.do(ctx, "count users", func() error {
		return s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users_users u`+w.String(), w.args...).Scan(&n)
	})
	return n, err
}

// locked is a user row as a locking read saw it.
type locked struct {
	id, status, emailKey, passwordHash string
	contested                          bool
}

// holds reports whether l satisfies cond (all but KeepAdmin, which judges
// the whole change).
func (l locked) holds(cond store.Condition) bool {
	return (cond.Status == "" || store.Status(l.status) == cond.Status) &&
		(cond.Contested == nil || *cond.Contested == l.contested) &&
		(cond.EmailKey == nil || *cond.EmailKey == l.emailKey) &&
		(cond.PasswordHash == nil || *cond.PasswordHash == l.passwordHash)
}

// lockUsers locks the rows of the users in ids (sorted, without
// duplicates), in id order so that overlapping changes queue instead of
// deadlocking, and returns them as they are.
func lockUsers(ctx context.Context, tx *sql.Tx, ids []string) ([]locked, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+lockCols+` FROM users_users u
WHERE u.id IN (`+placeholders(len(ids))+`) ORDER BY u.id FOR UPDATE`, anys(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []locked
	for rows.Next() {
		var l locked
		if err := rows.Scan(&l.id, &l.status, &l.contested, &l.emailKey, &l.passwordHash); err != nil {
			return nil, err
		}
		list = append(list, l)
	}
	return list, rows.Err()
}

// lockUser locks one user's row; ErrNotFound when there is none.
func lockUser(ctx context.Context, tx *sql.Tx, id string) (locked, error) {
	var l locked
	err := tx.QueryRowContext(ctx, `SELECT `+lockCols+` FROM users_users u WHERE u.id = ? FOR UPDATE`, id).
		Scan(&l.id, &l.status, &l.contested, &l.emailKey, &l.passwordHash)
	if errors.Is(err, sql.ErrNoRows) {
		return l, store.ErrNotFound
	}
	return l, err
}

// lockAdmins makes the KeepAdmin changes take turns: the first statement
// of every transaction whose condition has KeepAdmin, before any user row
// is locked (one lock order), it locks the 'admins' row of users_locks
// until the commit.
func lockAdmins(ctx context.Context, tx *sql.Tx) error {
	var name string
	return tx.QueryRowContext(ctx, `SELECT name FROM users_locks WHERE name = 'admins' FOR UPDATE`).Scan(&name)
}

// adminExists reports whether an active user with an email and admin access — by role
// or by one of its policies — exists, as the transaction sees it (its own
// changes included).
func adminExists(ctx context.Context, tx *sql.Tx) (bool, error) {
	var ok bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (
	SELECT 1 FROM users_users u
	WHERE u.status = 'active' AND u.email_key <> '' AND (
		EXISTS (SELECT 1 FROM users_roles r WHERE r.id = u.role AND r.admin_access)
		OR EXISTS (SELECT 1 FROM users_user_policies up JOIN users_policies p ON p.id = up.policy_id
			WHERE up.user_id = u.id AND p.admin_access)))`).Scan(&ok)
	return ok, err
}

// change runs fn in one read-committed transaction, retried whole as do
// retries. With cond.KeepAdmin it first locks the admins (lockAdmins), and
// returns ErrLastAdmin when an active admin existed before fn and none
// does after.
func (s *Store) change(ctx context.Context, op string, cond store.Condition, fn func(tx *sql.Tx) error) error {
	return s.do(ctx, op, func() error {
		return s.inTx(ctx, func(tx *sql.Tx) error {
			if !cond.KeepAdmin {
				return fn(tx)
			}
			if err := lockAdmins(ctx, tx); err != nil {
				return err
			}
			return sqlstore.KeepAdmin(func() (bool, error) { return adminExists(ctx, tx) }, func() error { return fn(tx) })
		})
	})
}

// UpdateUser implements store.Store: in one read-committed transaction it
// locks the user's row (SELECT … FOR UPDATE), checks the condition against
// it, applies the change and the effects, and reads the user back.
func (s *Store) UpdateUser(ctx context.Context, id string, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	set, args, err := changeSet(ch)
	if err != nil {
		return nil, fmt.Errorf("mysqlstore: update user: %w", err)
	}
	var u *store.User
	err = s.change(ctx, "update user", cond, func(tx *sql.Tx) error {
		l, err := lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if !l.holds(cond) {
			return store.ErrConflict
		}
		u, err = applyChange(ctx, tx, id, ch, set, slices.Clone(args), fx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// applyChange applies ch (set and args from changeSet) and fx to the user
// id inside tx, and reads the user back.
func applyChange(ctx context.Context, tx *sql.Tx, id string, ch store.UserChange, set string, args []any, fx store.Effects) (*store.User, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE users_users SET `+set+` WHERE id = ?`, append(args, id)...); err != nil {
		return nil, err
	}
	return applyRest(ctx, tx, id, ch, fx)
}

// applyRest is applyChange after the update of the user's row: the
// policies, fx, and the read of the user.
func applyRest(ctx context.Context, tx *sql.Tx, id string, ch store.UserChange, fx store.Effects) (*store.User, error) {
	if ch.SetPolicies {
		if _, err := tx.ExecContext(ctx, `DELETE FROM users_user_policies WHERE user_id = ?`, id); err != nil {
			return nil, err
		}
		if err := insertPolicies(ctx, tx, []any{id}, ch.Policies); err != nil {
			return nil, err
		}
	}
	if err := applyEffects(ctx, tx, id, fx); err != nil {
		return nil, err
	}
	return getUser(ctx, tx, `u.id = ?`, id)
}

// changeSet is the SET clause of ch, and its arguments: only the fields ch
// changes, the lower-cased copies with them.
func changeSet(ch store.UserChange) (string, []any, error) {
	return changeSetOf("", ch)
}

// changeSetOf is changeSet with every column named with prefix (the
// table's alias and a dot, in an UPDATE of several tables).
func changeSetOf(prefix string, ch store.UserChange) (string, []any, error) {
	cols := []string{prefix + "updated_at = ?"}
	args := []any{sqlstore.Micros(ch.UpdatedAt)}
	add := func(col string, v any) {
		cols = append(cols, prefix+col+" = ?")
		args = append(args, v)
	}
	if ch.Email != nil {
		add("email", *ch.Email)
		add("email_lc", strings.ToLower(*ch.Email))
	}
	if ch.EmailKey != nil {
		cols = append(cols, prefix+"email_key = NULLIF(?, '')")
		args = append(args, *ch.EmailKey)
	}
	if ch.PasswordHash != nil {
		add("password_hash", *ch.PasswordHash)
	}
	if ch.FirstName != nil {
		add("first_name", *ch.FirstName)
		add("first_name_lc", strings.ToLower(*ch.FirstName))
	}
	if ch.LastName != nil {
		add("last_name", *ch.LastName)
		add("last_name_lc", strings.ToLower(*ch.LastName))
	}
	if ch.Status != nil {
		add("status", string(*ch.Status))
	}
	if ch.SetRole {
		add("role", ch.Role)
		add("role_lc", sqlstore.LowerPtr(ch.Role))
	}
	if ch.Contested != nil {
		add("contested", *ch.Contested)
	}
	if ch.Metadata != nil {
		meta, err := sqlstore.EncodeMetadata(ch.Metadata)
		if err != nil {
			return "", nil, err
		}
		add("metadata", meta)
	}
	return strings.Join(cols, ", "), args, nil
}

// uniqueSorted returns ids sorted, without duplicates, in a new slice.
func uniqueSorted(ids []string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// lockAll locks the users in ids (sorted, unique) and checks cond on each:
// ErrNotFound when one is missing, ErrConflict when one fails cond.
func lockAll(ctx context.Context, tx *sql.Tx, ids []string, cond store.Condition) error {
	list, err := lockUsers(ctx, tx, ids)
	if err != nil {
		return err
	}
	if len(list) != len(ids) {
		return store.ErrNotFound
	}
	for _, l := range list {
		if !l.holds(cond) {
			return store.ErrConflict
		}
	}
	return nil
}

// UpdateUsers implements store.Store: one read-committed transaction locks
// the users in id order, checks cond on each, applies the change, and
// revokes their tokens and ends their sessions as ch asks.
func (s *Store) UpdateUsers(ctx context.Context, ids []string, cond store.Condition, ch store.UserChange, events ...*store.Event) error {
	ids = uniqueSorted(ids)
	if len(ids) == 0 {
		return nil
	}
	if ch.Email != nil || ch.EmailKey != nil {
		return errors.New("mysqlstore: update users: the change must not set Email")
	}
	set, args, err := changeSet(ch)
	if err != nil {
		return fmt.Errorf("mysqlstore: update users: %w", err)
	}
	return s.change(ctx, "update users", cond, func(tx *sql.Tx) error {
		if err := lockAll(ctx, tx, ids, cond); err != nil {
			return err
		}
		in := placeholders(len(ids))
		if _, err := tx.ExecContext(ctx, `UPDATE users_users SET `+set+` WHERE id IN (`+in+`)`, append(slices.Clone(args), anys(ids)...)...); err != nil {
			return err
		}
		if ch.SetPolicies {
			if _, err := tx.ExecContext(ctx, `DELETE FROM users_user_policies WHERE user_id IN (`+in+`)`, anys(ids)...); err != nil {
				return err
			}
			if err := insertPolicies(ctx, tx, anys(ids), ch.Policies); err != nil {
				return err
			}
		}
		if len(ch.RevokeTokens) > 0 {
			args := anys(ids)
			for _, p := range ch.RevokeTokens {
				args = append(args, string(p))
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM users_tokens WHERE user_id IN (`+in+`)
AND consumed_at IS NULL AND purpose IN (`+placeholders(len(ch.RevokeTokens))+`)`, args...); err != nil {
				return err
			}
		}
		if ch.EndSessions {
			if _, err := tx.ExecContext(ctx, `DELETE FROM users_sessions WHERE user_id IN (`+in+`)`, anys(ids)...); err != nil {
				return err
			}
		}
		return insertEvents(ctx, tx, events)
	})
}

// DeleteUsers implements store.Store: one read-committed transaction locks
// the users in id order, checks cond, deletes their pending mail and the
// users (their tokens, sessions and policy links go with them: ON DELETE
// CASCADE).
func (s *Store) DeleteUsers(ctx context.Context, ids []string, cond store.Condition, events ...*store.Event) error {
	ids = uniqueSorted(ids)
	if len(ids) == 0 {
		return nil
	}
	return s.change(ctx, "delete users", cond, func(tx *sql.Tx) error {
		if err := lockAll(ctx, tx, ids, cond); err != nil {
			return err
		}
		in := placeholders(len(ids))
		if _, err := tx.ExecContext(ctx, `DELETE FROM users_mail WHERE status = 'pending' AND user_id IN (`+in+`)`, anys(ids)...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users_users WHERE id IN (`+in+`)`, anys(ids)...); err != nil {
			return err
		}
		return insertEvents(ctx, tx, events)
	})
}

package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/gousers/users"
)

// userCols are the columns scanUser reads, policies last, as a JSON array
// in their stored order. The subquery also works in a RETURNING clause.
const userCols = `id, email, email_key, password_hash, first_name, last_name, status, role,
	contested, metadata, created_at, updated_at,
	(SELECT json_group_array(policy_id ORDER BY position) FROM users_user_policies WHERE user_id = users_users.id)`

func scanUser(rows *sql.Rows) (*users.UserRecord, error) {
	var (
		u         users.UserRecord
		role      sql.NullString
		contested bool
		meta      sql.NullString
		created   int64
		updated   int64
		policies  string
	)
	if err := rows.Scan(&u.ID, &u.Email, &u.EmailKey, &u.PasswordHash, &u.FirstName, &u.LastName,
		&u.Status, &role, &contested, &meta, &created, &updated, &policies); err != nil {
		return nil, err
	}
	if role.Valid {
		u.Role = &role.String
	}
	u.Contested = contested
	if meta.Valid {
		if err := json.Unmarshal([]byte(meta.String), &u.Metadata); err != nil {
			return nil, fmt.Errorf("user %s: metadata: %w", u.ID, err)
		}
	}
	u.CreatedAt = fromDB(created)
	u.UpdatedAt = fromDB(updated)
	if policies != "[]" {
		if err := json.Unmarshal([]byte(policies), &u.Policies); err != nil {
			return nil, fmt.Errorf("user %s: policies: %w", u.ID, err)
		}
	}
	u.HasPassword = u.PasswordHash != ""
	return &u, nil
}

// metadataArg is the stored form of m: NULL for nil.
func metadataArg(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return string(b), nil
}

// roleArg is the stored form of a role: NULL for none.
func roleArg(r *string) any {
	if r == nil {
		return nil
	}
	return *r
}

// uniq returns ids without duplicates, in first-seen order.
func uniq(ids []string) []string {
	if len(ids) < 2 {
		return ids
	}
	out := make([]string, 0, len(ids))
	seen := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}

func jsonArray(ids []string) string {
	b, _ := json.Marshal(ids) // cannot fail for strings
	return string(b)
}

// CreateUser implements [users.Store].
func (s *Store) CreateUser(ctx context.Context, u *users.UserRecord, fx users.Effects) error {
	meta, err := metadataArg(u.Metadata)
	if err != nil {
		return fmt.Errorf("sqlitestore: create user: %w", err)
	}
	policies := uniq(u.Policies)
	return s.write(ctx, "create user", func(q querier) error {
		const cols = `INSERT INTO users_users (id, email, email_key, password_hash, first_name, last_name,
	status, role, contested, metadata, created_at, updated_at) `
		args := []any{u.ID, u.Email, u.EmailKey, u.PasswordHash, u.FirstName, u.LastName,
			string(u.Status), roleArg(u.Role), boolInt(u.Contested), meta, toDB(u.CreatedAt), toDB(u.UpdatedAt)}
		query := cols + `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
		if u.Role != nil {
			// Checked here rather than left to the foreign key, so the
			// answer does not depend on how the connection was opened.
			query = cols + `SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
	WHERE EXISTS (SELECT 1 FROM users_roles WHERE id = ?)`
			args = append(args, *u.Role)
		}
		res, err := q.exec(ctx, query, args...)
		if err != nil {
			return userWriteErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return users.ErrRoleNotFound
		}
		if err := setPolicies(ctx, q, []string{u.ID}, policies, false); err != nil {
			return err
		}
		return applyEffects(ctx, q, fx)
	})
}

// userWriteErr translates the constraint violations of a write to
// users_users.
func userWriteErr(err error) error {
	switch {
	case constraint(err, sqlite3.ErrConstraintUnique, "users_users.email_key"):
		return users.ErrDuplicateEmail
	case constraint(err, sqlite3.ErrConstraintForeignKey, ""):
		return users.ErrRoleNotFound // the only foreign key of users_users
	}
	return err
}

// setPolicies gives each user in ids the policies, replacing what they had
// when replace is set. ErrPolicyNotFound when a policy does not exist.
// policies has no duplicates.
func setPolicies(ctx context.Context, q querier, ids, policies []string, replace bool) error {
	idsArg := jsonArray(ids)
	if replace {
		if _, err := q.exec(ctx, `DELETE FROM users_user_policies WHERE user_id IN (SELECT value FROM json_each(?))`, idsArg); err != nil {
			return err
		}
	}
	if len(policies) == 0 {
		return nil
	}
	res, err := q.exec(ctx, `INSERT INTO users_user_policies (user_id, policy_id, position)
	SELECT u.value, p.value, p.key FROM json_each(?) AS u, json_each(?) AS p
	WHERE p.value IN (SELECT id FROM users_policies)`, idsArg, jsonArray(policies))
	if err != nil {
		if constraint(err, sqlite3.ErrConstraintForeignKey, "") {
			return users.ErrPolicyNotFound
		}
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != int64(len(ids)*len(policies)) {
		return users.ErrPolicyNotFound
	}
	return nil
}

// applyEffects writes fx in the transaction of q.
func applyEffects(ctx context.Context, q querier, fx users.Effects) error {
	if t := fx.Token; t != nil {
		if _, err := q.exec(ctx, `DELETE FROM users_tokens WHERE user_id = ? AND purpose = ? AND consumed_at IS NULL`,
			t.UserID, string(t.Purpose)); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `INSERT INTO users_tokens (hash, purpose, user_id, created_at, expires_at, consumed_at)
	VALUES (?, ?, ?, ?, ?, ?)`,
			t.Hash, string(t.Purpose), t.UserID, toDB(t.CreatedAt), toDB(t.ExpiresAt), toDBPtr(t.ConsumedAt)); err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
	}
	if m := fx.Mail; m != nil {
		if err := insertMail(ctx, q, m); err != nil {
			return err
		}
	}
	return nil
}

// GetUser implements [users.Store].
func (s *Store) GetUser(ctx context.Context, id string) (*users.UserRecord, error) {
	return s.getUser(ctx, "get user", `SELECT `+userCols+` FROM users_users WHERE id = ?`, id)
}

// GetUserByEmailKey implements [users.Store]. An empty key matches no user.
func (s *Store) GetUserByEmailKey(ctx context.Context, key string) (*users.UserRecord, error) {
	// The repeated "email_key <> ''" lets SQLite use the partial index.
	return s.getUser(ctx, "get user by email", `SELECT `+userCols+` FROM users_users WHERE email_key = ? AND email_key <> ''`, key)
}

func (s *Store) getUser(ctx context.Context, op, query string, arg any) (*users.UserRecord, error) {
	var u *users.UserRecord
	err := s.read().queryRow(ctx, query, func(rows *sql.Rows) (err error) {
		u, err = scanUser(rows)
		return err
	}, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, users.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return u, nil
}

// ListUsers implements [users.Store].
func (s *Store) ListUsers(ctx context.Context, uq users.UserQuery) ([]*users.UserRecord, error) {
	var (
		where []string
		args  []any
	)
	switch {
	case uq.NoRole:
		where = append(where, `role IS NULL`)
	case uq.Role != nil:
		where = append(where, `role = ?`)
		args = append(args, *uq.Role)
	}
	if len(uq.IDs) > 0 {
		where = append(where, `id IN (SELECT value FROM json_each(?))`)
		args = append(args, jsonArray(uq.IDs))
	}
	query := `SELECT ` + userCols + ` FROM users_users`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY created_at, id`
	if uq.Limit > 0 || uq.Offset > 0 {
		limit := -1 // no cap
		if uq.Limit > 0 {
			limit = uq.Limit
		}
		query += ` LIMIT ? OFFSET ?`
		args = append(args, limit, max(uq.Offset, 0))
	}
	rows, err := s.read().query(ctx, query, args...)
	if err != nil {
		return nil, s.fail(ctx, "list users", err)
	}
	defer rows.Close()
	var out []*users.UserRecord
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, s.fail(ctx, "list users", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "list users", err)
	}
	return out, nil
}

// change is a UserChange as SQL: the SET list, and the WHERE terms that
// must hold for it to apply (a role that exists).
type change struct {
	set       []string
	args      []any
	roleCheck *string // a role the change sets, which must exist
}

func buildChange(ch users.UserChange) (change, error) {
	var c change
	add := func(col string, v any) {
		c.set = append(c.set, col+` = ?`)
		c.args = append(c.args, v)
	}
	if ch.Email != nil {
		add(`email`, *ch.Email)
	}
	if ch.EmailKey != nil {
		add(`email_key`, *ch.EmailKey)
	}
	if ch.PasswordHash != nil {
		add(`password_hash`, *ch.PasswordHash)
	}
	if ch.FirstName != nil {
		add(`first_name`, *ch.FirstName)
	}
	if ch.LastName != nil {
		add(`last_name`, *ch.LastName)
	}
	if ch.Status != nil {
		add(`status`, string(*ch.Status))
	}
	if ch.SetRole {
		add(`role`, roleArg(ch.Role))
		c.roleCheck = ch.Role
	}
	if ch.Contested != nil {
		add(`contested`, boolInt(*ch.Contested))
	}
	if ch.Metadata != nil {
		meta, err := metadataArg(ch.Metadata)
		if err != nil {
			return c, err
		}
		add(`metadata`, meta)
	}
	add(`updated_at`, toDB(ch.UpdatedAt))
	return c, nil
}

// updateUser applies ch to the user id when it satisfies cond, as the first
// write of a transaction, and returns the user afterwards. On no match it
// tells why: errNoUser, ErrConflict (cond), ErrRoleNotFound.
func updateUser(ctx context.Context, q querier, id string, cond users.Condition, ch users.UserChange) (*users.UserRecord, error) {
	c, err := buildChange(ch)
	if err != nil {
		return nil, err
	}
	policies := uniq(ch.Policies)
	args := append(c.args, id)
	query := `UPDATE users_users SET ` + strings.Join(c.set, `, `) + ` WHERE id = ?`
	if cond.Status != "" {
		query += ` AND status = ?`
		args = append(args, string(cond.Status))
	}
	if cond.Contested != nil {
		query += ` AND contested = ?`
		args = append(args, boolInt(*cond.Contested))
	}
	if c.roleCheck != nil {
		query += ` AND EXISTS (SELECT 1 FROM users_roles WHERE id = ?)`
		args = append(args, *c.roleCheck)
	}
	query += ` RETURNING ` + userCols
	var u *users.UserRecord
	err = q.queryRow(ctx, query, func(rows *sql.Rows) (err error) {
		u, err = scanUser(rows)
		return err
	}, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, whyNoUpdate(ctx, q, id, cond)
	}
	if err != nil {
		return nil, userWriteErr(err)
	}
	if ch.SetPolicies {
		if err := setPolicies(ctx, q, []string{id}, policies, true); err != nil {
			return nil, err
		}
		u.Policies = nil
		if len(policies) > 0 {
			u.Policies = append([]string(nil), policies...)
		}
	}
	return u, nil
}

// errNoUser is updateUser's answer for a user that does not exist; callers
// turn it into their own error.
var errNoUser = errors.New("no such user")

// whyNoUpdate finds which WHERE term of updateUser failed.
func whyNoUpdate(ctx context.Context, q querier, id string, cond users.Condition) error {
	var (
		status    string
		contested bool
	)
	err := q.queryRow(ctx, `SELECT status, contested FROM users_users WHERE id = ?`, func(rows *sql.Rows) error {
		return rows.Scan(&status, &contested)
	}, id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return errNoUser
	case err != nil:
		return err
	case cond.Status != "" && users.Status(status) != cond.Status,
		cond.Contested != nil && contested != *cond.Contested:
		return users.ErrConflict
	}
	return users.ErrRoleNotFound
}

// UpdateUser implements [users.Store].
func (s *Store) UpdateUser(ctx context.Context, id string, cond users.Condition, ch users.UserChange, fx users.Effects) (*users.UserRecord, error) {
	var u *users.UserRecord
	err := s.write(ctx, "update user", func(q querier) (err error) {
		u, err = updateUser(ctx, q, id, cond, ch)
		if errors.Is(err, errNoUser) {
			return users.ErrNotFound
		}
		if err != nil {
			return err
		}
		return applyEffects(ctx, q, fx)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UpdateUsers implements [users.Store]. A change of Email or EmailKey is
// refused.
func (s *Store) UpdateUsers(ctx context.Context, ids []string, ch users.UserChange) error {
	if ch.Email != nil || ch.EmailKey != nil {
		return errors.New("sqlitestore: update users: the change must not set Email")
	}
	ids = uniq(ids)
	if len(ids) == 0 {
		return s.fail(ctx, "update users", ctx.Err())
	}
	c, err := buildChange(ch)
	if err != nil {
		return fmt.Errorf("sqlitestore: update users: %w", err)
	}
	policies := uniq(ch.Policies)
	return s.write(ctx, "update users", func(q querier) error {
		idsArg := jsonArray(ids)
		query := `UPDATE users_users SET ` + strings.Join(c.set, `, `) + ` WHERE id IN (SELECT value FROM json_each(?))`
		args := append(c.args, idsArg)
		if c.roleCheck != nil {
			query += ` AND EXISTS (SELECT 1 FROM users_roles WHERE id = ?)`
			args = append(args, *c.roleCheck)
		}
		res, err := q.exec(ctx, query, args...)
		if err != nil {
			return userWriteErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != int64(len(ids)) {
			// Nothing matched the role check, or an id names no user.
			var found int
			err := q.queryRow(ctx, `SELECT count(*) FROM users_users WHERE id IN (SELECT value FROM json_each(?))`,
				func(rows *sql.Rows) error { return rows.Scan(&found) }, idsArg)
			if err != nil {
				return err
			}
			if found != len(ids) {
				return users.ErrNotFound
			}
			return users.ErrRoleNotFound
		}
		if ch.SetPolicies {
			return setPolicies(ctx, q, ids, policies, true)
		}
		return nil
	})
}

// ConsumeToken implements [users.Store]. A token whose user no longer
// exists is ErrInvalidToken.
func (s *Store) ConsumeToken(ctx context.Context, hash []byte, purpose users.TokenPurpose, now time.Time, cond users.Condition, ch users.UserChange, fx users.Effects) (*users.UserRecord, error) {
	var u *users.UserRecord
	err := s.write(ctx, "consume token", func(q querier) error {
		// The first statement writes, so the transaction holds the write
		// lock from here on: a concurrent consumer waits, then finds the
		// token consumed.
		var userID string
		err := q.queryRow(ctx, `UPDATE users_tokens SET consumed_at = ?
	WHERE hash = ? AND purpose = ? AND consumed_at IS NULL AND expires_at > ?
	RETURNING user_id`, func(rows *sql.Rows) error {
			return rows.Scan(&userID)
		}, toDB(now), hash, string(purpose), toDB(now))
		if errors.Is(err, sql.ErrNoRows) {
			return whyNotConsumed(ctx, q, hash, purpose)
		}
		if err != nil {
			return err
		}
		u, err = updateUser(ctx, q, userID, cond, ch)
		if errors.Is(err, errNoUser) {
			return users.ErrInvalidToken
		}
		if err != nil {
			return err
		}
		return applyEffects(ctx, q, fx)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// whyNotConsumed tells why ConsumeToken's update matched no token.
func whyNotConsumed(ctx context.Context, q querier, hash []byte, purpose users.TokenPurpose) error {
	var consumed sql.NullInt64
	err := q.queryRow(ctx, `SELECT consumed_at FROM users_tokens WHERE hash = ? AND purpose = ?`, func(rows *sql.Rows) error {
		return rows.Scan(&consumed)
	}, hash, string(purpose))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return users.ErrInvalidToken
	case err != nil:
		return err
	case consumed.Valid:
		return users.ErrTokenUsed
	}
	return users.ErrTokenExpired
}

// GetToken implements [users.Store].
func (s *Store) GetToken(ctx context.Context, hash []byte) (*users.TokenRecord, error) {
	var t users.TokenRecord
	err := s.read().queryRow(ctx, `SELECT hash, purpose, user_id, created_at, expires_at, consumed_at
	FROM users_tokens WHERE hash = ?`, func(rows *sql.Rows) error {
		var (
			purpose          string
			created, expires int64
			consumed         sql.NullInt64
		)
		if err := rows.Scan(&t.Hash, &purpose, &t.UserID, &created, &expires, &consumed); err != nil {
			return err
		}
		t.Purpose = users.TokenPurpose(purpose)
		t.CreatedAt, t.ExpiresAt, t.ConsumedAt = fromDB(created), fromDB(expires), fromDBNull(consumed)
		return nil
	}, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, users.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(ctx, "get token", err)
	}
	return &t, nil
}

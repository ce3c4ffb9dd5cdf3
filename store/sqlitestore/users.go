package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mattn/go-sqlite3"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// userCols are the columns scanUser reads, policies last, as a JSON array
// in their stored order. The subqueries also work in a RETURNING clause.
// The policies' aggregate sorts them by position in a temporary b-tree of
// its own, so it runs only for a user who has one: for the others (most
// users) the column is NULL, one index probe, and costs the driver no
// string. That matters most inside a write (verify, accept, reset return
// the user they change while holding the write lock) and on a page of
// users (about a tenth less CPU for 50).
const userCols = `id, email, email_key, password_hash, first_name, last_name, status, role,
	contested, metadata, created_at, updated_at, last_access,
	EXISTS (SELECT 1 FROM users_tfa WHERE user_id = users_users.id),
	CASE WHEN EXISTS (SELECT 1 FROM users_user_policies WHERE user_id = users_users.id)
	THEN (SELECT json_group_array(policy_id ORDER BY position) FROM users_user_policies WHERE user_id = users_users.id)
	END`

func scanUser(rows scanner) (*store.User, error) {
	var (
		sc userScanner
		u  store.User
	)
	if err := sc.scan(rows, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// userScanner reads users from rows into users the caller provides; its
// scan destinations are allocated once for all the rows it reads (Scan's
// pointers escape), so a page of users costs no allocation per user here.
type userScanner struct {
	c struct {
		role      sql.NullString
		contested bool
		meta      sql.NullString
		created   int64
		updated   int64
		last      sql.NullInt64
		policies  sql.NullString // NULL or "[]": none
	}
	dest [15]any
}

// scan reads the current row (userCols) into u.
func (sc *userScanner) scan(rows scanner, u *store.User) error {
	c := &sc.c
	sc.dest = [15]any{&u.ID, &u.Email, &u.EmailKey, &u.PasswordHash, &u.FirstName, &u.LastName,
		&u.Status, &c.role, &c.contested, &c.meta, &c.created, &c.updated, &c.last, &u.TwoFactor, &c.policies}
	if err := rows.Scan(sc.dest[:]...); err != nil {
		return err
	}
	if c.role.Valid {
		role := c.role.String
		u.Role = &role
	}
	u.Contested = c.contested
	if c.meta.Valid {
		if err := json.Unmarshal([]byte(c.meta.String), &u.Metadata); err != nil {
			return fmt.Errorf("user %s: metadata: %w", u.ID, err)
		}
	}
	u.CreatedAt = sqlstore.FromMicros(c.created)
	u.UpdatedAt = sqlstore.FromMicros(c.updated)
	u.LastAccess = sqlstore.FromMicrosNull(c.last)
	if c.policies.Valid && c.policies.String != "[]" {
		if err := json.Unmarshal([]byte(c.policies.String), &u.Policies); err != nil {
			return fmt.Errorf("user %s: policies: %w", u.ID, err)
		}
	}
	return nil
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

// CreateUser implements [store.Store].
func (s *Store) CreateUser(ctx context.Context, u *store.User, fx store.Effects) error {
	meta, err := sqlstore.EncodeMetadata(u.Metadata)
	if err != nil {
		return fmt.Errorf("sqlitestore: create user: %w", err)
	}
	return s.write(ctx, "create user", func(q querier) error {
		return insertUser(ctx, q, u, meta, fx)
	})
}

// insertUser writes u (meta its encoded metadata), its policies and fx in
// the transaction of q, as the transaction's first write.
func insertUser(ctx context.Context, q querier, u *store.User, meta any, fx store.Effects) error {
	const cols = `INSERT INTO users_users (id, email, email_key, password_hash, first_name, last_name,
	status, role, contested, metadata, created_at, updated_at,
	id_lower, email_lower, first_name_lower, last_name_lower, status_lower, role_lower) `
	args := []any{u.ID, u.Email, u.EmailKey, u.PasswordHash, u.FirstName, u.LastName,
		string(u.Status), u.Role, boolInt(u.Contested), meta, sqlstore.Micros(u.CreatedAt), sqlstore.Micros(u.UpdatedAt),
		strings.ToLower(u.ID), strings.ToLower(u.Email), strings.ToLower(u.FirstName), strings.ToLower(u.LastName),
		strings.ToLower(string(u.Status)), sqlstore.LowerPtr(u.Role)}
	query := cols + `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	if u.Role != nil {
		// Checked here rather than left to the foreign key, so the
		// answer does not depend on how the connection was opened.
		query = cols + `SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
	WHERE EXISTS (SELECT 1 FROM users_roles WHERE id = ?)`
		args = append(args, *u.Role)
	}
	if n, err := sqlstore.Affected(q.exec(ctx, query, args...)); err != nil {
		return userWriteErr(err)
	} else if n == 0 {
		return store.ErrRoleNotFound
	}
	if err := setPolicies(ctx, q, []string{u.ID}, uniq(u.Policies), false); err != nil {
		return err
	}
	return applyEffects(ctx, q, u.ID, fx)
}

// userWriteErr translates the constraint violations of a write to
// users_users.
func userWriteErr(err error) error {
	switch {
	case constraint(err, sqlite3.ErrConstraintUnique, "users_users.email_key"):
		return store.ErrDuplicateEmail
	case constraint(err, sqlite3.ErrConstraintForeignKey, ""):
		return store.ErrRoleNotFound // the only foreign key of users_users
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
			return store.ErrPolicyNotFound
		}
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != int64(len(ids)*len(policies)) {
		return store.ErrPolicyNotFound
	}
	return nil
}

// applyEffects writes fx, for the user userID, in the transaction of q:
// the revocations, then the token (after revoking the unconsumed tokens of
// its user and purpose), the mail, the end of the user's sessions.
func applyEffects(ctx context.Context, q querier, userID string, fx store.Effects) error {
	if len(fx.RevokeTokens) > 0 {
		purposes := make([]string, len(fx.RevokeTokens))
		for i, p := range fx.RevokeTokens {
			purposes[i] = string(p)
		}
		if _, err := q.exec(ctx, `DELETE FROM users_tokens WHERE user_id = ? AND consumed_at IS NULL
	AND purpose IN (SELECT value FROM json_each(?))`, userID, jsonArray(purposes)); err != nil {
			return err
		}
	}
	if t := fx.Token; t != nil {
		if _, err := q.exec(ctx, `DELETE FROM users_tokens WHERE user_id = ? AND purpose = ? AND consumed_at IS NULL`,
			t.UserID, string(t.Purpose)); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `INSERT INTO users_tokens (hash, purpose, user_id, email_key, new_email, created_at, expires_at, consumed_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			t.Hash, string(t.Purpose), t.UserID, t.EmailKey, t.NewEmail, sqlstore.Micros(t.CreatedAt), sqlstore.Micros(t.ExpiresAt), sqlstore.MicrosPtr(t.ConsumedAt)); err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
	}
	if m := fx.Mail; m != nil {
		if err := insertMail(ctx, q, m); err != nil {
			return err
		}
	}
	if fx.EndSessions {
		if err := endSessions(ctx, q, `user_id = ?`, userID); err != nil {
			return err
		}
	}
	return insertEvents(ctx, q, fx.Events)
}

// GetUser implements [store.Store].
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	return s.getUser(ctx, "get user", `SELECT `+userCols+` FROM users_users WHERE id = ?`, id)
}

// getUserByEmailKeySQL is GetUserByEmailKey's statement. Its repeated
// test that email_key is not empty lets SQLite use the partial unique
// index.
const getUserByEmailKeySQL = `SELECT ` + userCols + ` FROM users_users WHERE email_key = ? AND email_key <> ''`

// GetUserByEmailKey implements [store.Store]. An empty key matches no user.
func (s *Store) GetUserByEmailKey(ctx context.Context, key string) (*store.User, error) {
	return s.getUser(ctx, "get user by email", getUserByEmailKeySQL, key)
}

func (s *Store) getUser(ctx context.Context, op, query string, arg any) (*store.User, error) {
	var u *store.User
	err := s.read().queryRow(ctx, query, func(rows *sql.Rows) (err error) {
		u, err = scanUser(rows)
		return err
	}, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return u, nil
}

// ListUsers implements [store.Store]: one SELECT whose WHERE, ORDER BY
// and LIMIT come from q (see query.go).
func (s *Store) ListUsers(ctx context.Context, uq store.UserQuery) ([]*store.User, error) {
	query, args, err := listUsersSQL(uq)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list users: %w", err)
	}
	rows, err := s.queryShape(ctx, query, args)
	if err != nil {
		return nil, s.fail(ctx, "list users", err)
	}
	defer rows.Close()
	// The users are read into one array, and the scan destinations are
	// reused: a page costs a few allocations rather than a few per user.
	var (
		sc   userScanner
		page = make([]store.User, 0, min(max(uq.Limit, 0), maxPageHint))
	)
	for rows.Next() {
		page = append(page, store.User{})
		if err := sc.scan(rows, &page[len(page)-1]); err != nil {
			return nil, s.fail(ctx, "list users", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "list users", err)
	}
	if len(page) == 0 {
		return nil, nil
	}
	out := make([]*store.User, len(page))
	for i := range page {
		out[i] = &page[i]
	}
	return out, nil
}

// maxPageHint bounds the users ListUsers makes room for before reading
// them (a query's limit; a bigger page grows as it is read).
const maxPageHint = 1000

// queryShape runs a statement built from a query's shape, prepared while
// fewer than maxShapeStmts such statements are.
func (s *Store) queryShape(ctx context.Context, query string, args []any) (*sql.Rows, error) {
	st, err := s.shapeStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// CountUsers implements [store.Store].
func (s *Store) CountUsers(ctx context.Context, uq store.UserQuery) (int, error) {
	query, args, err := countUsersSQL(uq)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: count users: %w", err)
	}
	rows, err := s.queryShape(ctx, query, args)
	if err != nil {
		return 0, s.fail(ctx, "count users", err)
	}
	defer rows.Close()
	var n int
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, s.fail(ctx, "count users", err)
		}
		return 0, s.fail(ctx, "count users", sql.ErrNoRows)
	}
	if err := rows.Scan(&n); err != nil {
		return 0, s.fail(ctx, "count users", err)
	}
	return n, nil
}

// change is a UserChange as SQL: the SET list, and the WHERE terms that
// must hold for it to apply (a role that exists).
type change struct {
	set       []string
	args      []any
	roleCheck *string // a role the change sets, which must exist
}

func buildChange(ch store.UserChange) (change, error) {
	var c change
	add := func(col string, v any) {
		c.set = append(c.set, col+` = ?`)
		c.args = append(c.args, v)
	}
	if ch.Email != nil {
		add(`email`, *ch.Email)
		add(`email_lower`, strings.ToLower(*ch.Email))
	}
	if ch.EmailKey != nil {
		add(`email_key`, *ch.EmailKey)
	}
	if ch.PasswordHash != nil {
		add(`password_hash`, *ch.PasswordHash)
	}
	if ch.FirstName != nil {
		add(`first_name`, *ch.FirstName)
		add(`first_name_lower`, strings.ToLower(*ch.FirstName))
	}
	if ch.LastName != nil {
		add(`last_name`, *ch.LastName)
		add(`last_name_lower`, strings.ToLower(*ch.LastName))
	}
	if ch.Status != nil {
		add(`status`, string(*ch.Status))
		add(`status_lower`, strings.ToLower(string(*ch.Status)))
	}
	if ch.SetRole {
		add(`role`, ch.Role)
		add(`role_lower`, sqlstore.LowerPtr(ch.Role))
		c.roleCheck = ch.Role
	}
	if ch.Contested != nil {
		add(`contested`, boolInt(*ch.Contested))
	}
	if ch.Metadata != nil {
		meta, err := sqlstore.EncodeMetadata(ch.Metadata)
		if err != nil {
			return c, err
		}
		add(`metadata`, meta)
	}
	add(`updated_at`, sqlstore.Micros(ch.UpdatedAt))
	return c, nil
}

// updateUser applies ch to the user id when it satisfies cond, as the first
// write of a transaction, and returns the user afterwards. On no match it
// tells why: errNoUser, ErrConflict (cond), ErrRoleNotFound.
func updateUser(ctx context.Context, q querier, id string, cond store.Condition, ch store.UserChange) (*store.User, error) {
	c, err := buildChange(ch)
	if err != nil {
		return nil, err
	}
	policies := uniq(ch.Policies)
	args := append(c.args, id)
	query := `UPDATE users_users SET ` + strings.Join(c.set, `, `) + ` WHERE id = ?`
	condSQL, condArgs := condWhere(cond)
	query += ` AND ` + condSQL
	args = append(args, condArgs...)
	if c.roleCheck != nil {
		query += ` AND EXISTS (SELECT 1 FROM users_roles WHERE id = ?)`
		args = append(args, *c.roleCheck)
	}
	query += ` RETURNING ` + userCols
	var u *store.User
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

// condWhere is cond (but for KeepAdmin) as a condition on users_users.
func condWhere(cond store.Condition) (string, []any) {
	var (
		terms []string
		args  []any
	)
	add := func(term string, v any) {
		terms = append(terms, term)
		args = append(args, v)
	}
	if cond.Status != "" {
		add(`status = ?`, string(cond.Status))
	}
	if cond.Contested != nil {
		add(`contested = ?`, boolInt(*cond.Contested))
	}
	if cond.EmailKey != nil {
		add(`email_key = ?`, *cond.EmailKey)
	}
	if cond.PasswordHash != nil {
		add(`password_hash = ?`, *cond.PasswordHash)
	}
	if len(terms) == 0 {
		return `1`, nil
	}
	return strings.Join(terms, ` AND `), args
}

// whyNoUpdate finds which WHERE term of updateUser failed.
func whyNoUpdate(ctx context.Context, q querier, id string, cond store.Condition) error {
	condSQL, condArgs := condWhere(cond)
	var holds bool
	err := q.queryRow(ctx, `SELECT `+condSQL+` FROM users_users WHERE id = ?`, func(rows *sql.Rows) error {
		return rows.Scan(&holds)
	}, append(condArgs, id)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return errNoUser
	case err != nil:
		return err
	case !holds:
		return store.ErrConflict
	}
	return store.ErrRoleNotFound
}

// lockForRead is the first statement of a write transaction that must
// read before it writes: a write that changes nothing but takes SQLite's
// write lock, so that what the transaction reads stays true until it
// commits, whatever _txlock the handle was opened with.
const lockForRead = `UPDATE users_users SET id = id WHERE 0`

// activeAdminExists tells whether an active user with an email has admin
// access through its role or one of its policies.
func activeAdminExists(ctx context.Context, q querier) (bool, error) {
	var ok bool
	err := q.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users_roles r JOIN users_users u ON u.role = r.id
		WHERE r.admin_access AND u.status = ? AND u.email_key <> '')
	OR EXISTS (SELECT 1 FROM users_policies p JOIN users_user_policies up ON up.policy_id = p.id
		JOIN users_users u ON u.id = up.user_id WHERE p.admin_access AND u.status = ? AND u.email_key <> '')`,
		func(rows *sql.Rows) error { return rows.Scan(&ok) }, string(store.StatusActive), string(store.StatusActive))
	return ok, err
}

// UpdateUser implements [store.Store].
func (s *Store) UpdateUser(ctx context.Context, id string, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	var u *store.User
	err := s.write(ctx, "update user", func(q querier) error {
		change := func() (err error) {
			u, err = updateUser(ctx, q, id, cond, ch)
			if errors.Is(err, errNoUser) {
				return store.ErrNotFound
			}
			return err
		}
		if err := guarded(ctx, q, cond, true, change); err != nil {
			return err
		}
		return applyEffects(ctx, q, id, fx)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// guarded runs change in the transaction of q, under cond.KeepAdmin when
// it is set. first says that change would be the transaction's first
// statement: KeepAdmin then takes the write lock before it reads, so that
// no other writer changes the answer between the questions before and
// after the change.
func guarded(ctx context.Context, q querier, cond store.Condition, first bool, change func() error) error {
	if !cond.KeepAdmin {
		return change()
	}
	if first {
		if _, err := q.exec(ctx, lockForRead); err != nil {
			return err
		}
	}
	return sqlstore.KeepAdmin(func() (bool, error) { return activeAdminExists(ctx, q) }, change)
}

// UpdateUsers implements [store.Store], applying ch.RevokeTokens and
// ch.EndSessions to every user it changes. A change of Email or EmailKey
// is refused.
func (s *Store) UpdateUsers(ctx context.Context, ids []string, cond store.Condition, ch store.UserChange, events ...*store.Event) error {
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
	condSQL, condArgs := condWhere(cond)
	return s.write(ctx, "update users", func(q querier) error {
		idsArg := jsonArray(ids)
		return withEvents(ctx, q, events, guarded(ctx, q, cond, true, func() error {
			query := `UPDATE users_users SET ` + strings.Join(c.set, `, `) + ` WHERE id IN (SELECT value FROM json_each(?)) AND ` + condSQL
			args := append(append(slices.Clone(c.args), idsArg), condArgs...)
			if c.roleCheck != nil {
				query += ` AND EXISTS (SELECT 1 FROM users_roles WHERE id = ?)`
				args = append(args, *c.roleCheck)
			}
			if n, err := sqlstore.Affected(q.exec(ctx, query, args...)); err != nil {
				return userWriteErr(err)
			} else if n != int64(len(ids)) {
				// An id names no user, one does not satisfy cond, or the
				// role does not exist.
				if err := holding(ctx, q, idsArg, len(ids), cond); err != nil {
					return err
				}
				return store.ErrRoleNotFound
			}
			if ch.SetPolicies {
				if err := setPolicies(ctx, q, ids, policies, true); err != nil {
					return err
				}
			}
			return revokeAndEnd(ctx, q, idsArg, ch.RevokeTokens, ch.EndSessions)
		}))
	})
}

// revokeAndEnd deletes, for the users in idsArg (a JSON array), their
// unconsumed tokens of the given purposes and, with end, their sessions.
func revokeAndEnd(ctx context.Context, q querier, idsArg string, purposes []store.Purpose, end bool) error {
	const in = ` IN (SELECT value FROM json_each(?))`
	if len(purposes) > 0 {
		ps := make([]string, len(purposes))
		for i, p := range purposes {
			ps[i] = string(p)
		}
		if _, err := q.exec(ctx, `DELETE FROM users_tokens WHERE consumed_at IS NULL AND user_id`+in+` AND purpose`+in,
			idsArg, jsonArray(ps)); err != nil {
			return err
		}
	}
	if end {
		return endSessions(ctx, q, `user_id`+in, idsArg)
	}
	return nil
}

// holding checks the n users of idsArg (a JSON array, without
// duplicates): ErrNotFound when one of them does not exist, ErrConflict
// when one does not satisfy cond.
func holding(ctx context.Context, q querier, idsArg string, n int, cond store.Condition) error {
	condSQL, condArgs := condWhere(cond)
	var found, held int
	err := q.queryRow(ctx, `SELECT count(*), coalesce(sum(`+condSQL+`), 0) FROM users_users
	WHERE id IN (SELECT value FROM json_each(?))`, func(rows *sql.Rows) error {
		return rows.Scan(&found, &held)
	}, append(condArgs, idsArg)...)
	switch {
	case err != nil:
		return err
	case found != n:
		return store.ErrNotFound
	case held != n:
		return store.ErrConflict
	}
	return nil
}

// DeleteUsers implements [store.Store]. It deletes the users' rows in
// every table itself rather than leave it to ON DELETE CASCADE, so the
// result does not depend on the connection enforcing foreign keys.
func (s *Store) DeleteUsers(ctx context.Context, ids []string, cond store.Condition, events ...*store.Event) error {
	ids = uniq(ids)
	if len(ids) == 0 {
		return s.fail(ctx, "delete users", ctx.Err())
	}
	return s.write(ctx, "delete users", func(q querier) error {
		if _, err := q.exec(ctx, lockForRead); err != nil {
			return err
		}
		idsArg := jsonArray(ids)
		if err := holding(ctx, q, idsArg, len(ids), cond); err != nil {
			return err
		}
		return withEvents(ctx, q, events, guarded(ctx, q, cond, false, func() error {
			const in = ` IN (SELECT value FROM json_each(?))`
			if err := endSessions(ctx, q, `user_id`+in, idsArg); err != nil {
				return err
			}
			for _, stmt := range []string{
				`DELETE FROM users_tokens WHERE user_id` + in,
				`DELETE FROM users_user_policies WHERE user_id` + in,
			} {
				if _, err := q.exec(ctx, stmt, idsArg); err != nil {
					return err
				}
			}
			if _, err := q.exec(ctx, `DELETE FROM users_mail WHERE status = ? AND user_id`+in, string(store.MailPending), idsArg); err != nil {
				return err
			}
			_, err := q.exec(ctx, `DELETE FROM users_users WHERE id`+in, idsArg)
			return err
		}))
	})
}

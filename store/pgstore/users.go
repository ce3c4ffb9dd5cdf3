package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// userCols reads a store.User (see scanUser) from users_users AS u.
const userCols = `u.id, u.email, u.email_key, u.password_hash, u.first_name, u.last_name,
	u.status, u.role, u.contested, u.metadata, u.created_at, u.updated_at, u.last_access,
	EXISTS (SELECT 1 FROM users_tfa t WHERE t.user_id = u.id),
	ARRAY(SELECT p.policy_id FROM users_user_policies p WHERE p.user_id = u.id ORDER BY p.position)`

// userSet applies a store.UserChange: NULL leaves a column alone; $8 says
// whether $9 (NULL: no role) replaces the role. $1 is the user id (or ids).
// $13 to $17 are the lower-cased copies of email, first and last name,
// status and role.
const userSet = `
	email            = COALESCE($2, u.email),
	email_key        = COALESCE($3, u.email_key),
	password_hash    = COALESCE($4, u.password_hash),
	first_name       = COALESCE($5, u.first_name),
	last_name        = COALESCE($6, u.last_name),
	status           = COALESCE($7, u.status),
	role             = CASE WHEN $8::boolean THEN $9 ELSE u.role END,
	contested        = COALESCE($10, u.contested),
	metadata         = COALESCE($11::jsonb, u.metadata),
	updated_at       = $12,
	email_lower      = COALESCE($13, u.email_lower),
	first_name_lower = COALESCE($14, u.first_name_lower),
	last_name_lower  = COALESCE($15, u.last_name_lower),
	status_lower     = COALESCE($16, u.status_lower),
	role_lower       = CASE WHEN $8::boolean THEN $17 ELSE u.role_lower END`

// userState are the columns a Condition tests, as the lock statements
// read them.
const userState = `status, contested, email_key, password_hash`

// CreateUser implements store.Store. The user, its policies, the token and
// the mail go to the server in one batch: one round trip, one implicit
// transaction. A concurrent insert of the same email key waits on the
// unique index until the first commits, then fails with ErrDuplicateEmail.
func (s *Store) CreateUser(ctx context.Context, u *store.User, fx store.Effects) error {
	meta, err := sqlstore.EncodeMetadata(u.Metadata)
	if err != nil {
		return fmt.Errorf("pgstore: create user: %w", err)
	}
	return s.do(ctx, "create user", func() error {
		b := &pgx.Batch{}
		b.Queue(s.q.insertUser, u.ID, u.Email, u.EmailKey, u.PasswordHash, u.FirstName, u.LastName,
			string(u.Status), u.Role, u.Contested, meta, u.CreatedAt, u.UpdatedAt,
			strings.ToLower(u.ID), strings.ToLower(u.Email), strings.ToLower(u.FirstName), strings.ToLower(u.LastName),
			strings.ToLower(string(u.Status)), sqlstore.LowerPtr(u.Role))
		if len(u.Policies) > 0 {
			b.Queue(s.q.byID.insertPolicies, u.ID, u.Policies)
		}
		s.queueEffects(b, &s.q.byID, u.ID, fx, u.ID)
		return s.sendBatch(ctx, b)
	})
}

// queueEffects queues the rows of fx, for the user that user (with its
// statements us: by id or by token) names: the revocations, then the token
// (after revoking the unconsumed tokens of its user and purpose), the
// mail, the end of the user's sessions. A token for the user fresh, who
// is being created in the same batch, has no earlier tokens to revoke.
func (s *Store) queueEffects(b *pgx.Batch, us *userStmts, user any, fx store.Effects, fresh string) {
	if len(fx.RevokeTokens) > 0 {
		purposes := make([]string, len(fx.RevokeTokens))
		for i, p := range fx.RevokeTokens {
			purposes[i] = string(p)
		}
		b.Queue(us.revokePurposes, user, purposes)
	}
	if t := fx.Token; t != nil {
		if fresh == "" || t.UserID != fresh {
			b.Queue(s.q.revokeTokens, t.UserID, string(t.Purpose))
		}
		b.Queue(s.q.insertToken, t.Hash, string(t.Purpose), t.UserID, t.EmailKey, t.CreatedAt, t.ExpiresAt, t.ConsumedAt, t.NewEmail)
	}
	if m := fx.Mail; m != nil {
		b.Queue(s.q.insertMail, m.ID, string(m.Kind), m.UserID, m.To, m.Subject, m.Text, m.HTML,
			string(m.Status), m.Attempts, m.LastError, m.CreatedAt, m.NextAttemptAt, m.LeaseUntil, m.SentAt, m.MessageID)
	}
	if fx.EndSessions {
		b.Queue(us.endSessions, user)
	}
	s.queueEvents(b, fx.Events)
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	return queryOne(ctx, s, "get user", s.q.getUser, scanUser, id)
}

// GetUserByEmailKey implements store.Store. The empty key names no user
// (users without an email all have it).
func (s *Store) GetUserByEmailKey(ctx context.Context, key string) (*store.User, error) {
	return queryOne(ctx, s, "get user by email", s.q.getUserByEmailKey, scanUser, key)
}

// ListUsers implements store.Store: one SELECT whose WHERE, ORDER BY and
// LIMIT come from q (see query.go).
func (s *Store) ListUsers(ctx context.Context, q store.UserQuery) ([]*store.User, error) {
	query, args, err := listUsersSQL(s.qual, q)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list users: %w", err)
	}
	var list []*store.User
	err = s.do(ctx, "list users", func() error {
		rows, err := s.pool.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		list, err = collect(rows, scanUser)
		return err
	})
	return list, err
}

// CountUsers implements store.Store.
func (s *Store) CountUsers(ctx context.Context, q store.UserQuery) (int, error) {
	query, args, err := countUsersSQL(s.qual, q)
	if err != nil {
		return 0, fmt.Errorf("pgstore: count users: %w", err)
	}
	var n int
	err = s.do(ctx, "count users", func() error {
		return s.pool.QueryRow(ctx, query, args...).Scan(&n)
	})
	return n, err
}

// state is what a Condition tests of a user, as read by the lock
// statements (userState).
type state struct {
	status       string
	contested    bool
	emailKey     string
	passwordHash string
}

func (st *state) scan(row pgx.Row) error {
	return row.Scan(&st.status, &st.contested, &st.emailKey, &st.passwordHash)
}

// holds reports whether the user satisfies cond (but for KeepAdmin, which
// is judged on the change).
func (st *state) holds(cond store.Condition) bool {
	return (cond.Status == "" || store.Status(st.status) == cond.Status) &&
		(cond.Contested == nil || *cond.Contested == st.contested) &&
		(cond.EmailKey == nil || *cond.EmailKey == st.emailKey) &&
		(cond.PasswordHash == nil || *cond.PasswordHash == st.passwordHash)
}

// check is the error of the batch that locked the user into st (err, the
// batch's): ErrNotFound when there is no such user, ErrConflict when the
// user does not satisfy cond.
func (st *state) check(err error, cond store.Condition) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return err
	case !st.holds(cond):
		return store.ErrConflict
	}
	return nil
}

// begin queues the start of a transaction on b, and for a change made with
// KeepAdmin (keep), the advisory lock that serialises such changes and the
// check of whether an active admin exists before it (into before). Such a
// transaction runs at read committed, whatever the pool's default, so that
// its statements see what the previous holder of the lock committed.
func (s *Store) begin(b *pgx.Batch, keep bool, before *bool) {
	if !keep {
		b.Queue("begin")
		return
	}
	b.Queue("begin isolation level read committed")
	b.Queue(s.q.adminLock, s.adminLock)
	b.Queue(s.q.activeAdmin).QueryRow(func(row pgx.Row) error { return row.Scan(before) })
}

// finish sends b, the rest of a transaction begun with begin, and commits
// it — but for a change made with KeepAdmin after which no active admin
// remains though one did before: that one is left to inTx to roll back,
// and finish returns ErrLastAdmin.
func (s *Store) finish(ctx context.Context, c *pgx.Conn, b *pgx.Batch, keep, before bool) error {
	check := keep && before
	var after bool
	if check {
		b.Queue(s.q.activeAdmin).QueryRow(func(row pgx.Row) error { return row.Scan(&after) })
	} else {
		b.Queue("commit")
	}
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if !check {
		return nil
	}
	if !after {
		return store.ErrLastAdmin
	}
	_, err := c.Exec(ctx, "commit")
	return err
}

// UpdateUser implements store.Store in two round trips: the first begins
// the transaction and locks the user row; the precondition is checked here;
// the second applies the change and the effects, reads the user back and
// commits.
func (s *Store) UpdateUser(ctx context.Context, id string, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	args, err := changeArgs(id, ch)
	if err != nil {
		return nil, fmt.Errorf("pgstore: update user: %w", err)
	}
	var u *store.User
	err = s.do(ctx, "update user", func() error {
		return s.inTx(ctx, func(c *pgx.Conn) error {
			b := &pgx.Batch{}
			var (
				before bool
				st     state
			)
			s.begin(b, cond.KeepAdmin, &before)
			b.Queue(s.q.lockUser, id).QueryRow(st.scan)
			if err := st.check(c.SendBatch(ctx, b).Close(), cond); err != nil {
				return err
			}
			u, err = s.applyChange(ctx, c, &pgx.Batch{}, id, ch, args, fx, cond.KeepAdmin, before)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// applyChange queues on b, inside the transaction c is in, the change of
// user id (args from changeArgs), fx and the read of the user as it is
// afterwards (see queueChange), and finishes the transaction (see finish;
// keep and before as begin set them).
func (s *Store) applyChange(ctx context.Context, c *pgx.Conn, b *pgx.Batch, id string, ch store.UserChange, args []any, fx store.Effects, keep, before bool) (*store.User, error) {
	var u *store.User
	s.queueChange(b, &s.q.byID, id, ch, args, fx, &u)
	if err := s.finish(ctx, c, b, keep, before); err != nil {
		return nil, err
	}
	return u, nil
}

// queueChange queues on b the change of the user that user names (with
// its statements us; args from changeArgs, with user as $1), fx, and the
// read of the user as it is afterwards, into *u. The policies are
// replaced before the user row is updated so that the row's RETURNING
// sees them.
func (s *Store) queueChange(b *pgx.Batch, us *userStmts, user any, ch store.UserChange, args []any, fx store.Effects, u **store.User) {
	if ch.SetPolicies {
		b.Queue(us.deletePolicies, user)
		if len(ch.Policies) > 0 {
			b.Queue(us.insertPolicies, user, ch.Policies)
		}
	}
	s.queueEffects(b, us, user, fx, "")
	b.Queue(us.updateUser, args...).QueryRow(func(row pgx.Row) (err error) {
		*u, err = scanUser(row)
		return err
	})
}

// changeArgs are the arguments of userSet for ch, with first as $1.
func changeArgs(first any, ch store.UserChange) ([]any, error) {
	var status *string
	if ch.Status != nil {
		st := string(*ch.Status)
		status = &st
	}
	var meta any
	if ch.Metadata != nil {
		var err error
		if meta, err = sqlstore.EncodeMetadata(ch.Metadata); err != nil {
			return nil, err
		}
	}
	var role *string
	if ch.SetRole {
		role = ch.Role
	}
	return []any{first, ch.Email, ch.EmailKey, ch.PasswordHash, ch.FirstName, ch.LastName,
		status, ch.SetRole, role, ch.Contested, meta, ch.UpdatedAt,
		sqlstore.LowerPtr(ch.Email), sqlstore.LowerPtr(ch.FirstName), sqlstore.LowerPtr(ch.LastName), sqlstore.LowerPtr(status), sqlstore.LowerPtr(role)}, nil
}

// UpdateUsers implements store.Store, applying ch.RevokeTokens and
// ch.EndSessions to every user it changes: the first round trip begins
// the transaction and locks the users (in id order, so that overlapping
// bulk updates queue instead of deadlocking); the second applies the
// change and commits.
func (s *Store) UpdateUsers(ctx context.Context, ids []string, cond store.Condition, ch store.UserChange, events ...*store.Event) error {
	if ch.Email != nil || ch.EmailKey != nil {
		return errors.New("pgstore: update users: the change must not set Email")
	}
	ids = sortedUniq(ids)
	if len(ids) == 0 {
		return nil
	}
	args, err := changeArgs(ids, ch)
	if err != nil {
		return fmt.Errorf("pgstore: update users: %w", err)
	}
	return s.do(ctx, "update users", func() error {
		return s.inTx(ctx, func(c *pgx.Conn) error {
			before, err := s.lockAll(ctx, c, s.q.lockUsers, ids, cond)
			if err != nil {
				return err
			}
			b := &pgx.Batch{}
			b.Queue(s.q.updateUsers, args...)
			if ch.SetPolicies {
				b.Queue(s.q.deleteUsersPolicies, ids)
				if len(ch.Policies) > 0 {
					b.Queue(s.q.insertUsersPolicies, ids, ch.Policies)
				}
			}
			if len(ch.RevokeTokens) > 0 {
				purposes := make([]string, len(ch.RevokeTokens))
				for i, p := range ch.RevokeTokens {
					purposes[i] = string(p)
				}
				b.Queue(s.q.revokeUsersPurposes, ids, purposes)
			}
			if ch.EndSessions {
				b.Queue(s.q.endUsersSessions, ids)
			}
			s.queueEvents(b, events)
			return s.finish(ctx, c, b, cond.KeepAdmin, before)
		})
	})
}

// sortedUniq returns ids sorted, without duplicates.
func sortedUniq(ids []string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// lockAll begins a transaction on c (see begin) and locks the users ids
// (sorted, unique) with lock: ErrNotFound when one is missing, ErrConflict
// when one does not satisfy cond. It returns begin's before.
func (s *Store) lockAll(ctx context.Context, c *pgx.Conn, lock string, ids []string, cond store.Condition) (before bool, err error) {
	b := &pgx.Batch{}
	s.begin(b, cond.KeepAdmin, &before)
	found, held := 0, 0
	b.Queue(lock, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var st state
			if err := st.scan(rows); err != nil {
				return err
			}
			found++
			if st.holds(cond) {
				held++
			}
		}
		return rows.Err()
	})
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return false, err
	}
	switch {
	case found != len(ids):
		return false, store.ErrNotFound
	case held != len(ids):
		return false, store.ErrConflict
	}
	return before, nil
}

// DeleteUsers implements store.Store: the first round trip begins the
// transaction and locks the users (in id order); the second deletes their
// pending mail and them — their tokens, sessions and policy links go by
// ON DELETE CASCADE — and commits.
func (s *Store) DeleteUsers(ctx context.Context, ids []string, cond store.Condition, events ...*store.Event) error {
	ids = sortedUniq(ids)
	if len(ids) == 0 {
		return nil
	}
	return s.do(ctx, "delete users", func() error {
		return s.inTx(ctx, func(c *pgx.Conn) error {
			before, err := s.lockAll(ctx, c, s.q.lockUsersForDelete, ids, cond)
			if err != nil {
				return err
			}
			b := &pgx.Batch{}
			b.Queue(s.q.deleteUsersMail, ids)
			b.Queue(s.q.deleteUsers, ids)
			s.queueEvents(b, events)
			return s.finish(ctx, c, b, cond.KeepAdmin, before)
		})
	})
}

func scanUser(row pgx.Row) (*store.User, error) {
	var (
		u        store.User
		status   string
		meta     []byte
		policies []string
	)
	err := row.Scan(&u.ID, &u.Email, &u.EmailKey, &u.PasswordHash, &u.FirstName, &u.LastName,
		&status, &u.Role, &u.Contested, &meta, &u.CreatedAt, &u.UpdatedAt, &u.LastAccess, &u.TwoFactor, &policies)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	u.Status = store.Status(status)
	u.CreatedAt = u.CreatedAt.UTC()
	u.UpdatedAt = u.UpdatedAt.UTC()
	u.LastAccess = utcPtr(u.LastAccess)
	if len(policies) > 0 {
		u.Policies = policies
	}
	if meta != nil {
		if err := json.Unmarshal(meta, &u.Metadata); err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
	}
	return &u, nil
}

// queryOne runs query under do (op names it) and reads its row with scan,
// which turns pgx.ErrNoRows into the error the caller returns.
func queryOne[T any](ctx context.Context, s *Store, op, query string, scan func(pgx.Row) (T, error), args ...any) (T, error) {
	var v T
	err := s.do(ctx, op, func() (err error) {
		v, err = scan(s.pool.QueryRow(ctx, query, args...))
		return err
	})
	return v, err
}

// queryAll runs query under do (op names it) and reads every row with
// scan.
func queryAll[T any](ctx context.Context, s *Store, op, query string, scan func(pgx.Row) (T, error), args ...any) ([]T, error) {
	var list []T
	err := s.do(ctx, op, func() error {
		rows, err := s.pool.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		list, err = collect(rows, scan)
		return err
	})
	return list, err
}

// collect reads every row with scan and closes rows.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// isUniqueViolation reports whether err is a unique violation of the
// named constraint or index.
func isUniqueViolation(err error, name string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == name
}

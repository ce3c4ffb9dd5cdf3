package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gousers/users"
)

// CreateUser implements users.Store. The user, its policies, the token and
// the mail go to the server in one batch: one round trip, one implicit
// transaction. A concurrent insert of the same email key waits on the
// unique index until the first commits, then fails with ErrDuplicateEmail.
func (s *Store) CreateUser(ctx context.Context, u *users.UserRecord, fx users.Effects) error {
	meta, err := encodeMetadata(u.Metadata)
	if err != nil {
		return fmt.Errorf("pgstore: create user: %w", err)
	}
	return s.do(ctx, "create user", func() error {
		b := &pgx.Batch{}
		b.Queue(s.q.insertUser, u.ID, u.Email, u.EmailKey, u.PasswordHash, u.FirstName, u.LastName,
			string(u.Status), u.Role, u.Contested, meta, u.CreatedAt, u.UpdatedAt)
		if len(u.Policies) > 0 {
			b.Queue(s.q.insertPolicies, u.ID, u.Policies)
		}
		s.queueEffects(b, fx)
		return s.sendBatch(ctx, b)
	})
}

// queueEffects queues the rows of fx.
func (s *Store) queueEffects(b *pgx.Batch, fx users.Effects) {
	if t := fx.Token; t != nil {
		b.Queue(s.q.revokeTokens, t.UserID, string(t.Purpose))
		b.Queue(s.q.insertToken, t.Hash, string(t.Purpose), t.UserID, t.CreatedAt, t.ExpiresAt, t.ConsumedAt)
	}
	if m := fx.Mail; m != nil {
		b.Queue(s.q.insertMail, m.ID, string(m.Kind), m.UserID, m.To, m.Subject, m.Text, m.HTML,
			string(m.Status), m.Attempts, m.LastError, m.CreatedAt, m.NextAttemptAt, m.LeaseUntil, m.SentAt)
	}
}

// GetUser implements users.Store.
func (s *Store) GetUser(ctx context.Context, id string) (*users.UserRecord, error) {
	var u *users.UserRecord
	err := s.do(ctx, "get user", func() (err error) {
		u, err = scanUser(s.pool.QueryRow(ctx, s.q.getUser, id))
		return err
	})
	return u, err
}

// GetUserByEmailKey implements users.Store. The empty key names no user
// (users without an email all have it).
func (s *Store) GetUserByEmailKey(ctx context.Context, key string) (*users.UserRecord, error) {
	var u *users.UserRecord
	err := s.do(ctx, "get user by email", func() (err error) {
		u, err = scanUser(s.pool.QueryRow(ctx, s.q.getUserByEmailKey, key))
		return err
	})
	return u, err
}

// ListUsers implements users.Store.
func (s *Store) ListUsers(ctx context.Context, q users.UserQuery) ([]*users.UserRecord, error) {
	var (
		sb   strings.Builder
		args []any
		and  = " WHERE "
	)
	sb.WriteString(s.q.listUsers)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch {
	case q.NoRole:
		sb.WriteString(and + "u.role IS NULL")
		and = " AND "
	case q.Role != nil:
		sb.WriteString(and + "u.role = " + arg(*q.Role))
		and = " AND "
	}
	if len(q.IDs) > 0 {
		sb.WriteString(and + "u.id = ANY(" + arg(q.IDs) + ")")
	}
	sb.WriteString(" ORDER BY u.created_at, u.id")
	if q.Limit > 0 {
		sb.WriteString(" LIMIT " + arg(q.Limit))
	}
	if q.Offset > 0 {
		sb.WriteString(" OFFSET " + arg(q.Offset))
	}
	var list []*users.UserRecord
	err := s.do(ctx, "list users", func() error {
		rows, err := s.pool.Query(ctx, sb.String(), args...)
		if err != nil {
			return err
		}
		list, err = collect(rows, scanUser)
		return err
	})
	return list, err
}

// UpdateUser implements users.Store in two round trips: the first begins
// the transaction and locks the user row; the precondition is checked here;
// the second applies the change and the effects, reads the user back and
// commits.
func (s *Store) UpdateUser(ctx context.Context, id string, cond users.Condition, ch users.UserChange, fx users.Effects) (*users.UserRecord, error) {
	args, err := changeArgs(id, ch)
	if err != nil {
		return nil, fmt.Errorf("pgstore: update user: %w", err)
	}
	var u *users.UserRecord
	err = s.do(ctx, "update user", func() error {
		return s.inTx(ctx, func(c *pgx.Conn) error {
			b := &pgx.Batch{}
			b.Queue("begin")
			var (
				status    string
				contested bool
			)
			b.Queue(s.q.lockUser, id).QueryRow(func(row pgx.Row) error {
				return row.Scan(&status, &contested)
			})
			if err := c.SendBatch(ctx, b).Close(); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return users.ErrNotFound
				}
				return err
			}
			if !holds(cond, status, contested) {
				return users.ErrConflict
			}
			u, err = s.applyChange(ctx, c, &pgx.Batch{}, id, ch, args, fx)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// applyChange queues on b, inside the transaction c is in, the change of
// user id (args from changeArgs), fx, the read of the user as it is
// afterwards, and the commit; then sends b. The policies are replaced
// before the user row is updated so that the row's RETURNING sees them.
func (s *Store) applyChange(ctx context.Context, c *pgx.Conn, b *pgx.Batch, id string, ch users.UserChange, args []any, fx users.Effects) (*users.UserRecord, error) {
	if ch.SetPolicies {
		b.Queue(s.q.deletePolicies, id)
		if len(ch.Policies) > 0 {
			b.Queue(s.q.insertPolicies, id, ch.Policies)
		}
	}
	s.queueEffects(b, fx)
	var u *users.UserRecord
	b.Queue(s.q.updateUser, args...).QueryRow(func(row pgx.Row) (err error) {
		u, err = scanUser(row)
		return err
	})
	b.Queue("commit")
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return u, nil
}

// changeArgs are the arguments of userSet for ch, with first as $1.
func changeArgs(first any, ch users.UserChange) ([]any, error) {
	var status *string
	if ch.Status != nil {
		st := string(*ch.Status)
		status = &st
	}
	var meta any
	if ch.Metadata != nil {
		var err error
		if meta, err = encodeMetadata(ch.Metadata); err != nil {
			return nil, err
		}
	}
	var role *string
	if ch.SetRole {
		role = ch.Role
	}
	return []any{first, ch.Email, ch.EmailKey, ch.PasswordHash, ch.FirstName, ch.LastName,
		status, ch.SetRole, role, ch.Contested, meta, ch.UpdatedAt}, nil
}

// UpdateUsers implements users.Store: the first round trip begins the
// transaction and locks the users (in id order, so that overlapping bulk
// updates queue instead of deadlocking); the second applies the change and
// commits.
func (s *Store) UpdateUsers(ctx context.Context, ids []string, ch users.UserChange) error {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return nil
	}
	args, err := changeArgs(ids, ch)
	if err != nil {
		return fmt.Errorf("pgstore: update users: %w", err)
	}
	return s.do(ctx, "update users", func() error {
		return s.inTx(ctx, func(c *pgx.Conn) error {
			b := &pgx.Batch{}
			b.Queue("begin")
			found := 0
			b.Queue(s.q.lockUsers, ids).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					found++
				}
				return rows.Err()
			})
			if err := c.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
			if found != len(ids) {
				return users.ErrNotFound
			}
			b = &pgx.Batch{}
			b.Queue(s.q.updateUsers, args...)
			if ch.SetPolicies {
				b.Queue(s.q.deleteUsersPolicies, ids)
				if len(ch.Policies) > 0 {
					b.Queue(s.q.insertUsersPolicies, ids, ch.Policies)
				}
			}
			b.Queue("commit")
			return c.SendBatch(ctx, b).Close()
		})
	})
}

// ConsumeToken implements users.Store in two round trips: the first begins
// the transaction and locks the token's user, then the token (SELECT … FOR
// UPDATE); the checks run here; the second marks the token consumed,
// applies the change and the effects, reads the user back and commits.
// Concurrent consumers of one token queue on the user's row lock; when the
// winner commits, the next one reads the token as consumed and gets
// ErrTokenUsed.
func (s *Store) ConsumeToken(ctx context.Context, hash []byte, purpose users.TokenPurpose, now time.Time, cond users.Condition, ch users.UserChange, fx users.Effects) (*users.UserRecord, error) {
	var u *users.UserRecord
	err := s.do(ctx, "consume token", func() error {
		return s.inTx(ctx, func(c *pgx.Conn) error {
			var (
				userID    string
				consumed  *time.Time
				expires   time.Time
				status    string
				contested bool
				userFound bool
			)
			b := &pgx.Batch{}
			b.Queue("begin")
			b.Queue(s.q.lockTokenUser, hash, string(purpose)).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					userFound = true
					if err := rows.Scan(&status, &contested); err != nil {
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
					return users.ErrInvalidToken
				}
				return err
			}
			if !userFound {
				// The token was committed after the first statement
				// began: it did not exist when this call looked.
				return users.ErrInvalidToken
			}
			switch {
			case consumed != nil:
				return users.ErrTokenUsed
			case !now.Before(expires):
				return users.ErrTokenExpired
			case !holds(cond, status, contested):
				return users.ErrConflict
			}
			args, err := changeArgs(userID, ch)
			if err != nil {
				return err
			}
			b = &pgx.Batch{}
			b.Queue(s.q.consumeToken, hash, now)
			u, err = s.applyChange(ctx, c, b, userID, ch, args, fx)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// holds reports whether a user with status and contested satisfies cond.
func holds(cond users.Condition, status string, contested bool) bool {
	return (cond.Status == "" || users.Status(status) == cond.Status) &&
		(cond.Contested == nil || *cond.Contested == contested)
}

// GetToken implements users.Store.
func (s *Store) GetToken(ctx context.Context, hash []byte) (*users.TokenRecord, error) {
	var t *users.TokenRecord
	err := s.do(ctx, "get token", func() error {
		var (
			r       users.TokenRecord
			purpose string
		)
		err := s.pool.QueryRow(ctx, s.q.getToken, hash).Scan(&r.Hash, &purpose, &r.UserID, &r.CreatedAt, &r.ExpiresAt, &r.ConsumedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return users.ErrNotFound
		}
		if err != nil {
			return err
		}
		r.Purpose = users.TokenPurpose(purpose)
		r.CreatedAt = r.CreatedAt.UTC()
		r.ExpiresAt = r.ExpiresAt.UTC()
		r.ConsumedAt = utcPtr(r.ConsumedAt)
		t = &r
		return nil
	})
	return t, err
}

func scanUser(row pgx.Row) (*users.UserRecord, error) {
	var (
		u        users.UserRecord
		status   string
		meta     []byte
		policies []string
	)
	err := row.Scan(&u.ID, &u.Email, &u.EmailKey, &u.PasswordHash, &u.FirstName, &u.LastName,
		&status, &u.Role, &u.Contested, &meta, &u.CreatedAt, &u.UpdatedAt, &policies)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, users.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	u.Status = users.Status(status)
	u.HasPassword = u.PasswordHash != ""
	u.CreatedAt = u.CreatedAt.UTC()
	u.UpdatedAt = u.UpdatedAt.UTC()
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

// encodeMetadata is the jsonb argument for m: NULL for a nil map.
func encodeMetadata(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return string(b), nil
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

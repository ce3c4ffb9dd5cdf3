package pgstore

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gousers/users/store"
)

// CreateRole implements store.Store. A role whose id exists already is an
// error matching store.ErrDuplicateID and ErrRoleExists.
func (s *Store) CreateRole(ctx context.Context, r *store.Role) error {
	return s.do(ctx, "create role", func() error {
		_, err := s.pool.Exec(ctx, s.q.insertRole, r.ID, r.Name, r.Description, r.AdminAccess)
		if isUniqueViolation(err, "users_roles_pkey") {
			return ErrRoleExists
		}
		return err
	})
}

// GetRole implements store.Store.
func (s *Store) GetRole(ctx context.Context, id string) (*store.Role, error) {
	var r *store.Role
	err := s.do(ctx, "get role", func() (err error) {
		r, err = scanRole(s.pool.QueryRow(ctx, s.q.getRole, id))
		return err
	})
	return r, err
}

// ListRoles implements store.Store.
func (s *Store) ListRoles(ctx context.Context) ([]*store.Role, error) {
	var list []*store.Role
	err := s.do(ctx, "list roles", func() error {
		rows, err := s.pool.Query(ctx, s.q.listRoles)
		if err != nil {
			return err
		}
		list, err = collect(rows, scanRole)
		return err
	})
	return list, err
}

func scanRole(row pgx.Row) (*store.Role, error) {
	var r store.Role
	err := row.Scan(&r.ID, &r.Name, &r.Description, &r.AdminAccess)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// CreatePolicy implements store.Store. A policy whose id exists already is
// an error matching store.ErrDuplicateID and ErrPolicyExists.
func (s *Store) CreatePolicy(ctx context.Context, p *store.Policy) error {
	return s.do(ctx, "create policy", func() error {
		_, err := s.pool.Exec(ctx, s.q.insertPolicy, p.ID, p.Name, p.AdminAccess)
		if isUniqueViolation(err, "users_policies_pkey") {
			return ErrPolicyExists
		}
		return err
	})
}

// GetPolicy implements store.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (*store.Policy, error) {
	var p *store.Policy
	err := s.do(ctx, "get policy", func() (err error) {
		p, err = scanPolicy(s.pool.QueryRow(ctx, s.q.getPolicy, id))
		return err
	})
	return p, err
}

// ListPolicies implements store.Store.
func (s *Store) ListPolicies(ctx context.Context) ([]*store.Policy, error) {
	var list []*store.Policy
	err := s.do(ctx, "list policies", func() error {
		rows, err := s.pool.Query(ctx, s.q.listPolicies)
		if err != nil {
			return err
		}
		list, err = collect(rows, scanPolicy)
		return err
	})
	return list, err
}

func scanPolicy(row pgx.Row) (*store.Policy, error) {
	var p store.Policy
	err := row.Scan(&p.ID, &p.Name, &p.AdminAccess)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Settings implements store.Store. Nothing is cached: every call reads the
// row, so a document saved by one instance is what the others read next.
func (s *Store) Settings(ctx context.Context) ([]byte, error) {
	var doc []byte
	err := s.do(ctx, "settings", func() error {
		err := s.pool.QueryRow(ctx, s.q.getSettings).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) {
			doc = nil
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// SaveSettings implements store.Store. A nil doc is saved as an empty one.
func (s *Store) SaveSettings(ctx context.Context, doc []byte) error {
	if doc == nil {
		doc = []byte{}
	}
	return s.do(ctx, "save settings", func() error {
		_, err := s.pool.Exec(ctx, s.q.saveSettings, doc)
		return err
	})
}

// ClaimMail implements store.Store in one statement (see the claimMail
// query): concurrent claimers on any number of instances skip each other's
// rows instead of waiting, and never both lease one mail.
func (s *Store) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.Mail, error) {
	if limit <= 0 {
		return nil, nil
	}
	var list []*store.Mail
	err := s.do(ctx, "claim mail", func() error {
		rows, err := s.pool.Query(ctx, s.q.claimMail, now, leaseUntil, limit)
		if err != nil {
			return err
		}
		list, err = collect(rows, scanMail)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b *store.Mail) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return list, nil
}

// UpdateMail implements store.Store.
func (s *Store) UpdateMail(ctx context.Context, id string, u store.MailUpdate) error {
	return s.do(ctx, "update mail", func() error {
		ct, err := s.pool.Exec(ctx, s.q.updateMail, id, string(u.Status), u.Attempts, u.LastError,
			u.NextAttemptAt, u.SentAt, u.ClearBody)
		if err != nil {
			return err
		}
		if ct.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}

// ListMail implements store.Store.
func (s *Store) ListMail(ctx context.Context, q store.MailQuery) ([]*store.Mail, error) {
	var (
		sb   strings.Builder
		args []any
		and  = " WHERE "
	)
	sb.WriteString(s.q.listMail)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.Status != "" {
		sb.WriteString(and + "m.status = " + arg(string(q.Status)))
		and = " AND "
	}
	if q.To != "" {
		sb.WriteString(and + "m.to_addr = " + arg(q.To))
	}
	sb.WriteString(" ORDER BY m.created_at, m.id")
	if q.Limit > 0 {
		sb.WriteString(" LIMIT " + arg(q.Limit))
	}
	var list []*store.Mail
	err := s.do(ctx, "list mail", func() error {
		rows, err := s.pool.Query(ctx, sb.String(), args...)
		if err != nil {
			return err
		}
		list, err = collect(rows, scanMail)
		return err
	})
	return list, err
}

func scanMail(row pgx.Row) (*store.Mail, error) {
	var (
		m      store.Mail
		status string
	)
	err := row.Scan(&m.ID, &m.Kind, &m.UserID, &m.To, &m.Subject, &m.Text, &m.HTML,
		&status, &m.Attempts, &m.LastError, &m.CreatedAt, &m.NextAttemptAt, &m.LeaseUntil, &m.SentAt, &m.MessageID)
	if err != nil {
		return nil, err
	}
	m.Status = store.MailStatus(status)
	m.CreatedAt = m.CreatedAt.UTC()
	m.NextAttemptAt = m.NextAttemptAt.UTC()
	m.LeaseUntil = utcPtr(m.LeaseUntil)
	m.SentAt = utcPtr(m.SentAt)
	return &m, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// MailStats implements store.Store with one statement: two counts and a
// minimum, each over an index (users_mail_status_idx,
// users_mail_pending_idx).
func (s *Store) MailStats(ctx context.Context) (store.MailStats, error) {
	var st store.MailStats
	err := s.do(ctx, "mail stats", func() error {
		return s.pool.QueryRow(ctx, s.q.mailStats).Scan(&st.Pending, &st.Failed, &st.OldestPending)
	})
	if err != nil {
		return store.MailStats{}, err
	}
	st.OldestPending = utcPtr(st.OldestPending)
	return st, nil
}

// Errors of this package, beside the store sentinels the Store contract
// names. Both match store.ErrDuplicateID too.
var (
	// ErrRoleExists is returned by CreateRole for a role id that exists.
	ErrRoleExists error = &duplicateID{"pgstore: a role with this id already exists"}
	// ErrPolicyExists is returned by CreatePolicy for a policy id that
	// exists.
	ErrPolicyExists error = &duplicateID{"pgstore: a policy with this id already exists"}
)

// duplicateID is an error of this package that is also
// store.ErrDuplicateID.
type duplicateID struct{ msg string }

func (e *duplicateID) Error() string { return e.msg }
func (e *duplicateID) Unwrap() error { return store.ErrDuplicateID }

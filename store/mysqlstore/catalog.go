package mysqlstore

import (
	"context"
	"database/sql"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// CreateRole implements store.Store; ErrDuplicateID when the id exists.
func (s *Store) CreateRole(ctx context.Context, r *store.Role) error {
	return s.create(ctx, "create role", `INSERT INTO users_roles (id, name, description, admin_access, enforce_tfa) VALUES (?, ?, ?, ?, ?)`,
		r.ID, r.Name, r.Description, r.AdminAccess, r.EnforceTFA)
}

// GetRole implements store.Store.
func (s *Store) GetRole(ctx context.Context, id string) (*store.Role, error) {
	return read(ctx, s, "get role", func() (*store.Role, error) {
		return sqlstore.First(queryAll(ctx, s.ro, selectRoles+`WHERE id = ?`, scanRole, id))
	})
}

// ListRoles implements store.Store: by name, then id, both by their bytes.
func (s *Store) ListRoles(ctx context.Context) ([]*store.Role, error) {
	return read(ctx, s, "list roles", func() ([]*store.Role, error) {
		return queryAll(ctx, s.db, selectRoles+byName, scanRole)
	})
}

const selectRoles = `SELECT id, name, description, admin_access, enforce_tfa FROM users_roles `

func scanRole(rows *sql.Rows) (*store.Role, error) {
	var r store.Role
	return &r, rows.Scan(&r.ID, &r.Name, &r.Description, &r.AdminAccess, &r.EnforceTFA)
}

// CreatePolicy implements store.Store; ErrDuplicateID when the id exists.
func (s *Store) CreatePolicy(ctx context.Context, p *store.Policy) error {
	return s.create(ctx, "create policy", `INSERT INTO users_policies (id, name, admin_access, enforce_tfa) VALUES (?, ?, ?, ?)`,
		p.ID, p.Name, p.AdminAccess, p.EnforceTFA)
}

// GetPolicy implements store.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (*store.Policy, error) {
	return read(ctx, s, "get policy", func() (*store.Policy, error) {
		return sqlstore.First(queryAll(ctx, s.ro, selectPolicies+`WHERE id = ?`, scanPolicy, id))
	})
}

// ListPolicies implements store.Store: by name, then id, both by their
// bytes.
func (s *Store) ListPolicies(ctx context.Context) ([]*store.Policy, error) {
	return read(ctx, s, "list policies", func() ([]*store.Policy, error) {
		return queryAll(ctx, s.db, selectPolicies+byName, scanPolicy)
	})
}

const selectPolicies = `SELECT id, name, admin_access, enforce_tfa FROM users_policies `

func scanPolicy(rows *sql.Rows) (*store.Policy, error) {
	var p store.Policy
	return &p, rows.Scan(&p.ID, &p.Name, &p.AdminAccess, &p.EnforceTFA)
}

// byName orders roles and policies by name, then id, both by their bytes.
const byName = `ORDER BY CAST(name AS BINARY), CAST(id AS BINARY)`

// create runs insert, whose primary key is a role's or a policy's id;
// ErrDuplicateID when the id exists.
func (s *Store) create(ctx context.Context, op, insert string, args ...any) error {
	return s.do(ctx, op, func() error {
		_, err := s.db.ExecContext(ctx, insert, args...)
		if isDup(err, "PRIMARY") {
			return store.ErrDuplicateID
		}
		return err
	})
}

// read runs fn under do (op names it) and returns its result.
func read[T any](ctx context.Context, s *Store, op string, fn func() (T, error)) (T, error) {
	var v T
	err := s.do(ctx, op, func() (err error) {
		v, err = fn()
		return err
	})
	return v, err
}

// queryAll runs query on q and reads every row with scan.
func queryAll[T any](ctx context.Context, q querier, query string, scan func(*sql.Rows) (T, error), args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlstore.Collect(rows, scan)
}

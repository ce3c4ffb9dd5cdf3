package sqlitestore

import (
	"context"
	"database/sql"

	"github.com/mattn/go-sqlite3"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// CreateRole implements [store.Store].
func (s *Store) CreateRole(ctx context.Context, r *store.Role) error {
	return s.create(ctx, "create role", `INSERT INTO users_roles (id, name, description, admin_access, enforce_tfa) VALUES (?, ?, ?, ?, ?)`,
		r.ID, r.Name, r.Description, boolInt(r.AdminAccess), boolInt(r.EnforceTFA))
}

// GetRole implements [store.Store].
func (s *Store) GetRole(ctx context.Context, id string) (*store.Role, error) {
	r, err := sqlstore.First(queryAll(ctx, s.read(), selectRoles+`WHERE id = ?`, scanRole, id))
	return r, s.fail(ctx, "get role", err)
}

// ListRoles implements [store.Store].
func (s *Store) ListRoles(ctx context.Context) ([]*store.Role, error) {
	list, err := queryAll(ctx, s.read(), selectRoles+`ORDER BY name, id`, scanRole)
	return list, s.fail(ctx, "list roles", err)
}

const selectRoles = `SELECT id, name, description, admin_access, enforce_tfa FROM users_roles `

func scanRole(rows *sql.Rows) (*store.Role, error) {
	var r store.Role
	return &r, rows.Scan(&r.ID, &r.Name, &r.Description, &r.AdminAccess, &r.EnforceTFA)
}

// CreatePolicy implements [store.Store].
func (s *Store) CreatePolicy(ctx context.Context, p *store.Policy) error {
	return s.create(ctx, "create policy", `INSERT INTO users_policies (id, name, admin_access, enforce_tfa) VALUES (?, ?, ?, ?)`,
		p.ID, p.Name, boolInt(p.AdminAccess), boolInt(p.EnforceTFA))
}

// GetPolicy implements [store.Store].
func (s *Store) GetPolicy(ctx context.Context, id string) (*store.Policy, error) {
	p, err := sqlstore.First(queryAll(ctx, s.read(), selectPolicies+`WHERE id = ?`, scanPolicy, id))
	return p, s.fail(ctx, "get policy", err)
}

// ListPolicies implements [store.Store].
func (s *Store) ListPolicies(ctx context.Context) ([]*store.Policy, error) {
	list, err := queryAll(ctx, s.read(), selectPolicies+`ORDER BY name, id`, scanPolicy)
	return list, s.fail(ctx, "list policies", err)
}

const selectPolicies = `SELECT id, name, admin_access, enforce_tfa FROM users_policies `

func scanPolicy(rows *sql.Rows) (*store.Policy, error) {
	var p store.Policy
	return &p, rows.Scan(&p.ID, &p.Name, &p.AdminAccess, &p.EnforceTFA)
}

// create runs insert, whose primary key is a role's or a policy's id;
// ErrDuplicateID when the id exists.
func (s *Store) create(ctx context.Context, op, insert string, args ...any) error {
	return s.writeOne(ctx, op, func(q querier) error {
		_, err := q.exec(ctx, insert, args...)
		if constraint(err, sqlite3.ErrConstraintPrimaryKey, "") {
			return store.ErrDuplicateID
		}
		return err
	})
}

// queryAll runs query with q and reads every row with scan.
func queryAll[T any](ctx context.Context, q querier, query string, scan func(*sql.Rows) (T, error), args ...any) ([]T, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlstore.Collect(rows, scan)
}

package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/mattn/go-sqlite3"

	"github.com/gousers/users/store"
)

// CreateRole implements [store.Store].
func (s *Store) CreateRole(ctx context.Context, r *store.Role) error {
	return s.writeOne(ctx, "create role", func(q querier) error {
		_, err := q.exec(ctx, `INSERT INTO users_roles (id, name, description, admin_access) VALUES (?, ?, ?, ?)`,
			r.ID, r.Name, r.Description, boolInt(r.AdminAccess))
		if constraint(err, sqlite3.ErrConstraintPrimaryKey, "") {
			return store.ErrDuplicateID
		}
		return err
	})
}

// GetRole implements [store.Store].
func (s *Store) GetRole(ctx context.Context, id string) (*store.Role, error) {
	var r store.Role
	err := s.read().queryRow(ctx, `SELECT id, name, description, admin_access FROM users_roles WHERE id = ?`,
		func(rows *sql.Rows) error { return rows.Scan(&r.ID, &r.Name, &r.Description, &r.AdminAccess) }, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(ctx, "get role", err)
	}
	return &r, nil
}

// ListRoles implements [store.Store].
func (s *Store) ListRoles(ctx context.Context) ([]*store.Role, error) {
	rows, err := s.read().query(ctx, `SELECT id, name, description, admin_access FROM users_roles ORDER BY name, id`)
	if err != nil {
		return nil, s.fail(ctx, "list roles", err)
	}
	defer rows.Close()
	var out []*store.Role
	for rows.Next() {
		var r store.Role
		if err := rows.Scan(&r.ID, &r.Name, &r.Description, &r.AdminAccess); err != nil {
			return nil, s.fail(ctx, "list roles", err)
		}
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "list roles", err)
	}
	return out, nil
}

// CreatePolicy implements [store.Store].
func (s *Store) CreatePolicy(ctx context.Context, p *store.Policy) error {
	return s.writeOne(ctx, "create policy", func(q querier) error {
		_, err := q.exec(ctx, `INSERT INTO users_policies (id, name, admin_access) VALUES (?, ?, ?)`,
			p.ID, p.Name, boolInt(p.AdminAccess))
		if constraint(err, sqlite3.ErrConstraintPrimaryKey, "") {
			return store.ErrDuplicateID
		}
		return err
	})
}

// GetPolicy implements [store.Store].
func (s *Store) GetPolicy(ctx context.Context, id string) (*store.Policy, error) {
	var p store.Policy
	err := s.read().queryRow(ctx, `SELECT id, name, admin_access FROM users_policies WHERE id = ?`,
		func(rows *sql.Rows) error { return rows.Scan(&p.ID, &p.Name, &p.AdminAccess) }, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(ctx, "get policy", err)
	}
	return &p, nil
}

// ListPolicies implements [store.Store].
func (s *Store) ListPolicies(ctx context.Context) ([]*store.Policy, error) {
	rows, err := s.read().query(ctx, `SELECT id, name, admin_access FROM users_policies ORDER BY name, id`)
	if err != nil {
		return nil, s.fail(ctx, "list policies", err)
	}
	defer rows.Close()
	var out []*store.Policy
	for rows.Next() {
		var p store.Policy
		if err := rows.Scan(&p.ID, &p.Name, &p.AdminAccess); err != nil {
			return nil, s.fail(ctx, "list policies", err)
		}
		out = append(out, &p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "list policies", err)
	}
	return out, nil
}

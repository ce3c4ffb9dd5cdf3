package mysqlstore

import (
	"context"

	"github.com/gousers/users/store"
)

// CreateRole implements store.Store; ErrDuplicateID when the id exists.
func (s *Store) CreateRole(ctx context.Context, r *store.Role) error {
	return s.do(ctx, "create role", func() error {
		_, err := s.db.ExecContext(ctx, `INSERT INTO users_roles (id, name, description, admin_access) VALUES (?, ?, ?, ?)`,
			r.ID, r.Name, r.Description, r.AdminAccess)
		if isDup(err, "PRIMARY") {
			return store.ErrDuplicateID
		}
		return err
	})
}

// GetRole implements store.Store.
func (s *Store) GetRole(ctx context.Context, id string) (*store.Role, error) {
	var r *store.Role
	err := s.do(ctx, "get role", func() error {
		list, err := s.roles(ctx, `WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return store.ErrNotFound
		}
		r = list[0]
		return nil
	})
	return r, err
}

// ListRoles implements store.Store: by name, then id, both by their bytes.
func (s *Store) ListRoles(ctx context.Context) ([]*store.Role, error) {
	var list []*store.Role
	err := s.do(ctx, "list roles", func() (err error) {
		list, err = s.roles(ctx, `ORDER BY CAST(name AS BINARY), CAST(id AS BINARY)`)
		return err
	})
	return list, err
}

func (s *Store) roles(ctx context.Context, tail string, args ...any) ([]*store.Role, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, description, admin_access FROM users_roles `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*store.Role
	for rows.Next() {
		var r store.Role
		if err := rows.Scan(&r.ID, &r.Name, &r.Description, &r.AdminAccess); err != nil {
			return nil, err
		}
		list = append(list, &r)
	}
	return list, rows.Err()
}

// CreatePolicy implements store.Store; ErrDuplicateID when the id exists.
func (s *Store) CreatePolicy(ctx context.Context, p *store.Policy) error {
	return s.do(ctx, "create policy", func() error {
		_, err := s.db.ExecContext(ctx, `INSERT INTO users_policies (id, name, admin_access) VALUES (?, ?, ?)`,
			p.ID, p.Name, p.AdminAccess)
		if isDup(err, "PRIMARY") {
			return store.ErrDuplicateID
		}
		return err
	})
}

// GetPolicy implements store.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (*store.Policy, error) {
	var p *store.Policy
	err := s.do(ctx, "get policy", func() error {
		list, err := s.policies(ctx, `WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return store.ErrNotFound
		}
		p = list[0]
		return nil
	})
	return p, err
}

// ListPolicies implements store.Store: by name, then id, both by their
// bytes.
func (s *Store) ListPolicies(ctx context.Context) ([]*store.Policy, error) {
	var list []*store.Policy
	err := s.do(ctx, "list policies", func() (err error) {
		list, err = s.policies(ctx, `ORDER BY CAST(name AS BINARY), CAST(id AS BINARY)`)
		return err
	})
	return list, err
}

func (s *Store) policies(ctx context.Context, tail string, args ...any) ([]*store.Policy, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, admin_access FROM users_policies `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*store.Policy
	for rows.Next() {
		var p store.Policy
		if err := rows.Scan(&p.ID, &p.Name, &p.AdminAccess); err != nil {
			return nil, err
		}
		list = append(list, &p)
	}
	return list, rows.Err()
}

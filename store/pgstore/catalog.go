package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/gousers/users/store"
)

// CreateRole implements store.Store. A role whose id exists already is an
// error matching store.ErrDuplicateID and ErrRoleExists.
func (s *Store) CreateRole(ctx context.Context, r *store.Role) error {
	return s.do(ctx, "create role", func() error {
		_, err := s.pool.Exec(ctx, s.q.insertRole, r.ID, r.Name, r.Description, r.AdminAccess, r.EnforceTFA)
		if isUniqueViolation(err, "users_roles_pkey") {
			return ErrRoleExists
		}
		return err
	})
}

// GetRole implements store.Store.
func (s *Store) GetRole(ctx context.Context, id string) (*store.Role, error) {
	return queryOne(ctx, s, "get role", s.q.getRole, scanRole, id)
}

// ListRoles implements store.Store.
func (s *Store) ListRoles(ctx context.Context) ([]*store.Role, error) {
	return queryAll(ctx, s, "list roles", s.q.listRoles, scanRole)
}

func scanRole(row pgx.Row) (*store.Role, error) {
	var r store.Role
	err := row.Scan(&r.ID, &r.Name, &r.Description, &r.AdminAccess, &r.EnforceTFA)
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
		_, err := s.pool.Exec(ctx, s.q.insertPolicy, p.ID, p.Name, p.AdminAccess, p.EnforceTFA)
		if isUniqueViolation(err, "users_policies_pkey") {
			return ErrPolicyExists
		}
		return err
	})
}

// GetPolicy implements store.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (*store.Policy, error) {
	return queryOne(ctx, s, "get policy", s.q.getPolicy, scanPolicy, id)
}

// ListPolicies implements store.Store.
func (s *Store) ListPolicies(ctx context.Context) ([]*store.Policy, error) {
	return queryAll(ctx, s, "list policies", s.q.listPolicies, scanPolicy)
}

func scanPolicy(row pgx.Row) (*store.Policy, error) {
	var p store.Policy
	err := row.Scan(&p.ID, &p.Name, &p.AdminAccess, &p.EnforceTFA)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
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

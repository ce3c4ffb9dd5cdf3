package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gousers/users/store"
)

// CreateRole implements store.Store.
func (s *Store) CreateRole(ctx context.Context, r *store.Role) error {
	return create(ctx, s, s.roles, r.ID, r)
}

// GetRole implements store.Store.
func (s *Store) GetRole(ctx context.Context, id string) (*store.Role, error) {
	return get(ctx, s, s.roles, id, "get role")
}

// ListRoles implements store.Store.
func (s *Store) ListRoles(ctx context.Context) ([]*store.Role, error) {
	return list(ctx, s, s.roles, func(r *store.Role) (string, string) { return r.Name, r.ID })
}

// CreatePolicy implements store.Store.
func (s *Store) CreatePolicy(ctx context.Context, p *store.Policy) error {
	return create(ctx, s, s.policies, p.ID, p)
}

// GetPolicy implements store.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (*store.Policy, error) {
	return get(ctx, s, s.policies, id, "get policy")
}

// ListPolicies implements store.Store.
func (s *Store) ListPolicies(ctx context.Context) ([]*store.Policy, error) {
	return list(ctx, s, s.policies, func(p *store.Policy) (string, string) { return p.Name, p.ID })
}

// create stores a copy of v under id in m, one of the Store's catalogs
// (roles, policies); ErrDuplicateID when id is taken.
func create[T any](ctx context.Context, s *Store, m map[string]*T, id string, v *T) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := m[id]; ok {
		return store.ErrDuplicateID // as it is: the Manager adds the operation
	}
	c := *v
	m[id] = &c
	return nil
}

// get returns a copy of the record id of m; ErrNotFound, wrapped with op,
// when there is none.
func get[T any](ctx context.Context, s *Store, m map[string]*T, id, op string) (*T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("memstore: %s: %w", op, store.ErrNotFound)
	}
	c := *v
	return &c, nil
}

// list returns copies of every record of m, by name, then id (key returns
// both).
func list[T any](ctx context.Context, s *Store, m map[string]*T, key func(*T) (name, id string)) ([]*T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*T, 0, len(m))
	for _, v := range m {
		c := *v
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *T) int {
		an, ai := key(a)
		bn, bi := key(b)
		return cmp.Or(strings.Compare(an, bn), strings.Compare(ai, bi))
	})
	return out, nil
}

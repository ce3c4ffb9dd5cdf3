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
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.roles[r.ID]; ok {
		return store.ErrDuplicateID // as it is: the Manager adds the operation
	}
	c := *r
	s.roles[r.ID] = &c
	return nil
}

// GetRole implements store.Store.
func (s *Store) GetRole(ctx context.Context, id string) (*store.Role, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.roles[id]
	if !ok {
		return nil, fmt.Errorf("memstore: get role: %w", store.ErrNotFound)
	}
	c := *r
	return &c, nil
}

// ListRoles implements store.Store.
func (s *Store) ListRoles(ctx context.Context) ([]*store.Role, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*store.Role, 0, len(s.roles))
	for _, r := range s.roles {
		c := *r
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *store.Role) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// CreatePolicy implements store.Store.
func (s *Store) CreatePolicy(ctx context.Context, p *store.Policy) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.policies[p.ID]; ok {
		return store.ErrDuplicateID // as it is: the Manager adds the operation
	}
	c := *p
	s.policies[p.ID] = &c
	return nil
}

// GetPolicy implements store.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (*store.Policy, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.policies[id]
	if !ok {
		return nil, fmt.Errorf("memstore: get policy: %w", store.ErrNotFound)
	}
	c := *p
	return &c, nil
}

// ListPolicies implements store.Store.
func (s *Store) ListPolicies(ctx context.Context) ([]*store.Policy, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*store.Policy, 0, len(s.policies))
	for _, p := range s.policies {
		c := *p
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *store.Policy) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

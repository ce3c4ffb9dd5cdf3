package users

import (
	"context"

	"github.com/gousers/users/store"
)

// CountUsers returns how many users q selects, ignoring its Sort, Limit and
// Offset (Directus's filter_count; UserQuery{} gives total_count). A query
// the Store cannot run is a *ValidationError matching ErrInvalidQuery, as
// for ListUsers.
func (m *Manager) CountUsers(ctx context.Context, q store.UserQuery) (int, error) {
	if err := validateUserQuery(q); err != nil {
		return 0, opErr("count users", err)
	}
	n, err := m.store.CountUsers(ctx, q)
	if err != nil {
		return 0, opErr("count users", err)
	}
	return n, nil
}

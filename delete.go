package users

import (
	"context"

	"github.com/gousers/users/store"
)

// DeleteUsers deletes the users with the given ids, all or none (an
// administrator's action: authorise before calling). With each user go its
// tokens (so no link mailed to it works any more), its sessions (so no
// refresh token works any more) and its mail not yet sent; mail already
// sent or failed stays in the outbox as its record. Duplicate ids count
// once.
//
// Nothing is deleted when: no id is given, or one is empty (a
// *ValidationError for "keys"); one of them names no user (ErrUserNotFound);
// or the deletion would leave no active user with admin access where there
// was one (ErrLastAdmin), as Directus refuses to delete its last
// administrator. The Store judges the last one in the transaction that
// deletes, so two concurrent deletions cannot remove the last two
// administrators.
func (m *Manager) DeleteUsers(ctx context.Context, ids ...string) error {
	if err := m.deleteUsers(ctx, ids); err != nil {
		return opErr("delete users", err)
	}
	return nil
}

func (m *Manager) deleteUsers(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return invalid("keys", "is required")
	}
	if err := validIDs("keys", ids); err != nil {
		return err
	}
	return notFoundAs(m.store.DeleteUsers(ctx, ids, store.Condition{KeepAdmin: true}), ErrUserNotFound)
}

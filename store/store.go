package store

import (
	"context"
	"time"
)

// Store is where a Manager keeps users, roles, policies, tokens, sessions,
// settings, the mail outbox and the events: the small interfaces of this package
// composed into one. See the package documentation for the rules every
// method follows.
type Store interface {
	Users
	Tokens
	Sessions
	Outbox
	Events
	Catalog
	TwoFactor

	// PurgeExpired deletes the sessions and the tokens (consumed or not)
	// whose ExpiresAt is at or before before, and returns how many sessions
	// and tokens it deleted (a session's earlier hashes go with it and are
	// not counted). The Manager calls it from its worker with a margin, so
	// that an expired token is still told apart from an unknown one for a
	// while.
	PurgeExpired(ctx context.Context, before time.Time) (int, error)
}

package store

import (
	"context"
	"time"
)

// Sessions keeps login sessions and rotates their refresh tokens.
type Sessions interface {
	// CreateSession inserts s, a new login session whose current refresh
	// token's SHA-256 is s.TokenHash, provided the user s.UserID satisfies
	// cond (else ErrConflict; ErrNotFound when there is no such user),
	// and inserts events in the same transaction, as Effects.Events.
	CreateSession(ctx context.Context, s *Session, cond Condition, events ...*Event) error

	// GetSession returns the session with the given id, or ErrNotFound.
	// An expired session is returned as it is (the Manager compares its
	// ExpiresAt); a deleted one is not found.
	GetSession(ctx context.Context, id string) (*Session, error)

	// ResolveSession returns, in one read (one round trip to a database),
	// the session with the given id, its user as GetUser returns it, and
	// what that user's role and policies grant it (Grants). ErrNotFound
	// when there is no such session. An expired session is returned as it
	// is, and the user whatever its status: the Manager judges both. It
	// is what every authenticated request costs, so it must be cheap.
	ResolveSession(ctx context.Context, id string) (*Session, *User, Grants, error)

	// RotateSession is a refresh, atomically, in one transaction:
	//
	//   - it finds the session whose current refresh-token hash, or one of
	//     its earlier (rotated) ones, equals oldHash; none: ErrInvalidToken;
	//   - when oldHash is an earlier hash (the token was already rotated:
	//     it leaked, or a client replayed it), it deletes the whole session
	//     and returns ErrTokenReused — that deletion is committed, it is the
	//     point of reuse detection;
	//   - when now is not before the session's ExpiresAt: ErrTokenExpired;
	//   - when the session's user does not satisfy cond: ErrConflict;
	//   - otherwise it keeps oldHash as an earlier hash of the session,
	//     makes newHash the current one, sets RefreshedAt to now and
	//     ExpiresAt to expiresAt, and returns the session and its user as
	//     they are afterwards.
	//
	// In the three error cases after the first, nothing else is written.
	// Under concurrent calls with the same oldHash, in one process or many,
	// exactly one succeeds; the others find oldHash already rotated, so the
	// session ends. A Store keeps a session's earlier hashes as long as the
	// session exists.
	RotateSession(ctx context.Context, oldHash, newHash []byte, now, expiresAt time.Time, cond Condition) (*Session, *User, error)

	// RenewSession renews a session-cookie session. Such a session's
	// access tokens carry the Generation they were minted for, and a
	// renewal retires the generation it renews. Atomically, in one
	// transaction:
	//
	//   - no session has the id: ErrNotFound;
	//   - when generation is neither the session's Generation nor, while
	//     now is before RefreshedAt + grace, the one before it (an older
	//     one, the one before after the grace, or one never issued: a
	//     retired token presented again — it leaked, or a client replayed
	//     it), it deletes the whole session and returns ErrTokenReused —
	//     that deletion is committed, it is the point of reuse detection;
	//   - when now is not before the session's ExpiresAt: ErrTokenExpired;
	//   - when the session's user does not satisfy cond: ErrConflict;
	//   - when generation is the session's Generation, it advances
	//     Generation by one, sets RefreshedAt and the user's LastAccess to
	//     now (ExpiresAt stays), and returns the session and its user as
	//     they are afterwards;
	//   - when generation is the one before (a renewal that raced the one
	//     that advanced it, within the grace), it writes nothing and
	//     returns the session and its user as they are.
	//
	// In the three error cases after the first, nothing is written. Under
	// concurrent calls with the same current generation, in one process
	// or many, exactly one advances it; the others, within the grace, get
	// the session as that one left it.
	RenewSession(ctx context.Context, id string, generation int64, now time.Time, grace time.Duration, cond Condition) (*Session, *User, error)

	// ListSessions returns the sessions of the user userID (none: an empty
	// list, also for an unknown user), the most recently created first,
	// then by ID; expired sessions not yet purged are included.
	ListSessions(ctx context.Context, userID string) ([]*Session, error)

	// DeleteSession deletes the session with the given id and its earlier
	// hashes (log out), and inserts events in the same transaction, as
	// Effects.Events, an event without an Item getting the session's user
	// as DeleteSessionByToken says; ErrNotFound (nothing written) when
	// there is none.
	DeleteSession(ctx context.Context, id string, events ...*Event) error

	// DeleteSessionByToken deletes the session whose current or an earlier
	// refresh-token hash equals hash (log out with a refresh token; an
	// earlier token ends its session too); ErrNotFound when there is none.
	// events are inserted in the same transaction, as Effects.Events; an
	// event whose Item is "" gets the session's user as its Item (and its
	// Actor, when that is "" too), and that user's Email and Role (the
	// caller knows only the token).
	DeleteSessionByToken(ctx context.Context, hash []byte, events ...*Event) error
}

// Grants is what a user's role and policies grant it, as
// Sessions.ResolveSession reads them: each flag is true when the user's
// role or at least one of its policies has it set. A role or policy that
// no longer exists (the user still names it) grants nothing.
type Grants struct {
	AdminAccess bool // Role.AdminAccess or Policy.AdminAccess
	EnforceTFA  bool // Role.EnforceTFA or Policy.EnforceTFA
}

// Session is a login session as the Store keeps it: never the refresh
// token itself, only its SHA-256.
type Session struct {
	ID          string // random, unguessable; access tokens name it
	UserID      string
	TokenHash   []byte // SHA-256 of the current refresh token, 32 bytes
	CreatedAt   time.Time
	RefreshedAt time.Time // the last rotation or renewal; CreatedAt before the first
	ExpiresAt   time.Time // when the current refresh token stops working
	IP          string    // the client's address at login ("" if unknown)
	UserAgent   string    // at most 512 bytes
	// Generation counts the session's renewals (RenewSession): its
	// session-cookie access tokens carry the generation they were minted
	// for. CreateSession keeps it as given (0 for a new session);
	// RotateSession leaves it.
	Generation int64
}

package store

import (
	"context"
	"time"
)

// Users keeps the users.
type Users interface {
	// CreateUser inserts u (whose ID, EmailKey, CreatedAt and UpdatedAt the
	// Manager has set) and applies fx in the same transaction. It returns
	// ErrDuplicateEmail when u.EmailKey is not empty and another user has
	// the same EmailKey, ErrRoleNotFound when u.Role names no role, and
	// ErrPolicyNotFound when one of u.Policies names no policy; in every
	// such case nothing is written.
	CreateUser(ctx context.Context, u *User, fx Effects) error

	// GetUser returns the user with the given id, or ErrNotFound.
	GetUser(ctx context.Context, id string) (*User, error)

	// GetUserByEmailKey returns the user whose EmailKey equals key, or
	// ErrNotFound.
	GetUserByEmailKey(ctx context.Context, key string) (*User, error)

	// ListUsers returns the users matching q (see UserQuery for the
	// meaning of each field), in q.Sort's order, then ID ascending; with no
	// q.Sort, ordered by CreatedAt then ID. q.Offset users are skipped and
	// at most q.Limit returned (0: all). Selection, order and paging are
	// done by the back-end's own query (an index where one serves), never by
	// loading every user.
	ListUsers(ctx context.Context, q UserQuery) ([]*User, error)

	// CountUsers returns how many users match q, ignoring its Sort, Limit
	// and Offset.
	CountUsers(ctx context.Context, q UserQuery) (int, error)

	// UpdateUser applies ch to the user with the given id, and fx, in one
	// transaction, provided the user satisfies cond; it returns the user as
	// it is afterwards. ErrNotFound when there is no such user, ErrConflict
	// when cond does not hold (nothing is written), ErrLastAdmin as
	// Condition.KeepAdmin says, ErrDuplicateEmail, ErrRoleNotFound and
	// ErrPolicyNotFound as CreateUser.
	UpdateUser(ctx context.Context, id string, cond Condition, ch UserChange, fx Effects) (*User, error)

	// UpdateUsers applies ch to every user in ids, all or none: ErrNotFound
	// when one of the ids names no user, ErrConflict when one of them does
	// not satisfy cond (cond.KeepAdmin judges the whole set: see
	// Condition), ErrRoleNotFound/ErrPolicyNotFound as CreateUser. ch must
	// not change Email. ch.RevokeTokens and ch.EndSessions are applied to
	// every user in ids, in the same transaction, as the Effects fields of
	// the same names, and events are inserted as Effects.Events.
	UpdateUsers(ctx context.Context, ids []string, cond Condition, ch UserChange, events ...*Event) error

	// DeleteUsers deletes every user in ids, all or none, in one
	// transaction, with everything that belongs to them: their tokens,
	// their sessions, their policy links and their mail still pending in
	// the outbox (sent and failed mail stays, as the outbox's record).
	// ErrNotFound when one of the ids names no user, ErrConflict when one
	// of them does not satisfy cond, ErrLastAdmin as Condition.KeepAdmin
	// says; in each case nothing is deleted. Duplicate ids count once.
	// events are inserted in the same transaction, as Effects.Events (the
	// activity log outlives the users it names).
	DeleteUsers(ctx context.Context, ids []string, cond Condition, events ...*Event) error
}

// User is a user as the Store keeps it, the password hash included. The
// Manager never hands it to an application: it converts it to users.User,
// which has no hash.
type User struct {
	ID string

	// Email is the address as given; "" when the user has none.
	Email string

	// EmailKey is the normalised email (users.NormalizeEmail), unique among
	// users when not empty. Empty when the user has no email.
	EmailKey string

	// PasswordHash is the encoded password hash (PHC string), empty when
	// the user has no password.
	PasswordHash string

	FirstName string
	LastName  string
	Status    Status

	// Role is the user's role id; nil: no role.
	Role *string

	// Policies are the ids of the policies attached to the user, compared
	// as a set.
	Policies []string

	// Metadata holds the host application's fields, stored as JSON.
	Metadata map[string]any

	// Contested is set when someone registered this still-unverified
	// address again with a different password: once verified, the account
	// gets no password and its owner chooses one from a set-password mail.
	Contested bool

	// TwoFactor reports whether the user has a second factor (see
	// TwoFactor); CreateUser and UpdateUser ignore it.
	TwoFactor bool

	CreatedAt time.Time
	UpdatedAt time.Time

	// LastAccess is when the user last signed in or refreshed a session
	// (Directus's last_access): CreateSession sets it to the session's
	// CreatedAt and RotateSession to its now, in their transactions; no
	// other write changes it (CreateUser ignores it). nil: never.
	LastAccess *time.Time
}

// Status is a user's account status.
type Status string

// User statuses. Only active users with a password can authenticate.
const (
	StatusActive     Status = "active"
	StatusInvited    Status = "invited"
	StatusUnverified Status = "unverified"
	StatusDraft      Status = "draft"
	StatusSuspended  Status = "suspended"
	StatusArchived   Status = "archived"
)

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusActive, StatusInvited, StatusUnverified, StatusDraft, StatusSuspended, StatusArchived:
		return true
	}
	return false
}

// Condition is the precondition of an update. Zero value: always holds.
type Condition struct {
	// Status, when not empty, is the status the user must have.
	Status Status
	// Contested, when not nil, is the value the user's Contested flag must
	// have.
	Contested *bool
	// EmailKey, when not nil, is the EmailKey the user must have: a token
	// is good only while its user still has the address it was mailed to.
	EmailKey *string
	// PasswordHash, when not nil, is the PasswordHash the user must have
	// (a rehash replaces only the hash that was read; a session is created
	// only while the password that opened it is still the user's).
	PasswordHash *string
	// KeepAdmin, when true, refuses with ErrLastAdmin (nothing written) a
	// change or deletion after which no active user with admin access and
	// an email would remain, when at least one existed before it. A user
	// has admin access when its role, or one of its policies, has
	// AdminAccess; an active user is one whose Status is StatusActive; a
	// user has an email when its EmailKey is not empty (without one, no
	// one can sign in as it or reset its password). The Store judges it
	// in the transaction that applies the change, so that two concurrent
	// calls cannot together remove the last two administrators.
	KeepAdmin bool
}

// UserChange lists the fields of a user to change; zero-valued (nil, false)
// fields are left alone. UpdatedAt is always set.
type UserChange struct {
	Email        *string // with EmailKey
	EmailKey     *string
	PasswordHash *string // "" removes the password
	FirstName    *string
	LastName     *string
	Status       *Status
	SetRole      bool    // when true, Role replaces the user's role
	Role         *string // nil with SetRole: no role (NULL)
	SetPolicies  bool    // when true, Policies replaces the user's policies
	Policies     []string
	Contested    *bool
	Metadata     map[string]any // non-nil replaces the user's metadata
	UpdatedAt    time.Time

	// RevokeTokens and EndSessions are for UpdateUsers, which takes no
	// Effects: it applies them to every user it changes, as Effects'
	// fields of the same names (a bulk status change revokes what was
	// mailed before it, and a bulk change away from active logs those
	// users out). The methods that take Effects ignore them.
	RevokeTokens []Purpose
	EndSessions  bool
}

// Effects are the rows written (or deleted) in the same transaction as a
// user change. They concern the user the operation changes (for
// ConsumeToken, the token's user).
type Effects struct {
	// RevokeTokens, when not empty, lists purposes whose unconsumed tokens
	// of the user are deleted (a changed email or status revokes what was
	// mailed before it). Applied before Token is inserted.
	RevokeTokens []Purpose
	// Token, when not nil, is inserted after every unconsumed token of the
	// same user and purpose is deleted (re-issuing revokes).
	Token *Token
	// Mail, when not nil, is inserted into the outbox.
	Mail *Mail
	// Events are inserted into the activity log, each with a pending
	// delivery per name in its Handlers (see Events).
	Events []*Event
	// EndSessions, when true, deletes every session of the user (a
	// password, email or status change logs the user out everywhere).
	EndSessions bool
}

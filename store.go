package users

import (
	"context"
	"time"
)

// Store is where a Manager keeps users, roles, policies, tokens, settings and
// the mail outbox. This file is the whole contract a back-end author needs;
// store/storetest checks it (storetest.Run), and every back-end in this
// module passes it.
//
// Rules every implementation follows:
//
//   - Every method takes ctx first and gives up with ctx.Err() (possibly
//     wrapped) once it is done, leaving nothing half-written.
//   - Each method is atomic: it applies all of its change or none of it,
//     and concurrent callers — in one process or in several processes
//     sharing the back-end — see it whole or not at all.
//   - A Store holds no business rules. The Manager computes every value
//     (the normalised email key, the token hash, expiry times, the next
//     attempt of a mail) and passes "now" wherever time matters; the Store
//     checks only the plain preconditions it is handed.
//   - Getters return an error matching ErrNotFound when nothing matches.
//   - Records returned are copies: the caller may modify them.
//   - Timestamps are stored with at least millisecond precision and come
//     back in UTC.
type Store interface {
	// CreateUser inserts u (whose ID, EmailKey, CreatedAt and UpdatedAt the
	// Manager has set) and applies fx in the same transaction. It returns
	// ErrDuplicateEmail when u.EmailKey is not empty and another user has
	// the same EmailKey, ErrRoleNotFound when u.Role names no role, and
	// ErrPolicyNotFound when one of u.Policies names no policy; in every
	// such case nothing is written.
	CreateUser(ctx context.Context, u *UserRecord, fx Effects) error

	// GetUser returns the user with the given id, or ErrNotFound.
	GetUser(ctx context.Context, id string) (*UserRecord, error)

	// GetUserByEmailKey returns the user whose EmailKey equals key, or
	// ErrNotFound.
	GetUserByEmailKey(ctx context.Context, key string) (*UserRecord, error)

	// ListUsers returns the users matching q, ordered by CreatedAt then ID.
	ListUsers(ctx context.Context, q UserQuery) ([]*UserRecord, error)

	// UpdateUser applies ch to the user with the given id, and fx, in one
	// transaction, provided the user satisfies cond; it returns the user as
	// it is afterwards. ErrNotFound when there is no such user, ErrConflict
	// when cond does not hold (nothing is written), ErrDuplicateEmail,
	// ErrRoleNotFound, ErrPolicyNotFound as CreateUser.
	UpdateUser(ctx context.Context, id string, cond Condition, ch UserChange, fx Effects) (*UserRecord, error)

	// UpdateUsers applies ch to every user in ids, all or none: ErrNotFound
	// when one of the ids names no user, ErrRoleNotFound/ErrPolicyNotFound
	// as CreateUser. ch must not change Email.
	UpdateUsers(ctx context.Context, ids []string, ch UserChange) error

	// ConsumeToken atomically, in one transaction: finds the token whose
	// Hash equals hash and whose Purpose equals purpose (else
	// ErrInvalidToken: an unknown token and one of another purpose look
	// the same); checks it was not consumed (else ErrTokenUsed) and that
	// now is before its ExpiresAt (else ErrTokenExpired); checks its user
	// satisfies cond (else ErrConflict); then marks the token consumed at
	// now, applies ch to the user and applies fx. It returns the user as it
	// is afterwards. On any error nothing is written. Under concurrent
	// calls with the same hash, in one process or many, exactly one
	// succeeds.
	ConsumeToken(ctx context.Context, hash []byte, purpose TokenPurpose, now time.Time, cond Condition, ch UserChange, fx Effects) (*UserRecord, error)

	// GetToken returns the token whose Hash equals hash, consumed or not,
	// or ErrNotFound. The Manager uses it to reject a bad token cheaply and
	// to read the token's user before it builds the change that
	// ConsumeToken applies atomically; it decides nothing on it alone.
	GetToken(ctx context.Context, hash []byte) (*TokenRecord, error)

	// CreateRole inserts a role. ErrDuplicate… is not defined for roles: a
	// role whose ID exists already is an error of the Store's choosing.
	CreateRole(ctx context.Context, r *Role) error
	// GetRole returns the role with the given id, or ErrNotFound.
	GetRole(ctx context.Context, id string) (*Role, error)
	// ListRoles returns every role, ordered by Name then ID.
	ListRoles(ctx context.Context) ([]*Role, error)

	// CreatePolicy inserts a policy.
	CreatePolicy(ctx context.Context, p *Policy) error
	// GetPolicy returns the policy with the given id, or ErrNotFound.
	GetPolicy(ctx context.Context, id string) (*Policy, error)
	// ListPolicies returns every policy, ordered by Name then ID.
	ListPolicies(ctx context.Context) ([]*Policy, error)

	// Settings returns the settings document last saved with
	// SaveSettings, or (nil, nil) when none was ever saved. The document is
	// opaque to the Store.
	Settings(ctx context.Context) ([]byte, error)
	// SaveSettings replaces the settings document.
	SaveSettings(ctx context.Context, doc []byte) error

	// ClaimMail leases up to limit mails whose Status is MailPending and
	// whose NextAttemptAt is at or before now, and whose lease (if any)
	// ended at or before now, oldest CreatedAt first (then ID). Each
	// claimed mail's LeaseUntil is set to leaseUntil before it is
	// returned, so two callers — in one process or several — never claim
	// the same mail while its lease runs. A mail whose worker died is
	// claimable again once its lease has ended.
	ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*Mail, error)

	// UpdateMail records the outcome of a delivery attempt: it sets the
	// mail's Status, Attempts, LastError, NextAttemptAt and SentAt from u,
	// clears its lease, and — when u.ClearBody is true — empties its Text
	// and HTML (a sent mail's link holds a live token). ErrNotFound when
	// there is no such mail.
	UpdateMail(ctx context.Context, id string, u MailUpdate) error

	// ListMail returns the mails matching q, oldest CreatedAt first (then
	// ID).
	ListMail(ctx context.Context, q MailQuery) ([]*Mail, error)
}

// UserRecord is a user as the Store keeps it: the public User plus the
// fields that never leave the library.
type UserRecord struct {
	User

	// EmailKey is the normalised email (see NormalizeEmail), unique among
	// users when not empty. Empty when the user has no email.
	EmailKey string

	// PasswordHash is the encoded password hash (PHC string), empty when
	// the user has no password.
	PasswordHash string

	// Contested is set when someone registered this still-unverified
	// address again with a different password (SPEC §2 step 6).
	Contested bool
}

// Condition is the precondition of an update. Zero value: always holds.
type Condition struct {
	// Status, when not empty, is the status the user must have.
	Status Status
	// Contested, when not nil, is the value the user's Contested flag must
	// have.
	Contested *bool
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
}

// Effects are the rows written in the same transaction as a user change.
type Effects struct {
	// Token, when not nil, is inserted after every unconsumed token of the
	// same user and purpose is deleted (re-issuing revokes).
	Token *TokenRecord
	// Mail, when not nil, is inserted into the outbox.
	Mail *Mail
}

// UserQuery selects users for ListUsers. Zero value: every user.
type UserQuery struct {
	// Role, when not nil, selects the users in that role. NoRole selects
	// the users without a role; it wins over Role.
	Role   *string
	NoRole bool
	// IDs, when not empty, selects those users.
	IDs []string
	// Limit caps the result (0: no cap); Offset skips that many.
	Limit, Offset int
}

// TokenPurpose says what a token may be used for.
type TokenPurpose string

// Token purposes.
const (
	PurposeVerifyEmail   TokenPurpose = "verify-email"
	PurposeInvite        TokenPurpose = "invite"
	PurposePasswordReset TokenPurpose = "password-reset"
)

// TokenRecord is a token as the Store keeps it: never the token itself,
// only its SHA-256.
type TokenRecord struct {
	Hash       []byte // SHA-256 of the token, 32 bytes
	Purpose    TokenPurpose
	UserID     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ConsumedAt *time.Time
}

// MailStatus is the delivery state of an outbox mail.
type MailStatus string

// Mail states.
const (
	MailPending MailStatus = "pending" // waiting for its first or next attempt
	MailSent    MailStatus = "sent"    // delivered to the Mailer
	MailFailed  MailStatus = "failed"  // gave up after the last attempt
)

// MailKind names the reason a mail was sent.
type MailKind string

// Mail kinds.
const (
	MailVerifyEmail MailKind = "verify-email"
	MailInvite      MailKind = "invite"
	// MailSetPassword is sent when a contested registration is verified:
	// the address's owner chooses the password (SPEC §2 step 6).
	MailSetPassword MailKind = "set-password"
)

// Mail is one outbox entry.
type Mail struct {
	ID            string
	Kind          MailKind
	UserID        string
	To            string
	Subject       string
	Text          string
	HTML          string
	Status        MailStatus
	Attempts      int
	LastError     string
	CreatedAt     time.Time
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	SentAt        *time.Time
}

// MailUpdate is the outcome of a delivery attempt; see Store.UpdateMail.
type MailUpdate struct {
	Status        MailStatus
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
	SentAt        *time.Time
	ClearBody     bool
}

// MailQuery selects mails for ListMail. Zero value: every mail.
type MailQuery struct {
	Status MailStatus // "" for every status
	To     string     // "" for every recipient; compared exactly
	Limit  int        // 0: no cap
}

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

	// ListUsers returns the users matching q (see UserQuery for the
	// meaning of each field), in q.Sort's order, then ID ascending; with no
	// q.Sort, ordered by CreatedAt then ID. q.Offset users are skipped and
	// at most q.Limit returned (0: all). Selection, order and paging are
	// done by the back-end's own query (an index where one serves), never by
	// loading every user.
	ListUsers(ctx context.Context, q UserQuery) ([]*UserRecord, error)

	// CountUsers returns how many users match q, ignoring its Sort, Limit
	// and Offset.
	CountUsers(ctx context.Context, q UserQuery) (int, error)

	// UpdateUser applies ch to the user with the given id, and fx, in one
	// transaction, provided the user satisfies cond; it returns the user as
	// it is afterwards. ErrNotFound when there is no such user, ErrConflict
	// when cond does not hold (nothing is written), ErrDuplicateEmail,
	// ErrRoleNotFound, ErrPolicyNotFound as CreateUser.
	UpdateUser(ctx context.Context, id string, cond Condition, ch UserChange, fx Effects) (*UserRecord, error)

	// UpdateUsers applies ch to every user in ids, all or none: ErrNotFound
	// when one of the ids names no user, ErrConflict when one of them does
	// not satisfy cond (cond.KeepAdmin judges the whole set: see
	// Condition), ErrRoleNotFound/ErrPolicyNotFound as CreateUser. ch must
	// not change Email. ch.RevokeTokens and ch.EndSessions are applied to
	// every user in ids, in the same transaction, as the Effects fields of
	// the same names.
	UpdateUsers(ctx context.Context, ids []string, cond Condition, ch UserChange) error

	// DeleteUsers deletes every user in ids, all or none, in one
	// transaction, with everything that belongs to them: their tokens,
	// their sessions, their policy links and their mail still pending in
	// the outbox (sent and failed mail stays, as the outbox's record).
	// ErrNotFound when one of the ids names no user, ErrConflict when one
	// of them does not satisfy cond, ErrLastAdmin as Condition.KeepAdmin
	// says; in each case nothing is deleted. Duplicate ids count once.
	DeleteUsers(ctx context.Context, ids []string, cond Condition) error

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

	// CreateRole inserts a role. ErrDuplicateID when a role with the same
	// ID exists (nothing is written).
	CreateRole(ctx context.Context, r *Role) error
	// GetRole returns the role with the given id, or ErrNotFound.
	GetRole(ctx context.Context, id string) (*Role, error)
	// ListRoles returns every role, ordered by Name then ID.
	ListRoles(ctx context.Context) ([]*Role, error)

	// CreatePolicy inserts a policy. ErrDuplicateID when a policy with the
	// same ID exists (nothing is written).
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

	// MailStats counts the outbox by state, with one query or a few cheap
	// ones (it serves health checks, which call it often): the number of
	// pending and of failed mails, and the CreatedAt of the oldest pending
	// one. An error here means the back-end is unreachable.
	MailStats(ctx context.Context) (MailStats, error)

	// CreateSession inserts s, a new login session whose current refresh
	// token's SHA-256 is s.TokenHash, provided the user s.UserID satisfies
	// cond (else ErrConflict; ErrNotFound when there is no such user).
	CreateSession(ctx context.Context, s *SessionRecord, cond Condition) error

	// GetSession returns the session with the given id, or ErrNotFound.
	// An expired session is returned as it is (the Manager compares its
	// ExpiresAt); a deleted one is not found.
	GetSession(ctx context.Context, id string) (*SessionRecord, error)

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
	RotateSession(ctx context.Context, oldHash, newHash []byte, now, expiresAt time.Time, cond Condition) (*SessionRecord, *UserRecord, error)

	// DeleteSession deletes the session with the given id and its earlier
	// hashes (log out); ErrNotFound when there is none.
	DeleteSession(ctx context.Context, id string) error

	// DeleteSessionByToken deletes the session whose current or an earlier
	// refresh-token hash equals hash (log out with a refresh token; an
	// earlier token ends its session too); ErrNotFound when there is none.
	DeleteSessionByToken(ctx context.Context, hash []byte) error

	// PurgeExpired deletes the sessions and the tokens (consumed or not)
	// whose ExpiresAt is at or before before, and returns how many sessions
	// and tokens it deleted (a session's earlier hashes go with it and are
	// not counted). The Manager calls it from its worker with a margin, so that
	// an expired token is still told apart from an unknown one for a while.
	PurgeExpired(ctx context.Context, before time.Time) (int, error)
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
	// address again with a different password: once verified, the account
	// gets no password and its owner chooses one from a set-password mail.
	Contested bool
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
	// change or deletion after which no active user with admin access
	// would remain, when at least one existed before it. A user has admin
	// access when its role, or one of its policies, has AdminAccess; an
	// active user is one whose Status is StatusActive. The Store judges it
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
	RevokeTokens []TokenPurpose
	EndSessions  bool
}

// Effects are the rows written (or deleted) in the same transaction as a
// user change. They concern the user the operation changes (for
// ConsumeToken, the token's user).
type Effects struct {
	// RevokeTokens, when not empty, lists purposes whose unconsumed tokens
	// of the user are deleted (a changed email or status revokes what was
	// mailed before it). Applied before Token is inserted.
	RevokeTokens []TokenPurpose
	// Token, when not nil, is inserted after every unconsumed token of the
	// same user and purpose is deleted (re-issuing revokes).
	Token *TokenRecord
	// Mail, when not nil, is inserted into the outbox.
	Mail *Mail
	// EndSessions, when true, deletes every session of the user (a
	// password, email or status change logs the user out everywhere).
	EndSessions bool
}

// UserQuery selects users for ListUsers and CountUsers. Zero value: every
// user. Every field given must hold (they combine with AND).
type UserQuery struct {
	// Role, when not nil, selects the users in that role. NoRole selects
	// the users without a role; it wins over Role.
	Role   *string
	NoRole bool
	// IDs, when not empty, selects those users.
	IDs []string
	// Filter, when not nil, must hold (see UserFilter).
	Filter *UserFilter
	// Search, when not empty, selects the users whose Email, FirstName or
	// LastName contains it, compared case-insensitively (both sides
	// lower-cased as strings.ToLower does, non-ASCII letters included).
	Search string
	// Sort orders the result; ID ascending always breaks ties. Empty:
	// CreatedAt then ID.
	Sort []UserSort
	// Limit caps the result (0: no cap); Offset skips that many.
	Limit, Offset int
}

// UserField names a user field a query can filter or sort on.
type UserField string

// Fields of a UserQuery. Filters take the string fields (every one but
// the two timestamps); sorts take them all.
const (
	FieldID        UserField = "id"
	FieldEmail     UserField = "email"
	FieldFirstName UserField = "first_name"
	FieldLastName  UserField = "last_name"
	FieldStatus    UserField = "status"
	FieldRole      UserField = "role"
	FieldCreatedAt UserField = "created_at"
	FieldUpdatedAt UserField = "updated_at"
)

// UserSort is one sort key of a UserQuery. Strings sort by their bytes
// (code-point order, whatever the database's collation); a null role sorts
// before every role (so, last when Desc).
type UserSort struct {
	Field UserField
	Desc  bool
}

// FilterOp is an operator of a UserFilter condition, named as in
// Directus's filter rules.
type FilterOp string

// Filter operators. The string operators compare case-sensitively, byte
// for byte, except the _i ones, which lower-case both sides as
// strings.ToLower does. _null/_empty hold for a field without a value (a
// null role, an empty email), _nnull/_nempty for one with a value.
const (
	OpEq           FilterOp = "_eq"
	OpNeq          FilterOp = "_neq"
	OpContains     FilterOp = "_contains"
	OpNContains    FilterOp = "_ncontains"
	OpIContains    FilterOp = "_icontains"
	OpNIContains   FilterOp = "_nicontains"
	OpStartsWith   FilterOp = "_starts_with"
	OpNStartsWith  FilterOp = "_nstarts_with"
	OpIStartsWith  FilterOp = "_istarts_with"
	OpNIStartsWith FilterOp = "_nistarts_with"
	OpEndsWith     FilterOp = "_ends_with"
	OpNEndsWith    FilterOp = "_nends_with"
	OpIEndsWith    FilterOp = "_iends_with"
	OpNIEndsWith   FilterOp = "_niends_with"
	OpIn           FilterOp = "_in"
	OpNin          FilterOp = "_nin"
	OpNull         FilterOp = "_null"
	OpNNull        FilterOp = "_nnull"
	OpEmpty        FilterOp = "_empty"
	OpNEmpty       FilterOp = "_nempty"
)

// UserFilter is a parsed filter over user fields, as a Store evaluates it.
// A node is either a group — And (every child holds; empty: true) or Or
// (one child holds; empty: false) — or a condition: Field, Op and, for the
// comparing operators, Value (or Values for _in and _nin; _in with no
// values holds for nobody, _nin with none for everybody). Exactly one of
// And, Or and Field is set.
//
// A field without a value (a null role, an empty email or name) is null
// and empty; such a field fails every positive comparison (_eq, _contains,
// _starts_with, _in…) and passes every negative one (_neq, _ncontains,
// _nin…). The Manager builds filters from Directus's JSON
// (ParseUserFilter); a Store only evaluates them, with its own query.
type UserFilter struct {
	And    []*UserFilter
	Or     []*UserFilter
	Field  UserField
	Op     FilterOp
	Value  string
	Values []string
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
	EmailKey   string // the normalised address it was mailed to ("" if none)
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
	// the address's owner chooses the password.
	MailSetPassword MailKind = "set-password"
	// MailPasswordReset carries a password-reset link.
	MailPasswordReset MailKind = "password-reset"
)

// Mail is one outbox entry.
type Mail struct {
	ID            string
	MessageID     string // the Message-ID header, kept across retries
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

// MailStats is what Store.MailStats counts.
type MailStats struct {
	Pending int
	Failed  int
	// OldestPending is the CreatedAt of the oldest pending mail; nil when
	// none is pending.
	OldestPending *time.Time
}

// SessionRecord is a login session as the Store keeps it: never the refresh
// token itself, only its SHA-256.
type SessionRecord struct {
	ID          string // random, unguessable; access tokens name it
	UserID      string
	TokenHash   []byte // SHA-256 of the current refresh token, 32 bytes
	CreatedAt   time.Time
	RefreshedAt time.Time // the last rotation; CreatedAt before the first
	ExpiresAt   time.Time // when the current refresh token stops working
	IP          string    // the client's address at login ("" if unknown)
	UserAgent   string    // at most 512 bytes
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

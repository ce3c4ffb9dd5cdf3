package users

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gousers/users/internal/echo"
	"github.com/gousers/users/store"
)

// sentinel is an error value with an optional parent, so that a specific
// sentinel (ErrTokenExpired) also matches its family (ErrInvalidToken) with
// errors.Is.
type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.parent }

func newSentinel(msg string, parent error) error { return &sentinel{msg: msg, parent: parent} }

// Sentinel errors. Match them with errors.Is; the errors the Manager returns
// wrap them with the operation that failed. None of them ever carries a
// password, a token or a hash.
var (
	// ErrInvalidPayload is the family of every input error: a field that is
	// missing, malformed or not allowed. Returned (inside a *ValidationError)
	// by every Manager method that takes input. HTTP: 400 INVALID_PAYLOAD.
	ErrInvalidPayload = newSentinel("users: invalid payload", nil)

	// ErrInvalidQuery is returned (inside a *ValidationError naming the
	// query part at fault: "filter", "sort", "search", "limit", "offset")
	// by ParseFilter, ListUsers and CountUsers for a query they cannot
	// run: an unknown field or operator, a value of the wrong type, a filter
	// over the size limits. It also matches ErrInvalidPayload. HTTP: 400
	// INVALID_QUERY.
	ErrInvalidQuery = newSentinel("users: invalid query", ErrInvalidPayload)

	// ErrFailedValidation is returned (inside a *ValidationError) by CreateUser
	// and UpdateUser when a field value breaks a rule of the data model
	// (malformed email, password policy). HTTP: 400 FAILED_VALIDATION.
	ErrFailedValidation = newSentinel("users: failed validation", nil)

	// ErrPasswordPolicy is returned (inside a *ValidationError for the field
	// "password") when a new password does not match the password policy.
	// The error names the policy, never the password.
	ErrPasswordPolicy = newSentinel("users: password doesn't match the password policy", ErrInvalidPayload)

	// ErrForbidden is the family of refusals. HTTP: 403 FORBIDDEN.
	ErrForbidden = newSentinel("users: forbidden", nil)

	// ErrRegistrationDisabled is returned by Register when public
	// registration is off in the settings.
	ErrRegistrationDisabled = newSentinel("users: public registration is disabled", ErrForbidden)

	// ErrEmailNotAllowed is returned by Register when the settings' email
	// filter rejects the address.
	ErrEmailNotAllowed = newSentinel("users: email address is not allowed to register", ErrForbidden)

	// ErrURLNotAllowed is returned (wrapped in a *ValidationError naming the
	// URL field) by Register and Invite when a verification or invite URL is
	// not on its allow-list, and by New for an allow-list entry that is not
	// a valid URL.
	ErrURLNotAllowed = newSentinel("users: URL is not allowed", ErrInvalidPayload)

	// ErrInvalidToken is returned by VerifyEmail and AcceptInvite for a token
	// that is malformed, unknown, revoked, of another purpose, or whose user
	// is no longer in the state the token was issued for. HTTP: 403
	// INVALID_TOKEN.
	ErrInvalidToken = newSentinel("users: invalid token", nil)

	// ErrTokenExpired is returned for a token past its expiry. It also
	// matches ErrInvalidToken.
	ErrTokenExpired = newSentinel("users: token expired", ErrInvalidToken)

	// ErrTokenUsed is returned for a token that was already consumed. It also
	// matches ErrInvalidToken.
	ErrTokenUsed = newSentinel("users: token already used", ErrInvalidToken)

	// ErrDuplicateEmail is returned by CreateUser and UpdateUser when another
	// user has the same email, compared case-insensitively. HTTP: 400
	// RECORD_NOT_UNIQUE.
	ErrDuplicateEmail = newSentinel("users: a user with this email already exists", nil)

	// ErrDuplicateID is returned by CreateRole and CreatePolicy when a
	// record with the same id exists. HTTP: 400 RECORD_NOT_UNIQUE.
	ErrDuplicateID = newSentinel("users: a record with this id already exists", nil)

	// ErrLastAdmin is returned when a deletion or a change would leave no
	// active user with admin access. HTTP: 400 INVALID_PAYLOAD, as Directus
	// answers.
	ErrLastAdmin = newSentinel("users: the last active user with admin access can't be removed", ErrInvalidPayload)

	// ErrTokenReused is returned by Refresh for a refresh token that was
	// already rotated, or a session-cookie access token that was already
	// renewed (more than 10 seconds before): its session has been ended.
	// It also matches ErrInvalidToken.
	ErrTokenReused = newSentinel("users: refresh token already used; the session was ended", ErrInvalidToken)

	// ErrRoleNotFound is returned when a role id names no role.
	ErrRoleNotFound = newSentinel("users: role not found", ErrInvalidPayload)

	// ErrPolicyNotFound is returned when a policy id names no policy.
	ErrPolicyNotFound = newSentinel("users: policy not found", ErrInvalidPayload)

	// ErrAdminRole is returned by UpdateSettings when the registration role
	// has admin access.
	ErrAdminRole = newSentinel("users: the public registration role must not have admin access", ErrInvalidPayload)

	// ErrUserNotFound is returned when a user id names no user. HTTP: 403
	// FORBIDDEN, as Directus answers for items the caller cannot see.
	ErrUserNotFound = newSentinel("users: user not found", ErrForbidden)

	// ErrInvalidCredentials is the one error Authenticate returns for every
	// failure: unknown email, wrong password, user not active, no password.
	// HTTP: 401 INVALID_CREDENTIALS.
	ErrInvalidCredentials = newSentinel("users: invalid user credentials", nil)

	// ErrInvalidOTP is returned by Login for a user with a second factor
	// when the password is right but the code (LoginInput.OTP) is missing,
	// wrong, or already used, and by Authenticate, which takes no code, for
	// such a user. HTTP: 401 INVALID_OTP.
	ErrInvalidOTP = newSentinel("users: invalid user OTP", nil)

	// ErrTwoFactorRequired refuses a request of a user who must set up a
	// second factor first (Principal.TwoFactorSetupRequired). It also
	// matches ErrForbidden. HTTP: 403 FORBIDDEN.
	ErrTwoFactorRequired = newSentinel("users: two-factor sign-in must be set up first", ErrForbidden)

	// ErrBusy is returned (inside a *BusyError, which estimates when to
	// retry) by every method that checks or hashes a password (Register,
	// Authenticate, AcceptInvite, CreateUser, UpdateUser) when the hashing
	// queue cannot take the call (Limits.HashConcurrency,
	// Limits.HashWaitBudget); nothing was written, and the answer does not
	// depend on whether the address exists. Retry later. HTTP: 503 with
	// Retry-After.
	ErrBusy = newSentinel("users: too many requests in progress, try again later", nil)

	// ErrRateLimited is returned (inside a *RateLimitError, which says when
	// to retry) by Authenticate when an address has had too many failed
	// logins (Limits.Login), and reported in an InviteResult when an
	// address is over the administrators' mail limit
	// (Limits.AdminMail); a Limiter's denial matches it. HTTP: 429
	// REQUESTS_EXCEEDED with Retry-After.
	ErrRateLimited = newSentinel("users: too many requests", nil)

	// ErrPermanent, wrapped by a Mailer's error, marks a delivery failure
	// that a retry cannot fix: the mail is marked failed at once.
	ErrPermanent = newSentinel("users: permanent delivery failure", nil)
)

// ValidationError reports one invalid input field. It unwraps to its
// sentinel (ErrInvalidPayload, ErrFailedValidation, ErrURLNotAllowed…), so
// errors.Is works on it, and errors.As gives the field.
type ValidationError struct {
	// Field is the input field at fault, in the wire spelling
	// ("email", "password", "verification_url", "role").
	Field string
	// Reason is a human-readable reason. It never contains the field's
	// value when the field is a secret.
	Reason string
	// Err is the sentinel this error belongs to; nil means
	// ErrInvalidPayload.
	Err error

	// whole means Reason is the complete message and the field name is not
	// prefixed to it.
	whole bool
}

func (e *ValidationError) Error() string { return "users: " + e.Message() }

// Unwrap returns the sentinel the error belongs to.
func (e *ValidationError) Unwrap() error {
	if e.Err == nil {
		return ErrInvalidPayload
	}
	return e.Err
}

// Message is the error text without the "users: " prefix, as an HTTP API
// shows it (`"role" is not allowed`).
func (e *ValidationError) Message() string {
	if e.Field == "" || e.whole {
		return e.Reason
	}
	return fmt.Sprintf("%q %s", echo.Cut(e.Field), e.Reason)
}

func invalid(field, reason string) error {
	return &ValidationError{Field: field, Reason: reason}
}

func failed(field, reason string) error {
	return &ValidationError{Field: field, Reason: reason, Err: ErrFailedValidation}
}

// urlNotAllowed builds the Directus-worded error for a rejected redirect URL.
func urlNotAllowed(field, rawURL, what string) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf("URL %q can't be used to %s", echo.Cut(rawURL), what), Err: ErrURLNotAllowed, whole: true}
}

// BusyError is the hashing queue's refusal (see Limits.HashConcurrency and
// Limits.HashWaitBudget). It unwraps to ErrBusy. RetryAfter estimates when a
// call would be admitted: the time the calls already queued need.
type BusyError struct {
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("users: too many requests in progress, retry after %v", e.RetryAfter.Round(time.Millisecond))
}

// Unwrap returns ErrBusy.
func (e *BusyError) Unwrap() error { return ErrBusy }

// opError is the error of a Manager operation: "users: <op>: <cause>",
// with one "users: " prefix, however many wrapped errors below it carry
// their own.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	msg := strings.TrimPrefix(e.err.Error(), "users: ")
	msg = strings.ReplaceAll(msg, ": users: ", ": ")
	return "users: " + e.op + ": " + msg
}

func (e *opError) Unwrap() error { return e.err }

// opErr wraps err (nil stays nil) with the operation that failed.
func opErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, err: err}
}

// isNotFound reports whether err is a store's not-found answer.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

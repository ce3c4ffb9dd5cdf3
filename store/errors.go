package store

import (
	"errors"
	"fmt"
)

// Errors a Store returns, matched with errors.Is; a Store may wrap them
// with its own context. Each is distinct: none matches another. The
// Manager turns each into the users package's error of the same meaning.
var (
	// ErrNotFound is returned by the getters (GetUser, GetUserByEmailKey,
	// GetToken, GetRole, GetPolicy, GetSession) when nothing matches, and
	// by UpdateUser, UpdateUsers, DeleteUsers, CreateSession, UpdateMail,
	// RenewSession, DeleteSession and DeleteSessionByToken when what they change does
	// not exist.
	ErrNotFound = errors.New("store: not found")

	// ErrConflict is returned by UpdateUser, UpdateUsers, DeleteUsers,
	// ConsumeToken, CreateSession, RotateSession and RenewSession when the Condition
	// they were handed does not hold (the user's status changed in
	// between); nothing is written.
	ErrConflict = errors.New("store: precondition failed")

	// ErrDuplicateEmail is returned by CreateUser and UpdateUser when
	// another user has the same EmailKey.
	ErrDuplicateEmail = errors.New("store: a user with this email already exists")

	// ErrDuplicateID is returned by CreateRole and CreatePolicy when a
	// record with the same ID exists.
	ErrDuplicateID = errors.New("store: a record with this id already exists")

	// ErrRoleNotFound is returned by CreateUser, UpdateUser and
	// UpdateUsers when the user's role names no role.
	ErrRoleNotFound = errors.New("store: role not found")

	// ErrPolicyNotFound is returned by CreateUser, UpdateUser and
	// UpdateUsers when one of the user's policies names no policy.
	ErrPolicyNotFound = errors.New("store: policy not found")

	// ErrInvalidToken is returned by ConsumeToken for a token hash that is
	// unknown or of another purpose, and by RotateSession for a
	// refresh-token hash no session has.
	ErrInvalidToken = errors.New("store: invalid token")

	// ErrTokenUsed is returned by ConsumeToken for a token already
	// consumed.
	ErrTokenUsed = errors.New("store: token already used")

	// ErrTokenExpired is returned by ConsumeToken, RotateSession and
	// RenewSession when now is not before the token's or the session's
	// ExpiresAt.
	ErrTokenExpired = errors.New("store: token expired")

	// ErrTokenReused is returned by RotateSession for a refresh-token hash
	// that was already rotated, and by RenewSession for a generation
	// already retired; the session has been deleted.
	ErrTokenReused = errors.New("store: refresh token already used; the session was ended")

	// ErrLastAdmin is returned by the methods that take a Condition with
	// KeepAdmin set (UpdateUser, UpdateUsers, DeleteUsers, ConsumeToken)
	// when the change would leave no active user with admin access.
	ErrLastAdmin = errors.New("store: the last active user with admin access can't be removed")

	// ErrUnsupported is matched by the *UnsupportedError that ListUsers
	// and CountUsers return for a filter with an operator the store does
	// not run (OpRegex, or an operator it does not know); nothing is read.
	ErrUnsupported = errors.New("store: filter operator not supported")
)

// UnsupportedError is the error of ListUsers and CountUsers for a filter
// with an operator the store does not run. It matches [ErrUnsupported]; Op
// names the operator, so the Manager can say which one.
type UnsupportedError struct {
	Op Op
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("store: filter operator %q is not supported", string(e.Op))
}

// Is reports whether target is ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

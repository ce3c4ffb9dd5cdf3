package store

import (
	"context"
	"time"
)

// Tokens consumes the single-use tokens the Manager mails (verification,
// invitation, password reset). Tokens are inserted and revoked through
// [Effects].
type Tokens interface {
	// ConsumeToken atomically, in one transaction: finds the token whose
	// Hash equals hash and whose Purpose equals purpose (else
	// ErrInvalidToken: an unknown token and one of another purpose look
	// the same); checks it was not consumed (else ErrTokenUsed) and that
	// now is before its ExpiresAt (else ErrTokenExpired); checks its user
	// satisfies cond (else ErrConflict, or ErrLastAdmin as
	// Condition.KeepAdmin says); then marks the token consumed at now,
	// applies ch to the user and applies fx. It returns the user as it is
	// afterwards. On any error nothing is written. Under concurrent calls
	// with the same hash, in one process or many, exactly one succeeds.
	ConsumeToken(ctx context.Context, hash []byte, purpose Purpose, now time.Time, cond Condition, ch UserChange, fx Effects) (*User, error)

	// GetToken returns the token whose Hash equals hash, consumed or not,
	// or ErrNotFound. The Manager uses it to reject a bad token cheaply and
	// to read the token's user before it builds the change that
	// ConsumeToken applies atomically; it decides nothing on it alone.
	GetToken(ctx context.Context, hash []byte) (*Token, error)

	// GetTokenUser returns the token whose Hash equals hash, consumed or
	// not, with its user as GetUser returns it, read together (one
	// statement where the back-end can: the Manager reads both before every
	// ConsumeToken). ErrNotFound when there is no such token, or no such
	// user.
	GetTokenUser(ctx context.Context, hash []byte) (*Token, *User, error)
}

// Purpose says what a token may be used for.
type Purpose string

// Token purposes.
const (
	PurposeVerifyEmail   Purpose = "verify-email"
	PurposeInvite        Purpose = "invite"
	PurposePasswordReset Purpose = "password-reset"
	// PurposeEmailChange is mailed to the new address of an email change:
	// it applies the change. PurposeEmailChangeCancel is mailed to the old
	// address: it withdraws the change while it is pending.
	PurposeEmailChange       Purpose = "email-change"
	PurposeEmailChangeCancel Purpose = "email-change-cancel"
	// PurposeTwoFactorSetup marks a TOTP secret generated for a user and
	// not yet enabled (its Hash is the SHA-256 of the secret; nothing is
	// mailed).
	PurposeTwoFactorSetup Purpose = "tfa-setup"
)

// Token is a token as the Store keeps it: never the token itself, only its
// SHA-256.
type Token struct {
	Hash     []byte // SHA-256 of the token, 32 bytes
	Purpose  Purpose
	UserID   string
	EmailKey string // the normalised address it was mailed to ("" if none)
	// NewEmail is the address an email-change token moves its user to, as
	// typed ("" for the other purposes).
	NewEmail   string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ConsumedAt *time.Time
}

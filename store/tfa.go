package store

import (
	"context"
	"time"
)

// TwoFactor keeps the users' second factor: a TOTP secret the Manager
// sealed (encrypted; opaque to the Store), the last TOTP time step it
// accepted, and the hashes of the user's unused recovery codes. Deleting a
// user deletes its second factor and recovery codes with it.
type TwoFactor interface {
	// CreateTwoFactor gives the user the second factor tf and the recovery
	// codes whose hashes are codes, in one transaction. ErrNotFound when
	// there is no such user, ErrConflict when the user already has a second
	// factor; in either case nothing is written. Afterwards the user's
	// User.TwoFactor is true.
	CreateTwoFactor(ctx context.Context, userID string, tf TwoFactorRecord, codes [][]byte) error

	// GetTwoFactor returns the user's second factor, RecoveryCodes set to
	// how many recovery codes it has left, or ErrNotFound when the user has
	// none (or does not exist).
	GetTwoFactor(ctx context.Context, userID string) (*TwoFactorRecord, error)

	// DeleteTwoFactor removes the user's second factor and its recovery
	// codes, in one transaction. ErrNotFound when it has none.
	DeleteTwoFactor(ctx context.Context, userID string) error

	// ClaimTOTPStep sets the user's LastStep to step provided step is
	// greater than the LastStep stored: ErrConflict otherwise (that step,
	// or a later one, was already accepted), ErrNotFound when the user has
	// no second factor. Under concurrent calls with the same step, in one
	// process or many, exactly one succeeds.
	ClaimTOTPStep(ctx context.Context, userID string, step int64) error

	// ConsumeRecoveryCode deletes the user's recovery code whose hash
	// equals hash; ErrNotFound when it has no such code. Under concurrent
	// calls with the same hash exactly one succeeds.
	ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) error

	// ReplaceRecoveryCodes replaces every recovery code of the user with
	// codes (hashes), in one transaction; ErrNotFound when the user has no
	// second factor (nothing written).
	ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte) error
}

// TwoFactorRecord is a user's second factor as the Store keeps it.
type TwoFactorRecord struct {
	// Secret is the TOTP secret sealed by the Manager: the Store keeps the
	// bytes as given.
	Secret []byte
	// LastStep is the last TOTP time step accepted (see ClaimTOTPStep).
	LastStep int64
	// RecoveryCodes is how many recovery codes are left (GetTwoFactor
	// sets it; CreateTwoFactor ignores it).
	RecoveryCodes int
	CreatedAt     time.Time
}

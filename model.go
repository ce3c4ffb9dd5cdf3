package users

import (
	"time"

	"github.com/gousers/users/store"
)

// Status is a user's account status. It is owned by package store (see
// store.Status); the constants below are the same values.
type Status = store.Status

// User statuses. Only active users with a password can authenticate.
const (
	StatusActive     = store.StatusActive
	StatusInvited    = store.StatusInvited
	StatusUnverified = store.StatusUnverified
	StatusDraft      = store.StatusDraft
	StatusSuspended  = store.StatusSuspended
	StatusArchived   = store.StatusArchived
)

// User is a person (or entity) known to the application. It never holds the
// password or its hash; HasPassword says whether one is set.
type User struct {
	ID          string         `json:"id"`
	Email       string         `json:"email"` // "" when the user has none
	FirstName   string         `json:"first_name"`
	LastName    string         `json:"last_name"`
	Status      Status         `json:"status"`
	Role        *string        `json:"role"` // nil: no role, public permissions only
	Policies    []string       `json:"policies"`
	Metadata    map[string]any `json:"metadata,omitempty"` // host-app fields, stored as JSON
	HasPassword bool           `json:"-"`
	// Contested: a registration made more than once with different
	// passwords, not yet verified (see Manager.VerifyEmail).
	Contested bool `json:"-"`
	// TwoFactor reports whether the user has a second factor (see
	// EnableTwoFactor).
	TwoFactor bool      `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// LastAccess is the user's last sign-in or session refresh, as
	// Directus's last_access; nil: never.
	LastAccess *time.Time `json:"last_access"`
}

// Role groups users; AdminAccess grants everything. It is owned by package
// store (see store.Role).
type Role = store.Role

// Policy is a set of permissions that can be attached to users. It is owned
// by package store (see store.Policy).
type Policy = store.Policy

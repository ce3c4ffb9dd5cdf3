package users

import "time"

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
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// Role groups users; AdminAccess grants everything.
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	AdminAccess bool   `json:"admin_access"`
}

// Policy is a set of permissions that can be attached to users.
type Policy struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	AdminAccess bool   `json:"admin_access"`
}

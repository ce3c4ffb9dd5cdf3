package store

import "context"

// Catalog keeps the roles, the policies and the settings document.
type Catalog interface {
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
}

// Role groups users; AdminAccess grants everything. The root package
// re-exports it as users.Role.
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	AdminAccess bool   `json:"admin_access"`
	// EnforceTFA makes the role's users set up a second factor before
	// anything else (see users.Principal).
	EnforceTFA bool `json:"enforce_tfa"`
}

// Policy is a set of permissions that can be attached to users. The root
// package re-exports it as users.Policy.
type Policy struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	AdminAccess bool   `json:"admin_access"`
	// EnforceTFA makes the users of the policy set up a second factor
	// before anything else, as Directus's policy field of the same name.
	EnforceTFA bool `json:"enforce_tfa"`
}

package users

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gousers/users/internal/validate"
)

// CreateRole creates a role; an empty ID gets a new UUID. The name is
// required: at most 100 characters (Directus's limit) of visible text; an
// ID is 1 to 255 ASCII letters, digits, "-" and "_"; the description holds
// no NUL (each a *ValidationError). An ID already taken is
// ErrDuplicateID.
func (m *Manager) CreateRole(ctx context.Context, r Role) (*Role, error) {
	if err := checkRecord(&r.ID, r.Name, r.Description); err != nil {
		return nil, opErr("create role", err)
	}
	if err := m.store.CreateRole(ctx, &r); err != nil {
		return nil, opErr("create role", err)
	}
	return &r, nil
}

// checkRecord validates a new role's or policy's fields and gives an empty
// id a new UUID.
func checkRecord(id *string, name, description string) error {
	if strings.TrimSpace(name) == "" {
		return invalid("name", "is required")
	}
	if utf8.RuneCountInString(name) > maxRoleNameLen {
		return invalid("name", fmt.Sprintf("must be at most %d characters", maxRoleNameLen))
	}
	if reason := validate.Text(name); reason != "" {
		return invalid("name", reason)
	}
	if !utf8.ValidString(description) || strings.ContainsRune(description, 0) {
		return invalid("description", "must be valid UTF-8 without NUL characters")
	}
	if *id == "" {
		*id = uuid.NewString()
	}
	return newIDProblem("id", *id)
}

// Role returns a role (ErrRoleNotFound).
func (m *Manager) Role(ctx context.Context, id string) (*Role, error) {
	if !possibleID(id) {
		return nil, opErr("get role", ErrRoleNotFound)
	}
	r, err := m.store.GetRole(ctx, id)
	if err != nil {
		return nil, opErr("get role", notFoundAs(err, ErrRoleNotFound))
	}
	return r, nil
}

// ListRoles lists every role.
func (m *Manager) ListRoles(ctx context.Context) ([]*Role, error) {
	rs, err := m.store.ListRoles(ctx)
	if err != nil {
		return nil, opErr("list roles", err)
	}
	return rs, nil
}

// CreatePolicy creates a policy; an empty ID gets a new UUID. The rules
// of CreateRole apply.
func (m *Manager) CreatePolicy(ctx context.Context, p Policy) (*Policy, error) {
	if err := checkRecord(&p.ID, p.Name, ""); err != nil {
		return nil, opErr("create policy", err)
	}
	if err := m.store.CreatePolicy(ctx, &p); err != nil {
		return nil, opErr("create policy", err)
	}
	return &p, nil
}

// ListPolicies lists every policy.
func (m *Manager) ListPolicies(ctx context.Context) ([]*Policy, error) {
	ps, err := m.store.ListPolicies(ctx)
	if err != nil {
		return nil, opErr("list policies", err)
	}
	return ps, nil
}

// AssignRole gives the role to every listed user, all or none
// (ErrRoleNotFound, ErrUserNotFound).
func (m *Manager) AssignRole(ctx context.Context, roleID string, userIDs ...string) error {
	if strings.TrimSpace(roleID) == "" {
		return opErr("assign role", invalid("role", "is required"))
	}
	r := roleID
	if err := m.updateUsers(ctx, userIDs, UserPatch{SetRole: true, Role: &r}); err != nil {
		return opErr("assign role", err)
	}
	return nil
}

// RemoveRole removes the role of every listed user: they keep public
// permissions only (role NULL). Removing the last active administrator's
// admin role is refused with ErrLastAdmin (so is AssignRole giving them a
// role without admin access).
func (m *Manager) RemoveRole(ctx context.Context, userIDs ...string) error {
	if err := m.updateUsers(ctx, userIDs, UserPatch{SetRole: true}); err != nil {
		return opErr("remove role", err)
	}
	return nil
}

// UsersInRole lists the users in a role (ErrRoleNotFound for an unknown
// one).
func (m *Manager) UsersInRole(ctx context.Context, roleID string) ([]*User, error) {
	if _, err := m.Role(ctx, roleID); err != nil {
		return nil, err
	}
	return m.ListUsers(ctx, UserQuery{Role: &roleID})
}

// SetPolicies replaces a user's policies (ErrPolicyNotFound,
// ErrUserNotFound).
func (m *Manager) SetPolicies(ctx context.Context, userID string, policyIDs ...string) (*User, error) {
	return m.UpdateUser(ctx, userID, UserPatch{SetPolicies: true, Policies: policyIDs})
}

// AddPolicies adds policies to a user, keeping the ones it has.
func (m *Manager) AddPolicies(ctx context.Context, userID string, policyIDs ...string) (*User, error) {
	return m.editPolicies(ctx, userID, func(have []string) []string {
		for _, p := range policyIDs {
			if !slices.Contains(have, p) {
				have = append(have, p)
			}
		}
		return have
	})
}

// RemovePolicies removes policies from a user.
func (m *Manager) RemovePolicies(ctx context.Context, userID string, policyIDs ...string) (*User, error) {
	return m.editPolicies(ctx, userID, func(have []string) []string {
		return slices.DeleteFunc(have, func(p string) bool { return slices.Contains(policyIDs, p) })
	})
}

func (m *Manager) editPolicies(ctx context.Context, userID string, edit func([]string) []string) (*User, error) {
	u, err := m.User(ctx, userID)
	if err != nil {
		return nil, err
	}
	return m.SetPolicies(ctx, userID, edit(slices.Clone(u.Policies))...)
}

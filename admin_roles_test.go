package users_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

func TestRoleAssignment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for _, em := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		u, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: em})
		require.NoError(t, err)
		ids = append(ids, u.ID)
	}
	require.NoError(t, e.m.AssignRole(e.ctx, e.member.ID, ids[0], ids[1]))
	in, err := e.m.UsersInRole(e.ctx, e.member.ID)
	require.NoError(t, err)
	require.Len(t, in, 2)

	err = e.m.AssignRole(e.ctx, e.admin.ID, ids[2], "00000000-0000-0000-0000-000000000000")
	require.ErrorIs(t, err, users.ErrUserNotFound)
	u, err := e.m.User(e.ctx, ids[2])
	require.NoError(t, err)
	assert.Nil(t, u.Role, "all or nothing")
	require.ErrorIs(t, e.m.AssignRole(e.ctx, "00000000-0000-0000-0000-000000000000", ids[2]), users.ErrRoleNotFound)

	require.NoError(t, e.m.RemoveRole(e.ctx, ids[0]))
	u, err = e.m.User(e.ctx, ids[0])
	require.NoError(t, err)
	assert.Nil(t, u.Role, "removed role is NULL")
	in, err = e.m.UsersInRole(e.ctx, e.member.ID)
	require.NoError(t, err)
	require.Len(t, in, 1)
	assert.Equal(t, ids[1], in[0].ID)
	none, err := e.m.ListUsers(e.ctx, users.UserQuery{NoRole: true})
	require.NoError(t, err)
	assert.Len(t, none, 2)
	_, err = e.m.UsersInRole(e.ctx, "00000000-0000-0000-0000-000000000000")
	require.ErrorIs(t, err, users.ErrRoleNotFound)

	p1, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "P1"})
	require.NoError(t, err)
	p2, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "P2"})
	require.NoError(t, err)
	u, err = e.m.AddPolicies(e.ctx, ids[0], p1.ID, p2.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{p1.ID, p2.ID}, u.Policies)
	u, err = e.m.RemovePolicies(e.ctx, ids[0], p1.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{p2.ID}, u.Policies)
	_, err = e.m.SetPolicies(e.ctx, ids[0], "00000000-0000-0000-0000-000000000000")
	require.ErrorIs(t, err, users.ErrPolicyNotFound)
	roles, err := e.m.ListRoles(e.ctx)
	require.NoError(t, err)
	assert.Len(t, roles, 2)
	_, err = e.m.CreateRole(e.ctx, users.Role{})
	requireField(t, err, "name", users.ErrInvalidPayload)
}

// A role or policy id that exists is ErrDuplicateID, whatever the store
// (the store reports it; the Manager passes it on).
func TestDuplicateRoleID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.m.CreateRole(e.ctx, users.Role{ID: "editors", Name: "Editors"})
	require.NoError(t, err)
	_, err = e.m.CreateRole(e.ctx, users.Role{ID: "editors", Name: "Other"})
	require.True(t, errors.Is(err, users.ErrDuplicateID), "%v", err)
	assert.Equal(t, "users: create role: a record with this id already exists", err.Error())
}

// Role and policy ids are one safe path segment: letters, digits, '-'
// and '_'. An id such as "../settings?x" once made the console's role
// page post its forms to the settings page; one with a trailing space
// met another role on MariaDB, whose collation pads.
func TestRoleIDAlphabet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, id := range []string{"../settings?x", "a/b", "..", "a b", "editors ", " editors", "a?b", "a#b", "a%2F", "é", "a.b", "r\x00"} {
		_, err := e.m.CreateRole(e.ctx, users.Role{ID: id, Name: "R"})
		requireField(t, err, "id", users.ErrInvalidPayload)
		_, err = e.m.CreatePolicy(e.ctx, users.Policy{ID: id, Name: "P"})
		requireField(t, err, "id", users.ErrInvalidPayload)
	}
	roles, err := e.m.ListRoles(e.ctx)
	require.NoError(t, err)
	assert.Len(t, roles, 2, "nothing was created")
	for _, id := range []string{"editors", "Editors_2", "0b9e-uuid-like"} {
		_, err := e.m.CreateRole(e.ctx, users.Role{ID: id, Name: "R"})
		require.NoError(t, err, id)
	}
	_, err = e.m.Role(e.ctx, "editors ")
	require.ErrorIs(t, err, users.ErrRoleNotFound)
}

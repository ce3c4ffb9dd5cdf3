package users_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// nested returns metadata nested depth objects deep.
func nested(depth int) map[string]any {
	m := map[string]any{"leaf": true}
	for range depth - 1 {
		m = map[string]any{"n": m}
	}
	return m
}

// Input that some stores would refuse with their own error (a 500), or
// accept where others refuse — NUL characters, invalid UTF-8, metadata
// nested thousands deep, ids no store can hold — is refused by the
// Manager with the same clear error, before any store call, whatever the
// store.
func TestAdminInputRefusedBeforeTheStore(t *testing.T) {
	t.Parallel()
	spy := &spyStore{Store: memstore.New()}
	e := newEnvOn(t, spy)
	u, err := e.m.Create(e.ctx, users.CreateInput{Email: "u@example.com"})
	require.NoError(t, err)
	str := func(s string) *string { return &s }
	cases := []struct {
		name  string
		field string
		call  func() error
	}{
		{"role id with NUL", "id", func() error { _, err := e.m.CreateRole(e.ctx, users.Role{ID: "r\x00", Name: "R"}); return err }},
		{"role id with LF", "id", func() error { _, err := e.m.CreateRole(e.ctx, users.Role{ID: "r\n", Name: "R"}); return err }},
		{"role id too long", "id", func() error {
			_, err := e.m.CreateRole(e.ctx, users.Role{ID: strings.Repeat("r", 256), Name: "R"})
			return err
		}},
		{"role name with NUL", "name", func() error { _, err := e.m.CreateRole(e.ctx, users.Role{Name: "R\x00"}); return err }},
		{"role name invalid UTF-8", "name", func() error { _, err := e.m.CreateRole(e.ctx, users.Role{Name: "R\xff"}); return err }},
		{"role name too long", "name", func() error { _, err := e.m.CreateRole(e.ctx, users.Role{Name: strings.Repeat("n", 101)}); return err }},
		{"role description with NUL", "description", func() error {
			_, err := e.m.CreateRole(e.ctx, users.Role{Name: "R", Description: "d\x00"})
			return err
		}},
		{"policy id with NUL", "id", func() error { _, err := e.m.CreatePolicy(e.ctx, users.Policy{ID: "\x00", Name: "P"}); return err }},
		{"metadata 5000 deep", "metadata", func() error {
			_, err := e.m.Create(e.ctx, users.CreateInput{Email: "m@example.com", Metadata: nested(5000)})
			return err
		}},
		{"metadata 33 deep", "metadata", func() error {
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Metadata: nested(33)})
			return err
		}},
		{"metadata NUL value", "metadata", func() error {
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Metadata: map[string]any{"k": "v\x00"}})
			return err
		}},
		{"metadata NUL key", "metadata", func() error {
			_, err := e.m.Create(e.ctx, users.CreateInput{Metadata: map[string]any{"k\x00": 1.0}})
			return err
		}},
		{"metadata NUL deep in an array", "metadata", func() error {
			_, err := e.m.Create(e.ctx, users.CreateInput{Metadata: map[string]any{"a": []any{1.0, map[string]any{"b": "\x00"}}}})
			return err
		}},
		{"metadata invalid UTF-8", "metadata", func() error {
			_, err := e.m.Create(e.ctx, users.CreateInput{Metadata: map[string]any{"k": "\xff"}})
			return err
		}},
		{"metadata infinity", "metadata", func() error {
			_, err := e.m.Create(e.ctx, users.CreateInput{Metadata: map[string]any{"k": math.Inf(1)}})
			return err
		}},
		{"metadata typed and too deep", "metadata", func() error {
			type deep struct{ N *deep }
			d := &deep{}
			for range 40 {
				d = &deep{N: d}
			}
			_, err := e.m.Create(e.ctx, users.CreateInput{Metadata: map[string]any{"d": d}})
			return err
		}},
		{"user role with NUL", "role", func() error { _, err := e.m.Create(e.ctx, users.CreateInput{Role: str("r\x00")}); return err }},
		{"policy ids with NUL", "policies", func() error {
			_, err := e.m.Create(e.ctx, users.CreateInput{Policies: []string{"p\x00"}})
			return err
		}},
		{"patch role with NUL", "role", func() error {
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{SetRole: true, Role: str("\x00")})
			return err
		}},
		{"first name with NUL", "first_name", func() error {
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{FirstName: str("a\x00")})
			return err
		}},
		{"bulk keys with NUL", "keys", func() error {
			return e.m.UpdateUsers(e.ctx, []string{u.ID, "x\x00"}, users.UserPatch{FirstName: str("a")})
		}},
		{"invite role with NUL", "role", func() error {
			_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: "r\x00"})
			return err
		}},
		{"settings role with NUL", "public_registration_role", func() error {
			s := users.DefaultSettings()
			s.PublicRegistrationRole = str("r\x00")
			_, err := e.m.UpdateSettings(e.ctx, s)
			return err
		}},
		{"email filter with NUL", "public_registration_email_filter", func() error {
			f, err := users.ParseFilter([]byte(`{"email":{"_eq":"a\u0000@example.com"}}`))
			if err != nil {
				return err
			}
			s := users.DefaultSettings()
			s.PublicRegistrationEmailFilter = f
			_, err = e.m.UpdateSettings(e.ctx, s)
			return err
		}},
	}
	for _, c := range cases {
		before := spy.callCount()
		err := c.call()
		requireField(t, err, c.field, users.ErrInvalidPayload)
		assert.Equal(t, before, spy.callCount(), "%s: refused before any store call", c.name)
		assert.Less(t, len(err.Error()), 200, "%s: a short, clear error", c.name)
	}

	// Lookups by an id no store could hold find nothing, without asking.
	before := spy.callCount()
	for _, id := range []string{"", "a\x00", "\xff", strings.Repeat("a", 300)} {
		_, err := e.m.User(e.ctx, id)
		require.ErrorIs(t, err, users.ErrUserNotFound)
		_, err = e.m.Role(e.ctx, id)
		require.ErrorIs(t, err, users.ErrRoleNotFound)
		_, err = e.m.UpdateUser(e.ctx, id, users.UserPatch{FirstName: str("x")})
		require.ErrorIs(t, err, users.ErrUserNotFound)
		us, err := e.m.ListUsers(e.ctx, store.UserQuery{IDs: []string{id}})
		require.NoError(t, err)
		assert.Empty(t, us)
	}
	assert.Equal(t, before, spy.callCount())

	// A search or filter value no stored field can hold is refused, as
	// every store would not: PostgreSQL cannot compare with a NUL.
	f, err := users.ParseUserFilter([]byte(`{"email":{"_eq":"a\u0000@example.com"}}`))
	require.NoError(t, err, "the parser takes it; the Manager refuses it")
	fin, err := users.ParseUserFilter([]byte(`{"first_name":{"_in":["a","b\u0000"]}}`))
	require.NoError(t, err)
	before = spy.callCount()
	for name, q := range map[string]store.UserQuery{
		"search NUL":      {Search: "a\x00"},
		"filter NUL":      {Filter: f},
		"filter _in NUL":  {Filter: fin},
		"filter bad UTF8": {Filter: &store.Filter{Field: store.FieldEmail, Op: store.OpEq, Value: "\xff"}},
	} {
		_, err := e.m.ListUsers(e.ctx, q)
		require.ErrorIs(t, err, users.ErrInvalidQuery, name)
		_, err = e.m.CountUsers(e.ctx, q)
		require.ErrorIs(t, err, users.ErrInvalidQuery, name)
	}
	assert.Equal(t, before, spy.callCount(), "refused before any store call")

	// At the limits, accepted.
	_, err = e.m.Create(e.ctx, users.CreateInput{Email: "deep@example.com", Metadata: nested(32)})
	require.NoError(t, err)
	_, err = e.m.CreateRole(e.ctx, users.Role{ID: strings.Repeat("r", 255), Name: strings.Repeat("n", 100), Description: "line one\nline two"})
	require.NoError(t, err)
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

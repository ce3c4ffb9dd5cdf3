// Package sharedtest holds what this module's stores test alike beyond
// the store.Store contract that store/storetest checks; the fixtures their
// own tests build on are in package testkit.
//
// Each store's tests call [Run] with a function that returns a fresh,
// empty store:
//
//	func TestShared(t *testing.T) {
//		sharedtest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
//	}
//
// It checks what the contract leaves open and every store here does the
// same way: policies come back in the order they were given, times keep
// their microseconds, UpdateUsers takes an id more than once, and IDs
// combine with Limit and Offset. The package is internal, so it may use
// testify; storetest, which stores written elsewhere import, does not.
package sharedtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/testkit"
)

// Run runs the shared tests as parallel sub-tests, each on a store of its
// own from newStore.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"CreateAndGetUser", createAndGetUser},
		{"UpdateUsers", updateUsers},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// createAndGetUser reads back a user with everything set. Beyond the
// contract: policies keep their order and times their microseconds.
func createAndGetUser(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateRole(ctx, &store.Role{ID: "r1", Name: "Editors", Description: "edit"}))
	require.NoError(t, s.CreatePolicy(ctx, &store.Policy{ID: "p1", Name: "P1"}))
	require.NoError(t, s.CreatePolicy(ctx, &store.Policy{ID: "p2", Name: "P2", AdminAccess: true}))

	u := testkit.User("u1", "Ann@Example.com")
	u.PasswordHash = "$argon2id$x"
	u.FirstName, u.LastName = "Ann", "Lee"
	u.Role = ptr("r1")
	u.Policies = []string{"p2", "p1"}
	u.Metadata = map[string]any{"team": "blue", "n": 2.0, "tags": []any{"a"}}
	tok := &store.Token{Hash: testkit.HashOf("t1"), Purpose: store.PurposeVerifyEmail, UserID: "u1", CreatedAt: testkit.T0, ExpiresAt: testkit.T0.Add(time.Hour)}
	require.NoError(t, s.CreateUser(ctx, u, store.Effects{Token: tok, Mail: testkit.Mail("m1", "u1", u.Email, testkit.T0)}))

	got, err := s.GetUser(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, "Ann@Example.com", got.Email)
	assert.Equal(t, "ann@example.com", got.EmailKey)
	assert.Equal(t, "$argon2id$x", got.PasswordHash)
	assert.Equal(t, []string{"p2", "p1"}, got.Policies, "policies keep their order")
	assert.Equal(t, u.Metadata, got.Metadata)
	assert.Equal(t, ptr("r1"), got.Role)
	assert.Equal(t, time.UTC, got.CreatedAt.Location())
	assert.True(t, got.CreatedAt.Equal(testkit.T0.Truncate(time.Microsecond)), "%v", got.CreatedAt)

	byKey, err := s.GetUserByEmailKey(ctx, "ann@example.com")
	require.NoError(t, err)
	assert.Equal(t, got, byKey)

	tr, err := s.GetToken(ctx, testkit.HashOf("t1"))
	require.NoError(t, err)
	assert.Equal(t, store.PurposeVerifyEmail, tr.Purpose)
	assert.Equal(t, "u1", tr.UserID)
	assert.Nil(t, tr.ConsumedAt)

	ms, err := s.ListMail(ctx, store.MailQuery{To: "Ann@Example.com"})
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, "text m1", ms[0].Text)

	// Copies: changing what was returned changes nothing stored.
	got.Policies[0] = "zz"
	again, err := s.GetUser(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, "p2", again.Policies[0])

	_, err = s.GetUser(ctx, "nobody")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetUserByEmailKey(ctx, "")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetToken(ctx, testkit.HashOf("nope"))
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// updateUsers changes several users at once. Beyond the contract: an id
// given twice counts once, and IDs combine with Limit and Offset.
func updateUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateRole(ctx, &store.Role{ID: "r1", Name: "R1"}))
	require.NoError(t, s.CreatePolicy(ctx, &store.Policy{ID: "p1", Name: "P1"}))
	for i := range 3 {
		require.NoError(t, s.CreateUser(ctx, testkit.User(fmt.Sprint("u", i), fmt.Sprintf("u%d@example.com", i)), store.Effects{}))
	}
	t1 := testkit.T0.Add(time.Hour)
	err := s.UpdateUsers(ctx, []string{"u0", "nobody"}, store.Condition{}, store.UserChange{SetRole: true, Role: ptr("r1"), UpdatedAt: t1})
	assert.ErrorIs(t, err, store.ErrNotFound)
	err = s.UpdateUsers(ctx, []string{"u0", "u1"}, store.Condition{}, store.UserChange{SetRole: true, Role: ptr("nope"), UpdatedAt: t1})
	assert.ErrorIs(t, err, store.ErrRoleNotFound)
	err = s.UpdateUsers(ctx, []string{"u0", "u1"}, store.Condition{}, store.UserChange{SetPolicies: true, Policies: []string{"p1", "nope"}, UpdatedAt: t1})
	assert.ErrorIs(t, err, store.ErrPolicyNotFound)
	list, err := s.ListUsers(ctx, store.UserQuery{Role: ptr("r1")})
	require.NoError(t, err)
	assert.Empty(t, list)

	require.NoError(t, s.UpdateUsers(ctx, []string{"u1", "u0", "u1"}, store.Condition{}, store.UserChange{SetRole: true, Role: ptr("r1"), SetPolicies: true, Policies: []string{"p1"}, UpdatedAt: t1}))
	list, err = s.ListUsers(ctx, store.UserQuery{Role: ptr("r1")})
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "u0", list[0].ID)
	assert.Equal(t, []string{"p1"}, list[1].Policies)
	list, err = s.ListUsers(ctx, store.UserQuery{NoRole: true, Role: ptr("r1")})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "u2", list[0].ID)
	list, err = s.ListUsers(ctx, store.UserQuery{IDs: []string{"u2", "u1"}, Limit: 1, Offset: 1})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "u2", list[0].ID)
}

func ptr[T any](v T) *T { return &v }

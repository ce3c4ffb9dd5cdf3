package mysqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/testkit"
)

// The case-insensitive filters and Search lower-case as Go does, also
// where the server's LOWER does not ('ẞ', Cherokee and Georgian capitals
// stay as they are in MariaDB 10.11), for every filterable field.
func TestCaseFoldingIsGos(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	require.NoError(t, s.CreateRole(ctx, &store.Role{ID: "RÔLE-Ⴀ", Name: "Georgian"}))
	u := testkit.User("ID-Ꭰ", "ẞig@example.com")
	u.FirstName, u.LastName, u.Role = "ẞtraße", "ᎠᎡᎢ", ptr("RÔLE-Ⴀ")
	require.NoError(t, s.CreateUser(ctx, u, store.Effects{}))
	require.NoError(t, s.CreateUser(ctx, testkit.User("other", "other@example.com"), store.Effects{}))

	for _, tc := range []struct {
		field store.Field
		op    store.Op
		value string
	}{
		{store.FieldFirstName, store.OpIStartsWith, "ß"},
		{store.FieldLastName, store.OpIContains, "ꭱ"},
		{store.FieldEmail, store.OpIStartsWith, "ßIG@"},
		{store.FieldID, store.OpIEndsWith, "-ꭰ"},
		{store.FieldRole, store.OpIContains, "rôle-ⴀ"},
	} {
		f := &store.Filter{Field: tc.field, Op: tc.op, Value: tc.value}
		list, err := s.ListUsers(ctx, store.UserQuery{Filter: f})
		require.NoError(t, err)
		require.Len(t, list, 1, "%s %s %q", tc.field, tc.op, tc.value)
		assert.Equal(t, u.ID, list[0].ID)
	}
	for _, q := range []string{"ß", "ꭰꭱ", "STRASSE"} {
		list, err := s.ListUsers(ctx, store.UserQuery{Search: q})
		require.NoError(t, err)
		if q == "STRASSE" {
			assert.Empty(t, list, "lower-casing is not case folding: ß is not ss")
			continue
		}
		require.Len(t, list, 1, "search %q", q)
	}
	// An update keeps the lower-cased copies in step.
	_, err := s.UpdateUser(ctx, u.ID, store.Condition{}, store.UserChange{FirstName: ptr("Ǆemal"), SetRole: true, UpdatedAt: testkit.T0}, store.Effects{})
	require.NoError(t, err)
	n, err := s.CountUsers(ctx, store.UserQuery{Search: "ǆem"})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = s.CountUsers(ctx, store.UserQuery{Filter: &store.Filter{Field: store.FieldRole, Op: store.OpIContains, Value: "ⴀ"}})
	require.NoError(t, err)
	assert.Zero(t, n, "the role was removed")
}

// utf8mb4_bin ignores trailing spaces and the server's LIKE wildcards are
// characters of their own; the store compares and sorts by bytes, as Go
// does, and keeps 4-byte characters.
func TestExactComparisonsAndOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	names := []string{"Ann", "Ann ", "Ann\t", "ann", "Änn", "😀", "Z", "A_n", "A%n"}
	for i, n := range names {
		u := testkit.User(fmt.Sprint("u", i), fmt.Sprintf("u%d@example.com", i))
		u.FirstName = n
		require.NoError(t, s.CreateUser(ctx, u, store.Effects{}))
	}
	list, err := s.ListUsers(ctx, store.UserQuery{Sort: []store.Sort{{Field: store.FieldFirstName}}})
	require.NoError(t, err)
	var got []string
	for _, u := range list {
		got = append(got, u.FirstName)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	assert.Equal(t, want, got, "byte order, trailing spaces and tabs included")

	count := func(op store.Op, v string) int {
		n, err := s.CountUsers(ctx, store.UserQuery{Filter: &store.Filter{Field: store.FieldFirstName, Op: op, Value: v}})
		require.NoError(t, err)
		return n
	}
	assert.Equal(t, 1, count(store.OpEq, "Ann"), "no padding")
	assert.Equal(t, 1, count(store.OpEq, "Ann "))
	assert.Equal(t, 3, count(store.OpStartsWith, "Ann"))
	assert.Equal(t, 1, count(store.OpContains, "_"), "_ is no wildcard")
	assert.Equal(t, 1, count(store.OpContains, "%"), "% is no wildcard")
	assert.Equal(t, 1, count(store.OpEq, "😀"))
	assert.Equal(t, 4, count(store.OpIStartsWith, "ann"), "Ann, Ann , Ann\\t, ann")

	_, err = s.GetUserByEmailKey(ctx, "u0@example.com ")
	assert.ErrorIs(t, err, store.ErrNotFound, "keys compare exactly")
	got0, err := s.GetUser(ctx, "u5")
	require.NoError(t, err)
	assert.Equal(t, "😀", got0.FirstName)
}

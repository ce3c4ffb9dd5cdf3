package sqlitestore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/sqlitestore"
)

// The user lists and counts run prepared while few shapes of query have
// been seen, and unprepared past the cap: every answer stays right, and no
// run of distinct queries grows the statement cache without bound.
func TestQueryShapesAreCappedNotRefused(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		email := fmt.Sprintf("u%d@example.com", i)
		require.NoError(t, s.CreateUser(ctx, &store.User{ID: fmt.Sprintf("id-%d", i), Email: email, EmailKey: email,
			Status: "active", CreatedAt: t0, UpdatedAt: t0}, store.Effects{}))
	}
	fields := []store.Field{store.FieldID, store.FieldEmail, store.FieldFirstName, store.FieldLastName,
		store.FieldStatus, store.FieldRole, store.FieldCreatedAt, store.FieldUpdatedAt}
	var shapes int
	for _, a := range fields {
		for _, b := range fields {
			if a == b {
				continue
			}
			for _, desc := range []bool{false, true} {
				q := store.UserQuery{Sort: []store.Sort{{Field: a, Desc: desc}, {Field: b}}, Limit: 2}
				us, err := s.ListUsers(ctx, q)
				require.NoError(t, err, "shape %d", shapes)
				assert.Len(t, us, 2, "shape %d", shapes)
				shapes++
			}
		}
	}
	require.Greater(t, shapes, sqlitestore.MaxShapeStmts)
	assert.Equal(t, sqlitestore.MaxShapeStmts, s.PreparedShapes(), "the cap holds")
	n, err := s.CountUsers(ctx, store.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, 3, n, "past the cap a count still runs (unprepared)")
	// An early shape runs prepared, and again gives the same answer.
	us, err := s.ListUsers(ctx, store.UserQuery{Sort: []store.Sort{{Field: store.FieldID}, {Field: store.FieldEmail}}, Limit: 2})
	require.NoError(t, err)
	require.Len(t, us, 2)
	assert.Equal(t, "id-0", us[0].ID)
}

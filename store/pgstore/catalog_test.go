package pgstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/pgstore"
)

// A duplicate role or policy id gives the package's own sentinel, which
// also matches store.ErrDuplicateID (checked by the conformance suite).
func TestDuplicateIDSentinels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	require.NoError(t, s.CreateRole(ctx, &store.Role{ID: "r", Name: "R"}))
	assert.ErrorIs(t, s.CreateRole(ctx, &store.Role{ID: "r", Name: "R"}), pgstore.ErrRoleExists)
	require.NoError(t, s.CreatePolicy(ctx, &store.Policy{ID: "y", Name: "A"}))
	assert.ErrorIs(t, s.CreatePolicy(ctx, &store.Policy{ID: "y", Name: "A"}), pgstore.ErrPolicyExists)
}

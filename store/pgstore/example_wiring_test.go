package pgstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// ExampleNewLimiter needs a database, so it has no output to check; this
// runs its newManager on two instances of one database and checks what it
// promises: ten failed logins for an address, on any instances, lock the
// address out on every one, the right password included.
func TestExampleNewLimiterWiring(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	var ms [2]*users.Manager
	for i := range ms {
		m, err := newManager(ctx, newPool(t, schema))
		require.NoError(t, err)
		ms[i] = m
	}
	_, err := ms[0].CreateUser(ctx, users.CreateUserInput{Email: "ann@example.com", Password: "right-password-1"})
	require.NoError(t, err)
	for i := range 10 {
		_, err := ms[i%2].Authenticate(ctx, "ann@example.com", "wrong")
		require.ErrorIs(t, err, users.ErrInvalidCredentials, "failed login %d", i+1)
	}
	for i, m := range ms {
		_, err := m.Authenticate(ctx, "ann@example.com", "right-password-1")
		require.ErrorIs(t, err, users.ErrRateLimited, "instance %d", i)
		var rl *users.RateLimitError
		require.ErrorAs(t, err, &rl)
		assert.Equal(t, 10, rl.Limit, "instance %d", i)
	}
}

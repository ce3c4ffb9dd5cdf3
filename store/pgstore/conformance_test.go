package pgstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/pgstore"
	"github.com/gousers/users/store/storetest"
)

// TestConformance runs the store.Store contract suite on a schema of its
// own. The suite runs its sub-tests one after the other, so they share the
// schema, emptied before each: migrating a fresh schema per sub-test would
// triple the run time and check nothing more (TestMultiMigrateOnce and
// every other test here migrate fresh schemas).
func TestConformance(t *testing.T) {
	schema := newSchema(t)
	pool := newPool(t, schema)
	s, err := pgstore.New(context.Background(), pool)
	require.NoError(t, err)
	storetest.Run(t, func(t *testing.T) store.Store {
		_, err := pool.Exec(context.Background(), `DELETE FROM users_session_hashes; DELETE FROM users_sessions;
DELETE FROM users_user_policies; DELETE FROM users_tokens;
DELETE FROM users_mail; DELETE FROM users_users; DELETE FROM users_roles; DELETE FROM users_policies;
DELETE FROM users_settings`)
		require.NoError(t, err)
		return s
	})
}

package pgstore_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/pgstore"
)

// A schema at version 2 with users in it is migrated to version 3: the
// lower-cased copies the case-insensitive queries read are filled for the
// users that exist, as strings.ToLower folds them, and pending tokens are
// bound to their user's address.
func TestMigrationFillsLowerCasedCopies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t, newSchema(t))
	var sql strings.Builder
	sql.WriteString(`CREATE TABLE users_schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now());
INSERT INTO users_schema_migrations (version, name) VALUES (1, '0001_init'), (2, '0002_limiter');
`)
	for _, f := range []string{"migrations/0001_init.sql", "migrations/0002_limiter.sql"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		sql.Write(b)
		sql.WriteString("\n")
	}
	sql.WriteString(`INSERT INTO users_roles (id, name) VALUES ('RÔLE-Ü', 'Rôle');
INSERT INTO users_users (id, email, email_key, first_name, last_name, status, role, created_at, updated_at)
VALUES ('u1', 'ÜNAL@Example.com', 'ünal@example.com', 'Ünal', 'ÖZTÜRK', 'active', 'RÔLE-Ü', now(), now()),
       ('u2', 'bob@example.com', 'bob@example.com', 'Bob', 'Smith', 'active', NULL, now(), now());
INSERT INTO users_tokens (hash, purpose, user_id, created_at, expires_at)
VALUES ('\x0102', 'invite', 'u1', now(), now() + interval '1 day');`)
	_, err := pool.Exec(ctx, sql.String())
	require.NoError(t, err)

	s, err := pgstore.New(ctx, pool)
	require.NoError(t, err)
	sharedtest.CheckLowerCasedCopies(t, s)
}

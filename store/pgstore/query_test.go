package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/pgstore"
	"github.com/gousers/users/store/storetest"
)

// The statements ListUsers builds read a page of a list filtered by status
// and/or role and sorted by email (or in the default order) through the
// index meant for it, in index order: the plan is a Limit over an Index
// Scan, with no Sort of every match. 20,000 users, analyzed.
func TestUserQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t, newSchema(t))
	s, err := pgstore.New(ctx, pool)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO users_roles (id, name) SELECT 'r' || i, 'r' || i FROM generate_series(0, 4) i;
INSERT INTO users_users (id, email, email_key, first_name, last_name, status, role, created_at, updated_at)
SELECT md5(i::text), 'user' || md5(i::text) || '@example.com', 'user' || md5(i::text) || '@example.com',
	'F' || (i % 100), 'L' || (i % 1000), (ARRAY['active','active','invited','suspended'])[1 + i % 4],
	CASE WHEN i % 6 = 5 THEN NULL ELSE 'r' || (i % 5) END, now() + i * interval '1 second', now()
FROM generate_series(1, 20000) i;
ANALYZE users_users`)
	require.NoError(t, err)
	eq := func(f store.Field, v string) *store.Filter {
		return &store.Filter{Field: f, Op: store.OpEq, Value: v}
	}
	byEmail := []store.Sort{{Field: store.FieldEmail}}
	for _, c := range []struct {
		name  string
		q     store.UserQuery
		index string
	}{
		{"status, by email", store.UserQuery{Filter: eq(store.FieldStatus, "active"), Sort: byEmail, Limit: 50}, "users_users_status_email_idx"},
		{"role, by email", store.UserQuery{Role: ptr("r1"), Sort: byEmail, Limit: 50}, "users_users_role_email_idx"},
		{"status and role, by email", store.UserQuery{Filter: &store.Filter{And: []*store.Filter{eq(store.FieldStatus, "active"), eq(store.FieldRole, "r1")}}, Sort: byEmail, Limit: 50}, "users_users_role_email_idx"},
		{"by email", store.UserQuery{Sort: byEmail, Limit: 50}, "users_users_email_sort_idx"},
		{"by email, second page", store.UserQuery{Sort: byEmail, Limit: 50, Offset: 50}, "users_users_email_sort_idx"},
		{"default order", store.UserQuery{Limit: 50}, "users_users_created_idx"},
	} {
		query, args, err := pgstore.ListUsersSQL(s, c.q)
		require.NoError(t, err, c.name)
		rows, err := pool.Query(ctx, "EXPLAIN "+query, args...)
		require.NoError(t, err)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		plan := strings.Join(lines, "\n")
		require.GreaterOrEqual(t, len(lines), 2, plan)
		assert.True(t, strings.HasPrefix(lines[0], "Limit"), "%s: the plan does not stop after the page:\n%s", c.name, plan)
		assert.Contains(t, lines[1], "Index Scan using "+c.index+" ", "%s: the users are not read in the order of the index meant for them:\n%s", c.name, plan)
	}
}

// The whole contract holds on a database whose default collation is not
// bytewise (ICU en-US, which sorts "apple" before "Zebra"): the store's
// own COLLATE "C" columns give byte order.
func TestConformanceICUDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t)
	admin, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer admin.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "users_test_icu_" + hex.EncodeToString(b[:])
	_, err = admin.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8'
	LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`)
	if err != nil && os.Getenv("CI") != "true" && strings.Contains(err.Error(), "icu") {
		t.Skipf("this server cannot create an ICU database: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.ConnConfig.Database = name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	var less bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT 'apple' < 'Zebra'`).Scan(&less))
	require.True(t, less, "the database's default collation should not be bytewise")
	s, err := pgstore.New(ctx, pool)
	require.NoError(t, err)
	storetest.Run(t, func(t *testing.T) store.Store {
		_, err := pool.Exec(ctx, `DELETE FROM users_session_hashes; DELETE FROM users_sessions;
DELETE FROM users_user_policies; DELETE FROM users_tokens; DELETE FROM users_mail; DELETE FROM users_users;
DELETE FROM users_roles; DELETE FROM users_policies; DELETE FROM users_settings`)
		require.NoError(t, err)
		return s
	})
}

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
	// A token mailed before tokens were bound to an address is bound to
	// the address its user has at the upgrade, so the link still works.
	tok, err := s.GetToken(ctx, []byte{1, 2})
	require.NoError(t, err)
	assert.Equal(t, "ünal@example.com", tok.EmailKey)
	for _, q := range []store.UserQuery{
		{Search: "ün"},
		{Search: "öztürk"},
		{Filter: &store.Filter{Field: store.FieldEmail, Op: store.OpIStartsWith, Value: "üNAL@"}},
		{Filter: &store.Filter{Field: store.FieldRole, Op: store.OpIContains, Value: "rôle-ü"}},
	} {
		got, err := s.ListUsers(ctx, q)
		require.NoError(t, err)
		if assert.Len(t, got, 1, "%+v", q) {
			assert.Equal(t, "u1", got[0].ID)
		}
	}
}

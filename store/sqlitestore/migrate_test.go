package sqlitestore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/sqlitestore"
)

func TestMigrationsIdempotentAndVersioned(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	db := openApp(t, sqlitestore.DSN(path))

	s1, err := sqlitestore.New(db)
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, s1.CreateRole(ctx, &store.Role{ID: "r1", Name: "editor"}))

	// New again on the migrated database changes nothing and loses nothing.
	s2, err := sqlitestore.New(db)
	require.NoError(t, err)
	r, err := s2.GetRole(ctx, "r1")
	require.NoError(t, err)
	assert.Equal(t, "editor", r.Name)

	// Each version is recorded once, up to the package's latest.
	rows, err := db.QueryContext(ctx, `SELECT version, name FROM users_schema_migrations ORDER BY version`)
	require.NoError(t, err)
	var versions []int
	for rows.Next() {
		var v int
		var name string
		require.NoError(t, rows.Scan(&v, &name))
		assert.True(t, strings.HasPrefix(name, fmt.Sprintf("%04d_", v)), "name %q of version %d", name, v)
		versions = append(versions, v)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, versions)
	assert.Equal(t, sqlitestore.SchemaVersion(), versions[len(versions)-1])
	assert.Len(t, versions, migrationFiles(t), "every migration recorded once (versions may have gaps)")
	assert.True(t, slices.IsSorted(versions) && len(slices.Compact(slices.Clone(versions))) == len(versions), "versions ascending, each once")

	// Every table is prefixed, so the store can share the app's database.
	var tables []string
	rows, err = db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	require.NoError(t, err)
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"sqlite_sequence", "users_event_deliveries", "users_events", "users_mail", "users_policies", "users_recovery_codes", "users_roles", "users_schema_migrations",
		"users_session_hashes", "users_sessions", "users_settings", "users_tfa", "users_tokens", "users_user_policies", "users_users"}, tables)
}

func TestMigrationsRefuseNewerSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	db := openApp(t, sqlitestore.DSN(path))
	_, err := sqlitestore.New(db)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO users_schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future.sql', 0)`,
		sqlitestore.SchemaVersion()+1)
	require.NoError(t, err)
	_, err = sqlitestore.New(db)
	require.ErrorContains(t, err, "newer than this package")
}

// Processes starting together on a fresh file all migrate it without error,
// and each version is applied once.
func TestMigrationsConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		db := openApp(t, sqlitestore.DSN(path))
		wg.Go(func() { _, errs[i] = sqlitestore.New(db) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	db := openApp(t, sqlitestore.DSN(path))
	var count, max int
	require.NoError(t, db.QueryRow(`SELECT count(*), max(version) FROM users_schema_migrations`).Scan(&count, &max))
	assert.Equal(t, migrationFiles(t), count)
	assert.Equal(t, sqlitestore.SchemaVersion(), max)
}

// A database at version 1 with users in it is migrated to version 2: the
// lower-cased copies the case-insensitive queries read are filled for the
// users that exist, as strings.ToLower folds them, and pending tokens are
// bound to their user's address.
func TestMigrationFillsLowerCasedCopies(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	db := openApp(t, sqlitestore.DSN(path))
	v1, err := os.ReadFile("migrations/0001_init.sql")
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE users_schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);
INSERT INTO users_schema_migrations VALUES (1, '0001_init.sql', 0);` + string(v1) + `
INSERT INTO users_roles (id, name) VALUES ('RÔLE-Ü', 'Rôle');
INSERT INTO users_users (id, email, email_key, first_name, last_name, status, role, created_at, updated_at)
VALUES ('u1', 'ÜNAL@Example.com', 'ünal@example.com', 'Ünal', 'ÖZTÜRK', 'active', 'RÔLE-Ü', 1, 1),
       ('u2', 'bob@example.com', 'bob@example.com', 'Bob', 'Smith', 'active', NULL, 2, 2);
INSERT INTO users_tokens (hash, purpose, user_id, created_at, expires_at)
VALUES (x'0102', 'invite', 'u1', 1, 9000000000000000);`)
	require.NoError(t, err)

	s, err := sqlitestore.New(db)
	require.NoError(t, err)
	sharedtest.CheckLowerCasedCopies(t, s)
}

// A database at version 15 with events in it is migrated to the event ids
// without AUTOINCREMENT: the events and their deliveries keep their ids
// and fields, and the next event continues after the highest id given.
func TestMigrationKeepsEventIDs(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	db := openApp(t, sqlitestore.DSN(path))
	var schema strings.Builder
	schema.WriteString(`CREATE TABLE users_schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);`)
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	for _, f := range files {
		var v int
		_, err := fmt.Sscanf(filepath.Base(f), "%04d_", &v)
		require.NoError(t, err)
		if v > 15 {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		fmt.Fprintf(&schema, "INSERT INTO users_schema_migrations VALUES (%d, '%s', 0);\n%s\n", v, filepath.Base(f), b)
	}
	_, err = db.Exec(schema.String() + `
INSERT INTO users_events (id, action, flow, collection, item, actor, happened_at, email)
VALUES (7, 'create', 'registered', 'directus_users', 'u1', 'u1', 100, 'a@example.com'),
       (9, 'update', 'verified', 'directus_users', 'u1', 'u1', 200, 'a@example.com');
INSERT INTO users_event_deliveries (event_id, handler, item, next_attempt_at) VALUES (9, 'h', 'u1', 200);
UPDATE sqlite_sequence SET seq = 9 WHERE name = 'users_events';`)
	require.NoError(t, err)

	s, err := sqlitestore.New(db)
	require.NoError(t, err)
	ctx := t.Context()
	evs, err := s.ListEvents(ctx, store.EventQuery{})
	require.NoError(t, err)
	require.Len(t, evs, 2)
	assert.Equal(t, []int64{7, 9}, []int64{evs[0].ID, evs[1].ID})
	assert.Equal(t, "verified", evs[1].Flow)
	assert.Equal(t, "a@example.com", evs[1].Email)
	ds, err := s.ClaimEvents(ctx, time.UnixMicro(300), time.UnixMicro(400), 10)
	require.NoError(t, err)
	require.Len(t, ds, 1, "the pending delivery survived")
	assert.Equal(t, int64(9), ds[0].Event.ID)

	require.NoError(t, s.InsertEvents(ctx, []*store.Event{{Action: "update", Flow: "next", Collection: "directus_users", Item: "u1", Time: time.UnixMicro(500)}}))
	evs, err = s.ListEvents(ctx, store.EventQuery{})
	require.NoError(t, err)
	require.Len(t, evs, 3)
	assert.Equal(t, int64(10), evs[2].ID)
	var autoinc int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%AUTOINCREMENT%'`).Scan(&autoinc))
	assert.Zero(t, autoinc, "no table keeps AUTOINCREMENT")
}

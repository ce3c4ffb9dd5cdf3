package sqlitestore_test

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/sqlitestore"
	"github.com/gousers/users/store/storetest"
)

// openTemp opens a migrated store on a fresh database file in t.TempDir.
func openTemp(t *testing.T) (*sqlitestore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.db")
	s, db, err := sqlitestore.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		require.NoError(t, db.Close())
	})
	return s, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

func TestShared(t *testing.T) {
	t.Parallel()
	sharedtest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

// openApp opens the database at path the way an application might, with
// its own DSN, and closes it when the test ends.
func openApp(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

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
	for i, v := range versions {
		assert.Equal(t, i+1, v, "versions must be 1..n without gaps")
	}

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
	assert.Equal(t, []string{"users_mail", "users_policies", "users_roles", "users_schema_migrations",
		"users_session_hashes", "users_sessions", "users_settings", "users_tokens", "users_user_policies", "users_users"}, tables)
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
	assert.Equal(t, sqlitestore.SchemaVersion(), count)
	assert.Equal(t, sqlitestore.SchemaVersion(), max)
}

func TestOpenUsesWAL(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	_ = s
	// A second handle reads the persistent, per-database setting.
	db := openApp(t, path)
	var mode string
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "wal", mode)
}

func TestNewSwitchesAppDatabaseToWAL(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	db := openApp(t, "file:"+path+"?_foreign_keys=on") // default journal: delete
	var mode string
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	require.Equal(t, "delete", mode)
	_, err := sqlitestore.New(db)
	require.NoError(t, err)
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "wal", mode)
}

// A handle opened without _foreign_keys=on is refused, with the fix in the
// message, and nothing is created in its database.
func TestNewRefusesForeignKeysOff(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	db := openApp(t, path) // go-sqlite3's default: foreign keys off
	_, err := sqlitestore.New(db)
	require.ErrorIs(t, err, sqlitestore.ErrForeignKeysOff)
	assert.ErrorContains(t, err, "_foreign_keys=on")
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&n))
	assert.Zero(t, n, "New created tables in a database it refused")

	// A PRAGMA run with db.Exec reaches one pooled connection only; New
	// checks the connection it is given, and the store checks roles and
	// policies itself, so even a connection without enforcement answers as
	// the contract says.
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`PRAGMA foreign_keys = ON`)
	require.NoError(t, err)
	s, err := sqlitestore.New(db)
	require.NoError(t, err)
	_, err = db.Exec(`PRAGMA foreign_keys = OFF`)
	require.NoError(t, err)
	ctx := t.Context()
	u := &store.User{ID: "u1", Status: store.StatusActive, Role: ptr("nope")}
	require.ErrorIs(t, s.CreateUser(ctx, u, store.Effects{}), store.ErrRoleNotFound)
	u.Role, u.Policies = nil, []string{"nope"}
	require.ErrorIs(t, s.CreateUser(ctx, u, store.Effects{}), store.ErrPolicyNotFound)
	_, err = s.GetUser(ctx, "u1")
	require.ErrorIs(t, err, store.ErrNotFound)
	u.Policies = nil
	require.NoError(t, s.CreateUser(ctx, u, store.Effects{}))
	_, err = s.UpdateUser(ctx, "u1", store.Condition{}, store.UserChange{SetRole: true, Role: ptr("nope")}, store.Effects{})
	require.ErrorIs(t, err, store.ErrRoleNotFound)
	_, err = s.UpdateUser(ctx, "u1", store.Condition{}, store.UserChange{SetPolicies: true, Policies: []string{"nope"}}, store.Effects{})
	require.ErrorIs(t, err, store.ErrPolicyNotFound)
	require.ErrorIs(t, s.UpdateUsers(ctx, []string{"u1"}, store.Condition{}, store.UserChange{SetRole: true, Role: ptr("nope")}), store.ErrRoleNotFound)
	require.ErrorIs(t, s.UpdateUsers(ctx, []string{"u1"}, store.Condition{}, store.UserChange{SetPolicies: true, Policies: []string{"nope"}}), store.ErrPolicyNotFound)
}

func ptr[T any](v T) *T { return &v }

// Two *sql.DB handles on one file stand in for two processes: each has its
// own connections and its own Store, so only SQLite's locking stands
// between them. 50 goroutines consume one token; exactly one wins, the
// others see it used, and nobody sees "database is locked". The deferred
// case is a handle an application opened without _txlock=immediate.
func TestConsumeTokenAcrossHandles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, params string }{
		{"Immediate", ""},
		{"Deferred", "?_foreign_keys=on&_busy_timeout=5000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "users.db")
			dsn := sqlitestore.DSN(path)
			if tc.params != "" {
				dsn = "file:" + path + tc.params
			}
			var stores [2]*sqlitestore.Store
			for i := range stores {
				db := openApp(t, dsn)
				db.SetMaxOpenConns(8)
				s, err := sqlitestore.New(db)
				require.NoError(t, err)
				stores[i] = s
			}
			ctx := t.Context()
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			for round := range 5 {
				u := &store.User{ID: fmt.Sprintf("u%d", round), Status: store.StatusInvited, CreatedAt: now, UpdatedAt: now}
				hash := sha256.Sum256([]byte(u.ID))
				tok := &store.Token{Hash: hash[:], Purpose: store.PurposeInvite, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
				require.NoError(t, stores[round%2].CreateUser(ctx, u, store.Effects{Token: tok}))

				const n = 50
				var (
					wg                sync.WaitGroup
					mu                sync.Mutex
					wins, used, other int
					otherErr          error
				)
				for i := range n {
					s := stores[i%2]
					wg.Go(func() {
						got, err := s.ConsumeToken(ctx, hash[:], store.PurposeInvite, now.Add(time.Minute),
							store.Condition{Status: store.StatusInvited},
							store.UserChange{Status: ptr(store.StatusActive), PasswordHash: ptr(fmt.Sprintf("hash-%d", i)), UpdatedAt: now.Add(time.Minute)},
							store.Effects{Mail: &store.Mail{ID: fmt.Sprintf("m-%d-%d", round, i), Kind: "invite", UserID: u.ID, To: "x@example.com", Status: store.MailPending, CreatedAt: now, NextAttemptAt: now}})
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							wins++
							assert.Equal(t, store.StatusActive, got.Status)
						case errors.Is(err, store.ErrTokenUsed):
							used++
						default:
							other++
							otherErr = err
						}
					})
				}
				wg.Wait()
				require.Zero(t, other, "unexpected error: %v", otherErr)
				require.Equal(t, 1, wins)
				require.Equal(t, n-1, used)
				// Exactly one change and one mail were written.
				ms, err := stores[0].ListMail(ctx, store.MailQuery{})
				require.NoError(t, err)
				require.Len(t, ms, round+1)
			}
		})
	}
}

// Policies come back in the order they were given (the contract compares
// them as sets; this store keeps the order).
func TestPoliciesKeepOrder(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := t.Context()
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, s.CreatePolicy(ctx, &store.Policy{ID: id, Name: id}))
	}
	u := &store.User{ID: "u", Status: store.StatusActive, Policies: []string{"c", "a", "c", "b"}}
	require.NoError(t, s.CreateUser(ctx, u, store.Effects{}))
	got, err := s.GetUser(ctx, "u")
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "a", "b"}, got.Policies)
}

// countRows returns the number of rows in table.
func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM `+table).Scan(&n))
	return n
}

// DeleteUsers, EndSessions and DeleteSession remove every row that belongs
// to what they delete themselves: on a connection that does not enforce
// foreign keys (so no ON DELETE CASCADE), nothing is left behind.
func TestDeletesWithoutForeignKeys(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	db := openApp(t, sqlitestore.DSN(path))
	db.SetMaxOpenConns(1)
	s, err := sqlitestore.New(db)
	require.NoError(t, err)
	_, err = db.Exec(`PRAGMA foreign_keys = OFF`)
	require.NoError(t, err)
	ctx := t.Context()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, s.CreatePolicy(ctx, &store.Policy{ID: "p", Name: "p"}))
	for _, id := range []string{"a", "b"} {
		u := &store.User{ID: id, Status: store.StatusActive, Policies: []string{"p"}, CreatedAt: now, UpdatedAt: now}
		tok := &store.Token{Hash: hashOf(id + "tok"), Purpose: store.PurposePasswordReset, UserID: id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		require.NoError(t, s.CreateUser(ctx, u, store.Effects{Token: tok}))
		sess := &store.Session{ID: id + "s", UserID: id, TokenHash: hashOf(id + "0"), CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(time.Hour)}
		require.NoError(t, s.CreateSession(ctx, sess, store.Condition{}))
		_, _, err := s.RotateSession(ctx, hashOf(id+"0"), hashOf(id+"1"), now, now.Add(time.Hour), store.Condition{})
		require.NoError(t, err)
	}
	require.Equal(t, 2, countRows(t, db, "users_session_hashes"))
	_, err = s.UpdateUser(ctx, "b", store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{EndSessions: true})
	require.NoError(t, err)
	assert.Equal(t, 1, countRows(t, db, "users_session_hashes"), "EndSessions left earlier hashes behind")
	require.NoError(t, s.DeleteUsers(ctx, []string{"a"}, store.Condition{}))
	for _, table := range []string{"users_sessions", "users_session_hashes", "users_user_policies", "users_tokens"} {
		var n int
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM `+table+` WHERE `+map[string]string{
			"users_sessions": "user_id = 'a'", "users_session_hashes": "session_id = 'as'",
			"users_user_policies": "user_id = 'a'", "users_tokens": "user_id = 'a'",
		}[table]).Scan(&n))
		assert.Zero(t, n, "%s: rows of the deleted user are left", table)
	}
	assert.Equal(t, 1, countRows(t, db, "users_user_policies"), "the other user's policy link")
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
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
	ctx := t.Context()
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

package sqlitestore_test

import (
	"crypto/sha256"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/sqlitestore"
)

// Policies come back in the order they were given (the contract compares
// them as sets; this store keeps the order), from GetUser and from a page
// of ListUsers (which reads them only for users who have some).
func TestPoliciesKeepOrder(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := t.Context()
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, s.CreatePolicy(ctx, &store.Policy{ID: id, Name: id}))
	}
	u := &store.User{ID: "u", Status: store.StatusActive, Policies: []string{"c", "a", "c", "b"}}
	require.NoError(t, s.CreateUser(ctx, u, store.Effects{}))
	require.NoError(t, s.CreateUser(ctx, &store.User{ID: "v", Status: store.StatusActive, CreatedAt: time.Unix(1, 0)}, store.Effects{}))
	got, err := s.GetUser(ctx, "u")
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "a", "b"}, got.Policies)
	page, err := s.ListUsers(ctx, store.UserQuery{Limit: 50})
	require.NoError(t, err)
	require.Len(t, page, 2)
	assert.Equal(t, "u", page[0].ID)
	assert.Equal(t, []string{"c", "a", "b"}, page[0].Policies)
	assert.Empty(t, page[1].Policies, "a user without policies has none")
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

package pgstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/pgstore"
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
		// No index has status (a status changes on every verification,
		// acceptance and reset): a status filter walks the sort's index.
		{"status, by email", store.UserQuery{Filter: eq(store.FieldStatus, "active"), Sort: byEmail, Limit: 50}, "users_users_email_sort_idx"},
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

	// A page sorted by last name reads the full-name index (last name,
	// first name, id) in order and sorts by id only the users who share a
	// last name: no Sort of every user.
	query, args, err := pgstore.ListUsersSQL(s, store.UserQuery{Sort: []store.Sort{{Field: store.FieldLastName}}, Limit: 50})
	require.NoError(t, err)
	rows, err := pool.Query(ctx, "EXPLAIN "+query, args...)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	plan := strings.Join(lines, "\n")
	require.GreaterOrEqual(t, len(lines), 3, plan)
	assert.True(t, strings.HasPrefix(lines[0], "Limit"), "by last name: the plan does not stop after the page:\n%s", plan)
	assert.Contains(t, plan, "Incremental Sort", "by last name: the users are sorted in full:\n%s", plan)
	assert.Contains(t, plan, "Presorted Key: u.last_name\n", "by last name: the users are sorted in full:\n%s", plan)
	assert.Contains(t, plan, "Index Scan using users_users_full_name_sort_idx ", "by last name: the full-name index is not read:\n%s", plan)
}

// The count of failed mail that MailStats makes reads an index of the
// failed mail only: a pending or sent mail takes no entry in it.
func TestMailStatsUsesPartialIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t, newSchema(t))
	_, err := pgstore.New(ctx, pool)
	require.NoError(t, err)
	var def string
	require.NoError(t, pool.QueryRow(ctx, `SELECT indexdef FROM pg_indexes WHERE indexname = 'users_mail_failed_idx' AND schemaname = current_schema()`).Scan(&def))
	assert.Contains(t, def, "WHERE (status = 'failed'::text)")
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE tablename = 'users_mail' AND schemaname = current_schema()
AND indexdef NOT LIKE '%WHERE%' AND indexname <> 'users_mail_pkey' AND indexname <> 'users_mail_to_idx'`).Scan(&n))
	assert.Zero(t, n, "an index of users_mail takes an entry for every mail")
}

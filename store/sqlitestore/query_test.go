package sqlitestore_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/sqlitestore"
)

// queryPlan returns SQLite's plan for query, one step a line.
func queryPlan(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
		plan.WriteString(detail + "\n")
	}
	require.NoError(t, rows.Err())
	return plan.String()
}

// The email lookup uses the partial unique index although its parameter
// could be empty: the test EXPLAINs the statement GetUserByEmailKey runs, so
// dropping the index or changing the query so that it misses it fails here.
func TestEmailLookupUsesIndex(t *testing.T) {
	t.Parallel()
	_, path := openTemp(t)
	db := openApp(t, sqlitestore.DSN(path))
	plan := queryPlan(t, db, sqlitestore.GetUserByEmailKeySQL, "a@example.com")
	assert.Contains(t, plan, "USING INDEX users_users_email_key (email_key=?)", plan)
	assert.NotContains(t, plan, "SCAN users_users", plan)
}

// The statements ListUsers and CountUsers build walk the index meant for
// them: a page of a list filtered by status and/or role and sorted by
// email (or in the default order) is read in index order, so SQLite stops
// after the page instead of sorting every match.
func TestUserQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	_, path := openTemp(t)
	db := openApp(t, sqlitestore.DSN(path))
	eq := func(f store.Field, v string) *store.Filter {
		return &store.Filter{Field: f, Op: store.OpEq, Value: v}
	}
	byEmail := []store.Sort{{Field: store.FieldEmail}}
	for _, c := range []struct {
		name    string
		q       store.UserQuery
		index   string
		ordered bool // the index gives the order: no sort step at all
	}{
		// No index has status (a status changes on every verification,
		// acceptance and reset): a status filter walks the sort's index.
		{"status, by email", store.UserQuery{Filter: eq(store.FieldStatus, "active"), Sort: byEmail, Limit: 50}, "users_users_email_sort", true},
		{"role, by email", store.UserQuery{Role: ptr("r"), Sort: byEmail, Limit: 50}, "users_users_role_email (role=?)", true},
		{"role filter, by email", store.UserQuery{Filter: eq(store.FieldRole, "r"), Sort: byEmail, Limit: 50}, "users_users_role_email (role=?)", true},
		{"status and role, by email", store.UserQuery{Filter: &store.Filter{And: []*store.Filter{eq(store.FieldStatus, "active"), eq(store.FieldRole, "r")}}, Sort: byEmail, Limit: 50}, "users_users_role_email (role=?)", true},
		{"status, default order", store.UserQuery{Filter: eq(store.FieldStatus, "active"), Limit: 50}, "users_users_created", true},
		{"role, default order", store.UserQuery{Role: ptr("r"), Limit: 50}, "users_users_role (role=?)", true},
		{"no role", store.UserQuery{NoRole: true, Limit: 50}, "users_users_role (role=?)", true},
		{"by email", store.UserQuery{Sort: byEmail, Limit: 50}, "users_users_email_sort", true},
		{"by last name", store.UserQuery{Sort: []store.Sort{{Field: store.FieldLastName}}, Limit: 50}, "users_users_last_name_sort", true},
		{"by last then first name", store.UserQuery{Sort: []store.Sort{{Field: store.FieldLastName}, {Field: store.FieldFirstName}}, Limit: 50}, "users_users_full_name_sort", true},
		{"no role or suspended, by last then first name", store.UserQuery{Filter: &store.Filter{Or: []*store.Filter{{Field: store.FieldRole, Op: store.OpNull}, eq(store.FieldStatus, "suspended")}}, Sort: []store.Sort{{Field: store.FieldLastName}, {Field: store.FieldFirstName}}, Limit: 50}, "users_users_full_name_sort", true},
		{"default order", store.UserQuery{Limit: 50}, "users_users_created", true},
		{"email prefix, any case", store.UserQuery{Filter: &store.Filter{Field: store.FieldEmail, Op: store.OpIStartsWith, Value: "Ab"}}, "users_users_email_lower (email_lower>? AND email_lower<?)", false},
	} {
		query, args, err := sqlitestore.ListUsersSQL(c.q)
		require.NoError(t, err, c.name)
		plan := queryPlan(t, db, query, args...)
		first, _, _ := strings.Cut(plan, "\n")
		assert.Contains(t, first, "INDEX "+c.index, "%s: the users are not read through the index meant for them:\n%s", c.name, plan)
		if c.ordered {
			assert.NotContains(t, plan, "FOR ORDER BY", "%s: the query sorts its matches instead of reading them in index order:\n%s", c.name, plan)
		}
	}
	for _, c := range []struct {
		name  string
		q     store.UserQuery
		index string
	}{
		{"count by role", store.UserQuery{Role: ptr("r")}, "COVERING INDEX users_users_role"},
	} {
		query, args, err := sqlitestore.CountUsersSQL(c.q)
		require.NoError(t, err, c.name)
		plan := queryPlan(t, db, query, args...)
		assert.Contains(t, plan, c.index, "%s:\n%s", c.name, plan)
	}
}

// A page's LIMIT is part of the statement's text, not a parameter: SQLite
// (3.54) plans with a bound LIMIT's value and marks the statement to be
// prepared again whenever that parameter is bound, so a bound LIMIT would
// re-prepare the cached statement on every call. OFFSET stays a parameter
// (it does not re-prepare), so that paging makes no new statements.
func TestUserPagesLimitNotBound(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		q        store.UserQuery
		suffix   string
		wantArgs []any
	}{
		{store.UserQuery{Limit: 50}, " LIMIT 50 OFFSET ?", []any{0}},
		{store.UserQuery{Limit: 50, Offset: 1000}, " LIMIT 50 OFFSET ?", []any{1000}},
		{store.UserQuery{Offset: 10}, " LIMIT -1 OFFSET ?", []any{10}},
		{store.UserQuery{Role: ptr("r"), Limit: 25, Offset: 25}, " LIMIT 25 OFFSET ?", []any{"r", 25}},
	} {
		query, args, err := sqlitestore.ListUsersSQL(c.q)
		require.NoError(t, err)
		assert.True(t, strings.HasSuffix(query, c.suffix), "%+v: %s", c.q, query)
		assert.Equal(t, c.wantArgs, args, "%+v", c.q)
	}
	query, args, err := sqlitestore.ListUsersSQL(store.UserQuery{})
	require.NoError(t, err)
	assert.NotContains(t, query, "LIMIT", "no limit and no offset: every user")
	assert.Empty(t, args)
}

// A verification, an acceptance and a reset change a user's status,
// password and updated_at in the write transaction that holds SQLite's
// only write lock: no index of users_users may hold those columns, or each
// of those writes pays for the index entries and the pages they dirty.
func TestStatusChangesTouchNoIndex(t *testing.T) {
	t.Parallel()
	_, path := openTemp(t)
	db := openApp(t, sqlitestore.DSN(path))
	rows, err := db.Query(`SELECT il.name, ii.name FROM pragma_index_list('users_users') il, pragma_index_info(il.name) ii`)
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var index, column string
		require.NoError(t, rows.Scan(&index, &column))
		n++
		switch column {
		case "status", "status_lower", "updated_at", "password_hash":
			t.Errorf("index %s holds %s, which every verification, acceptance or reset changes", index, column)
		}
	}
	require.NoError(t, rows.Err())
	require.NotZero(t, n, "no index read")
}

package sqlitestore_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
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
	eq := func(f users.UserField, v string) *users.UserFilter {
		return &users.UserFilter{Field: f, Op: users.OpEq, Value: v}
	}
	byEmail := []users.UserSort{{Field: users.FieldEmail}}
	for _, c := range []struct {
		name    string
		q       users.UserQuery
		index   string
		ordered bool // the index gives the order: no sort step at all
	}{
		{"status, by email", users.UserQuery{Filter: eq(users.FieldStatus, "active"), Sort: byEmail, Limit: 50}, "users_users_status_email (status=?)", true},
		{"status, by email descending", users.UserQuery{Filter: eq(users.FieldStatus, "active"), Sort: []users.UserSort{{Field: users.FieldEmail, Desc: true}}, Limit: 50}, "users_users_status_email (status=?)", false},
		{"role, by email", users.UserQuery{Role: ptr("r"), Sort: byEmail, Limit: 50}, "users_users_role_email (role=?)", true},
		{"role filter, by email", users.UserQuery{Filter: eq(users.FieldRole, "r"), Sort: byEmail, Limit: 50}, "users_users_role_email (role=?)", true},
		{"status and role, by email", users.UserQuery{Filter: &users.UserFilter{And: []*users.UserFilter{eq(users.FieldStatus, "active"), eq(users.FieldRole, "r")}}, Sort: byEmail, Limit: 50}, "users_users_role_email (role=?)", true},
		{"status, default order", users.UserQuery{Filter: eq(users.FieldStatus, "active"), Limit: 50}, "users_users_status_created (status=?)", true},
		{"role, default order", users.UserQuery{Role: ptr("r"), Limit: 50}, "users_users_role (role=?)", true},
		{"no role", users.UserQuery{NoRole: true, Limit: 50}, "users_users_role (role=?)", true},
		{"by email", users.UserQuery{Sort: byEmail, Limit: 50}, "users_users_email_sort", true},
		{"by last name", users.UserQuery{Sort: []users.UserSort{{Field: users.FieldLastName}}, Limit: 50}, "users_users_last_name_sort", true},
		{"by last then first name", users.UserQuery{Sort: []users.UserSort{{Field: users.FieldLastName}, {Field: users.FieldFirstName}}, Limit: 50}, "users_users_full_name_sort", true},
		{"no role or suspended, by last then first name", users.UserQuery{Filter: &users.UserFilter{Or: []*users.UserFilter{{Field: users.FieldRole, Op: users.OpNull}, eq(users.FieldStatus, "suspended")}}, Sort: []users.UserSort{{Field: users.FieldLastName}, {Field: users.FieldFirstName}}, Limit: 50}, "users_users_full_name_sort", true},
		{"by update, newest first", users.UserQuery{Sort: []users.UserSort{{Field: users.FieldUpdatedAt, Desc: true}}, Limit: 50}, "users_users_updated", false},
		{"default order", users.UserQuery{Limit: 50}, "users_users_created", true},
		{"email prefix, any case", users.UserQuery{Filter: &users.UserFilter{Field: users.FieldEmail, Op: users.OpIStartsWith, Value: "Ab"}}, "users_users_email_lower (email_lower>? AND email_lower<?)", false},
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
		q     users.UserQuery
		index string
	}{
		{"count by status", users.UserQuery{Filter: eq(users.FieldStatus, "active")}, "COVERING INDEX users_users_status_"},
		{"count by role", users.UserQuery{Role: ptr("r")}, "COVERING INDEX users_users_role"},
	} {
		query, args, err := sqlitestore.CountUsersSQL(c.q)
		require.NoError(t, err, c.name)
		plan := queryPlan(t, db, query, args...)
		assert.Contains(t, plan, c.index, "%s:\n%s", c.name, plan)
	}
}

package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/store/sqlitestore"
)

// listFixture is a fixture with seven users of varied fields, created a
// millisecond apart (so created_at orders them as ids[0..6]).
type listFixture struct {
	*fixture
	other *users.Role
	ids   []string
}

// listStores are the stores the listing tests run on: the query is the
// store's own (SQL on SQLite), so each is checked end to end.
var listStores = []string{"memory", "sqlite"}

func newListFixture(t *testing.T, kinds ...string) *listFixture {
	t.Helper()
	var fc fixtureConfig
	if len(kinds) > 0 && kinds[0] == "sqlite" {
		st, db, err := sqlitestore.Open(filepath.Join(t.TempDir(), "users.db"))
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = st.Close()
			_ = db.Close()
		})
		fc.store = func(*memstore.Store) store.Store { return st }
	}
	f := newFixtureWith(t, fc)
	other, err := f.m.CreateRole(f.ctx, users.Role{Name: "Other"})
	require.NoError(t, err)
	lf := &listFixture{fixture: f, other: other}
	for _, u := range []users.CreateUserInput{
		{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Role: &f.role.ID, Password: password},
		{Email: "BOB@EXAMPLE.COM", FirstName: "Bob", LastName: "O'Brien", Role: &other.ID},
		{Email: "under_score@example.org", FirstName: "100%", LastName: "Smith"},
		{Email: "dan@example.com", FirstName: "Dan", LastName: "Smith", Role: &f.role.ID, Status: users.StatusSuspended},
		{Email: "eve@other.net", FirstName: "Ève", Role: &other.ID, Status: users.StatusInvited},
		{FirstName: "No", LastName: "Email", Role: &f.role.ID},
		{Email: "zed@example.com", FirstName: "Zed", LastName: "Zulu", Status: users.StatusDraft},
	} {
		lf.ids = append(lf.ids, f.create(u).ID)
		f.clock.Advance(time.Millisecond)
	}
	return lf
}

// list answers GET /users?q with the ids in the order given.
func (lf *listFixture) list(q string) []string {
	lf.t.Helper()
	var got []wireUser
	data(lf.t, lf.admin("GET", "/users"+q, ""), &got)
	out := make([]string, 0, len(got))
	for _, u := range got {
		out = append(out, u.ID)
	}
	return out
}

func (lf *listFixture) pick(is ...int) []string {
	out := make([]string, 0, len(is))
	for _, i := range is {
		out = append(out, lf.ids[i])
	}
	return out
}

func jsonQ(doc string) string { return "filter=" + url.QueryEscape(doc) }

func TestListUsersFilters(t *testing.T) {
	t.Parallel()
	for _, kind := range listStores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testListUsersFilters(t, newListFixture(t, kind))
		})
	}
}

func testListUsersFilters(t *testing.T, lf *listFixture) {
	role, other := lf.role.ID, lf.other.ID
	for _, tc := range []struct {
		q    string
		want []int
	}{
		{"", []int{0, 1, 2, 3, 4, 5, 6}},
		// Role and id, as the Data Studio asks for them.
		{jsonQ(`{"role":{"_eq":"` + role + `"}}`), []int{0, 3, 5}},
		{"filter[role][_eq]=" + role, []int{0, 3, 5}},
		{"filter[role]=" + role, []int{0, 3, 5}},
		{"filter[role][_null]=true", []int{2, 6}},
		{"filter[role][_null]=false", []int{0, 1, 3, 4, 5}},
		{"filter[role][_nnull]=true", []int{0, 1, 3, 4, 5}},
		{"filter[role][_eq]=null", []int{2, 6}},
		{jsonQ(`{"role":null}`), []int{2, 6}},
		{"filter[role][_neq]=" + role, []int{1, 2, 4, 6}},
		{"filter[role][_in]=" + role + "," + other, []int{0, 1, 3, 4, 5}},
		{"filter[role][_nin][]=" + role, []int{1, 2, 4, 6}},
		{"filter[id][_in]=" + lf.ids[1] + "," + lf.ids[4], []int{1, 4}},
		{"filter[id][_in][]=" + lf.ids[1] + "&filter[id][_in][]=" + lf.ids[4], []int{1, 4}},
		{"filter[id][_in][1]=" + lf.ids[1] + "&filter[id][_in][0]=" + lf.ids[4], []int{1, 4}},
		{"filter[id][_in]=" + lf.ids[1] + "&filter[id][_in]=" + lf.ids[4], []int{1, 4}},
		{jsonQ(`{"id":{"_eq":"` + lf.ids[1] + `"}}`), []int{1}},
		{"filter[role][_eq]=no-such-role", []int{}},
		// An empty list: _in holds for nobody, _nin for everybody.
		{jsonQ(`{"id":{"_in":[]}}`), []int{}},
		{"filter[status][_in]=,", []int{}},
		{jsonQ(`{"id":{"_nin":[]}}`), []int{0, 1, 2, 3, 4, 5, 6}},
		// Strings: byte for byte, or case-insensitively with _i.
		{"filter[email][_ends_with]=@example.com", []int{0, 3, 6}},
		{"filter[email][_iends_with]=@EXAMPLE.com", []int{0, 1, 3, 6}},
		{"filter[email][_nends_with]=@example.com", []int{1, 2, 4, 5}},
		{"filter[email][_contains]=" + url.QueryEscape("_"), []int{2}},
		{"filter[first_name][_contains]=" + url.QueryEscape("%"), []int{2}},
		{"filter[first_name][_starts_with]=" + url.QueryEscape("%"), []int{}},
		{"filter[last_name][_icontains]=SMI", []int{2, 3}},
		{"filter[first_name][_istarts_with]=" + url.QueryEscape("ève"), []int{4}},
		{"filter[email][_empty]=true", []int{5}},
		{"filter[last_name][_nempty]=false", []int{4}},
		{"filter[status][_eq]=active", []int{0, 1, 2, 5}},
		{"filter[status][_nin]=active,draft", []int{3, 4}},
		// Combinations.
		{"filter[status][_eq]=active&filter[role][_null]=true", []int{2}},
		{"filter[_or][0][status][_eq]=suspended&filter[_or][1][email][_ends_with]=.net", []int{3, 4}},
		{jsonQ(`{"_and":[{"_or":[{"role":{"_null":true}},{"role":{"_eq":"` + other + `"}}]},{"status":{"_neq":"invited"}}]}`), []int{1, 2, 6}},
		{jsonQ(`{"email":{"_or":[{"_starts_with":"ada"},{"_starts_with":"zed"}]}}`), []int{0, 6}},
		// Search: email, first and last name, case-insensitively; LIKE's
		// wildcards are plain characters.
		{"search=SMITH", []int{2, 3}},
		{"search=example.COM", []int{0, 1, 3, 6}},
		{"search=" + url.QueryEscape("ÈVE"), []int{4}},
		{"search=" + url.QueryEscape("%"), []int{2}},
		{"search=" + url.QueryEscape("_"), []int{2}},
		{"search=" + url.QueryEscape("'"), []int{1}},
		{"search=" + url.QueryEscape(`\`), []int{}},
		{"search=" + url.QueryEscape("' OR '1'='1"), []int{}},
		{"search=", []int{0, 1, 2, 3, 4, 5, 6}},
		{"search=smith&filter[status][_eq]=active", []int{2}},
	} {
		t.Run(tc.q, func(t *testing.T) {
			assert.Equal(t, lf.pick(tc.want...), lf.list("?"+tc.q))
		})
	}
}

func TestListUsersSortAndPage(t *testing.T) {
	t.Parallel()
	for _, kind := range listStores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testListUsersSortAndPage(t, newListFixture(t, kind))
		})
	}
}

func testListUsersSortAndPage(t *testing.T, lf *listFixture) {
	for _, tc := range []struct {
		q    string
		want []int
	}{
		{"sort=-created_at", []int{6, 5, 4, 3, 2, 1, 0}},
		{"sort=email", []int{5, 1, 0, 3, 4, 2, 6}}, // no email first; bytes: "B" < "a"
		{"sort=-email", []int{6, 2, 4, 3, 0, 1, 5}},
		{"sort=last_name,-first_name", []int{4, 5, 0, 1, 3, 2, 6}},
		{"sort[]=last_name&sort[]=-first_name", []int{4, 5, 0, 1, 3, 2, 6}},
		{"sort[1]=-first_name&sort[0]=last_name", []int{4, 5, 0, 1, 3, 2, 6}},
		{"sort=last_name&sort=-first_name", []int{4, 5, 0, 1, 3, 2, 6}},
		// Indexes order the keys as numbers (sort[10] after sort[2]).
		{"sort[0]=status&sort[1]=status&sort[2]=-first_name&sort[3]=status&sort[4]=status&sort[5]=status" +
			"&sort[6]=status&sort[7]=status&sort[8]=status&sort[9]=status&sort[10]=last_name&limit=4", []int{5, 1, 0, 2}},
		{"sort=role,status", []int{2, 6}},
		{"limit=2", []int{0, 1}},
		{"limit=2&offset=2", []int{2, 3}},
		{"limit=2&page=3", []int{4, 5}},
		{"limit=2&page=3&offset=1", []int{4, 5}},
		{"limit=3&page=0", []int{0, 1, 2}},
		{"offset=5", []int{5, 6}},
		{"limit=-1", []int{0, 1, 2, 3, 4, 5, 6}},
		{"limit=-1&page=2", []int{0, 1, 2, 3, 4, 5, 6}},
		{"limit=0", []int{}},
		{"limit=2147483647&offset=2147483647", []int{}},
		{"limit=2&page=2&sort=-email&filter[email][_nnull]=true&search=e", []int{4, 3}},
	} {
		t.Run(tc.q, func(t *testing.T) {
			got := lf.list("?" + tc.q)
			if tc.q == "sort=role,status" {
				// Null roles first; the rest depends on the roles' random ids.
				assert.Equal(t, lf.pick(tc.want...), got[:2])
				return
			}
			assert.Equal(t, lf.pick(tc.want...), got)
		})
	}
}

// fields selects the keys of each user, in the wire order; meta adds
// Directus's counts.
func TestListUsersFieldsAndMeta(t *testing.T) {
	t.Parallel()
	for _, kind := range listStores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testListUsersFieldsAndMeta(t, newListFixture(t, kind))
		})
	}
}

func testListUsersFieldsAndMeta(t *testing.T, lf *listFixture) {
	body := func(q string) string {
		t.Helper()
		w := lf.admin("GET", "/users?"+q, "")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		return w.Body.String()
	}
	ada := lf.ids[0]
	assert.Equal(t, `{"data":[{"id":"`+ada+`","email":"ada@example.com"}]}`,
		body("fields=email,id&filter[id][_eq]="+ada))
	assert.Equal(t, `{"data":[{"id":"`+ada+`","email":"ada@example.com"}]}`,
		body("fields[]=email&fields[]=id&fields[]=email&filter[id][_eq]="+ada))
	assert.Equal(t, `{"data":[{"password":"**********","role":"`+lf.role.ID+`","policies":[]}]}`,
		body("fields=policies,role,password&filter[id][_eq]="+ada))
	assert.Equal(t, `{"data":[{"email":null,"last_name":"Email","metadata":null}]}`,
		body("fields=email,last_name,metadata&filter[email][_null]=true"))
	var all []map[string]any
	require.NoError(t, json.Unmarshal([]byte(body("fields=*&limit=1")), &struct{ Data *[]map[string]any }{&all}))
	require.Len(t, all, 1)
	assert.Len(t, all[0], 12, "every field (metadata is left out when empty)")

	assert.Equal(t, `{"data":[{"id":"`+lf.ids[2]+`"}],"meta":{"total_count":7,"filter_count":2}}`,
		body("meta=total_count,filter_count&fields=id&search=smith&limit=1"))
	assert.Equal(t, `{"data":[],"meta":{"filter_count":3,"total_count":7}}`,
		body("meta=filter_count,total_count&filter[role][_eq]="+lf.role.ID+"&limit=0"))
	assert.Equal(t, `{"data":[],"meta":{"total_count":7,"filter_count":3}}`,
		body("meta=*&filter[role][_eq]="+lf.role.ID+"&limit=0"))
	assert.Equal(t, `{"data":[],"meta":{"filter_count":0}}`,
		body("meta[]=filter_count&search=nobody"))

	// GET /users/{id} takes fields too.
	w := lf.admin("GET", "/users/"+ada+"?fields=email,status", "")
	assert.Equal(t, `{"data":{"email":"ada@example.com","status":"active"}}`, w.Body.String())
	w = lf.admin("GET", "/users/"+ada+"?fields[]=id", "")
	assert.Equal(t, `{"data":{"id":"`+ada+`"}}`, w.Body.String())
	wantError(t, lf.admin("GET", "/users/"+ada+"?fields=secret", ""), http.StatusBadRequest, "INVALID_QUERY", "")
}

// Bad queries are 400 INVALID_QUERY with a message that names the fault,
// and change nothing.
func TestListUsersRefusesBadQueries(t *testing.T) {
	t.Parallel()
	lf := newListFixture(t)
	before := lf.snapshot()
	for _, tc := range []struct{ q, msg string }{
		{"limit=-2", `Invalid query. "limit" must be an integer from -1 to 2147483647.`},
		{"limit=2147483648", `Invalid query. "limit" must be an integer from -1 to 2147483647.`},
		{"limit=99999999999999999999999", ""},
		{"limit=1.5", ""},
		{"limit=1e3", ""},
		{"limit=%201", ""},
		{"limit=abc", ""},
		{"limit=", ""},
		{"limit=1&limit=2", `Invalid query. "limit" must be given once.`},
		{"offset=-1", `Invalid query. "offset" must be an integer from 0 to 2147483647.`},
		{"page=-1", `Invalid query. "page" must be an integer from 0 to 2147483647.`},
		{"search=a&search=b", `Invalid query. "search" must be given once.`},
		{"search=" + strings.Repeat("x", 1025), `Invalid query. "search" must be at most 1024 bytes.`},
		{"sort=password", `Invalid query. "sort" unknown field "password" (sorts take id, email, first_name, last_name, status, role, created_at, updated_at, each with - for descending).`},
		{"sort=?", ""},
		{"sort=-", ""},
		{"sort=role.name", `Invalid query. "sort" sorting on related collections ("role.name") is not supported.`},
		{"sort=" + url.QueryEscape("email;DROP TABLE users"), ""},
		{"sort=email&sort[]=id", `Invalid query. "sort" must be given in one form (sort=a,b or sort[]=a&sort[]=b).`},
		{"sort[x]=email", `Invalid query. unknown query parameter "sort[x]".`},
		{"fields=password_hash", `Invalid query. fields: unknown field "password_hash" (users have id, email, password, tfa_secret, first_name, last_name, status, role, policies, metadata, created_at, updated_at, last_access).`},
		{"fields=role.name", `Invalid query. fields: fields of related collections ("role.name") are not supported.`},
		{"meta=count", `Invalid query. meta: unknown value "count" (want total_count, filter_count or *).`},
		{"deep[role][_limit]=1", `Invalid query. unknown query parameter "deep[role][_limit]".`},
		{"aggregate[count]=*", ""},
		{"groupBy=role", ""},
		{"filter=nope", "Invalid query. \"filter\" invalid JSON at byte 2: invalid character 'o' in literal null (expecting 'u')."},
		{jsonQ(`{"_and":[]}`), `Invalid query. "filter" _and: empty array: _and needs at least one item.`},
		{jsonQ(`{"email":{"_regex":".*"}}`), `Invalid query. "filter" operator _regex is not supported when listing users.`},
		{jsonQ(`{"email":{"_regex":"("}}`), `Invalid query. "filter" email._regex: cannot compile regular expression: missing closing ).`},
		{jsonQ(`{"role":{"name":{"_eq":"Admin"}}}`), `Invalid query. "filter" role: "name" is not an operator: filters on related collections (role.name) are not supported.`},
		{jsonQ(`{"email\"; DROP TABLE users; --":{"_eq":"x"}}`), ""},
		{jsonQ(`{"id":{"_eq":"$CURRENT_USER"}}`), `Invalid query. "filter" id._eq: dynamic variables ($CURRENT_USER, $NOW…) are not supported.`},
		{"filter[email][_foo]=x", `Invalid query. "filter" email: unknown operator "_foo".`},
		{"filter[email][_eq]=", `Invalid query. "filter" email._eq: can't filter for an empty string: use _empty or _nempty.`},
		{"filter[password][_eq]=x", `Invalid query. "filter" unknown field "password" (filters take id, email, first_name, last_name, status, role, _and and _or).`},
		{"filter[email][_eq][]=x", `Invalid query. "filter" email._eq: want a string, got an array.`},
		{"filter[email][_eq]=a&filter[email][_eq]=b", `Invalid query. "filter" email._eq: want a string, got an array.`},
		{"filter[email]=a&filter[email][_eq]=b", `Invalid query. "filter[email]" is given both as a value and as an object.`},
		{"filter[email][_eq]=a&filter=" + url.QueryEscape(`{}`), `Invalid query. "filter" must be given in one form: JSON (filter={…}) or brackets (filter[field][_op]=…).`},
		{"filter[]=x", ""},
		{"filter[email=x", ""},
		{"filter[email][][_eq]=x", `Invalid query. "filter[email][][_eq]": [] must come last.`},
		{"filter[_and][0][_and][0][_and][0]" + strings.Repeat("[x]", 100) + "=1", ""},
		{"filter[role][_null]=maybe", `Invalid query. "filter" role._null: want true or false, got a string.`},
	} {
		t.Run(tc.q[:min(len(tc.q), 60)], func(t *testing.T) {
			wantError(t, lf.admin("GET", "/users?"+tc.q, ""), http.StatusBadRequest, "INVALID_QUERY", tc.msg)
		})
	}
	assert.Equal(t, before, lf.snapshot())
}

// Huge and odd paging values are judged, not trusted: the largest ones
// answer an empty page, not an error or an overflow.
func TestListUsersPagingBounds(t *testing.T) {
	t.Parallel()
	for _, kind := range listStores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testListUsersPagingBounds(t, newListFixture(t, kind))
		})
	}
}

func testListUsersPagingBounds(t *testing.T, lf *listFixture) {
	assert.Equal(t, []string{}, lf.list("?limit=2147483647&page=2147483647"))
	assert.Equal(t, []string{}, lf.list("?offset=2147483647"))
	assert.Len(t, lf.list("?limit=2147483647"), 7)
	assert.Len(t, lf.list(fmt.Sprintf("?limit=%d", 1<<31-1)), 7)
}

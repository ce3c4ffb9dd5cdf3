package users_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// queryCountingStore counts the queries that reach the Store.
type queryCountingStore struct {
	store.Store
	queries int
}

func (s *queryCountingStore) ListUsers(ctx context.Context, q store.UserQuery) ([]*store.User, error) {
	s.queries++
	return s.Store.ListUsers(ctx, q)
}

func (s *queryCountingStore) CountUsers(ctx context.Context, q store.UserQuery) (int, error) {
	s.queries++
	return s.Store.CountUsers(ctx, q)
}

// A query the Store cannot run is refused by the Manager with a clear
// error, before it reaches the Store.
func TestListUsersRefusesBadQueries(t *testing.T) {
	t.Parallel()
	st := &queryCountingStore{Store: memstore.New()}
	e := newEnvOn(t, st)
	st.queries = 0
	deep := &store.Filter{Field: store.FieldEmail, Op: store.OpEq, Value: "a"}
	for range 33 {
		deep = &store.Filter{And: []*store.Filter{deep}}
	}
	many := make([]string, 10001)
	for i := range many {
		many[i] = "x"
	}
	for _, tc := range []struct {
		name, field, msg string
		q                store.UserQuery
	}{
		{"negative limit", "limit", "limit: must not be negative", store.UserQuery{Limit: -1}},
		{"negative offset", "offset", "offset: must not be negative", store.UserQuery{Offset: -5}},
		{"long search", "search", "search: must be at most 1024 bytes", store.UserQuery{Search: strings.Repeat("a", 1025)}},
		{"search not UTF-8", "search", "search: must be valid UTF-8", store.UserQuery{Search: "\xff"}},
		{"sort on a hidden field", "sort", `sort[1]: unknown field "password" (sorts take id, email, first_name, last_name, status, role, created_at, updated_at)`,
			store.UserQuery{Sort: []store.Sort{{Field: store.FieldEmail}, {Field: "password"}}}},
		{"empty node", "filter", "filter: a node needs exactly one of And, Or and Field", store.UserQuery{Filter: &store.Filter{}}},
		{"group and field", "filter", "filter: a node needs exactly one of And, Or and Field",
			store.UserQuery{Filter: &store.Filter{And: []*store.Filter{}, Field: store.FieldEmail, Op: store.OpNull}}},
		{"nil child", "filter", "filter._or[0]: nil filter node", store.UserQuery{Filter: &store.Filter{Or: []*store.Filter{nil}}}},
		{"unknown field", "filter", `filter.created_at: unknown field "created_at" (filters take id, email, first_name, last_name, status, role)`,
			store.UserQuery{Filter: &store.Filter{Field: store.FieldCreatedAt, Op: store.OpNull}}},
		{"unknown operator", "filter", `filter.email: unknown operator "_regex"`,
			store.UserQuery{Filter: &store.Filter{Field: store.FieldEmail, Op: "_regex", Value: "."}}},
		{"in with Value", "filter", "filter.id: _in takes Values, not Value",
			store.UserQuery{Filter: &store.Filter{Field: store.FieldID, Op: store.OpIn, Value: "a"}}},
		{"eq with Values", "filter", "filter.id: _eq takes Value, not Values",
			store.UserQuery{Filter: &store.Filter{Field: store.FieldID, Op: store.OpEq, Values: []string{"a"}}}},
		{"null with an operand", "filter", "filter.role: _null takes no operand",
			store.UserQuery{Filter: &store.Filter{Field: store.FieldRole, Op: store.OpNull, Value: "x"}}},
		{"group with an operand", "filter", "filter: a group has no Op, Value or Values",
			store.UserQuery{Filter: &store.Filter{Or: []*store.Filter{}, Op: store.OpEq}}},
		{"too deep", "filter", "filter" + strings.Repeat("._and[0]", 32) + ": nested too deeply: more than 32 levels of _and/_or", store.UserQuery{Filter: deep}},
		{"too many values", "filter", "filter.id: filter is too large: more than 10000 nodes",
			store.UserQuery{Filter: &store.Filter{Field: store.FieldID, Op: store.OpIn, Values: many}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.m.ListUsers(e.ctx, tc.q)
			requireField(t, err, tc.field, users.ErrInvalidQuery)
			assert.Contains(t, err.Error(), tc.msg)
			_, err = e.m.CountUsers(e.ctx, tc.q)
			requireField(t, err, tc.field, users.ErrInvalidQuery)
			assert.Zero(t, st.queries, "the bad query reached the store")
		})
	}
}

// ListUsers and CountUsers hand the query to the Store: filter, search,
// sort and paging select and order the users, and the count ignores the
// page.
func TestListAndCountUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for i, n := range []struct{ email, first, last string }{
		{"zoe@example.com", "Zoë", "Ärger"},
		{"adam@other.org", "Adam", "Smith"},
		{"ZED@EXAMPLE.COM", "Zed", ""},
		{"eve@example.com", "Eve", "Smith"},
	} {
		role := &e.member.ID
		if i == 2 {
			role = nil
		}
		u, err := e.m.Create(e.ctx, users.CreateInput{Email: n.email, FirstName: n.first, LastName: n.last, Role: role})
		require.NoError(t, err)
		ids = append(ids, u.ID)
		e.clock.Advance(time.Millisecond)
	}
	list := func(q store.UserQuery) []string {
		t.Helper()
		us, err := e.m.ListUsers(e.ctx, q)
		require.NoError(t, err)
		out := []string{}
		for _, u := range us {
			out = append(out, u.ID)
		}
		n, err := e.m.CountUsers(e.ctx, q)
		require.NoError(t, err)
		if q.Limit == 0 && q.Offset == 0 {
			assert.Equal(t, len(out), n, "count of %+v", q)
		}
		return out
	}
	f := func(doc string) *store.Filter {
		t.Helper()
		uf, err := users.ParseUserFilter([]byte(doc))
		require.NoError(t, err)
		return uf
	}
	assert.Equal(t, ids, list(store.UserQuery{}), "created_at order by default")
	assert.Equal(t, []string{ids[0], ids[3]}, list(store.UserQuery{Filter: f(`{"email":{"_ends_with":"@example.com"}}`)}), "byte for byte")
	assert.Equal(t, []string{ids[0], ids[2], ids[3]}, list(store.UserQuery{Filter: f(`{"email":{"_iends_with":"@example.com"}}`)}))
	assert.Equal(t, []string{ids[2]}, list(store.UserQuery{Filter: f(`{"role":{"_null":true}}`)}))
	assert.Equal(t, []string{ids[0], ids[1], ids[3]}, list(store.UserQuery{Filter: f(`{"role":{"_null":"false"}}`)}))
	assert.Equal(t, []string{ids[2]}, list(store.UserQuery{Filter: f(`{"last_name":{"_empty":true}}`)}))
	assert.Equal(t, []string{ids[1], ids[3]}, list(store.UserQuery{Search: "SMITH"}))
	assert.Equal(t, []string{ids[0]}, list(store.UserQuery{Search: "ärg"}), "case-insensitive beyond ASCII")
	assert.Equal(t, []string{}, list(store.UserQuery{Search: "%"}), "% is a literal")
	assert.Equal(t, []string{}, list(store.UserQuery{Search: "_"}), "_ is a literal")
	assert.Equal(t, []string{ids[3], ids[1]}, list(store.UserQuery{
		Filter: f(`{"_or":[{"last_name":{"_eq":"Smith"}},{"email":{"_contains":"%"}}]}`),
		Sort:   []store.Sort{{Field: store.FieldFirstName, Desc: true}},
	}))
	bySort := list(store.UserQuery{Sort: []store.Sort{{Field: store.FieldLastName}, {Field: store.FieldEmail, Desc: true}}})
	// An empty last name first; then Smith, email descending; Ärger sorts
	// by its bytes, after ASCII.
	assert.Equal(t, []string{ids[2], ids[3], ids[1], ids[0]}, bySort)
	assert.Equal(t, ids[1:3], list(store.UserQuery{Limit: 2, Offset: 1}))
	n, err := e.m.CountUsers(e.ctx, store.UserQuery{Limit: 1, Offset: 3, Sort: []store.Sort{{Field: store.FieldEmail}}})
	require.NoError(t, err)
	assert.Equal(t, 4, n, "the count ignores sort and page")
	n, err = e.m.CountUsers(e.ctx, store.UserQuery{Filter: f(`{"id":{"_in":` + fmt.Sprintf("%q", ids[0]+","+ids[1]+",nope") + `}}`)})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

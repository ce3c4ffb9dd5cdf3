package users_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// roleIDs returns the ids of roles, in order.
func roleIDs(rs []*users.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// TestFindRoles: FindRoles and CountRoles run Directus's query over the
// roles: a filter read by the one parser, search, sort and a page.
func TestFindRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // Member (member), Admin (admin), random ids
	for _, r := range []users.Role{
		{ID: "editors", Name: "Editors", Description: "Edit articles"},
		{ID: "authors", Name: "Authors", Description: "Write ARTICLES"},
		{ID: "guests", Name: "guests"},
	} {
		_, err := e.m.CreateRole(e.ctx, r)
		require.NoError(t, err)
	}
	member, admin := e.member.ID, e.admin.ID
	find := func(filter string, q users.RoleQuery) []string {
		t.Helper()
		if filter != "" {
			q.Filter = []byte(filter)
		}
		rs, err := e.m.FindRoles(e.ctx, q)
		require.NoError(t, err)
		n, err := e.m.CountRoles(e.ctx, users.RoleQuery{Filter: q.Filter, Search: q.Search})
		require.NoError(t, err)
		if q.Limit == 0 && q.Offset == 0 {
			assert.Equal(t, len(rs), n, "CountRoles agrees with FindRoles")
		}
		return roleIDs(rs)
	}
	// Default order: name (bytes: upper case first), then id.
	assert.Equal(t, []string{admin, "authors", "editors", member, "guests"}, find("", users.RoleQuery{}))
	assert.Equal(t, []string{"editors"}, find(`{"name":{"_eq":"Editors"}}`, users.RoleQuery{}))
	assert.Equal(t, []string{"editors"}, find(`{"name":"Editors"}`, users.RoleQuery{}))
	assert.Empty(t, find(`{"name":{"_eq":"editors"}}`, users.RoleQuery{}), "_eq compares bytes")
	assert.Equal(t, []string{"authors", "editors"}, find(`{"description":{"_icontains":"article"}}`, users.RoleQuery{}))
	assert.Equal(t, []string{"editors"}, find(`{"description":{"_contains":"article"}}`, users.RoleQuery{}))
	// A role without a description fails the positive operators and
	// passes the negative ones.
	assert.Equal(t, []string{admin, member, "guests"}, find(`{"description":{"_null":true}}`, users.RoleQuery{}))
	assert.Equal(t, []string{admin, "authors", member, "guests"}, find(`{"description":{"_ncontains":"Edit"}}`, users.RoleQuery{}))
	assert.Equal(t, []string{"authors", "guests"}, find(`{"id":{"_in":["guests","authors","nobody"]}}`, users.RoleQuery{}))
	assert.Equal(t, []string{"authors", "editors", "guests"}, find(`{"id":{"_in":"guests, authors,editors"}}`, users.RoleQuery{}))
	assert.Empty(t, find(`{"id":{"_in":[]}}`, users.RoleQuery{}))
	assert.Equal(t, []string{"editors", "guests"}, find(`{"_or":[{"name":{"_starts_with":"E"}},{"name":{"_iends_with":"STS"}}]}`, users.RoleQuery{}))
	assert.Equal(t, []string{"authors"}, find(`{"_and":[{"name":{"_nstarts_with":"E"}},{"description":{"_niends_with":"x"}},{"description":{"_nnull":true}}]}`, users.RoleQuery{}))
	assert.Equal(t, []string{member}, find(`{"id":{"_eq":`+jsonQuote(member)+`}}`, users.RoleQuery{}))
	// Search: name or description, case-insensitively.
	assert.Equal(t, []string{"authors", "editors"}, find("", users.RoleQuery{Search: "ARTICLE"}))
	assert.Equal(t, []string{"guests"}, find("", users.RoleQuery{Search: "uest"}))
	// Sort, then a page.
	assert.Equal(t, []string{"guests", member, "editors", "authors", admin}, find("", users.RoleQuery{Sort: []string{"-name"}}))
	assert.Equal(t, []string{admin}, find("", users.RoleQuery{Sort: []string{"-admin_access", "name"}, Limit: 1}))
	assert.Equal(t, []string{"editors", "guests"}, find(`{"id":{"_in":["authors","editors","guests"]}}`, users.RoleQuery{Sort: []string{"id"}, Offset: 1}))
	assert.Equal(t, []string{"editors"}, find(`{"id":{"_in":["authors","editors","guests"]}}`, users.RoleQuery{Sort: []string{"id"}, Offset: 1, Limit: 1}))
	assert.Empty(t, find("", users.RoleQuery{Offset: 99}))
	n, err := e.m.CountRoles(e.ctx, users.RoleQuery{Search: "article", Limit: 1, Offset: 5})
	require.NoError(t, err)
	assert.Equal(t, 2, n, "CountRoles ignores the page")
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestFindRolesRefusals: every query that cannot run is a
// *ValidationError matching ErrInvalidQuery, naming its part.
func TestFindRolesRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for doc, reason := range map[string]string{
		`{"email":{"_eq":"a@example.com"}}`: `unknown field "email"`,
		`{"name":{"_gt":"a"}}`:              "_gt",
		`{"name":{"_eq":""}}`:               "empty",
		`{"role.name":{"_eq":"x"}}`:         "role.name",
		`{"name":{"_eq":"$CURRENT_USER"}}`:  "dynamic",
		`{"admin_access":{"_eq":true}}`:     `unknown field "admin_access"`,
	} {
		_, err := e.m.FindRoles(e.ctx, users.RoleQuery{Filter: []byte(doc)})
		requireField(t, err, "filter", users.ErrInvalidQuery)
		assert.Contains(t, err.Error(), reason, doc)
	}
	for field, q := range map[string]users.RoleQuery{
		"filter": {Filter: []byte(`{"name":{"_regex":"^E"}}`)},
		"limit":  {Limit: -1},
		"offset": {Offset: -1},
		"sort":   {Sort: []string{"email"}},
		"search": {Search: "a\x00"},
	} {
		_, err := e.m.FindRoles(e.ctx, q)
		requireField(t, err, field, users.ErrInvalidQuery)
		_, err = e.m.CountRoles(e.ctx, q)
		if field != "limit" && field != "offset" && field != "sort" {
			requireField(t, err, field, users.ErrInvalidQuery)
		}
	}
	_, err := e.m.FindRoles(e.ctx, users.RoleQuery{Sort: []string{"users.name"}})
	require.ErrorContains(t, err, "related collections")
}

package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gousers/users"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var created users.Role
	data(t, f.admin("POST", "/roles", `{"name":"Editors","description":"Edit things"}`), &created)
	assert.NotEmpty(t, created.ID)
	assert.Equal(t, "Editors", created.Name)
	assert.False(t, created.AdminAccess)
	var admin users.Role
	data(t, f.admin("POST", "/roles", `{"id":"admins","name":"Admins","admin_access":true}`), &admin)
	assert.Equal(t, users.Role{ID: "admins", Name: "Admins", AdminAccess: true}, admin)

	var got []users.Role
	data(t, f.admin("GET", "/roles", ""), &got)
	assert.Equal(t, []users.Role{admin, created, *f.role}, got)

	before := f.snapshot()
	for body, msg := range map[string]string{
		`{}`:                                    `Invalid payload. "name" is required.`,
		`{"name":""}`:                           `Invalid payload. "name" is required.`,
		`{"name":null}`:                         `Invalid payload. "name" must be a string.`,
		`{"name":"X","admin_access":"yes"}`:     `Invalid payload. "admin_access" must be a boolean.`,
		`{"name":"X","admin_access":null}`:      `Invalid payload. "admin_access" must be a boolean.`,
		`{"name":"X","icon":"supervised_user"}`: `Invalid payload. "icon" is not allowed.`,
	} {
		wantError(t, f.admin("POST", "/roles", body), http.StatusBadRequest, "INVALID_PAYLOAD", msg)
	}
	assert.Equal(t, before, f.snapshot())
}

// TestListRolesQuery: GET /roles takes the query parameters of GET /users
// — filter (JSON or bracketed), fields, limit, offset, page, sort, search,
// meta — over the roles' fields, as Directus's readRoles sends them.
func TestListRolesQuery(t *testing.T) {
	t.Parallel()
	f := newFixture(t) // the fixture's role: Member
	for _, body := range []string{
		`{"id":"editors","name":"Editors","description":"Edit articles"}`,
		`{"id":"authors","name":"Authors","description":"Write articles"}`,
		`{"id":"admins","name":"Admins","admin_access":true}`,
	} {
		require.Equal(t, http.StatusOK, f.admin("POST", "/roles", body).Code)
	}
	ids := func(target string) []string {
		t.Helper()
		var got []struct {
			ID string `json:"id"`
		}
		data(t, f.admin("GET", target, ""), &got)
		out := []string{}
		for _, r := range got {
			out = append(out, r.ID)
		}
		return out
	}
	member := f.role.ID
	assert.Equal(t, []string{"admins", "authors", "editors", member}, ids("/roles"))
	assert.Equal(t, []string{"editors"}, ids("/roles?filter="+url.QueryEscape(`{"name":{"_eq":"Editors"}}`)))
	assert.Equal(t, []string{"authors", "editors"}, ids("/roles?filter[description][_icontains]=ARTICLE"))
	assert.Equal(t, []string{"admins", member}, ids("/roles?filter[_or][0][name][_starts_with]=Ad&filter[_or][1][id][_eq]="+url.QueryEscape(member)))
	assert.Equal(t, []string{"authors"}, ids("/roles?search=write"))
	assert.Equal(t, []string{member, "editors", "authors", "admins"}, ids("/roles?sort=-name"))
	assert.Equal(t, []string{"admins", "authors"}, ids("/roles?sort[]=-admin_access&sort[]=name&limit=2"))
	assert.Equal(t, []string{"editors"}, ids("/roles?filter[description][_nnull]=true&sort=id&limit=1&offset=1"))
	assert.Equal(t, []string{"editors", member}, ids("/roles?sort=name&limit=2&page=2"))
	assert.Len(t, ids("/roles?limit=-1"), 4)

	// fields: only those asked, in the wire order.
	w := f.admin("GET", "/roles?fields=name,id&filter[id][_eq]=admins", "")
	assert.JSONEq(t, `{"data":[{"id":"admins","name":"Admins"}]}`, w.Body.String())
	w = f.admin("GET", "/roles?fields[]=admin_access&filter[id][_eq]=admins", "")
	assert.JSONEq(t, `{"data":[{"admin_access":true}]}`, w.Body.String())
	// meta: total_count is every role, filter_count what the filter and
	// search select; limit=0 answers only the meta.
	w = f.admin("GET", "/roles?filter[description][_nnull]=true&meta=*&limit=0", "")
	assert.JSONEq(t, `{"data":[],"meta":{"total_count":4,"filter_count":2}}`, w.Body.String())
	w = f.admin("GET", "/roles?search=article&meta=filter_count&fields=id&sort=id", "")
	assert.JSONEq(t, `{"data":[{"id":"authors"},{"id":"editors"}],"meta":{"filter_count":2}}`, w.Body.String())

	before := f.snapshot()
	for target, msg := range map[string]string{
		"/roles?filter=" + url.QueryEscape(`{"email":{"_eq":"a"}}`): `Invalid query. "filter" unknown field "email" (filters take id, name, description, _and and _or).`,
		"/roles?filter[name][_gt]=a":                                "",
		"/roles?filter[name][_regex]=^E":                            `Invalid query. "filter" operator _regex is not supported when listing roles.`,
		"/roles?sort=email":                                         "",
		"/roles?fields=users":                                       `Invalid query. fields: unknown field "users" (roles have id, name, description, admin_access).`,
		"/roles?fields=users.email":                                 "",
		"/roles?limit=x":                                            "",
		"/roles?meta=count":                                         "",
		"/roles?deep=1":                                             `Invalid query. unknown query parameter "deep".`,
		"/roles?search=a&search=b":                                  "",
	} {
		wantError(t, f.admin("GET", target, ""), http.StatusBadRequest, "INVALID_QUERY", msg)
	}
	assert.Equal(t, before, f.snapshot())
	// Not for everybody.
	wantError(t, f.do("GET", "/roles?filter[name][_eq]=Admins", ""), http.StatusForbidden, "FORBIDDEN", "")
}

package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
)

// adminRoutes are every admin route with a body that would succeed.
func adminRoutes(f *fixture, userID string) []struct{ method, target, body string } {
	role := jsonString(f.role.ID)
	return []struct{ method, target, body string }{
		{"POST", "/users/invite", `{"email":"new@example.com","role":` + role + `}`},
		{"POST", "/users", `{"email":"new@example.com","password":"pw"}`},
		{"GET", "/users", ""},
		{"GET", "/users/" + userID, ""},
		{"PATCH", "/users/" + userID, `{"role":null}`},
		{"PATCH", "/users", `{"keys":[` + jsonString(userID) + `],"data":{"status":"suspended"}}`},
		{"GET", "/roles", ""},
		{"POST", "/roles", `{"name":"Editors"}`},
		{"GET", "/settings", ""},
		{"PATCH", "/settings", `{"public_registration":true}`},
		// VICTIM: a user made for the request where it must succeed.
		{"DELETE", "/users/VICTIM", ""},
		{"DELETE", "/users", `["VICTIM"]`},
	}
}

func TestAdminRoutesRefuseWithoutAuthorization(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.create(users.CreateInput{Email: "ada@example.com", Password: password, Role: &f.role.ID})
	before := f.snapshot()
	deny := map[string]func(*http.Request){
		"no credentials":       func(*http.Request) {},
		"wrong bearer":         func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+adminToken+"x") },
		"prefix of the token":  func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+adminToken[:5]) },
		"empty bearer":         func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") },
		"basic scheme":         func(r *http.Request) { r.Header.Set("Authorization", "Basic "+adminToken) },
		"token without scheme": func(r *http.Request) { r.Header.Set("Authorization", adminToken) },
		"wrong access_token": func(r *http.Request) {
			r.URL.RawQuery = url.Values{"access_token": {"nope"}}.Encode()
		},
		"bad header wins over good query": func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer nope")
			r.URL.RawQuery = url.Values{"access_token": {adminToken}}.Encode()
		},
	}
	for _, rt := range adminRoutes(f, u.ID) {
		for name, set := range deny {
			t.Run(rt.method+" "+rt.target+"/"+name, func(t *testing.T) {
				r := request(rt.method, rt.target, rt.body)
				set(r)
				wantError(t, f.serve(r), http.StatusForbidden, "FORBIDDEN", "You don't have permission to access this.")
			})
		}
		// Authorization comes before the body is even read.
		t.Run(rt.method+" "+rt.target+"/bad body", func(t *testing.T) {
			r := request(rt.method, rt.target, `{"bad json`)
			wantError(t, f.serve(r), http.StatusForbidden, "FORBIDDEN", "")
		})
	}
	assert.Equal(t, before, f.snapshot(), "a refused request changed the store")
	assert.Empty(t, f.mail.Messages())
}

func TestAdminRoutesRefuseByDefault(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, fixtureConfig{noAuth: true})
	u := f.create(users.CreateInput{Email: "ada@example.com"})
	before := f.snapshot()
	for _, rt := range adminRoutes(f, u.ID) {
		// Not even the token the other fixtures accept.
		r := request(rt.method, rt.target, rt.body)
		r.Header.Set("Authorization", "Bearer "+adminToken)
		wantError(t, f.serve(r), http.StatusForbidden, "FORBIDDEN", "You don't have permission to access this.")
	}
	assert.Equal(t, before, f.snapshot())
}

func TestAdminRoutesAcceptTheToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.create(users.CreateInput{Email: "ada@example.com"})
	for i, rt := range adminRoutes(f, u.ID) {
		if strings.Contains(rt.target+rt.body, "VICTIM") {
			victim := f.create(users.CreateInput{Email: fmt.Sprintf("victim%d@example.com", i)})
			rt.target, rt.body = strings.ReplaceAll(rt.target, "VICTIM", victim.ID), strings.ReplaceAll(rt.body, "VICTIM", victim.ID)
		}
		w := f.admin(rt.method, strings.Replace(rt.target, "new@", fmt.Sprintf("new%d@", i), 1), strings.Replace(rt.body, "new@", fmt.Sprintf("new%d@", i), 1))
		assert.Contains(t, []int{200, 204}, w.Code, "%s %s: %s", rt.method, rt.target, w.Body.String())
	}
	// The access_token query parameter, as Directus accepts it.
	w := f.serve(request("GET", "/roles?access_token="+url.QueryEscape(adminToken), ""))
	assert.Equal(t, http.StatusOK, w.Code)
	// A lower-case scheme.
	r := request("GET", "/roles", "")
	r.Header.Set("Authorization", "bearer "+adminToken)
	assert.Equal(t, http.StatusOK, f.serve(r).Code)
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pol, err := f.m.CreatePolicy(f.ctx, users.Policy{Name: "Editors"})
	require.NoError(t, err)

	var got wireUser
	body := fmt.Sprintf(`{"email":"Ada@Example.com","password":%s,"first_name":"Ada","last_name":"Lovelace","role":%s,"policies":[%s],"metadata":{"team":"math"}}`,
		jsonString(password), jsonString(f.role.ID), jsonString(pol.ID))
	w := f.admin("POST", "/users", body)
	data(t, w, &got)
	assert.NotEmpty(t, got.ID)
	assert.Equal(t, "Ada@Example.com", *got.Email)
	require.NotNil(t, got.Password)
	assert.Equal(t, "**********", *got.Password)
	assert.Equal(t, "Ada", *got.FirstName)
	assert.Equal(t, "Lovelace", *got.LastName)
	assert.Equal(t, "active", got.Status)
	assert.Equal(t, &f.role.ID, got.Role)
	assert.Equal(t, []string{pol.ID}, got.Policies)
	assert.Equal(t, map[string]any{"team": "math"}, got.Metadata)
	assert.Equal(t, f.clock.Now(), got.CreatedAt)

	// The exact set of keys.
	var raw map[string]map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &raw))
	keys := make([]string, 0)
	for k := range raw["data"] {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"id", "email", "password", "first_name", "last_name", "status", "role", "policies", "metadata", "created_at", "updated_at"}, keys)

	// The created user logs in.
	var tk tokens
	data(t, f.do("POST", "/auth/login", registerBody("ada@example.com", password)), &tk)
	var in wireUser
	data(t, f.withBearer(request("GET", "/users/me", ""), tk.AccessToken), &in)
	assert.Equal(t, got.ID, in.ID)

	// No password, no email: nulls.
	var bare wireUser
	data(t, f.admin("POST", "/users", `{"status":"draft"}`), &bare)
	assert.Nil(t, bare.Password)
	assert.Nil(t, bare.Email)
	assert.Nil(t, bare.FirstName)
	assert.Nil(t, bare.Role)
	assert.Equal(t, []string{}, bare.Policies)
	assert.Equal(t, "draft", bare.Status)
	// null is "none" for the nullable fields.
	var nulls wireUser
	data(t, f.admin("POST", "/users", `{"email":null,"password":null,"first_name":null,"role":null,"metadata":null}`), &nulls)
	assert.Nil(t, nulls.Password)
	assert.Nil(t, nulls.Role)

	before := f.snapshot()
	cases := []struct {
		name, body string
		code, msg  string
	}{
		{"duplicate, other case", `{"email":"ADA@example.COM"}`, "RECORD_NOT_UNIQUE", `Value for field "email" in collection "directus_users" has to be unique.`},
		{"malformed email", `{"email":"not an email"}`, "FAILED_VALIDATION", ""},
		{"unknown role", `{"email":"b@example.com","role":"nope"}`, "INVALID_PAYLOAD", `Invalid payload. "role" names no role.`},
		{"unknown policy", `{"email":"b@example.com","policies":["nope"]}`, "INVALID_PAYLOAD", `Invalid payload. "policies" names no policy.`},
		{"bad status", `{"status":"boss"}`, "INVALID_PAYLOAD", ""},
		{"status null", `{"status":null}`, "INVALID_PAYLOAD", `Invalid payload. "status" must be a string.`},
		{"policies null", `{"policies":null}`, "INVALID_PAYLOAD", `Invalid payload. "policies" must be an array of strings.`},
		{"policies string", `{"policies":"p"}`, "INVALID_PAYLOAD", `Invalid payload. "policies" must be an array of strings.`},
		{"email number", `{"email":1}`, "INVALID_PAYLOAD", `Invalid payload. "email" must be a string or null.`},
		{"metadata array", `{"metadata":[1]}`, "INVALID_PAYLOAD", `Invalid payload. "metadata" must be an object or null.`},
		{"id not allowed", `{"id":"x"}`, "INVALID_PAYLOAD", `Invalid payload. "id" is not allowed.`},
		{"CRLF in email", `{"email":"b@example.com\r\nBcc: c@example.com"}`, "INVALID_PAYLOAD", `Invalid payload. "email" must not contain control characters.`},
		{"array body", `[{"email":"b@example.com"}]`, "INVALID_PAYLOAD", "Invalid payload. Request body must be a JSON object."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, f.admin("POST", "/users", c.body), http.StatusBadRequest, c.code, c.msg)
		})
	}
	assert.Equal(t, before, f.snapshot())
}

func TestCreateUserPasswordPolicyIsNotEchoed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	policy, err := users.ParsePasswordPolicy(users.PasswordPolicyMinLength)
	require.NoError(t, err)
	f.settings(func(s *users.Settings) { s.PasswordPolicy = policy })
	w := f.admin("POST", "/users", `{"email":"a@example.com","password":"shrt7"}`)
	wantError(t, w, http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "password" doesn't match the password policy: at least 8 characters.`)
	assert.NotContains(t, w.Body.String(), "{8,}", "the policy's description, not its expression")
	assert.NotContains(t, w.Body.String(), "shrt7")
}

func TestGetUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.create(users.CreateInput{Email: "ada@example.com", Password: password, Role: &f.role.ID})
	var got wireUser
	data(t, f.admin("GET", "/users/"+u.ID, ""), &got)
	assert.Equal(t, u.ID, got.ID)
	assert.Equal(t, "**********", *got.Password)
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", "%00", "x%0Ay", strings.Repeat("a", 300)} {
		wantError(t, f.admin("GET", "/users/"+id, ""), http.StatusForbidden, "FORBIDDEN", "You don't have permission to access this.")
	}
	// /users/me is the caller's own user: the static token is nobody.
	wantError(t, f.admin("GET", "/users/me", ""), http.StatusUnauthorized, "INVALID_CREDENTIALS", "Invalid user credentials.")
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.create(users.CreateInput{Email: "ada@example.com", FirstName: "Ada", Role: &f.role.ID, Metadata: map[string]any{"a": 1.0}})
	f.create(users.CreateInput{Email: "taken@example.com"})
	target := "/users/" + u.ID

	var got wireUser
	data(t, f.admin("PATCH", target, `{"last_name":"Lovelace","password":`+jsonString(password)+`}`), &got)
	assert.Equal(t, "Ada", *got.FirstName)
	assert.Equal(t, "Lovelace", *got.LastName)
	assert.Equal(t, "**********", *got.Password)
	assert.Equal(t, &f.role.ID, got.Role)
	assert.Equal(t, map[string]any{"a": 1.0}, got.Metadata)

	// "role": null removes the role; null clears the names and the password.
	data(t, f.admin("PATCH", target, `{"role":null,"first_name":null,"password":null,"metadata":null}`), &got)
	assert.Nil(t, got.Role)
	assert.Nil(t, got.FirstName)
	assert.Nil(t, got.Password)
	assert.Nil(t, got.Metadata)
	rec := f.user("ada@example.com")
	assert.Nil(t, rec.Role)
	assert.Empty(t, rec.PasswordHash)

	data(t, f.admin("PATCH", target, `{"role":`+jsonString(f.role.ID)+`,"status":"suspended","email":"ADA2@example.com"}`), &got)
	assert.Equal(t, &f.role.ID, got.Role)
	assert.Equal(t, "suspended", got.Status)
	assert.Equal(t, "ADA2@example.com", *got.Email)

	// An empty patch changes nothing but answers the user.
	data(t, f.admin("PATCH", target, `{}`), &got)
	assert.Equal(t, u.ID, got.ID)

	before := f.snapshot()
	wantError(t, f.admin("PATCH", "/users/nope", `{"first_name":"x"}`), http.StatusForbidden, "FORBIDDEN", "")
	wantError(t, f.admin("PATCH", target, `{"email":"Taken@example.com"}`), http.StatusBadRequest, "RECORD_NOT_UNIQUE", "")
	wantError(t, f.admin("PATCH", target, `{"email":"bad"}`), http.StatusBadRequest, "FAILED_VALIDATION", "")
	wantError(t, f.admin("PATCH", target, `{"role":"nope"}`), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "role" names no role.`)
	wantError(t, f.admin("PATCH", target, `{"role":5}`), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "role" must be a string or null.`)
	wantError(t, f.admin("PATCH", target, `{"status":"boss"}`), http.StatusBadRequest, "INVALID_PAYLOAD", "")
	wantError(t, f.admin("PATCH", target, `{"tfa_secret":"x"}`), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "tfa_secret" is not allowed.`)
	wantError(t, f.admin("PATCH", target, `{"first_name":"x"} {}`), http.StatusBadRequest, "INVALID_PAYLOAD", "")
	assert.Equal(t, before, f.snapshot())
}

func TestUpdateUsersInBulk(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.create(users.CreateInput{Email: "a@example.com"})
	b := f.create(users.CreateInput{Email: "b@example.com", Role: &f.role.ID})
	c := f.create(users.CreateInput{Email: "c@example.com", Role: &f.role.ID})
	keys := fmt.Sprintf(`[%s,%s]`, jsonString(a.ID), jsonString(b.ID))

	var got []wireUser
	data(t, f.admin("PATCH", "/users", `{"keys":`+keys+`,"data":{"role":`+jsonString(f.role.ID)+`,"status":"suspended"}}`), &got)
	require.Len(t, got, 2)
	for _, u := range got {
		assert.Equal(t, &f.role.ID, u.Role)
		assert.Equal(t, "suspended", u.Status)
	}
	// "role": null removes the role of every key.
	data(t, f.admin("PATCH", "/users", `{"keys":`+keys+`,"data":{"role":null}}`), &got)
	require.Len(t, got, 2)
	for _, u := range got {
		assert.Nil(t, u.Role)
	}
	assert.Nil(t, f.user("b@example.com").Role)
	assert.Equal(t, &f.role.ID, f.user("c@example.com").Role, "a user not in keys is untouched")

	before := f.snapshot()
	cases := []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"unknown key: all or none", `{"keys":[` + jsonString(c.ID) + `,"nope"],"data":{"role":null}}`, 403, "FORBIDDEN", ""},
		{"email in bulk", `{"keys":` + keys + `,"data":{"email":"x@example.com"}}`, 400, "INVALID_PAYLOAD", `Invalid payload. "email" cannot be set for many users at once.`},
		{"password in bulk", `{"keys":` + keys + `,"data":{"password":"x"}}`, 400, "INVALID_PAYLOAD", `Invalid payload. "password" cannot be set for many users at once.`},
		{"no keys", `{"keys":[],"data":{"role":null}}`, 400, "INVALID_PAYLOAD", `Invalid payload. "keys" is required.`},
		{"missing keys", `{"data":{"role":null}}`, 400, "INVALID_PAYLOAD", `Invalid payload. "keys" is required.`},
		{"missing data", `{"keys":` + keys + `}`, 400, "INVALID_PAYLOAD", `Invalid payload. "data" is required.`},
		{"data not an object", `{"keys":` + keys + `,"data":[]}`, 400, "INVALID_PAYLOAD", `Invalid payload. "data" must be an object.`},
		{"keys not strings", `{"keys":[1],"data":{}}`, 400, "INVALID_PAYLOAD", `Invalid payload. "keys" must be an array of strings.`},
		{"query form", `{"query":{},"data":{}}`, 400, "INVALID_PAYLOAD", `Invalid payload. "query" is not allowed.`},
		{"unknown data field", `{"keys":` + keys + `,"data":{"admin":true}}`, 400, "INVALID_PAYLOAD", `Invalid payload. "admin" is not allowed.`},
		{"duplicate in data", `{"keys":` + keys + `,"data":{"role":null,"role":"x"}}`, 400, "INVALID_PAYLOAD", `Invalid payload. "role" must not be given more than once.`},
		{"unknown role", `{"keys":` + keys + `,"data":{"role":"nope"}}`, 400, "INVALID_PAYLOAD", `Invalid payload. "role" names no role.`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, f.admin("PATCH", "/users", tc.body), tc.status, tc.code, tc.msg)
		})
	}
	assert.Equal(t, before, f.snapshot())
}

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

func TestSettings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin, err := f.m.CreateRole(f.ctx, users.Role{Name: "Admins", AdminAccess: true})
	require.NoError(t, err)

	w := f.admin("GET", "/settings", "")
	assert.JSONEq(t, `{"data":{"public_registration":false,"public_registration_verify_email":true,"public_registration_role":null,"public_registration_email_filter":null,"auth_password_policy":null,"project_name":""}}`, w.Body.String())

	filter := `{"_and":[{"email":{"_ends_with":"@example.com"}},{"email":{"_nstarts_with":"test"}}]}`
	body := fmt.Sprintf(`{"public_registration":true,"public_registration_role":%s,"public_registration_email_filter":%s,"auth_password_policy":%s,"project_name":"Zoë's Café"}`,
		jsonString(f.role.ID), filter, jsonString(users.PasswordPolicyStrong))
	w = f.admin("PATCH", "/settings", body)
	want := fmt.Sprintf(`{"data":{"public_registration":true,"public_registration_verify_email":true,"public_registration_role":%s,"public_registration_email_filter":%s,"auth_password_policy":%s,"project_name":"Zoë's Café"}}`,
		jsonString(f.role.ID), filter, jsonString(users.PasswordPolicyStrong))
	assert.JSONEq(t, want, w.Body.String())
	assert.JSONEq(t, want, f.admin("GET", "/settings", "").Body.String())
	s, err := f.m.Settings(f.ctx)
	require.NoError(t, err)
	assert.True(t, s.PublicRegistration)
	assert.False(t, s.PublicRegistrationEmailFilter.Match("test@example.com"))

	// Only the fields given change.
	w = f.admin("PATCH", "/settings", `{"public_registration_verify_email":false}`)
	assert.Contains(t, w.Body.String(), `"public_registration":true`)
	assert.Contains(t, w.Body.String(), `"public_registration_verify_email":false`)

	before := f.snapshot()
	cases := []struct{ name, body, msg string }{
		{"admin role", `{"public_registration_role":` + jsonString(admin.ID) + `}`, `Invalid payload. "public_registration_role" must not have admin access.`},
		{"unknown role", `{"public_registration_role":"nope"}`, `Invalid payload. "public_registration_role" names no role.`},
		{"bad filter operator", `{"public_registration_email_filter":{"email":{"_like":"x"}}}`, ""},
		{"empty filter condition", `{"public_registration_email_filter":{"email":{}}}`, ""},
		{"filter on another field", `{"public_registration_email_filter":{"role":{"_eq":"x"}}}`, ""},
		{"filter as a string", `{"public_registration_email_filter":"{}"}`, ""},
		{"bad policy", `{"auth_password_policy":"/(/"}`, ""},
		{"policy number", `{"auth_password_policy":8}`, `Invalid payload. "auth_password_policy" must be a string or null.`},
		{"bool as string", `{"public_registration":"true"}`, `Invalid payload. "public_registration" must be a boolean.`},
		{"bool null", `{"public_registration":null}`, `Invalid payload. "public_registration" must be a boolean.`},
		{"unknown field", `{"project_color":"#6644FF"}`, `Invalid payload. "project_color" is not allowed.`},
		{"unknown field after a good one", `{"public_registration":false,"project_color":"#6644FF"}`, `Invalid payload. "project_color" is not allowed.`},
		{"project name with a line break", `{"project_name":"Acme\r\nBcc: x@evil.example"}`, ""},
		{"project name with a bidi override", `{"project_name":"Acme \u202egnp.exe"}`, ""},
		{"project name with a zero-width space", `{"project_name":"Ac\u200bme"}`, ""},
		{"project name too long", `{"project_name":"` + strings.Repeat("é", 101) + `"}`, `Invalid payload. "project_name" must be at most 100 characters.`},
		{"project name number", `{"project_name":7}`, `Invalid payload. "project_name" must be a string or null.`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, f.admin("PATCH", "/settings", c.body), http.StatusBadRequest, "INVALID_PAYLOAD", c.msg)
		})
	}
	assert.Equal(t, before, f.snapshot())

	// null clears.
	w = f.admin("PATCH", "/settings", `{"public_registration_role":null,"public_registration_email_filter":null,"auth_password_policy":null,"project_name":null}`)
	assert.JSONEq(t, `{"data":{"public_registration":true,"public_registration_verify_email":false,"public_registration_role":null,"public_registration_email_filter":null,"auth_password_policy":null,"project_name":""}}`, w.Body.String())
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, rt := range []struct{ method, target string }{
		{"GET", "/"}, {"GET", "/nope"}, {"DELETE", "/roles/x"}, {"PUT", "/users"},
		{"POST", "/settings"}, {"GET", "/auth/login"}, {"DELETE", "/roles"}, {"GET", "/users/x/y"},
		// The flows' paths are not user ids, for an administrator or not.
		{"GET", "/users/register"}, {"PATCH", "/users/register"}, {"DELETE", "/users/register"},
		{"GET", "/users/invite"}, {"PATCH", "/users/invite"}, {"HEAD", "/users/register"},
	} {
		for _, admin := range []bool{true, false} {
			r := request(rt.method, rt.target, "")
			if admin {
				r.Header.Set("Authorization", "Bearer "+adminToken)
			}
			w := f.serve(r)
			if rt.method == "HEAD" {
				assert.Equal(t, http.StatusNotFound, w.Code)
				continue
			}
			wantError(t, w, http.StatusNotFound, "ROUTE_NOT_FOUND", "Route "+rt.target+" doesn't exist.")
		}
	}
	// An unknown route's path is echoed cut to 64 characters.
	long := "/" + strings.Repeat("x", 10000)
	w := f.serve(request("GET", long, ""))
	wantError(t, w, http.StatusNotFound, "ROUTE_NOT_FOUND", "Route "+long[:64]+"… doesn't exist.")
	assert.Less(t, w.Body.Len(), 300)
}

func TestNewPanicsOnProgrammingErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	assert.Panics(t, func() { httpapi.New(nil) })
	for _, u := range []string{"javascript:alert(1)", "//evil.example/x", "https://user@evil.example/", "relative/path", "https://a.example/\r\nX: y", `/\evil.example`} {
		assert.Panics(t, func() { httpapi.New(f.m, httpapi.WithVerifyRedirect(u)) }, u)
	}
	assert.Panics(t, func() { httpapi.New(f.m, httpapi.WithTrustedProxies(netip.Prefix{})) })
	assert.NotPanics(t, func() { httpapi.New(f.m, httpapi.WithTrustedProxies(netip.MustParsePrefix("10.1.2.3/8"))) })
	for _, u := range []string{"/login", "https://app.example.com/login?verified=1"} {
		assert.NotPanics(t, func() { httpapi.New(f.m, httpapi.WithVerifyRedirect(u)) }, u)
	}
}

func TestOptionZeroValuesKeepTheDefaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(false)
	h := httpapi.New(f.m, httpapi.WithAuthorizer(nil), httpapi.WithMaxBodyBytes(0), httpapi.WithMaxBodyBytes(-1), httpapi.WithLogger(nil), httpapi.WithRateLimiter(nil))

	r := request("GET", "/roles", "")
	r.Header.Set("Authorization", "Bearer "+adminToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	wantError(t, w, http.StatusForbidden, "FORBIDDEN", "") // no authorizer: nobody is an admin

	body := registerBody("a@example.com", password)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, request("POST", "/users/register", body+strings.Repeat(" ", 1<<20-len(body))))
	assert.Equal(t, http.StatusNoContent, w.Code, "1 MiB is read")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, request("POST", "/users/register", body+strings.Repeat(" ", 1<<20)))
	wantError(t, w, http.StatusBadRequest, "INVALID_PAYLOAD", "Invalid payload. Request body must be at most 1048576 bytes.")
}

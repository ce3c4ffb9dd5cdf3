package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
)

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
	assert.ElementsMatch(t, []string{"id", "email", "password", "tfa_secret", "first_name", "last_name", "status", "role", "policies", "metadata", "created_at", "updated_at", "last_access"}, keys)

	// The created user logs in.
	tk := f.login("ada@example.com", password)
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
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, f.admin("POST", "/users", c.body), http.StatusBadRequest, c.code, c.msg)
		})
	}
	assert.Equal(t, before, f.snapshot())
}

// TestFailedValidationShape: a malformed email answers Directus's
// FAILED_VALIDATION, naming the field and the rule in the extensions; a
// duplicate answers RECORD_NOT_UNIQUE naming the collection and the field.
func TestFailedValidationShape(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.create(users.CreateUserInput{Email: "taken@example.com"})
	for _, email := range []string{"not an email", "a@b", "a@@example.com", strings.Repeat("a", 65) + "@example.com"} {
		wantFailed(t, f.admin("POST", "/users", `{"email":`+jsonString(email)+`}`), "email", "email",
			`Validation failed for field "email". Value has to be a valid email address.`)
	}
	w := f.admin("POST", "/users", `{"email":"TAKEN@example.com"}`)
	wantError(t, w, http.StatusBadRequest, "RECORD_NOT_UNIQUE", `Value for field "email" in collection "directus_users" has to be unique.`)
	assert.Equal(t, map[string]any{"code": "RECORD_NOT_UNIQUE", "collection": "directus_users", "field": "email"}, extensions(t, w))
}

// TestCreateUsersBatch: POST /users with an array creates every user or
// none, as Directus's createMany: the emails are checked for shape, then
// for uniqueness within the batch and against the stored users, and the
// answer is the users created, in order, with the fields asked.
func TestCreateUsersBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.create(users.CreateUserInput{Email: "taken@example.com"})
	body := `[{"email":"ada@example.com","password":` + jsonString(password) + `,"first_name":"Ada","role":` + jsonString(f.role.ID) + `},` +
		`{"email":"grace@example.com","status":"draft"},{"first_name":"Nobody"}]`
	var got []wireUser
	data(t, f.admin("POST", "/users", body), &got)
	require.Len(t, got, 3)
	assert.Equal(t, "ada@example.com", *got[0].Email)
	assert.Equal(t, "**********", *got[0].Password)
	assert.Equal(t, &f.role.ID, got[0].Role)
	assert.Equal(t, "draft", got[1].Status)
	assert.Nil(t, got[2].Email)
	assert.Equal(t, "Nobody", *got[2].FirstName)
	f.login("ada@example.com", password)

	// fields applies to each user.
	w := f.admin("POST", "/users?fields=email", `[{"email":"b1@example.com"},{"email":"b2@example.com"}]`)
	assert.JSONEq(t, `{"data":[{"email":"b1@example.com"},{"email":"b2@example.com"}]}`, w.Body.String())
	// An empty array creates none.
	assert.JSONEq(t, `{"data":[]}`, f.admin("POST", "/users", `[]`).Body.String())

	before := f.snapshot()
	for _, c := range []struct {
		name, body, code, msg string
	}{
		{"duplicate in the batch", `[{"email":"c1@example.com"},{"email":"C1@Example.com"}]`, "RECORD_NOT_UNIQUE", `Value for field "email" in collection "directus_users" has to be unique.`},
		{"duplicate of a stored user", `[{"email":"c1@example.com"},{"email":"Taken@example.com"}]`, "RECORD_NOT_UNIQUE", `Value for field "email" in collection "directus_users" has to be unique.`},
		{"malformed email", `[{"email":"c1@example.com"},{"email":"c1@example.com"},{"email":"nope"}]`, "FAILED_VALIDATION", `Validation failed for field "email". Value has to be a valid email address.`},
		{"unknown role", `[{"email":"c1@example.com"},{"email":"c2@example.com","role":"nope"}]`, "INVALID_PAYLOAD", `Invalid payload. "role" names no role.`},
		{"field not allowed", `[{"email":"c1@example.com"},{"email":"c2@example.com","id":"x"}]`, "INVALID_PAYLOAD", `Invalid payload. "id" is not allowed.`},
		{"item not an object", `[{"email":"c1@example.com"},"c2@example.com"]`, "INVALID_PAYLOAD", "Invalid payload. Item 1 of the array must be a JSON object."},
		{"item with a duplicate key", `[{"email":"c1@example.com","email":"c2@example.com"}]`, "INVALID_PAYLOAD", `Invalid payload. "email" must not be given more than once.`},
		{"malformed JSON", `[{"email":"c1@example.com"},`, "INVALID_PAYLOAD", "Invalid payload. Malformed JSON."},
		{"too many", "[" + strings.TrimSuffix(strings.Repeat(`{},`, users.MaxCreateUsers+1), ",") + "]", "INVALID_PAYLOAD", "Invalid payload. At most 1000 users can be created at once."},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, f.admin("POST", "/users", c.body), http.StatusBadRequest, c.code, c.msg)
		})
	}
	assert.Equal(t, before, f.snapshot(), "a refused batch creates none")
	wantError(t, f.do("POST", "/users", `[{"email":"d@example.com"}]`), http.StatusForbidden, "FORBIDDEN", "")
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
	u := f.create(users.CreateUserInput{Email: "ada@example.com", Password: password, Role: &f.role.ID})
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
	u := f.create(users.CreateUserInput{Email: "ada@example.com", FirstName: "Ada", Role: &f.role.ID, Metadata: map[string]any{"a": 1.0}})
	f.create(users.CreateUserInput{Email: "taken@example.com"})
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
	wantFailed(t, f.admin("PATCH", target, `{"email":"bad"}`), "email", "email", `Validation failed for field "email". Value has to be a valid email address.`)
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
	a := f.create(users.CreateUserInput{Email: "a@example.com"})
	b := f.create(users.CreateUserInput{Email: "b@example.com", Role: &f.role.ID})
	c := f.create(users.CreateUserInput{Email: "c@example.com", Role: &f.role.ID})
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

const lastAdminMsg = "Invalid payload. The last active user with admin access can't be removed."

// adminUser makes a role with admin access and an active user in it.
func (f *fixture) adminUser(email string) *users.User {
	f.t.Helper()
	r, err := f.m.CreateRole(f.ctx, users.Role{Name: "Administrator " + email, AdminAccess: true})
	require.NoError(f.t, err)
	return f.create(users.CreateUserInput{Email: email, Password: password, Role: &r.ID})
}

func (f *fixture) exists(id string) bool {
	f.t.Helper()
	_, err := f.m.User(f.ctx, id)
	return err == nil
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.adminUser("root@example.com")
	a := f.create(users.CreateUserInput{Email: "a@example.com"})
	b := f.create(users.CreateUserInput{Email: "b@example.com"})

	w := f.admin("DELETE", "/users/"+a.ID, "")
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.False(t, f.exists(a.ID))
	assert.True(t, f.exists(b.ID))
	wantError(t, f.admin("GET", "/users/"+a.ID, ""), http.StatusForbidden, "FORBIDDEN", "")

	// Again, or an id that never was: 403, as Directus answers for items
	// the caller cannot see, and nothing changes.
	before := f.snapshot()
	wantError(t, f.admin("DELETE", "/users/"+a.ID, ""), http.StatusForbidden, "FORBIDDEN", "You don't have permission to access this.")
	wantError(t, f.admin("DELETE", "/users/not-a-user", ""), http.StatusForbidden, "FORBIDDEN", "")
	wantError(t, f.admin("DELETE", "/users/"+url.PathEscape("' OR 1=1 --"), ""), http.StatusForbidden, "FORBIDDEN", "")
	assert.Equal(t, before, f.snapshot())
}

func TestDeleteUsersInBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.adminUser("root@example.com")
	var ids []string
	for _, e := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
		ids = append(ids, f.create(users.CreateUserInput{Email: e}).ID)
	}
	assert.Equal(t, http.StatusNoContent, f.admin("DELETE", "/users", `[`+jsonString(ids[0])+`,`+jsonString(ids[1])+`]`).Code)
	assert.Equal(t, http.StatusNoContent, f.admin("DELETE", "/users", `{"keys":[`+jsonString(ids[2])+`]}`).Code)
	assert.False(t, f.exists(ids[0]) || f.exists(ids[1]) || f.exists(ids[2]))
	assert.True(t, f.exists(ids[3]))

	// All or none: one unknown id deletes nothing.
	before := f.snapshot()
	wantError(t, f.admin("DELETE", "/users", `[`+jsonString(ids[3])+`,"nope"]`), http.StatusForbidden, "FORBIDDEN", "")
	for _, tc := range []struct{ body, msg string }{
		{`[]`, `Invalid payload. "keys" is required.`},
		{`{"keys":[]}`, `Invalid payload. "keys" is required.`},
		{`{}`, `Invalid payload. "keys" is required.`},
		{`[""]`, `Invalid payload. "keys" must not be empty.`},
		{`[1]`, `Invalid payload. "keys" must be an array of strings.`},
		{`[null]`, `Invalid payload. "keys" must be an array of strings.`},
		{`{"keys":"` + ids[3] + `"}`, `Invalid payload. "keys" must be an array of strings.`},
		{`{"keys":[` + jsonString(ids[3]) + `],"force":true}`, `Invalid payload. "force" is not allowed.`},
		{`{"query":{"filter":{"status":{"_eq":"active"}}}}`, `Invalid payload. "query" is not supported: give the ids to delete as an array, or as "keys".`},
		{`"` + ids[3] + `"`, `Invalid payload. Request body must be an array of user ids, or an object with "keys".`},
		{`[` + jsonString(ids[3]) + `] []`, "Invalid payload. Malformed JSON."},
		{`[` + jsonString(ids[3]), "Invalid payload. Malformed JSON."},
		{"[\"\xff\"]", "Invalid payload. Request body must be valid UTF-8."},
	} {
		wantError(t, f.admin("DELETE", "/users", tc.body), http.StatusBadRequest, "INVALID_PAYLOAD", tc.msg)
	}
	// Not declared JSON.
	r := request("DELETE", "/users", `[`+jsonString(ids[3])+`]`)
	r.Header.Set("Content-Type", "text/plain")
	r.Header.Set("Authorization", "Bearer "+adminToken)
	wantError(t, f.serve(r), http.StatusBadRequest, "INVALID_PAYLOAD", "Invalid payload. Content-Type must be application/json.")
	assert.Equal(t, before, f.snapshot())
	assert.True(t, f.exists(ids[3]))
}

// The last active user with admin access can be neither deleted nor
// stripped of it, as Directus refuses; with another one, it can.
func TestLastAdminIsKept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	root := f.adminUser("root@example.com")
	before := f.snapshot()
	for _, rq := range []struct{ method, target, body string }{
		{"DELETE", "/users/" + root.ID, ""},
		{"DELETE", "/users", `[` + jsonString(root.ID) + `]`},
		{"PATCH", "/users/" + root.ID, `{"status":"suspended"}`},
		{"PATCH", "/users/" + root.ID, `{"role":null}`},
		{"PATCH", "/users/" + root.ID, `{"role":` + jsonString(f.role.ID) + `}`},
		{"PATCH", "/users", `{"keys":[` + jsonString(root.ID) + `],"data":{"status":"archived"}}`},
	} {
		wantError(t, f.admin(rq.method, rq.target, rq.body), http.StatusBadRequest, "INVALID_PAYLOAD", lastAdminMsg)
	}
	// Nor can it lose its email, password or not: no one could sign in as
	// it or reset its password.
	for _, body := range []string{`{"email":null,"password":null}`, `{"email":"","password":""}`, `{"email":null}`} {
		wantError(t, f.admin("PATCH", "/users/"+root.ID, body), http.StatusBadRequest, "INVALID_PAYLOAD",
			`Invalid payload. "email" can't be removed from the last active user with admin access: no one could sign in.`)
	}
	assert.Equal(t, before, f.snapshot())
	// Other changes to it go through.
	assert.Equal(t, http.StatusOK, f.admin("PATCH", "/users/"+root.ID, `{"first_name":"Root"}`).Code)

	second := f.adminUser("second@example.com")
	wantError(t, f.admin("DELETE", "/users", `[`+jsonString(root.ID)+`,`+jsonString(second.ID)+`]`),
		http.StatusBadRequest, "INVALID_PAYLOAD", lastAdminMsg)
	assert.Equal(t, http.StatusNoContent, f.admin("DELETE", "/users/"+root.ID, "").Code)
	wantError(t, f.admin("DELETE", "/users/"+second.ID, ""), http.StatusBadRequest, "INVALID_PAYLOAD", lastAdminMsg)
}

// What a deleted user leaves behind is dead: its verification and invite
// links, and its pending mail.
func TestDeletedUsersTokensAreRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)
	assert.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", `{"email":"reg@example.com","password":"pw-123456"}`).Code)
	verify := memmailer.Token(f.deliver("reg@example.com"))
	assert.Equal(t, http.StatusNoContent, f.admin("POST", "/users/invite", `{"email":"inv@example.com","role":`+jsonString(f.role.ID)+`}`).Code)
	invite := memmailer.Token(f.deliver("inv@example.com"))
	// One more verification mail, still pending.
	assert.Equal(t, http.StatusNoContent, f.do("POST", "/users/register/resend", `{"email":"reg@example.com"}`).Code)

	reg, inv := f.user("reg@example.com"), f.user("inv@example.com")
	assert.Equal(t, http.StatusNoContent, f.admin("DELETE", "/users", `[`+jsonString(reg.ID)+`,`+jsonString(inv.ID)+`]`).Code)

	wantError(t, f.do("GET", "/users/register/verify-email?token="+verify, ""), http.StatusForbidden, "INVALID_TOKEN", "Invalid token.")
	wantError(t, f.do("POST", "/users/invite/accept", `{"token":"`+invite+`","password":"pw-123456"}`), http.StatusForbidden, "INVALID_TOKEN", "Invalid token.")
	rep, err := f.m.DeliverPending(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, users.DeliveryReport{}, rep, "the pending mail went with its user")
	var none []wireUser
	data(t, f.admin("GET", "/users?filter[email][_in]=reg@example.com,inv@example.com", ""), &none)
	assert.Empty(t, none, "no flow brought a deleted user back")
}

// PATCH /users/{id} {"status":"active"} on a registration nobody verified
// keeps no password: the one given at registration may be a stranger's
// (who registered the address first). The address gets a link instead.
func TestActivatingARegistrationMailsALink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)
	for _, pw := range []string{"attacker pw 1", "victim pw 12"} {
		require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", `{"email":"victim@example.com","password":"`+pw+`"}`).Code)
	}
	f.deliver("victim@example.com")
	u := f.user("victim@example.com")
	require.True(t, u.Contested)
	w := f.admin("PATCH", "/users/"+u.ID, `{"status":"active"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"status":"invited"`)
	for _, pw := range []string{"attacker pw 1", "victim pw 12"} {
		assert.Equal(t, http.StatusUnauthorized, f.do("POST", "/auth/login", `{"email":"victim@example.com","password":"`+pw+`"}`).Code, pw)
	}
	tok := memmailer.Token(f.deliver("victim@example.com"))
	require.Equal(t, http.StatusNoContent, f.do("POST", "/users/invite/accept", `{"token":"`+tok+`","password":"owner pw 123"}`).Code)
	assert.Equal(t, http.StatusOK, f.do("POST", "/auth/login", `{"email":"victim@example.com","password":"owner pw 123"}`).Code)
}

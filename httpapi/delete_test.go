package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
)

const lastAdminMsg = "Invalid payload. The last active user with admin access can't be removed."

// adminUser makes a role with admin access and an active user in it.
func (f *fixture) adminUser(email string) *users.User {
	f.t.Helper()
	r, err := f.m.CreateRole(f.ctx, users.Role{Name: "Administrator " + email, AdminAccess: true})
	require.NoError(f.t, err)
	return f.create(users.CreateInput{Email: email, Password: password, Role: &r.ID})
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
	a := f.create(users.CreateInput{Email: "a@example.com"})
	b := f.create(users.CreateInput{Email: "b@example.com"})

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
		ids = append(ids, f.create(users.CreateInput{Email: e}).ID)
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

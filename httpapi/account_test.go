package httpapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// PATCH /users/me with a new password and a name that is refused changes
// nothing: not the password, and not the sessions (a client told 400
// would go on with the old password and find it gone).
func TestUpdateMeRefusedChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.owner(nil)
	tk := f.login(ownerEmail, password)
	before := f.snapshot()
	for _, name := range []string{strings.Repeat("n", 51), "evil\u202eexe"} {
		body := `{"password":"a-new-password","current_password":` + jsonString(password) + `,"first_name":` + jsonString(name) + `}`
		w := f.withBearer(request("PATCH", "/users/me", body), tk.AccessToken)
		assert.Equal(t, 400, w.Code, w.Body.String())
		assert.Contains(t, w.Body.String(), "first_name")
	}
	assert.Equal(t, before, f.snapshot(), "nothing changed")
	w := f.withBearer(request("GET", "/users/me", ""), tk.AccessToken)
	assert.Equal(t, 200, w.Code, "the session goes on")
	w = f.do("POST", "/auth/login", loginBody(ownerEmail, password, ""))
	assert.Equal(t, 200, w.Code, "the password is the old one")
}

func TestUpdateMe(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.owner(nil)
	tk := f.login(ownerEmail, password)
	patch := func(body string) *httptest.ResponseRecorder {
		return f.withBearer(request("PATCH", "/users/me", body), tk.AccessToken)
	}
	var me wireUser
	data(t, patch(`{"first_name":"Ada","last_name":"Lovelace"}`), &me)
	assert.Equal(t, "Ada", *me.FirstName)
	assert.Equal(t, "Lovelace", *me.LastName)
	data(t, patch(`{"last_name":null}`), &me)
	assert.Nil(t, me.LastName)
	assert.Equal(t, "Ada", *me.FirstName)

	before := f.snapshot()
	wantError(t, patch(`{"email":"new@example.com"}`), 400, "INVALID_PAYLOAD", `Invalid payload. "email" is not allowed.`)
	wantError(t, patch(`{"role":null}`), 400, "INVALID_PAYLOAD", `Invalid payload. "role" is not allowed.`)
	wantError(t, patch(`{"password":"a-new-password"}`), 400, "INVALID_PAYLOAD",
		`Invalid payload. "current_password" is required to change the password.`)
	wantError(t, patch(`{"password":"a-new-password","current_password":"wrong"}`), 401, "INVALID_CREDENTIALS", "")
	wantError(t, f.do("PATCH", "/users/me", `{"first_name":"Eve"}`), 401, "INVALID_CREDENTIALS", "")
	assert.Equal(t, before, f.snapshot(), "nothing changed")

	data(t, patch(`{"password":"a-new-password","current_password":`+jsonString(password)+`}`), &me)
	// The change ended every session, this one included.
	wantError(t, f.withBearer(request("GET", "/users/me", ""), tk.AccessToken), 401, "INVALID_CREDENTIALS", "")
	wantError(t, f.do("POST", "/auth/login", loginBody(ownerEmail, password, "")), 401, "INVALID_CREDENTIALS", "")
	data(t, f.do("POST", "/auth/login", loginBody(ownerEmail, "a-new-password", "")), &tk)
}

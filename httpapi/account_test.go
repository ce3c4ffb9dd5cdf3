package httpapi_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
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
	wantError(t, patch(`{"email":"not-an-address"}`), 400, "INVALID_PAYLOAD", "")
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

// PATCH /users/me with email asks for the change: the answer shows the
// current address, the new one gets a confirm link, the current one a
// notice; only the link moves the account. The same address is no change.
func TestUpdateMeEmail(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.owner(nil)
	tk := f.login(ownerEmail, password)
	patch := func(body string) *httptest.ResponseRecorder {
		return f.withBearer(request("PATCH", "/users/me", body), tk.AccessToken)
	}
	before := f.snapshot()
	var me wireUser
	data(t, patch(`{"email":`+jsonString(strings.ToUpper(ownerEmail))+`}`), &me)
	assert.Equal(t, before, f.snapshot(), "the address it has: nothing asked")

	data(t, patch(`{"email":"new@example.com","first_name":"Ada"}`), &me)
	assert.Equal(t, ownerEmail, *me.Email, "not changed yet")
	assert.Equal(t, "Ada", *me.FirstName)
	notice := f.deliver(ownerEmail)
	assert.Contains(t, notice.Text, "n***@example.com")
	confirm := f.deliver("new@example.com")
	u, err := url.Parse(memmailer.Link(confirm))
	require.NoError(t, err)
	// Sign-in stays on the old address until the link is used.
	wantError(t, f.do("POST", "/auth/login", loginBody("new@example.com", password, "")), 401, "INVALID_CREDENTIALS", "")
	moved, err := f.m.ConfirmEmailChange(f.ctx, u.Query().Get("token"))
	require.NoError(t, err)
	assert.Equal(t, "new@example.com", moved.Email)
	data(t, f.do("POST", "/auth/login", loginBody("new@example.com", password, "")), &tk)

	// A taken address is answered the same.
	f.create(users.CreateUserInput{Email: "taken@example.com", Password: "pw"})
	data(t, patch(`{"email":"taken@example.com"}`), &me)
	assert.Equal(t, "new@example.com", *me.Email)
	assert.Empty(t, f.mail.To("taken@example.com"))
}

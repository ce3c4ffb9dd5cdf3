package httpapi_test

import (
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
	var tk tokens
	data(t, f.do("POST", "/auth/login", loginBody(ownerEmail, password, "")), &tk)
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

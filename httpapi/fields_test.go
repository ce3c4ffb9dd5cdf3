package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every route that answers one user takes Directus's fields parameter, as
// @directus/sdk sends it (readMe({fields}), updateMe(item, {fields}),
// createUser(item, {fields}), updateUser(id, item, {fields})); a bad one
// is refused before anything changes.
func TestOneUserRoutesTakeFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.owner(nil)
	tk := f.login(ownerEmail, password)
	me := func(method, target, body string) *httptest.ResponseRecorder {
		return f.withBearer(request(method, target, body), tk.AccessToken)
	}

	w := me("GET", "/users/me?fields=email,status", "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, `{"data":{"email":"owner@example.com","status":"active"}}`, w.Body.String())
	w = me("GET", "/users/me?fields[]=id&fields[]=first_name", "")
	assert.Equal(t, `{"data":{"id":"`+u.ID+`","first_name":null}}`, w.Body.String())
	var all wireUser
	data(t, me("GET", "/users/me?fields=*", ""), &all)
	assert.Equal(t, u.ID, all.ID)
	assert.Equal(t, "**********", *all.Password)

	w = me("PATCH", "/users/me?fields=first_name", `{"first_name":"Ada"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, `{"data":{"first_name":"Ada"}}`, w.Body.String())

	w = f.admin("POST", "/users?fields=email,role", `{"email":"new@example.com","role":"`+f.role.ID+`"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, `{"data":{"email":"new@example.com","role":"`+f.role.ID+`"}}`, w.Body.String())
	w = f.admin("PATCH", "/users/"+u.ID+"?fields=last_name", `{"last_name":"King"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, `{"data":{"last_name":"King"}}`, w.Body.String())

	before := f.snapshot()
	wantError(t, me("GET", "/users/me?fields=password_hash", ""), http.StatusBadRequest, "INVALID_QUERY", "")
	wantError(t, me("PATCH", "/users/me?fields=role.name", `{"first_name":"Eve"}`), http.StatusBadRequest, "INVALID_QUERY", "")
	wantError(t, f.admin("POST", "/users?fields=secret", `{"email":"eve@example.com"}`), http.StatusBadRequest, "INVALID_QUERY", "")
	wantError(t, f.admin("PATCH", "/users/"+u.ID+"?fields=secret", `{"last_name":"Eve"}`), http.StatusBadRequest, "INVALID_QUERY", "")
	assert.Equal(t, before, f.snapshot(), "nothing changed")
	// Without a token, /users/me is 401 whatever the fields.
	wantError(t, f.do("GET", "/users/me?fields=secret", ""), http.StatusUnauthorized, "INVALID_CREDENTIALS", "")
}

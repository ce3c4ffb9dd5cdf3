package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/gousers/users"
	"github.com/stretchr/testify/assert"
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

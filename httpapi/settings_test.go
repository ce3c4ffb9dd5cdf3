package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gousers/users"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

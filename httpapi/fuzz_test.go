package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gousers/users"
)

// fuzzRoutes are every route that decodes a body or a query, with a seed
// body each.
var fuzzRoutes = []struct {
	method, path, seed string
}{
	{"POST", "/users/register", `{"email":"a@example.com","password":"pw-123456","first_name":"A","verification_url":"https://app.example.com/verify"}`},
	{"GET", "/users/register/verify-email?token=", ""},
	{"POST", "/users/invite", `{"email":["a@example.com","b@example.com"],"role":"ROLE","invite_url":"https://app.example.com/welcome"}`},
	{"POST", "/users/invite/accept", `{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","password":"pw-123456"}`},
	{"POST", "/users", `{"email":"c@example.com","password":"pw-123456","role":"ROLE","status":"active","policies":[],"metadata":{"k":1}}`},
	{"GET", "/users?limit=", "10"},
	{"PATCH", "/users/USER", `{"role":null,"first_name":"B","status":"suspended"}`},
	{"PATCH", "/users", `{"keys":["USER"],"data":{"role":"ROLE"}}`},
	{"POST", "/roles", `{"name":"R","description":"d","admin_access":false}`},
	{"PATCH", "/settings", `{"public_registration":true,"public_registration_email_filter":{"_and":[{"email":{"_ends_with":"@example.com"}}]},"auth_password_policy":"/^.{8,}$/"}`},
	{"POST", "/auth/login", `{"email":"a@example.com","password":"pw-123456","mode":"json"}`},
	{"POST", "/auth/refresh", `{"refresh_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","mode":"json"}`},
	{"POST", "/auth/logout", `{"refresh_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`},
	{"POST", "/auth/password/request", `{"email":"existing@example.com","reset_url":"https://app.example.com/reset"}`},
	{"POST", "/auth/password/reset", `{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","password":"pw-123456"}`},
	{"PATCH", "/users/me", `{"first_name":"A","password":"pw-1","current_password":"pw-2"}`},
	{"POST", "/users/register/resend", `{"email":"existing@example.com","verification_url":"https://app.example.com/verify"}`},
	{"DELETE", "/users", `["USER"]`},
	{"GET", "/users?filter=", `{"_or":[{"email":{"_ends_with":"@example.com"}},{"role":{"_null":true}},{"id":{"_in":["USER"]}}]}`},
	{"GET", "/users?search=", "%_'"},
}

// FuzzHandlers sends arbitrary bodies (and query values) to every route:
// no panic, never a 500, always a valid Directus answer (an empty 204, or
// JSON with data or errors, or a 302 to the sign-in page), and the input
// never echoed back.
func FuzzHandlers(f *testing.F) {
	for i, r := range fuzzRoutes {
		f.Add(uint8(i), r.seed)
		f.Add(uint8(i), `{"email":null}`)
		f.Add(uint8(i), `[`)
		f.Add(uint8(i), "{\"password\":\"\\ud800\"}")
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		fx := newFixture(t)
		fx.openRegistration(true)
		user := fx.create(users.CreateUserInput{Email: "existing@example.com"})
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := strings.ReplaceAll(r.path, "USER", user.ID)
		var req *http.Request
		if r.method == "GET" {
			if !strings.HasSuffix(path, "=") {
				return
			}
			req = httptest.NewRequest("GET", path+url.QueryEscape(body), nil)
		} else {
			body = strings.ReplaceAll(body, "ROLE", fx.role.ID)
			req = request(r.method, path, body)
		}
		req.Header.Set("Authorization", "Bearer "+adminToken)
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s: %d %s", r.method, r.path, w.Code, w.Body.String())
		}
		if w.Code == http.StatusNoContent {
			if w.Body.Len() != 0 {
				t.Fatalf("204 with a body")
			}
			return
		}
		if w.Code == http.StatusFound {
			// A verify link Directus's schema refuses: to the sign-in page.
			if w.Body.Len() != 0 || w.Header().Get("Location") != "/admin/login" {
				t.Fatalf("302 with a body or elsewhere: %q %q", w.Header().Get("Location"), w.Body.String())
			}
			return
		}
		var env map[string]json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
			t.Fatalf("%d answer is not JSON: %q", w.Code, w.Body.String())
		}
		_, hasData := env["data"]
		_, hasErrors := env["errors"]
		if hasData == hasErrors || len(env) != 1 {
			t.Fatalf("not a Directus envelope: %s", w.Body.String())
		}
		if hasErrors && w.Code < 400 {
			t.Fatalf("errors with status %d", w.Code)
		}
		if !utf8.Valid(w.Body.Bytes()) {
			t.Fatalf("invalid UTF-8 in the answer")
		}
		// A password-like input is never echoed: look for a long unusual
		// field value of the body in an error answer.
		if hasErrors && len(body) >= 24 && strings.Contains(w.Body.String(), body) {
			t.Fatalf("the request body was echoed in an error: %s", w.Body.String())
		}
	})
}

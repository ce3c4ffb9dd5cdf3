package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func registerBody(email, pw string) string {
	return fmt.Sprintf(`{"email":%s,"password":%s}`, jsonString(email), jsonString(pw))
}

func TestRegisterAnswersTheSameForNewAndExistingEmails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)
	f.create(users.CreateUserInput{Email: "active@example.com", Password: "other password"})
	f.create(users.CreateUserInput{Email: "nopass@example.com", Status: users.StatusDraft})

	cases := []struct{ name, body string }{
		{"new", registerBody("new@example.com", password)},
		{"unverified, same password", registerBody("new@example.com", password)},
		{"unverified, other password, other case", registerBody("NEW@Example.COM", "a different one")},
		{"active", registerBody("active@example.com", password)},
		{"draft without password", registerBody("nopass@example.com", password)},
		{"new, with every field", `{"email":"full@example.com","password":"pw pw pw","first_name":"Ada","last_name":"L","verification_url":"https://app.example.com/verify"}`},
	}
	var first *http.Response
	var firstBody []byte
	for _, c := range cases {
		w := f.do("POST", "/users/register", c.body)
		res := w.Result()
		body := w.Body.Bytes()
		assert.Equal(t, http.StatusNoContent, res.StatusCode, c.name)
		assert.Empty(t, body, c.name)
		if first == nil {
			first, firstBody = res, body
			continue
		}
		assert.Equal(t, first.StatusCode, res.StatusCode, c.name)
		assert.Equal(t, first.Header, res.Header, c.name)
		assert.Equal(t, firstBody, body, c.name)
	}

	u := f.user("new@example.com")
	assert.Equal(t, users.StatusUnverified, u.Status)
	assert.Equal(t, &f.role.ID, u.Role)
	assert.Equal(t, users.StatusActive, f.user("active@example.com").Status)
	full := f.user("full@example.com")
	assert.Equal(t, "Ada", full.FirstName)
	link := memmailer.Link(f.deliver("full@example.com"))
	assert.True(t, strings.HasPrefix(link, "https://app.example.com/verify?"), link)
	assert.Empty(t, f.mail.To("active@example.com"), "an active user gets no mail")
}

func TestRegisterDisabledIsForbiddenWhateverTheBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	before := f.snapshot()
	for _, body := range []string{registerBody("a@example.com", password), `{"role":"admin"}`, `not json`, ``} {
		w := f.do("POST", "/users/register", body)
		wantError(t, w, http.StatusForbidden, "FORBIDDEN", "You don't have permission to access this.")
	}
	assert.Equal(t, before, f.snapshot())
}

func TestRegisterRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)
	filter, err := users.ParseEmailFilter([]byte(`{"email":{"_ends_with":"@example.com"}}`))
	require.NoError(t, err)
	policy, err := users.ParsePasswordPolicy(users.PasswordPolicyStrong)
	require.NoError(t, err)
	f.settings(func(s *users.Settings) {
		s.PublicRegistrationEmailFilter = filter
		s.PasswordPolicy = policy
	})
	strong := "Str0ng!Passw0rd"
	cases := []struct {
		name, body   string
		status       int
		code, msg    string
		notInMessage string
	}{
		{"field not allowed", `{"email":"a@example.com","password":"Str0ng!Passw0rd","role":"x"}`,
			400, "INVALID_PAYLOAD", `Invalid payload. "role" is not allowed.`, ""},
		{"status not allowed", `{"status":"active","email":"a@example.com","password":"Str0ng!Passw0rd"}`,
			400, "INVALID_PAYLOAD", `Invalid payload. "status" is not allowed.`, ""},
		{"url not allowed", `{"email":"a@example.com","password":"Str0ng!Passw0rd","verification_url":"https://evil.example/verify"}`,
			400, "INVALID_PAYLOAD", `Invalid payload. URL "https://evil.example/verify" can't be used to verify registered users.`, ""},
		{"filter", registerBody("a@other.example", strong), 403, "FORBIDDEN", "You don't have permission to access this.", ""},
		{"policy", registerBody("a@example.com", "weak password 123"), 400, "INVALID_PAYLOAD", "", "weak password 123"},
		{"missing password", `{"email":"a@example.com"}`, 400, "INVALID_PAYLOAD", `Invalid payload. "password" is required.`, ""},
		{"empty password", `{"email":"a@example.com","password":""}`, 400, "INVALID_PAYLOAD", `Invalid payload. "password" is not allowed to be empty.`, ""},
		{"missing email", `{"password":"Str0ng!Passw0rd"}`, 400, "INVALID_PAYLOAD", `Invalid payload. "email" is required.`, ""},
		// Directus's words for a malformed email and verification_url.
		{"empty email", `{"email":"","password":"Str0ng!Passw0rd"}`, 400, "INVALID_PAYLOAD", `Invalid payload. "email" is not allowed to be empty.`, ""},
		{"malformed email", registerBody("not-an-email", strong), 400, "INVALID_PAYLOAD", `Invalid payload. "email" must be a valid email.`, ""},
		{"no domain dot", registerBody("a@example", strong), 400, "INVALID_PAYLOAD", `Invalid payload. "email" must be a valid email.`, ""},
		{"malformed email outside the filter", registerBody("a@@other.example", strong), 400, "INVALID_PAYLOAD", `Invalid payload. "email" must be a valid email.`, ""},
		{"relative verification_url", `{"email":"a@example.com","password":"Str0ng!Passw0rd","verification_url":"/verify"}`,
			400, "INVALID_PAYLOAD", `Invalid payload. "verification_url" must be a valid uri.`, ""},
		{"verification_url not a URL", `{"email":"a@example.com","password":"Str0ng!Passw0rd","verification_url":"not a url"}`,
			400, "INVALID_PAYLOAD", `Invalid payload. "verification_url" must be a valid uri.`, ""},
		{"verification_url bad escape", `{"email":"a@example.com","password":"Str0ng!Passw0rd","verification_url":"https://app.example.com/%zz"}`,
			400, "INVALID_PAYLOAD", `Invalid payload. "verification_url" must be a valid uri.`, ""},
	}
	before := f.snapshot()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := f.do("POST", "/users/register", c.body)
			wantError(t, w, c.status, c.code, c.msg)
			if c.notInMessage != "" {
				assert.NotContains(t, w.Body.String(), c.notInMessage)
				assert.Contains(t, w.Body.String(), "password policy")
			}
		})
	}
	assert.Equal(t, before, f.snapshot())
	// A domain in upper case passes the filter: domains compare
	// case-insensitively (Directus refuses it).
	w := f.do("POST", "/users/register", registerBody("b@EXAMPLE.COM", strong))
	assert.Equal(t, http.StatusNoContent, w.Code)
}

// TestRegisterBadInput: every malformed body is 400 INVALID_PAYLOAD and
// changes nothing.
func TestRegisterBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, httpapi.WithMaxBodyBytes(4096))
	f.openRegistration(true)
	huge := `{"email":"a@example.com","password":"` + strings.Repeat("x", 5000) + `"}`
	cases := []struct {
		name, contentType, body, msg string
	}{
		{"empty body", "application/json", ``, "Invalid payload. Request body must be a JSON object."},
		{"truncated", "application/json", `{"email":"a@example.com",`, "Invalid payload. Malformed JSON."},
		{"syntax error", "application/json", `{"email" "a@example.com"}`, "Invalid payload. Malformed JSON at byte 9."},
		{"single quotes", "application/json", `{'email':'a@example.com'}`, ""},
		{"array", "application/json", `[{"email":"a@example.com","password":"pw"}]`, "Invalid payload. Request body must be a JSON object."},
		{"string", "application/json", `"a@example.com"`, "Invalid payload. Request body must be a JSON object."},
		{"null", "application/json", `null`, "Invalid payload. Request body must be a JSON object."},
		{"trailing garbage", "application/json", registerBody("a@example.com", password) + ` x`, ""},
		{"two objects", "application/json", registerBody("a@example.com", password) + `{}`, "Invalid payload. Request body must hold one JSON object and nothing after it."},
		{"duplicate key", "application/json", `{"email":"a@example.com","email":"b@example.com","password":"pw"}`, `Invalid payload. "email" must not be given more than once.`},
		{"email number", "application/json", `{"email":42,"password":"pw"}`, `Invalid payload. "email" must be a string.`},
		{"email null", "application/json", `{"email":null,"password":"pw"}`, `Invalid payload. "email" must be a string.`},
		{"email array", "application/json", `{"email":["a@example.com"],"password":"pw"}`, `Invalid payload. "email" must be a string.`},
		{"email object", "application/json", `{"email":{"x":1},"password":"pw"}`, `Invalid payload. "email" must be a string.`},
		{"password null", "application/json", `{"email":"a@example.com","password":null}`, `Invalid payload. "password" must be a string.`},
		{"password number", "application/json", `{"email":"a@example.com","password":12345678}`, `Invalid payload. "password" must be a string.`},
		{"password bool", "application/json", `{"email":"a@example.com","password":true}`, `Invalid payload. "password" must be a string.`},
		{"first_name array", "application/json", `{"email":"a@example.com","password":"pw","first_name":["a"]}`, `Invalid payload. "first_name" must be a string.`},
		{"verification_url null", "application/json", `{"email":"a@example.com","password":"pw","verification_url":null}`, `Invalid payload. "verification_url" must be a string.`},
		{"CRLF header injection in email", "application/json", registerBody("a@example.com\r\nBcc: victim@example.com", password), `Invalid payload. "email" must not contain control characters.`},
		{"CR in email", "application/json", registerBody("a\r@example.com", password), `Invalid payload. "email" must not contain control characters.`},
		{"malformed email", "application/json", registerBody("not-an-email", password), `Invalid payload. "email" must be a valid email.`},
		{"CRLF in first_name", "application/json", `{"email":"a@example.com","password":"pw","first_name":"A\r\nB"}`, `Invalid payload. "first_name" must not contain control characters.`},
		{"lone surrogate in password", "application/json", `{"email":"a@example.com","password":"\ud800x"}`, `Invalid payload. "password" must be valid Unicode text.`},
		{"invalid UTF-8", "application/json", "{\"email\":\"a@example.com\",\"password\":\"\xff\xfe\"}", "Invalid payload. Request body must be valid UTF-8."},
		{"too big", "application/json", huge, "Invalid payload. Request body must be at most 4096 bytes."},
		{"deep nesting", "application/json", `{"email":"a@example.com","password":"pw","first_name":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`, `Invalid payload. "first_name" must be a string.`},
		{"text/plain", "text/plain", registerBody("a@example.com", password), "Invalid payload. Content-Type must be application/json."},
		{"form", "application/x-www-form-urlencoded", `email=a%40example.com&password=pw`, "Invalid payload. Content-Type must be application/json."},
		{"no content type", "", registerBody("a@example.com", password), "Invalid payload. Content-Type must be application/json."},
		{"latin1 charset", "application/json; charset=iso-8859-1", registerBody("a@example.com", password), "Invalid payload. Content-Type charset must be utf-8."},
	}
	before := f.snapshot()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := request("POST", "/users/register", c.body)
			r.Header.Del("Content-Type")
			if c.contentType != "" {
				r.Header.Set("Content-Type", c.contentType)
			}
			w := f.serve(r)
			wantError(t, w, http.StatusBadRequest, "INVALID_PAYLOAD", c.msg)
			assert.NotContains(t, w.Body.String(), "xxxxxxxx")
		})
	}
	assert.Equal(t, before, f.snapshot(), "a bad request changed the store")

	// The accepted variants of the same request do work.
	for i, ct := range []string{"application/json", "application/json; charset=UTF-8", "application/vnd.api+json"} {
		r := request("POST", "/users/register", registerBody(fmt.Sprintf("ok%d@example.com", i), password))
		r.Header.Set("Content-Type", ct)
		assert.Equal(t, http.StatusNoContent, f.serve(r).Code, ct)
	}
}

func TestRegisterDefaultBodyLimitIsOneMiB(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(false)
	pad := strings.Repeat(" ", 1<<20)
	w := f.do("POST", "/users/register", registerBody("a@example.com", password)+pad)
	wantError(t, w, http.StatusBadRequest, "INVALID_PAYLOAD", "Invalid payload. Request body must be at most 1048576 bytes.")
	// Just under the limit is read.
	body := registerBody("a@example.com", password)
	w = f.do("POST", "/users/register", body+pad[:1<<20-len(body)])
	assert.Equal(t, http.StatusNoContent, w.Code)
}

func TestContestedRegistrationBecomesInvited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)
	require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody("victim@example.com", "attacker pw")).Code)
	f.deliver("victim@example.com") // mails go out concurrently: deliver one at a time
	require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody("victim@example.com", password)).Code)
	token := memmailer.Token(f.deliver("victim@example.com"))
	require.Equal(t, http.StatusNoContent, f.do("GET", "/users/register/verify-email?token="+url.QueryEscape(token), "").Code)
	assert.Equal(t, users.StatusInvited, f.user("victim@example.com").Status)
	// Neither password logs in.
	for _, pw := range []string{"attacker pw", password} {
		wantError(t, f.do("POST", "/auth/login", registerBody("victim@example.com", pw)), http.StatusUnauthorized, "INVALID_CREDENTIALS", "Invalid user credentials.")
	}
	// The set-password mail's token works with accept.
	set := memmailer.Token(f.deliver("victim@example.com"))
	w := f.do("POST", "/users/invite/accept", fmt.Sprintf(`{"token":%s,"password":%s}`, jsonString(set), jsonString(password)))
	assert.Equal(t, http.StatusNoContent, w.Code)
	tk := f.login("victim@example.com", password)
	var u wireUser
	data(t, f.withBearer(request("GET", "/users/me", ""), tk.AccessToken), &u)
	assert.Equal(t, "active", u.Status)
}

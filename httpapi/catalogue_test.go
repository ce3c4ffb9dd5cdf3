package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
)

// The bad-input catalogue: each case is one hostile or malformed request,
// its exact answer, and proof that the store (users, roles, settings, the
// mail outbox and so every token) is unchanged. Registration is open and
// an invited user exists, so that the flows reach the code under attack.
func TestBadInputCatalogue(t *testing.T) {
	t.Parallel()
	const (
		bad      = http.StatusBadRequest
		INVALID  = "INVALID_PAYLOAD"
		FORBID   = "FORBIDDEN"
		TOKEN    = "INVALID_TOKEN"
		register = "/users/register"
		invite   = "/users/invite"
		accept   = "/users/invite/accept"
		login    = "/auth/login"
	)
	pw := jsonString(password)
	reg := func(email string) string { return `{"email":` + jsonString(email) + `,"password":` + pw + `}` }
	regURL := func(u string) string {
		return `{"email":"new@example.com","password":` + pw + `,"verification_url":` + jsonString(u) + `}`
	}
	inv := func(u string) string {
		return `{"email":"new@example.com","role":"ROLE","invite_url":` + jsonString(u) + `}`
	}
	type tc struct {
		name         string
		method, path string
		admin        bool
		body         string
		status       int
		code         string
	}
	cases := []tc{
		// Malformed JSON and the wrong shapes.
		{"empty body", "POST", register, false, "", bad, INVALID},
		{"not JSON", "POST", register, false, "email=a@example.com", bad, INVALID},
		{"truncated JSON", "POST", register, false, `{"email":"a@example.com"`, bad, INVALID},
		{"trailing garbage", "POST", register, false, reg("a@example.com") + `x`, bad, INVALID},
		{"two objects", "POST", register, false, reg("a@example.com") + reg("b@example.com"), bad, INVALID},
		{"top-level array", "POST", register, false, `[` + reg("a@example.com") + `]`, bad, INVALID},
		{"top-level string", "POST", register, false, `"a@example.com"`, bad, INVALID},
		{"top-level null", "POST", register, false, `null`, bad, INVALID},
		{"email number", "POST", register, false, `{"email":42,"password":` + pw + `}`, bad, INVALID},
		{"email null", "POST", register, false, `{"email":null,"password":` + pw + `}`, bad, INVALID},
		{"email array", "POST", register, false, `{"email":["a@example.com"],"password":` + pw + `}`, bad, INVALID},
		{"email object", "POST", register, false, `{"email":{"_eq":"a@example.com"},"password":` + pw + `}`, bad, INVALID},
		{"password number", "POST", register, false, `{"email":"a@example.com","password":12345678}`, bad, INVALID},
		{"password null", "POST", register, false, `{"email":"a@example.com","password":null}`, bad, INVALID},
		{"password missing", "POST", register, false, `{"email":"a@example.com"}`, bad, INVALID},
		{"password empty", "POST", register, false, `{"email":"a@example.com","password":""}`, bad, INVALID},
		{"password huge", "POST", register, false, `{"email":"a@example.com","password":"` + strings.Repeat("p", 2048) + `"}`, bad, INVALID},
		{"first_name array", "POST", register, false, `{"email":"a@example.com","password":` + pw + `,"first_name":["A"]}`, bad, INVALID},
		{"unknown field role", "POST", register, false, `{"email":"a@example.com","password":` + pw + `,"role":"ROLE"}`, bad, INVALID},
		{"unknown field status", "POST", register, false, `{"email":"a@example.com","password":` + pw + `,"status":"active"}`, bad, INVALID},
		{"duplicate key", "POST", register, false, `{"email":"a@example.com","email":"b@example.com","password":` + pw + `}`, bad, INVALID},
		{"body over the limit", "POST", register, false, `{"email":"a@example.com","password":` + pw + `,"first_name":"` + strings.Repeat("x", 2<<20) + `"}`, bad, INVALID},
		{"invalid UTF-8", "POST", register, false, "{\"email\":\"a\xff@example.com\",\"password\":" + pw + "}", bad, INVALID},

		// Emails.
		{"no at", "POST", register, false, reg("a.example.com"), bad, INVALID},
		{"two ats", "POST", register, false, reg("a@b@example.com"), bad, INVALID},
		{"space inside", "POST", register, false, reg("a b@example.com"), bad, INVALID},
		{"CRLF header injection", "POST", register, false, reg("a@example.com\r\nBcc: victim@example.org"), bad, INVALID},
		{"LF alone", "POST", register, false, reg("a@example.com\nx"), bad, INVALID},
		{"NUL", "POST", register, false, reg("a@example.com\x00"), bad, INVALID},
		{"too long", "POST", register, false, reg(strings.Repeat("a", 250) + "@example.com"), bad, INVALID},
		{"cyrillic look-alike", "POST", register, false, reg("аdmin@example.com"), bad, INVALID},
		{"fullwidth at", "POST", register, false, reg("a＠example.com"), bad, INVALID},
		{"zero-width space", "POST", register, false, reg("a\u200b@example.com"), bad, INVALID},
		{"right-to-left override", "POST", register, false, reg("a\u202e@example.com"), bad, INVALID},
		{"no domain dot", "POST", register, false, reg("a@localhost"), bad, INVALID},
		{"CRLF in first_name", "POST", register, false, `{"email":"a@example.com","password":` + pw + `,"first_name":"Ada\r\nBcc: x@evil.com"}`, bad, INVALID},

		// verification_url allow-list bypasses (allowed: https://app.example.com/verify).
		{"userinfo", "POST", register, false, regURL("https://app.example.com@evil.com/verify"), bad, INVALID},
		{"userinfo on the good host", "POST", register, false, regURL("https://evil.com@app.example.com/verify"), bad, INVALID},
		{"backslash", "POST", register, false, regURL(`https://app.example.com\@evil.com/verify`), bad, INVALID},
		{"protocol-relative", "POST", register, false, regURL("//evil.com/verify"), bad, INVALID},
		{"other host", "POST", register, false, regURL("https://evil.com/verify"), bad, INVALID},
		{"suffix host", "POST", register, false, regURL("https://app.example.com.evil.com/verify"), bad, INVALID},
		{"other path", "POST", register, false, regURL("https://app.example.com/verify/../admin"), bad, INVALID},
		{"path prefix", "POST", register, false, regURL("https://app.example.com/verify-evil"), bad, INVALID},
		{"http downgrade", "POST", register, false, regURL("http://app.example.com/verify"), bad, INVALID},
		{"other port", "POST", register, false, regURL("https://app.example.com:8443/verify"), bad, INVALID},
		{"percent-encoded host", "POST", register, false, regURL("https://app%2Eexample.com/verify"), bad, INVALID},
		{"percent-encoded slash", "POST", register, false, regURL("https://app.example.com%2Fverify"), bad, INVALID},
		{"javascript scheme", "POST", register, false, regURL("javascript:alert(1)//https://app.example.com/verify"), bad, INVALID},
		{"data scheme", "POST", register, false, regURL("data:text/html,<script>alert(1)</script>"), bad, INVALID},
		{"custom scheme", "POST", register, false, regURL("evil://app.example.com/verify"), bad, INVALID},
		{"tab inside", "POST", register, false, regURL("https://app.example.com/ver\tify"), bad, INVALID},
		{"relative", "POST", register, false, regURL("/verify"), bad, INVALID},

		// invite_url bypasses (allowed: https://app.example.com/welcome).
		{"invite userinfo", "POST", invite, true, inv("https://app.example.com@evil.com/welcome"), bad, INVALID},
		{"invite other host", "POST", invite, true, inv("https://evil.com/welcome"), bad, INVALID},
		{"invite vbscript", "POST", invite, true, inv("vbscript:msgbox(1)"), bad, INVALID},
		{"invite file", "POST", invite, true, inv("file:///etc/passwd"), bad, INVALID},
		{"invite email number", "POST", invite, true, `{"email":7,"role":"ROLE"}`, bad, INVALID},
		{"invite email array of numbers", "POST", invite, true, `{"email":[1,2],"role":"ROLE"}`, bad, INVALID},
		{"invite bad email in list", "POST", invite, true, `{"email":["ok@example.com","bad"],"role":"ROLE"}`, bad, INVALID},
		{"invite CRLF email", "POST", invite, true, `{"email":"a@example.com\r\nBcc: x@evil.com","role":"ROLE"}`, bad, INVALID},
		{"invite no auth", "POST", invite, false, `{"email":"a@example.com","role":"ROLE"}`, http.StatusForbidden, FORBID},

		// Tokens.
		{"accept garbage token", "POST", accept, false, `{"token":"garbage","password":` + pw + `}`, http.StatusForbidden, TOKEN},
		{"accept token too long", "POST", accept, false, `{"token":"` + strings.Repeat("A", 4096) + `","password":` + pw + `}`, http.StatusForbidden, TOKEN},
		{"accept token not base64url", "POST", accept, false, `{"token":"` + strings.Repeat("+", 43) + `","password":` + pw + `}`, http.StatusForbidden, TOKEN},
		{"accept token number", "POST", accept, false, `{"token":1,"password":` + pw + `}`, bad, INVALID},
		{"accept unknown token, empty password: the token is checked first", "POST", accept, false, `{"token":"` + strings.Repeat("A", 43) + `","password":""}`, http.StatusForbidden, TOKEN},
		{"accept unknown field", "POST", accept, false, `{"token":"` + strings.Repeat("A", 43) + `","password":` + pw + `,"status":"active"}`, bad, INVALID},

		// Login.
		{"login email array", "POST", login, false, `{"email":["a@example.com"],"password":` + pw + `}`, bad, INVALID},
		{"login password object", "POST", login, false, `{"email":"a@example.com","password":{}}`, bad, INVALID},

		// Admin input every store must refuse the same way: a duplicate id,
		// NUL characters, metadata nested thousands deep.
		{"role id taken", "POST", "/roles", true, `{"id":"ROLE","name":"Again"}`, bad, "RECORD_NOT_UNIQUE"},
		{"role id with NUL", "POST", "/roles", true, `{"id":"r\u0000","name":"R"}`, bad, INVALID},
		{"role id that is a path", "POST", "/roles", true, `{"id":"../settings?x","name":"R"}`, bad, INVALID},
		{"role id with a trailing space", "POST", "/roles", true, `{"id":"ROLE ","name":"R"}`, bad, INVALID},
		{"role name with NUL", "POST", "/roles", true, `{"name":"R\u0000"}`, bad, INVALID},
		{"role name with bidi override", "POST", "/roles", true, `{"name":"R\u202e"}`, bad, INVALID},
		{"role description with NUL", "POST", "/roles", true, `{"name":"R","description":"\u0000"}`, bad, INVALID},
		{"metadata 5000 deep", "POST", "/users", true, `{"email":"m@example.com","metadata":` + strings.Repeat(`{"n":`, 5000) + `1` + strings.Repeat(`}`, 5000) + `}`, bad, INVALID},
		{"metadata 33 deep", "POST", "/users", true, `{"email":"m@example.com","metadata":` + strings.Repeat(`[`, 33) + strings.Repeat(`]`, 33) + `}`, bad, INVALID},
		{"metadata NUL value", "POST", "/users", true, `{"email":"m@example.com","metadata":{"k":"v\u0000"}}`, bad, INVALID},
		{"metadata NUL key", "POST", "/users", true, `{"email":"m@example.com","metadata":{"k\u0000":1}}`, bad, INVALID},
		{"user role with NUL", "POST", "/users", true, `{"email":"m@example.com","role":"\u0000"}`, bad, INVALID},
		{"user first_name with NUL", "POST", "/users", true, `{"email":"m@example.com","first_name":"a\u0000"}`, bad, INVALID},
		{"invite role with NUL", "POST", invite, true, `{"email":"new@example.com","role":"r\u0000"}`, bad, INVALID},
		{"settings role with NUL", "PATCH", "/settings", true, `{"public_registration_role":"\u0000"}`, bad, INVALID},
		{"settings filter with NUL", "PATCH", "/settings", true, `{"public_registration_email_filter":{"email":{"_eq":"\u0000"}}}`, bad, INVALID},
		{"settings slow password policy", "PATCH", "/settings", true, `{"auth_password_policy":"/^(a|aa)+$/"}`, bad, INVALID},
		{"settings policy description with LF", "PATCH", "/settings", true, `{"auth_password_policy_description":"a\nb"}`, bad, INVALID},
		{"search with NUL", "GET", "/users?search=a%00", true, "", bad, "INVALID_QUERY"},
		{"filter value with NUL", "GET", "/users?filter[email][_eq]=a%00", true, "", bad, "INVALID_QUERY"},
		{"unknown key of 100 KB", "POST", register, false, `{"` + strings.Repeat("k", 100<<10) + `":1}`, bad, INVALID},
		{"verification_url with an open-redirect parameter", "POST", register, false, regURL("https://app.example.com/verify?next=https://evil.example"), bad, INVALID},
		{"first_name with a zero-width space", "POST", register, false, `{"email":"a@example.com","password":` + pw + `,"first_name":"A\u200bda"}`, bad, INVALID},
		{"first_name over 50 characters", "POST", register, false, `{"email":"a@example.com","password":` + pw + `,"first_name":"` + strings.Repeat("é", 51) + `"}`, bad, INVALID},
		{"login mode unknown", "POST", login, false, `{"email":"a@example.com","password":` + pw + `,"mode":"jwt"}`, bad, INVALID},
		{"login mode number", "POST", login, false, `{"email":"a@example.com","password":` + pw + `,"mode":1}`, bad, INVALID},
		// Sessions and password reset.
		{"refresh token number", "POST", "/auth/refresh", false, `{"refresh_token":1}`, bad, INVALID},
		{"refresh no token", "POST", "/auth/refresh", false, `{"mode":"json"}`, bad, INVALID},
		{"refresh unknown token", "POST", "/auth/refresh", false, `{"refresh_token":"` + strings.Repeat("A", 43) + `"}`, http.StatusUnauthorized, "INVALID_CREDENTIALS"},
		{"refresh forged session token", "POST", "/auth/refresh", false, `{"refresh_token":"a.b.c","mode":"json"}`, http.StatusUnauthorized, "INVALID_CREDENTIALS"},
		{"logout unknown field", "POST", "/auth/logout", false, `{"refresh_token":"x","user":"y"}`, bad, INVALID},
		{"me without a token", "PATCH", "/users/me", false, `{"first_name":"X"}`, http.StatusUnauthorized, "INVALID_CREDENTIALS"},
		{"me with the static token", "PATCH", "/users/me", true, `{"first_name":"X"}`, http.StatusUnauthorized, "INVALID_CREDENTIALS"},
		{"reset request email null", "POST", "/auth/password/request", false, `{"email":null}`, bad, INVALID},
		{"reset request CR in email", "POST", "/auth/password/request", false, `{"email":"invited@example.com\r\nBcc: x@evil.example"}`, bad, INVALID},
		{"reset request URL not allowed", "POST", "/auth/password/request", false, `{"email":"invited@example.com","reset_url":"https://evil.example/reset"}`, bad, INVALID},
		{"reset request javascript URL", "POST", "/auth/password/request", false, `{"email":"invited@example.com","reset_url":"javascript:alert(1)"}`, bad, INVALID},
		{"reset unknown token", "POST", "/auth/password/reset", false, `{"token":"` + strings.Repeat("A", 43) + `","password":` + pw + `}`, http.StatusForbidden, TOKEN},
		{"reset invite token", "POST", "/auth/password/reset", false, `{"token":"INVITE","password":` + pw + `}`, http.StatusForbidden, TOKEN},
		{"reset password number", "POST", "/auth/password/reset", false, `{"token":"x","password":1}`, bad, INVALID},
	}
	assert.GreaterOrEqual(t, len(cases), 60)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.openRegistration(true)
			// An invited user, so that accept has something to consume.
			iw := f.admin("POST", "/users/invite", `{"email":"invited@example.com","role":"`+f.role.ID+`"}`)
			require.Equal(t, http.StatusNoContent, iw.Code, "setup invite: %s", iw.Body.String())
			invited, err := f.mem.GetUserByEmailKey(f.ctx, "invited@example.com")
			require.NoError(t, err, "setup invite")
			require.Equal(t, users.StatusInvited, invited.Status, "setup invite")
			queued, err := f.mem.ListMail(f.ctx, store.MailQuery{})
			require.NoError(t, err)
			require.Len(t, queued, 1, "setup invite: the invitation (and its live token) is queued")
			require.Equal(t, "invited@example.com", queued[0].To)
			before := f.snapshot()
			body := strings.ReplaceAll(c.body, "ROLE", f.role.ID)
			if strings.Contains(body, "INVITE") {
				// The live invitation's token, presented where a reset
				// token belongs.
				inviteMail := f.deliver("invited@example.com")
				body = strings.ReplaceAll(body, "INVITE", memmailer.Token(inviteMail))
				before = f.snapshot()
			}
			do := f.do
			if c.admin {
				do = f.admin
			}
			w := do(c.method, c.path, body)
			wantError(t, w, c.status, c.code, "")
			assert.Less(t, w.Body.Len(), 600, "echoed input is cut short")
			assert.Equal(t, before, f.snapshot(), "the store changed")
		})
	}
}

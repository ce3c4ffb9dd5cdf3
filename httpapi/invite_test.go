package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInviteAndAccept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// One address as a string.
	w := f.admin("POST", "/users/invite", fmt.Sprintf(`{"email":"one@example.com","role":%s}`, jsonString(f.role.ID)))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	assert.Empty(t, w.Body.String())
	// Several as an array, with a custom URL.
	w = f.admin("POST", "/users/invite", fmt.Sprintf(`{"email":["two@example.com","Three@Example.com"],"role":%s,"invite_url":"https://app.example.com/welcome"}`, jsonString(f.role.ID)))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	for _, e := range []string{"one@example.com", "two@example.com", "Three@Example.com"} {
		u := f.user(e)
		assert.Equal(t, users.StatusInvited, u.Status)
		assert.Equal(t, &f.role.ID, u.Role)
	}
	link := memmailer.Link(f.deliver("two@example.com"))
	assert.True(t, strings.HasPrefix(link, "https://app.example.com/welcome?token="), link)

	token := memmailer.Token(f.deliver("one@example.com"))
	accept := func(tok, pw string) string {
		return fmt.Sprintf(`{"token":%s,"password":%s}`, jsonString(tok), jsonString(pw))
	}
	before := f.snapshot()
	wantError(t, f.do("POST", "/users/invite/accept", accept("garbage", password)), http.StatusForbidden, "INVALID_TOKEN", "Invalid token.")
	wantError(t, f.do("POST", "/users/invite/accept", `{"password":"x"}`), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "token" is required.`)
	wantError(t, f.do("POST", "/users/invite/accept", accept(token, "")), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "password" is required.`)
	wantError(t, f.do("POST", "/users/invite/accept", `{"token":null,"password":"x"}`), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "token" must be a string.`)
	wantError(t, f.do("POST", "/users/invite/accept", `{"token":"x","password":"x","email":"a@example.com"}`), http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "email" is not allowed.`)
	assert.Equal(t, before, f.snapshot())
	// A verification token is not an invite token.
	f.openRegistration(true)
	require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody("reg@example.com", password)).Code)
	vtok := memmailer.Token(f.deliver("reg@example.com"))
	before = f.snapshot()
	wantError(t, f.do("POST", "/users/invite/accept", accept(vtok, password)), http.StatusForbidden, "INVALID_TOKEN", "Invalid token.")
	assert.Equal(t, before, f.snapshot())

	require.Equal(t, http.StatusNoContent, f.do("POST", "/users/invite/accept", accept(token, password)).Code)
	assert.Equal(t, users.StatusActive, f.user("one@example.com").Status)
	wantError(t, f.do("POST", "/users/invite/accept", accept(token, password)), http.StatusForbidden, "INVALID_TOKEN", "Invalid token.")

	// Expired.
	t2 := memmailer.Token(f.deliver("two@example.com"))
	f.clock.Advance(8 * 24 * time.Hour)
	wantError(t, f.do("POST", "/users/invite/accept", accept(t2, password)), http.StatusUnauthorized, "TOKEN_EXPIRED", "Token expired.")
	assert.Equal(t, users.StatusInvited, f.user("two@example.com").Status)
}

func TestInviteRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	role := jsonString(f.role.ID)
	cases := []struct {
		name, body string
		msg        string
	}{
		{"url not allowed", `{"email":"a@example.com","role":` + role + `,"invite_url":"https://evil.example/x"}`, `Invalid payload. URL "https://evil.example/x" can't be used to invite users.`},
		{"unknown role", `{"email":"a@example.com","role":"no-such-role"}`, `Invalid payload. "role" names no role.`},
		{"missing role", `{"email":"a@example.com"}`, `Invalid payload. "role" is required.`},
		{"missing email", `{"role":` + role + `}`, `Invalid payload. "email" is required.`},
		{"empty array", `{"email":[],"role":` + role + `}`, `Invalid payload. "email" is required.`},
		{"email number", `{"email":1,"role":` + role + `}`, `Invalid payload. "email" must be a string or an array of strings.`},
		{"email null", `{"email":null,"role":` + role + `}`, `Invalid payload. "email" must be a string or an array of strings.`},
		{"email array of numbers", `{"email":[1],"role":` + role + `}`, `Invalid payload. "email" must be a string or an array of strings.`},
		{"email array with null", `{"email":["a@example.com",null],"role":` + role + `}`, `Invalid payload. "email" must be a string or an array of strings.`},
		{"one bad email of two", `{"email":["a@example.com","bad"],"role":` + role + `}`, ""},
		{"CRLF in email", `{"email":["a@example.com\r\nBcc: x@example.com"],"role":` + role + `}`, `Invalid payload. "email" must not contain control characters.`},
		{"role null", `{"email":"a@example.com","role":null}`, `Invalid payload. "role" must be a string.`},
		{"field not allowed", `{"email":"a@example.com","role":` + role + `,"status":"active"}`, `Invalid payload. "status" is not allowed.`},
		{"malformed", `{"email":`, "Invalid payload. Malformed JSON."},
	}
	before := f.snapshot()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, f.admin("POST", "/users/invite", c.body), http.StatusBadRequest, "INVALID_PAYLOAD", c.msg)
		})
	}
	assert.Equal(t, before, f.snapshot())
}

// Invites over the per-address mail limit: when no address could be
// mailed the answer is 429 with Retry-After; when some could, 204 and a
// log line that counts (never names) the held ones.
func TestInviteOverMailLimit(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{limits(func(l *users.Limits) { l.AdminMail = &users.MemoryLimiter{Points: 1, Window: time.Hour} })}})
	body := func(emails ...string) string {
		b, err := json.Marshal(map[string]any{"email": emails, "role": f.role.ID})
		require.NoError(t, err)
		return string(b)
	}
	assert.Equal(t, http.StatusNoContent, f.admin("POST", "/users/invite", body("a@example.com")).Code)
	w := f.admin("POST", "/users/invite", body("a@example.com"))
	wantError(t, w, http.StatusTooManyRequests, "REQUESTS_EXCEEDED", "")
	assert.NotEmpty(t, w.Header().Get("Retry-After"))

	assert.Equal(t, http.StatusNoContent, f.admin("POST", "/users/invite", body("a@example.com", "b@example.com")).Code)
	assert.Contains(t, f.logs.String(), "held=1 addresses=2")
	assert.NotContains(t, f.logs.String(), "a@example.com", "addresses are not logged")
}

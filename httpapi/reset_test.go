package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gousers/users"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPasswordResetRoutes(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{
		users.Links{PasswordResetURLs: []string{"https://app.example.com/reset"}}}})
	f.owner(nil)
	tk := f.login(ownerEmail, password)

	for _, body := range []string{
		`{"email":"owner@example.com"}`,
		`{"email":"nobody@example.com"}`,
		`{"email":"owner@example.com","reset_url":"https://app.example.com/reset"}`,
	} {
		w := f.do("POST", "/auth/password/request", body)
		assert.Equal(t, http.StatusNoContent, w.Code, body)
		if body == `{"email":"owner@example.com"}` {
			assert.Contains(t, f.deliver(ownerEmail).Text, "https://app.example.com/admin/reset-password?token=")
		}
	}
	assert.Empty(t, f.mail.To("nobody@example.com"))
	wantError(t, f.do("POST", "/auth/password/request", `{"email":"owner@example.com","reset_url":"https://evil.example/reset"}`),
		400, "INVALID_PAYLOAD", `Invalid payload. URL "https://evil.example/reset" can't be used to reset passwords.`)
	wantError(t, f.do("POST", "/auth/password/request", `{}`), 400, "INVALID_PAYLOAD", `Invalid payload. "email" is required.`)
	// Directus's words for a malformed address.
	wantError(t, f.do("POST", "/auth/password/request", `{"email":""}`), 400, "INVALID_PAYLOAD", `Invalid payload. "email" is not allowed to be empty.`)
	wantError(t, f.do("POST", "/auth/password/request", `{"email":"nobody"}`), 400, "INVALID_PAYLOAD", `Invalid payload. "email" must be a valid email.`)
	wantError(t, f.do("POST", "/auth/password/request", `{"email":"a@example.com","role":"x"}`), 400, "INVALID_PAYLOAD", `Invalid payload. "role" is not allowed.`)

	msg := f.deliver(ownerEmail)
	assert.Contains(t, msg.Text, "https://app.example.com/reset?token=")
	link := msg.Text[strings.Index(msg.Text, "https://app.example.com/reset?token="):]
	link = strings.Fields(link)[0]
	lu, err := url.Parse(link)
	require.NoError(t, err)
	token := lu.Query().Get("token")

	wantError(t, f.do("POST", "/auth/password/reset", `{"token":"garbage","password":"x"}`), 403, "INVALID_TOKEN", "Invalid token.")
	wantError(t, f.do("POST", "/auth/password/reset", `{"password":"x"}`), 400, "INVALID_PAYLOAD", `Invalid payload. "token" is required.`)
	w := f.do("POST", "/auth/password/reset", `{"token":`+jsonString(token)+`,"password":"after-reset-pw"}`)
	assert.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	wantError(t, f.do("POST", "/auth/password/reset", `{"token":`+jsonString(token)+`,"password":"again-pw"}`), 403, "INVALID_TOKEN", "")
	wantError(t, f.withBearer(request("GET", "/users/me", ""), tk.AccessToken), 401, "INVALID_CREDENTIALS", "")
	data(t, f.do("POST", "/auth/login", loginBody(ownerEmail, "after-reset-pw", "")), &tk)
}

// A reset token mailed to a user who was suspended since does not work.
func TestResetTokenOfSuspendedUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.owner(nil)
	assert.Equal(t, http.StatusNoContent, f.do("POST", "/auth/password/request", `{"email":"owner@example.com"}`).Code)
	msg := f.deliver(ownerEmail)
	i := strings.Index(msg.Text, "token=")
	require.Positive(t, i)
	token := strings.Fields(msg.Text[i+len("token="):])[0]
	require.Equal(t, http.StatusOK, f.admin("PATCH", "/users/"+u.ID, `{"status":"suspended"}`).Code)
	wantError(t, f.do("POST", "/auth/password/reset", `{"token":`+jsonString(token)+`,"password":"taken-over"}`), 403, "INVALID_TOKEN", "")
	assert.Equal(t, users.StatusSuspended, f.user(ownerEmail).Status)
}

// POST /auth/password/request is limited per client IP by the Manager
// (users.Limits.ResetRequestIP; 10 per 15 minutes by default): past it,
// 429 REQUESTS_EXCEEDED with Retry-After, whatever the address; another
// IP is not affected.
//
// Checked against answering the Manager's refusal 204 (as other errors
// are): the third request got 204 and the test failed.
func TestPasswordRequestLimitPerIP(t *testing.T) {
	t.Parallel()
	lim := users.DefaultLimits()
	lim.RequestStall = 0
	lim.ResetRequestIP = &users.MemoryLimiter{Points: 2, Window: time.Hour}
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{lim}})
	f.owner(nil)
	from := func(ip, email string) *httptest.ResponseRecorder {
		r := request("POST", "/auth/password/request", `{"email":`+jsonString(email)+`}`)
		r.RemoteAddr = ip + ":5000"
		return f.serve(r)
	}
	assert.Equal(t, http.StatusNoContent, from("192.0.2.7", "a@example.com").Code)
	assert.Equal(t, http.StatusNoContent, from("192.0.2.7", "b@example.com").Code)
	w := from("192.0.2.7", ownerEmail)
	wantError(t, w, http.StatusTooManyRequests, "REQUESTS_EXCEEDED", "")
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	_, err := f.m.DeliverPending(f.ctx)
	require.NoError(t, err)
	assert.Empty(t, f.mail.To(ownerEmail), "refused: no mail")
	assert.Equal(t, http.StatusNoContent, from("198.51.100.3", ownerEmail).Code)
	assert.NotEmpty(t, f.deliver(ownerEmail).Text, "another IP's request is served")
}

// With the default limits, POST /auth/password/request takes at least
// Limits.RequestStall, for an address with an account as for one without
// (the other tests run without the stall).
func TestPasswordResetRequestStallsByDefault(t *testing.T) {
	t.Parallel()
	stall := users.DefaultLimits().RequestStall
	require.Positive(t, stall)
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{users.DefaultLimits()}})
	f.owner(nil)
	for _, email := range []string{ownerEmail, "nobody@example.com"} {
		start := time.Now()
		w := f.do("POST", "/auth/password/request", `{"email":`+jsonString(email)+`}`)
		assert.Equal(t, http.StatusNoContent, w.Code, email)
		assert.GreaterOrEqual(t, time.Since(start), stall, email)
	}
}

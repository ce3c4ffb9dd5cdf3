package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/mailer/memmailer"
)

// POST /users/register/resend answers the same for every address, and
// mails only the one waiting for verification.
func TestResendVerification(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)
	assert.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", `{"email":"wait@example.com","password":"pw-123456"}`).Code)
	first := memmailer.Token(f.deliver("wait@example.com"))
	f.create(users.CreateUserInput{Email: "live@example.com", Password: password})

	var answers []answer
	for _, addr := range []string{"wait@example.com", "nobody@example.com", "live@example.com", "WAIT@example.com"} {
		w := f.do("POST", "/users/register/resend", `{"email":`+jsonString(addr)+`,"verification_url":"https://app.example.com/verify"}`)
		assert.Equal(t, http.StatusNoContent, w.Code, addr)
		answers = append(answers, answerOf(w))
		_, err := f.m.DeliverPending(f.ctx) // one at a time: in order
		require.NoError(t, err)
	}
	for _, a := range answers[1:] {
		assert.Equal(t, answers[0], a, "the answer tells the addresses apart")
	}
	assert.Len(t, f.mail.To("wait@example.com"), 3)
	assert.Empty(t, f.mail.To("nobody@example.com"))
	assert.Empty(t, f.mail.To("live@example.com"))
	last := f.mail.To("wait@example.com")[2]
	assert.True(t, strings.HasPrefix(memmailer.Link(last), "https://app.example.com/verify?token="))

	wantError(t, f.do("GET", "/users/register/verify-email?token="+first, ""), http.StatusForbidden, "INVALID_TOKEN", "")
	assert.Equal(t, http.StatusNoContent, f.do("GET", "/users/register/verify-email?token="+memmailer.Token(last), "").Code)
}

func TestResendVerificationRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Registration off: 403 whatever the body holds.
	for _, body := range []string{`{"email":"a@example.com"}`, `{"bad json`, ``} {
		wantError(t, f.do("POST", "/users/register/resend", body), http.StatusForbidden, "FORBIDDEN", "You don't have permission to access this.")
	}
	f.openRegistration(true)
	before := f.snapshot()
	for _, tc := range []struct{ body, msg string }{
		{`{"email":"a@example.com","password":"pw"}`, `Invalid payload. "password" is not allowed.`},
		{`{"email":"a@example.com","verification_url":"https://evil.example/v"}`, `Invalid payload. URL "https://evil.example/v" can't be used to verify registered users.`},
		{`{"email":"not-an-email"}`, `Invalid payload. "email" must be a valid email.`},
		{`{}`, `Invalid payload. "email" is required.`},
		{`{"email":"a@example.com","verification_url":"verify"}`, `Invalid payload. "verification_url" must be a valid uri.`},
		{`{"email":null}`, `Invalid payload. "email" must be a string.`},
		{`{"email":"a@example.com\r\nBcc: x@evil.example"}`, `Invalid payload. "email" must not contain control characters.`},
		{`{"email":"a@example.com"`, ""},
	} {
		wantError(t, f.do("POST", "/users/register/resend", tc.body), http.StatusBadRequest, "INVALID_PAYLOAD", tc.msg)
	}
	assert.Equal(t, before, f.snapshot())
	assert.Empty(t, f.mail.Messages())
}

// The register rate limit covers resend too, and the mail limit per
// address applies; neither tells an address apart.
func TestResendVerificationLimits(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, fixtureConfig{
		manager: []users.Option{limits(func(l *users.Limits) { l.Mail = &users.MemoryLimiter{Points: 2, Window: time.Hour} })},
		handler: []httpapi.Option{httpapi.WithRegisterRateLimiter(&users.MemoryLimiter{Points: 4, Window: time.Hour})},
	})
	f.openRegistration(true)
	assert.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", `{"email":"wait@example.com","password":"pw-123456"}`).Code)
	for i := range 3 {
		w := f.do("POST", "/users/register/resend", `{"email":"wait@example.com"}`)
		assert.Equal(t, http.StatusNoContent, w.Code, "resend %d: over the mail limit, the answer is the same", i)
	}
	_, err := f.m.DeliverPending(f.ctx)
	require.NoError(t, err)
	assert.Len(t, f.mail.To("wait@example.com"), 2, "the mail limit held the others")
	// The fifth request from this IP, register and resend together.
	wantError(t, f.do("POST", "/users/register/resend", `{"email":"nobody@example.com"}`), http.StatusTooManyRequests, "REQUESTS_EXCEEDED", "")
}

// Resend takes the same time for an address waiting for verification as
// for one with no account, through the handler (see the package's
// enumeration tests for the method). Unpadded (Limits.RequestStall 0):
// this test guards the work itself; the root package's
// TestRequestStallTimingOnRealStores the stall. No mail limit, so that
// every resend to the waiting address writes. Not parallel: it measures
// time.
func TestResendTimingDoesNotRevealAccounts(t *testing.T) {
	testenv.SkipTiming(t)
	lim := users.DefaultLimits()
	lim.RequestStall, lim.Mail = 0, nil
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{lim}})
	f.openRegistration(true)
	assert.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", `{"email":"wait@example.com","password":"pw-123456"}`).Code)
	resend := func(addr string) func(int) {
		return func(int) {
			f.clock.Advance(31 * time.Minute) // keeps both under the mail limit
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, request("POST", "/users/register/resend", fmt.Sprintf(`{"email":%q}`, addr)))
			if w.Code != http.StatusNoContent {
				t.Fatalf("resend %s: %d %s", addr, w.Code, w.Body.String())
			}
		}
	}
	testenv.SameTime(t, "resend waiting vs unknown", resend("wait@example.com"), resend("nobody@example.com"))
}

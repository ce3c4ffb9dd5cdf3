package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/mailer/memmailer"
)

// The attacks an adversarial review of the example server reproduced,
// replayed through the handler; each fails against the code before its fix.

// An attacker registers the victim's address; the administrator invites
// it: 204, the invitation is mailed with the role, the attacker's
// verification link is refused, and the attacker cannot log in with the
// attacker's password once the owner has accepted.
func TestHTTPInviteTakesOverUnverifiedAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)
	editor, err := f.m.CreateRole(f.ctx, users.Role{Name: "Editor"})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody("victim@example.com", "attackers password")).Code)

	w := f.admin("POST", "/users/invite", `{"email":"victim@example.com","role":"`+editor.ID+`"}`)
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	assert.Contains(t, f.logs.String(), "converted=1")
	assert.NotContains(t, f.logs.String(), "victim@", "addresses are not logged")

	var verify, invite string
	_, err = f.m.DeliverPending(f.ctx)
	require.NoError(t, err)
	for _, m := range f.mail.To("victim@example.com") {
		switch m.Subject {
		case "Verify your email address":
			verify = memmailer.Token(m)
		case "You've been invited":
			invite = memmailer.Token(m)
		}
	}
	require.NotEmpty(t, verify)
	require.NotEmpty(t, invite, "the invitation is mailed")
	u := f.user("victim@example.com")
	assert.Equal(t, users.StatusInvited, u.Status)
	assert.Equal(t, editor.ID, *u.Role)

	wantError(t, f.do("GET", "/users/register/verify-email?token="+verify, ""), http.StatusForbidden, "INVALID_TOKEN", "Invalid token.")
	require.Equal(t, http.StatusNoContent, f.do("POST", "/users/invite/accept", `{"token":"`+invite+`","password":"owners password"}`).Code)
	wantError(t, f.do("POST", "/auth/login", `{"email":"victim@example.com","password":"attackers password"}`), http.StatusUnauthorized, "INVALID_CREDENTIALS", "")
	assert.Equal(t, http.StatusOK, f.do("POST", "/auth/login", `{"email":"victim@example.com","password":"owners password"}`).Code)
}

// Invite a mistyped address, PATCH the email to the right one: the link
// mailed to the typo is refused (403 INVALID_TOKEN) and its holder cannot
// log in as john.doe. The same for an unverified user's verification link;
// and suspending an invited user then setting it back to invited does not
// revive the old invitation.
func TestHTTPTokensBoundToTheirAddress(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)

	require.Equal(t, http.StatusNoContent, f.admin("POST", "/users/invite", `{"email":"jonh.doe@example.com","role":"`+f.role.ID+`"}`).Code)
	typo := memmailer.Token(f.deliver("jonh.doe@example.com"))
	id := f.user("jonh.doe@example.com").ID
	require.Equal(t, http.StatusOK, f.admin("PATCH", "/users/"+id, `{"email":"john.doe@example.com"}`).Code)
	wantError(t, f.do("POST", "/users/invite/accept", `{"token":"`+typo+`","password":"typo holders"}`), http.StatusForbidden, "INVALID_TOKEN", "Invalid token.")
	wantError(t, f.do("POST", "/auth/login", `{"email":"john.doe@example.com","password":"typo holders"}`), http.StatusUnauthorized, "INVALID_CREDENTIALS", "")
	assert.Equal(t, users.StatusInvited, f.user("john.doe@example.com").Status)

	require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody("ann@example.com", password)).Code)
	link := memmailer.Token(f.deliver("ann@example.com"))
	ann := f.user("ann@example.com").ID
	require.Equal(t, http.StatusOK, f.admin("PATCH", "/users/"+ann, `{"email":"ann.b@example.com"}`).Code)
	wantError(t, f.do("GET", "/users/register/verify-email?token="+link, ""), http.StatusForbidden, "INVALID_TOKEN", "Invalid token.")

	require.Equal(t, http.StatusNoContent, f.admin("POST", "/users/invite", `{"email":"sue@example.com","role":"`+f.role.ID+`"}`).Code)
	old := memmailer.Token(f.deliver("sue@example.com"))
	sue := f.user("sue@example.com").ID
	require.Equal(t, http.StatusOK, f.admin("PATCH", "/users/"+sue, `{"status":"suspended"}`).Code)
	require.Equal(t, http.StatusOK, f.admin("PATCH", "/users", `{"keys":["`+sue+`"],"data":{"status":"invited"}}`).Code)
	wantError(t, f.do("POST", "/users/invite/accept", `{"token":"`+old+`","password":"sues password"}`), http.StatusForbidden, "INVALID_TOKEN", "Invalid token.")
	assert.Equal(t, users.StatusInvited, f.user("sue@example.com").Status)
}

// Strangers registering an invited person's address use up none of the
// administrator's allowance: the re-invite is mailed (204, not 429). And
// registrations of an active user's address leave that address's public
// allowance whole.
func TestHTTPStrangersCannotBlockAnInvite(t *testing.T) {
	t.Parallel()
	public := &users.MemoryLimiter{Points: 5, Window: time.Hour}
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{limits(func(l *users.Limits) { l.Mail = public })}})
	f.openRegistration(true)
	f.create(users.CreateUserInput{Email: "active@example.com", Password: password})
	require.Equal(t, http.StatusNoContent, f.admin("POST", "/users/invite", `{"email":"new.hire@example.com","role":"`+f.role.ID+`"}`).Code)
	f.deliver("new.hire@example.com")

	for range 20 {
		require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody("new.hire@example.com", "strangers pw")).Code)
		require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody("active@example.com", "strangers pw")).Code)
	}
	assert.Empty(t, f.mail.To("active@example.com"))

	w := f.admin("POST", "/users/invite", `{"email":"new.hire@example.com","role":"`+f.role.ID+`"}`)
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	assert.Equal(t, "You've been invited", f.deliver("new.hire@example.com").Subject)
	for i := range 5 {
		_, err := public.Allow(f.ctx, "active@example.com")
		require.NoError(t, err, "the active address's allowance is whole (%d)", i)
	}

	// An address strangers registered (and so mailed) past its public
	// allowance: the administrator's invitation is still mailed.
	for range 7 {
		require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody("pending@example.com", "strangers pw")).Code)
	}
	_, err := f.m.DeliverPending(f.ctx)
	require.NoError(t, err)
	require.Len(t, f.mail.To("pending@example.com"), 5, "the public allowance is used up")
	w = f.admin("POST", "/users/invite", `{"email":"pending@example.com","role":"`+f.role.ID+`"}`)
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	assert.Equal(t, "You've been invited", f.deliver("pending@example.com").Subject)
}

// Names with bidi controls, zero-width or other invisible characters, or
// over 50 characters are refused on every route that takes them, and
// nothing is written; real names in any script pass. A verification_url
// with a query the allow-list entry does not have is refused.
func TestHTTPNamesAndVerificationURL(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)
	u := f.create(users.CreateUserInput{Email: "u@example.com"})
	bad := []string{
		"Ada\u202eevil", "\u2066Ada\u2069", "A\u200bda", "Ada\u00ad", "Ada\U000E0041", "\u3164", "Ada\x00",
		"Ada\u2028", "A\tda", strings.Repeat("a", 51), strings.Repeat("é", 51), "\u200dAda",
	}
	for _, name := range bad {
		before := f.snapshot()
		body := func(extra string) string {
			b, _ := json.Marshal(map[string]string{"first_name": name})
			return strings.TrimSuffix(string(b), "}") + extra + "}"
		}
		w := f.do("POST", "/users/register", body(`,"email":"n@example.com","password":"pw pw pw"`))
		wantError(t, w, http.StatusBadRequest, "INVALID_PAYLOAD", "")
		assert.Contains(t, errMessage(t, w), `"first_name"`, "%q", name)
		wantError(t, f.admin("POST", "/users", body(`,"email":"m@example.com"`)), http.StatusBadRequest, "INVALID_PAYLOAD", "")
		b, _ := json.Marshal(map[string]string{"last_name": name})
		wantError(t, f.admin("PATCH", "/users/"+u.ID, string(b)), http.StatusBadRequest, "INVALID_PAYLOAD", "")
		assert.Equal(t, before, f.snapshot(), "%q: nothing written", name)
	}
	for i, name := range []string{"Zoë", "محمد", "می\u200cخواهم", "Ōtsuka 大塚", "❤\ufe0f", "👩\u200d💻", strings.Repeat("é", 50), "O'Brien-Smith"} {
		b, _ := json.Marshal(map[string]string{"email": "ok" + string(rune('a'+i)) + "@example.com", "password": "pw pw pw", "first_name": name})
		assert.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", string(b)).Code, "%q", name)
	}

	before := f.snapshot()
	w := f.do("POST", "/users/register", `{"email":"q@example.com","password":"pw pw pw","verification_url":"https://app.example.com/verify?next=https://evil.example"}`)
	wantError(t, w, http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. URL "https://app.example.com/verify?next=https://evil.example" can't be used to verify registered users.`)
	assert.Equal(t, before, f.snapshot())
}

// Small ones: an unknown key is echoed cut to 64 characters, however big;
// white space around an email is trimmed on every route; an expired token
// is 401 TOKEN_EXPIRED.
func TestHTTPSmallOnes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(true)

	huge := strings.Repeat("k", 900<<10)
	w := f.do("POST", "/users/register", `{"email":"a@example.com","password":"pw pw pw","`+huge+`":1}`)
	wantError(t, w, http.StatusBadRequest, "INVALID_PAYLOAD", `Invalid payload. "`+strings.Repeat("k", 64)+`…" is not allowed.`)
	assert.Less(t, w.Body.Len(), 400)
	w = f.do("GET", "/users/register/verify-email?token=x&"+strings.Repeat("q", 5000)+"=1", "")
	assert.Less(t, w.Body.Len(), 400)

	for _, email := range []string{"\ttab@example.com", "space@example.com ", " both@example.com\t", "\r\nlf@example.com\n"} {
		require.Equal(t, http.StatusNoContent, f.do("POST", "/users/register", registerBody(email, password)).Code, "%q", email)
		trimmed := strings.TrimSpace(email)
		assert.Equal(t, trimmed, f.user(trimmed).Email, "stored trimmed")
	}
	require.Equal(t, http.StatusNoContent, f.admin("POST", "/users/invite", `{"email":["\tinv@example.com "],"role":"`+f.role.ID+`"}`).Code)
	assert.Equal(t, "inv@example.com", f.user("inv@example.com").Email)
	require.Equal(t, http.StatusOK, f.admin("POST", "/users", `{"email":" made@example.com\t","password":"`+password+`"}`).Code)
	assert.Equal(t, "made@example.com", f.user("made@example.com").Email)
	assert.Equal(t, http.StatusOK, f.do("POST", "/auth/login", `{"email":"\tmade@example.com ","password":"`+password+`"}`).Code)
	wantError(t, f.do("POST", "/users/register", registerBody("in side@example.com", password)), http.StatusBadRequest, "INVALID_PAYLOAD", "")

	tok := memmailer.Token(f.deliver("tab@example.com"))
	f.clock.Advance(8 * 24 * time.Hour)
	wantError(t, f.do("GET", "/users/register/verify-email?token="+tok, ""), http.StatusUnauthorized, "TOKEN_EXPIRED", "Token expired.")
}

// A flood is shed before any work: with the only hashing slot taken and no
// queue, a registration is answered 503 with Retry-After whatever its
// body — not read, not decoded — and whatever the address.
func TestHTTPFloodShedBeforeTheBody(t *testing.T) {
	t.Parallel()
	h := &gatedHasher{entered: make(chan struct{}, 8), release: make(chan struct{})}
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{users.WithHasher(h), limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = 1, 0 })}})
	f.create(users.CreateUserInput{Email: "ada@example.com", Password: password})
	f.openRegistration(true)
	h.gate.Store(true)
	done := make(chan int, 1)
	// An existing address: Register verifies against the dummy hash, which
	// the gated hasher holds.
	go func() {
		done <- f.do("POST", "/users/register", registerBody("ada@example.com", "another password")).Code
	}()
	testenv.Receive(t, h.entered, testenv.WaitLimit, "the first registration never reached the hasher")

	before := f.snapshot()
	for _, body := range []string{"not JSON at all", registerBody("ada@example.com", password), registerBody("new@example.com", password)} {
		w := f.do("POST", "/users/register", body)
		wantError(t, w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "")
		assert.Equal(t, "1", w.Header().Get("Retry-After"))
	}
	assert.Equal(t, before, f.snapshot())
	require.ErrorIs(t, f.m.HashBusy(), users.ErrBusy)

	h.gate.Store(false)
	close(h.release)
	assert.Equal(t, http.StatusNoContent, <-done)
	assert.NoError(t, f.m.HashBusy(), "a free slot: not busy")
}

// PATCH /users/me refuses the same names as every other route; and an
// email change by an administrator ends the user's sessions (the refresh
// token stops working), a token mailed to the old address with them.
func TestHTTPMeNamesAndSessionsEndOnEmailChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.create(users.CreateUserInput{Email: "me@example.com", Password: password})
	var tk tokens
	data(t, f.do("POST", "/auth/login", loginBody("me@example.com", password, "json")), &tk)
	require.NotEmpty(t, tk.RefreshToken)
	for _, name := range []string{"Me\u202e", "M\u200be", strings.Repeat("m", 51)} {
		b, _ := json.Marshal(map[string]string{"first_name": name})
		wantError(t, f.withBearer(request("PATCH", "/users/me", string(b)), tk.AccessToken), http.StatusBadRequest, "INVALID_PAYLOAD", "")
	}
	require.Equal(t, http.StatusOK, f.withBearer(request("PATCH", "/users/me", `{"first_name":"Zoë"}`), tk.AccessToken).Code)

	require.Equal(t, http.StatusOK, f.admin("PATCH", "/users/"+u.ID, `{"email":"me.too@example.com"}`).Code)
	w := f.do("POST", "/auth/refresh", `{"refresh_token":`+jsonString(tk.RefreshToken)+`,"mode":"json"}`)
	assert.NotEqual(t, http.StatusOK, w.Code, "the session ended with the address: %s", w.Body.String())
}

package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
)

// Enumeration through the HTTP API: a client cannot tell from the answer —
// status, headers, body — or from its time whether an address has an
// account. The real argon2id runs (timingHasher), with no fixed stall:
// the equal work is the protection. The two cases are compared
// with testenv.SameTime: interleaved, after a warm-up, as many rounds as
// the evidence needs (from 24 on a quiet machine to 600 when the machine
// is busy or the cases differ), within 2% or 3 ms, whichever is larger.
//
// Checked against the protection: with Register answering at once for an
// existing address, or Authenticate skipping the dummy hash for an unknown
// one, the medians differ by the whole hash (about 20 ms against 0.1 ms)
// and the tests fail at every look.
//
// Skipped with -short and under -race (timing; testenv.SkipTiming), except under
// CI=true, where either fails; .ci/run runs them in a separate step
// without -race.

// timingHasher is the timing tests' hasher: the real argon2id at 8 MiB and
// two passes (m=8192,t=2,p=1), about 10 ms a hash on an idle machine
// (the defaults, m=19456,t=2: 25 ms). A hash on one path only still
// differs by three times SameTime's 3 ms tolerance, at 40% of the cost.
var timingHasher = users.Argon2id{Memory: 8192, Time: 2}

// answer is what a client sees of a response, besides its time.
type answer struct {
	status int
	header http.Header
	body   string
}

func answerOf(w *httptest.ResponseRecorder) answer {
	h := w.Header().Clone()
	h.Del("Date")
	return answer{w.Code, h, w.Body.String()}
}

// POST /users/register: new and existing addresses (an active account),
// interleaved: the same answer, byte for byte, in the same time.
func TestRegisterEnumerationOverHTTP(t *testing.T) {
	testenv.SkipTiming(t)
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{users.WithHasher(timingHasher)}})
	f.openRegistration(true)
	f.create(users.CreateUserInput{Email: "taken@example.com", Password: "the-owners-password", Status: users.StatusActive})
	var first *answer
	check := func(w *httptest.ResponseRecorder) {
		a := answerOf(w)
		if first == nil {
			first = &a
		}
		if a.status != http.StatusNoContent || !assert.Equal(t, *first, a) {
			t.Fatalf("answers differ: %+v vs %+v", *first, a)
		}
	}
	newAddr := func(i int) {
		f.clock.Advance(13 * time.Minute) // keeps every address under the mail limit
		check(f.do("POST", "/users/register", registerBody(addr("new", i), "a-password-1")))
	}
	existing := func(int) {
		f.clock.Advance(13 * time.Minute)
		check(f.do("POST", "/users/register", registerBody("taken@example.com", "a-password-1")))
	}
	testenv.SameTime(t, "register new vs existing", newAddr, existing)
	u := f.user("taken@example.com")
	assert.Equal(t, users.StatusActive, u.Status, "the existing account is untouched")
}

// POST /auth/login: an unknown address and a known one with a wrong
// password get the same 401, byte for byte, in the same time.
func TestLoginEnumerationOverHTTP(t *testing.T) {
	testenv.SkipTiming(t)
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{users.WithHasher(timingHasher)}})
	f.create(users.CreateUserInput{Email: "known@example.com", Password: "the-right-password", Status: users.StatusActive})
	var first *answer
	try := func(email string) func(int) {
		return func(int) {
			f.clock.Advance(8 * time.Minute) // keeps both under the login limit
			a := answerOf(f.do("POST", "/auth/login", registerBody(email, "a-wrong-password")))
			if first == nil {
				first = &a
			}
			if a.status != http.StatusUnauthorized || !assert.Equal(t, *first, a) {
				t.Fatalf("answers differ: %+v vs %+v", *first, a)
			}
		}
	}
	testenv.SameTime(t, "login unknown vs wrong password", try("unknown@example.com"), try("known@example.com"))
	require.NotNil(t, first)
}

func addr(prefix string, i int) string { return fmt.Sprintf("%s-%d@example.com", prefix, i) }

package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
)

// Enumeration through the HTTP API: a client cannot tell from the answer —
// status, headers, body — or from its time whether an address has an
// account. The real argon2id runs at the default parameters, with no fixed
// stall: the equal work is the protection. New and existing cases are
// interleaved (their order flipped every round, so the machine's drift
// falls on both alike) after a warm-up, and two statistics are judged: the
// medians of the two cases, and the median of the per-round differences.
// Both must be under 2% or 3 ms, whichever is larger; a failing pass
// measures 200 more rounds and judges them pooled, at most three passes,
// so that a burst of load on the machine does not fail it while a real
// difference fails every pass.
//
// Checked against the protection: with Register answering at once for an
// existing address, or Authenticate skipping the dummy hash for an unknown
// one, the medians differ by the whole hash (about 20 ms against 0.1 ms)
// and the tests fail on every pass.
//
// Skipped with -short and under -race (timing; testenv.SkipTiming), except under
// CI=true, where either fails; .ci/run runs them in a separate step
// without -race.

const (
	enumRounds = 200
	enumWarmUp = 10
	enumPasses = 3
)

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

// sameTime runs a and b interleaved as described above and fails t if the
// time tells them apart.
func sameTime(t *testing.T, what string, a, b func(i int)) {
	t.Helper()
	timeIt := func(f func(int), i int) time.Duration {
		t0 := time.Now()
		f(i)
		return time.Since(t0)
	}
	var da, db, diff []time.Duration
	i := -enumWarmUp
	for pass := 1; ; pass++ {
		for ; i < pass*enumRounds; i++ {
			var ta, tb time.Duration
			if i%2 == 0 {
				ta, tb = timeIt(a, i), timeIt(b, i)
			} else {
				tb = timeIt(b, i)
				ta = timeIt(a, i)
			}
			if i >= 0 {
				da, db, diff = append(da, ta), append(db, tb), append(diff, ta-tb)
			}
		}
		ma, mb, md := median(da), median(db), median(diff)
		tol := max(max(ma, mb)/50, 3*time.Millisecond)
		t.Logf("%s, pass %d (%d rounds): medians %v and %v, median difference %v (tolerance %v)", what, pass, len(da), ma, mb, md, tol)
		if abs(ma-mb) < tol && abs(md) < tol {
			return
		}
		if pass == enumPasses {
			t.Fatalf("%s: the time tells the cases apart", what)
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func abs(d time.Duration) time.Duration { return max(d, -d) }

// POST /users/register: 200 new and 200 existing addresses (an active
// account), interleaved: the same answer, byte for byte, in the same time.
func TestRegisterEnumerationOverHTTP(t *testing.T) {
	testenv.SkipTiming(t)
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{users.WithHasher(users.Argon2id{})}})
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
	sameTime(t, "register new vs existing", newAddr, existing)
	u := f.user("taken@example.com")
	assert.Equal(t, users.StatusActive, u.Status, "the existing account is untouched")
}

// POST /auth/login: an unknown address and a known one with a wrong
// password get the same 401, byte for byte, in the same time.
func TestLoginEnumerationOverHTTP(t *testing.T) {
	testenv.SkipTiming(t)
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{users.WithHasher(users.Argon2id{})}})
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
	sameTime(t, "login unknown vs wrong password", try("unknown@example.com"), try("known@example.com"))
	require.NotNil(t, first)
}

func addr(prefix string, i int) string { return fmt.Sprintf("%s-%d@example.com", prefix, i) }

package users_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
)

// The enumeration tests below measure a security property — a caller
// cannot tell from the time an answer takes whether an address has an
// account — not performance. They run the real argon2id at the default
// parameters, interleave the two cases (flipping their order every round,
// so that drift in the machine's load falls on both alike), warm up first,
// and compare two robust statistics: the medians of the two cases, and
// the median of the per-round differences (which cancels the load a round
// shares). Both must be under 2% or 3 ms, whichever is larger. On a busy
// machine (other builds sharing the cores) the medians alone wander by a
// few ms, so a failing pass measures 200 more rounds and judges all the
// rounds pooled, at most three times; a real difference fails every pass.
//
// Checked against the protection: with Authenticate answering at once for
// an unknown address (no dummy hash), the medians were 0.01 ms and 24.8 ms
// and the test failed; with Register returning at once for an existing
// active address, 23.1 ms and 0.005 ms, and it failed. With the
// protection, the medians differ by about 0.1 ms on an idle machine, and
// the median per-round difference stayed under 1.7 ms with the machine's
// load at 10 on its 2 cores.
//
// Skipped with -short, and under -race, which multiplies argon2id's cost
// several times and makes the timing meaningless (testenv.SkipTiming); under
// CI=true either fails instead, and .ci/run runs them without -race.

const (
	enumRounds = 200
	enumWarmUp = 10
	enumPasses = 3
)

// requireSameTime times a and b interleaved, as described above, and fails
// t if the time tells them apart.
func requireSameTime(t *testing.T, what string, a, b func(i int)) {
	t.Helper()
	timeIt := func(f func(int), i int) time.Duration {
		t0 := time.Now()
		f(i)
		return time.Since(t0)
	}
	var da, db, diff []time.Duration
	i := -enumWarmUp
	for pass := 1; ; pass++ {
		for ; i < pass*enumRounds; i++ { // the first pass warms up first
			var ta, tb time.Duration
			if i%2 == 0 {
				ta = timeIt(a, i)
				tb = timeIt(b, i)
			} else {
				tb = timeIt(b, i)
				ta = timeIt(a, i)
			}
			if i >= 0 {
				da, db, diff = append(da, ta), append(db, tb), append(diff, ta-tb)
			}
		}
		ma, mb, md := median(da), median(db), median(diff)
		tolerance := max(max(ma, mb)/50, 3*time.Millisecond)
		ok := absDur(ma-mb) < tolerance && absDur(md) < tolerance
		t.Logf("%s, pass %d (%d rounds): medians %v and %v, median difference %v (tolerance %v)",
			what, pass, len(da), ma, mb, md, tolerance)
		if ok {
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

func absDur(d time.Duration) time.Duration { return max(d, -d) }

// Authenticate takes the same time for an unknown address as for a known
// address with a wrong password. Not parallel: it measures time.
func TestAuthenticateTimingDoesNotRevealAccounts(t *testing.T) {
	testenv.SkipTiming(t)
	e := newEnv(t, users.WithHasher(users.Argon2id{}))
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "known@example.com", Password: "the-right-password"})
	require.NoError(t, err)
	try := func(email string) func(int) {
		return func(int) {
			_, err := e.m.Authenticate(e.ctx, email, "a-wrong-password")
			if err == nil || !isInvalidCredentials(err) {
				t.Fatalf("Authenticate(%s): %v", email, err)
			}
		}
	}
	unknown, known := try("unknown@example.com"), try("known@example.com")
	advance := func(f func(int)) func(int) {
		return func(i int) {
			e.clock.Advance(8 * time.Minute) // keeps both under the login limit
			f(i)
		}
	}
	requireSameTime(t, "Authenticate unknown vs wrong password", advance(unknown), advance(known))
}

// Register takes the same time for a new address as for one that has an
// active account. Not parallel: it measures time.
func TestRegisterTimingDoesNotRevealAccounts(t *testing.T) {
	testenv.SkipTiming(t)
	e := newEnv(t, users.WithHasher(users.Argon2id{}))
	e.open()
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "taken@example.com", Password: "the-owners-password"})
	require.NoError(t, err)
	register := func(email func(i int) string) func(int) {
		return func(i int) {
			e.clock.Advance(31 * time.Minute) // keeps both under the mail limit
			if err := e.m.Register(e.ctx, users.RegisterInput{Email: email(i), Password: "a-password"}); err != nil {
				t.Fatalf("Register: %v", err)
			}
		}
	}
	fresh := register(func(i int) string { return fmt.Sprintf("new-%d@example.com", i+enumWarmUp) })
	taken := register(func(int) string { return "taken@example.com" })
	requireSameTime(t, "Register new vs existing", fresh, taken)
}

func isInvalidCredentials(err error) bool {
	return errors.Is(err, users.ErrInvalidCredentials)
}

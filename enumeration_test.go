package users_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
)

// The enumeration tests below measure a security property — a caller
// cannot tell from the time an answer takes whether an address has an
// account — not performance. They run the real argon2id (timingHasher)
// and compare the two cases with testenv.SameTime: interleaved,
// after a warm-up, as many rounds as the evidence needs (from 24 on a
// quiet machine to 600 when the machine is busy or the cases differ),
// within 2% or 3 ms, whichever is larger.
//
// Checked against the protection: with Authenticate answering at once for
// an unknown address (no dummy hash), the medians were 0.01 ms and 24.8 ms
// at the default parameters, and 0.03 ms and 79 ms at timingHasher's with
// the machine's load at 15, and the test failed at every look; with
// Register returning at once for an existing
// active address, 23.1 ms and 0.005 ms, and it failed. With the
// protection, the medians differ by about 0.1 ms on an idle machine, and
// the median per-round difference stayed under 1.7 ms with the machine's
// load at 10 on its 2 cores.
//
// Skipped with -short, and under -race, which multiplies argon2id's cost
// several times and makes the timing meaningless (testenv.SkipTiming); under
// CI=true either fails instead, and .ci/run runs them without -race.

// timingHasher is the timing tests' hasher: the real argon2id at 8 MiB and
// two passes (m=8192,t=2,p=1), about 10 ms a hash on an idle machine,
// where the default parameters (m=19456,t=2) take 25 ms. A hash on one
// path only still differs by three times SameTime's 3 ms tolerance and
// fails the test at every look, while a round costs 40% of the default's,
// and the shorter calls meet less of the machine's other load.
var timingHasher = users.Argon2id{Memory: 8192, Time: 2}

// Authenticate takes the same time for an unknown address as for a known
// address with a wrong password. Not parallel: it measures time.
func TestAuthenticateTimingDoesNotRevealAccounts(t *testing.T) {
	testenv.SkipTiming(t)
	e := newEnv(t, users.WithHasher(timingHasher))
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
	testenv.SameTime(t, "Authenticate unknown vs wrong password", advance(unknown), advance(known))
}

// Register takes the same time for a new address as for one that has an
// active account. Not parallel: it measures time.
func TestRegisterTimingDoesNotRevealAccounts(t *testing.T) {
	testenv.SkipTiming(t)
	e := newEnv(t, users.WithHasher(timingHasher))
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
	fresh := register(func(i int) string { return fmt.Sprintf("new-%d@example.com", i) })
	taken := register(func(int) string { return "taken@example.com" })
	testenv.SameTime(t, "Register new vs existing", fresh, taken)
}

func isInvalidCredentials(err error) bool {
	return errors.Is(err, users.ErrInvalidCredentials)
}

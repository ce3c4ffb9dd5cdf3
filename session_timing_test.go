package users_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/store"
)

// A wrong password for a user whose hash was made at costlier parameters
// (imported from Directus, or from before HASH_* changed) takes as long as
// an unknown address, by the standard of the enumeration tests above. The
// stored parameters, m=13824,t=3,p=1, cost about 2.5 times timingHasher's
// — the ratio of Directus's to the defaults — with one lane, so that the
// test's cost stays bounded on a small shared machine. Not parallel: it
// measures time.
//
// Checked against the protection: without the padding of failed logins
// (verifyCosts.pad returning at once) the medians were 26 ms and 69 ms at
// m=32768,t=3 against the defaults, and 12 ms and 29 ms at the parameters
// above, and the test failed; with it, 535 ms and 537 ms (median
// difference 0.02 ms) with the machine's load at 10 on its 2 cores.
func TestLoginTimingHidesOtherHashParameters(t *testing.T) {
	testenv.SkipTiming(t)
	e := newEnv(t, users.WithHasher(timingHasher))
	costlier := &users.Argon2id{Memory: 13824, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}
	imported, err := costlier.Hash("the-owners-password")
	require.NoError(t, err)
	u, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "imported@example.com"})
	require.NoError(t, err)
	_, err = e.store.UpdateUser(e.ctx, u.ID, store.Condition{}, store.UserChange{PasswordHash: &imported, UpdatedAt: u.UpdatedAt}, store.Effects{})
	require.NoError(t, err)

	try := func(email string) func(int) {
		return func(i int) {
			e.clock.Advance(8 * time.Minute) // keeps both under the login limits
			_, err := e.m.Login(e.ctx, users.LoginInput{Email: email, Password: "a-wrong-password", IP: fmt.Sprintf("192.0.2.%d", i%200)})
			if !isInvalidCredentials(err) {
				t.Fatalf("Login(%s): %v", email, err)
			}
		}
	}
	testenv.SameTime(t, "Login unknown vs wrong password at costlier parameters",
		try("unknown@example.com"), try("imported@example.com"))
}

// RequestPasswordReset takes the same time for an address without an
// account as for one with an active account. Not parallel: it measures
// time.
//
// On memstore both paths take microseconds (medians 5.3 µs and 6.7 µs
// with the load at 10), far under the 3 ms tolerance: the check that the
// work is the same, step for step, is TestPasswordResetRequestWork; this
// test guards the order of magnitude (a mail sent on the request path, or
// a hash on one path only, fails it).
func TestPasswordResetRequestTimingDoesNotRevealAccounts(t *testing.T) {
	testenv.SkipTiming(t)
	// Unpadded: this test guards the work itself (the stall is
	// TestRequestStallTimingOnRealStores's).
	e := newEnv(t, users.WithHasher(timingHasher), limits(func(l *users.Limits) { l.RequestStall = 0 }))
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "known@example.com", Password: "the-owners-password"})
	require.NoError(t, err)
	request := func(email string) func(int) {
		return func(int) {
			e.clock.Advance(13 * time.Minute) // keeps both under the mail limit
			if err := e.m.RequestPasswordReset(e.ctx, email, ""); err != nil {
				t.Fatalf("RequestPasswordReset: %v", err)
			}
		}
	}
	testenv.SameTime(t, "RequestPasswordReset unknown vs active", request("unknown@example.com"), request("known@example.com"))
}

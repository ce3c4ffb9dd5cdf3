package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
)

// POST /auth/password/request: an address without an account and one with
// an active account get the same 204, byte for byte, in the same time (see
// the enumeration tests above; both paths do the same Store work, without
// hashing, so both take microseconds).
func TestPasswordRequestEnumerationOverHTTP(t *testing.T) {
	testenv.SkipTiming(t)
	// Unpadded (Limits.RequestStall 0): this test guards the work itself;
	// the root package's TestRequestStallTimingOnRealStores the stall.
	lim := users.DefaultLimits()
	lim.RequestStall, lim.Mail, lim.ResetRequestIP = 0, nil, nil // every request from one IP
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{users.WithHasher(timingHasher), lim}})
	f.create(users.CreateUserInput{Email: "known@example.com", Password: "the-owners-password"})
	var first *answer
	try := func(email string) func(int) {
		return func(int) {
			f.clock.Advance(13 * time.Minute) // keeps both under the mail limit
			a := answerOf(f.serve(request("POST", "/auth/password/request", `{"email":`+jsonString(email)+`}`)))
			if first == nil {
				first = &a
			}
			if a.status != http.StatusNoContent || !assert.Equal(t, *first, a) {
				t.Fatalf("answers differ: %+v vs %+v", *first, a)
			}
		}
	}
	testenv.SameTime(t, "password request unknown vs active", try("unknown@example.com"), try("known@example.com"))
	require.NotNil(t, first)
	assert.Empty(t, f.mail.To("unknown@example.com"))
}

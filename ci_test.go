package users_test

import (
	"os"
	"testing"
)

// underCI reports whether the tests run in CI (CI=true), where nothing may
// skip: a test that cannot run there fails.
func underCI() bool { return os.Getenv("CI") == "true" }

// skipOrFail skips t, saying why, or under CI=true fails it instead.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if underCI() {
		t.Fatalf("this test would skip (%s), and under CI=true nothing may skip", why)
	}
	t.Skip(why)
}

// skipTiming skips a timing test under -short and under -race (which
// multiplies argon2id's cost several times and makes the timing
// meaningless). Under CI=true it fails instead: .ci/run runs the timing
// tests in a step of their own, without -race, and leaves them out of the
// -race run with -skip.
func skipTiming(t *testing.T) {
	t.Helper()
	if testing.Short() {
		skipOrFail(t, "-short: a timing test, 400 argon2id hashes")
	}
	if raceEnabled {
		skipOrFail(t, "-race: a timing test, meaningless under the race detector (run it without -race; CI leaves it out of the -race run with -skip)")
	}
}

// Package testenv holds the helpers the module's tests share across
// packages (test files cannot be imported): what CI=true means for a test
// that cannot run, and how a test waits on the code under test.
package testenv

import (
	"os"
	"testing"
	"time"
)

// UnderCI reports whether the tests run in CI (CI=true), where nothing may
// skip: a test that cannot run there fails.
func UnderCI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips t, saying why, or under CI=true fails it instead.
func SkipOrFail(t testing.TB, why string) {
	t.Helper()
	if UnderCI() {
		t.Fatalf("this test would skip (%s), and under CI=true nothing may skip", why)
	}
	t.Skip(why)
}

// SkipTiming skips a timing test under -short and under -race (which
// multiplies argon2id's cost several times and makes the timing
// meaningless). Under CI=true it fails instead: .ci/run runs the timing
// tests in a step of their own, without -race, and leaves them out of the
// -race run with -skip.
func SkipTiming(t testing.TB) {
	t.Helper()
	if testing.Short() {
		SkipOrFail(t, "-short: a timing test, 400 argon2id hashes")
	}
	if Race {
		SkipOrFail(t, "-race: a timing test, meaningless under the race detector (run it without -race; CI leaves it out of the -race run with -skip)")
	}
}

// A test that waits on the code under test waits with a deadline of its
// own, so that a broken protection fails it with a message naming what
// broke, rather than hanging until go test's timeout.

// WaitLimit is how long a step may take before it counts as hung: far
// beyond what it needs on a loaded machine, far below go test's timeout.
const WaitLimit = 10 * time.Second

// Within runs f in a goroutine of its own and fails t with msg when f has
// not returned within d. f must not call t.FailNow (require): it may run
// on after the test failed. Release what f may be blocked on in a
// Cleanup, so that it ends with the test.
func Within(t testing.TB, d time.Duration, msg string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s (still blocked after %v)", msg, d)
	}
}

// Receive returns the next value from ch, or fails t with msg when none
// comes within d.
func Receive[T any](t testing.TB, ch <-chan T, d time.Duration, msg string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s (nothing within %v)", msg, d)
		var zero T
		return zero
	}
}

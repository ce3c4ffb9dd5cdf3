package users_test

import (
	"testing"
	"time"
)

// A test that waits on the code under test waits with a deadline of its
// own, so that a broken protection fails it with a message naming what
// broke, rather than hanging until go test's timeout.

// waitLimit is how long a step may take before it counts as hung: far
// beyond what it needs on a loaded machine, far below go test's timeout.
const waitLimit = 10 * time.Second

// within runs f in a goroutine of its own and fails t with msg when f has
// not returned within d. f must not call t.FailNow (require): it may run
// on after the test failed. Release what f may be blocked on in a
// Cleanup, so that it ends with the test.
func within(t *testing.T, d time.Duration, msg string, f func()) {
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

// receive returns the next value from ch, or fails t with msg when none
// comes within d.
func receive[T any](t *testing.T, ch <-chan T, d time.Duration, msg string) T {
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

// refusedAtOnce runs call, which the hashing gate must refuse at once (its
// slots and queue being full), and returns its error; it fails t, naming
// the call, when call is still blocked after waitLimit.
func refusedAtOnce(t *testing.T, what string, call func() error) error {
	t.Helper()
	var err error
	within(t, waitLimit, what+" was not refused at once: the hash gate let it wait or hash", func() { err = call() })
	return err
}

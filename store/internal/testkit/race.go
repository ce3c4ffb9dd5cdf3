package testkit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Start runs f(i) for i in [0, n) on n goroutines released at once, and
// waits for them.
func Start(n int, f func(i int)) {
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			f(i)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
}

// Wins returns how many of errs, the results of calls that raced, are
// nil, and marks t failed (Errorf) for every other one that matches none
// of lose, the errors a call that lost the race may return. what names
// the calls in the message.
func Wins(t testing.TB, what string, errs []error, lose ...error) int {
	t.Helper()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !slices.ContainsFunc(lose, func(l error) bool { return errors.Is(err, l) }):
			t.Errorf("%s: call %d: %v; want nil or %s", what, i, err, describe(lose))
		}
	}
	return wins
}

// describe is "an error matching A", "… A or B" for the errors errs.
func describe(errs []error) string {
	q := make([]string, len(errs))
	for i, err := range errs {
		q[i] = fmt.Sprintf("%q", err.Error())
	}
	return "an error matching " + strings.Join(q, " or ")
}

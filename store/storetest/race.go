package storetest

import (
	"context"
	"sync"
	"time"
)

// raceDeadline bounds every sub-test that calls the store from many
// goroutines at once: the calls get a context that ends then, and the
// sub-test fails — naming what it was checking — instead of hanging until
// go test's own timeout when a back-end deadlocks.
const raceDeadline = time.Minute

// race runs fn(ctx, i) for i in [0, n) on n goroutines released together
// and waits for them. ctx ends after raceDeadline. what describes the
// calls, for the failure message. fn must not call f.Fatal (it runs on
// another goroutine): it records what it saw for the caller to check.
func (f *fixture) race(what string, n int, fn func(ctx context.Context, i int)) {
	f.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, raceDeadline)
	defer cancel()
	start := make(chan struct{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			fn(ctx, i)
		})
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	close(start)
	// A store that honours ctx returns soon after it ends; one that does
	// not gets a grace period, then the sub-test gives up on it.
	grace := time.NewTimer(raceDeadline + 10*time.Second)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		f.Fatalf("%s: %d calls had not all returned %v after they began, although their context had ended: the store blocks (a deadlock, or a lock never released) and ignores ctx",
			what, n, raceDeadline+10*time.Second)
	}
	if ctx.Err() != nil {
		f.Fatalf("%s: %d calls did not finish within %v: the store blocks under concurrent calls (a deadlock, or a lock never released)",
			what, n, raceDeadline)
	}
}

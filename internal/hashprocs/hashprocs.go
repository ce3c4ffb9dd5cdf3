// Package hashprocs gives a process's Go scheduler more processors than
// the machine has cores only while a flood of password hashes needs them.
//
// An argon2id hash with p lanes runs p goroutines for every slice of
// every pass. When the hashes allowed at once fill every Go processor
// with lanes, a request that needs no hash (the flood's own 503, a
// refused token, a health check) waits in the run queue behind them: on
// 2 cores at Directus's parameters, 500 ms at the 99th percentile for a
// shed answer. One processor per lane plus one per core lets the kernel
// share the cores among the lanes and the handlers instead (20-45 ms),
// but kept all the time it costs the cheapest routes up to a fifth of
// their throughput (more threads than cores, switching among them).
//
// Adaptive keeps Go's default (one processor per core) while hashes come
// one at a time, raises GOMAXPROCS when the hashing queue is contended (a
// hash had to wait for its slot at least MinWait, or was shed), and lowers
// it again once none has been contended for a while. It learns both from
// the Manager's Observer. Cheap hashes (a test deployment's, or a fast
// machine's) that wait less than MinWait leave the run queue before a
// request notices them: raising GOMAXPROCS for them only adds switching
// (a valid-token accept at c=8 with a cheap hash ran at 0.72 of its rate
// at Go's default).
package hashprocs

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gousers/users"
)

// Adaptive switches GOMAXPROCS between Low and High. Create it with New.
type Adaptive struct {
	low, high int
	idle      time.Duration
	now       func() time.Time
	set       func(int) // runtime.GOMAXPROCS, replaceable in tests

	last   atomic.Int64 // unix nanoseconds of the last contended hash
	raised atomic.Bool
	mu     sync.Mutex // serialises switches
}

// New returns an Adaptive that runs at low processors, switches to high
// when hashing is contended, and back to low after idle without
// contention. It sets GOMAXPROCS to low now.
func New(low, high int, idle time.Duration) *Adaptive {
	a := &Adaptive{low: max(1, low), high: max(1, low, high), idle: idle, now: time.Now,
		set: func(n int) { runtime.GOMAXPROCS(n) }}
	a.set(a.low)
	return a
}

// Procs returns the GOMAXPROCS Adaptive has set.
func (a *Adaptive) Procs() int {
	if a.raised.Load() {
		return a.high
	}
	return a.low
}

// MinWait is the shortest wait for a hashing slot that raises GOMAXPROCS:
// the Go scheduler's time slice (it preempts a goroutine after 10 ms), the
// longest a request waits behind a lane that holds its processor.
const MinWait = 10 * time.Millisecond

// Observe is a users.Observer (compose it with others): a hash that
// waited MinWait or more for its slot, or was shed, raises GOMAXPROCS.
func (a *Adaptive) Observe(o users.Observation) {
	switch {
	case o.Kind == users.KindHashShed, o.Kind == users.KindHashWait && o.Duration >= MinWait:
	default:
		return
	}
	a.last.Store(a.now().UnixNano())
	if a.raised.Load() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.raised.Load() {
		a.set(a.high)
		a.raised.Store(true)
	}
}

// lower goes back to low when no hash has been contended for idle; it
// reports whether GOMAXPROCS is low afterwards.
func (a *Adaptive) lower() bool {
	if !a.raised.Load() {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.now().UnixNano()-a.last.Load() < int64(a.idle) {
		return false
	}
	a.set(a.low)
	a.raised.Store(false)
	return true
}

// Run lowers GOMAXPROCS after each contended spell, checking every idle/4,
// until ctx is done; then it leaves GOMAXPROCS low.
func (a *Adaptive) Run(ctx context.Context) {
	t := time.NewTicker(max(a.idle/4, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			a.mu.Lock()
			a.set(a.low)
			a.raised.Store(false)
			a.mu.Unlock()
			return
		case <-t.C:
			a.lower()
		}
	}
}

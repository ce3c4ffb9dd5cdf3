package users

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// hashGate bounds password work (checking a new password against the
// policy, hashing it, verifying one): at most limit calls hold a slot at
// once, and a call that finds every slot taken waits for one only while
// the time it can expect to take — its wait and its own hash — stays
// within budget and fewer than queue calls are waiting; any other call is
// refused at once with a *BusyError that estimates the wait.
//
// A password hash is deliberately expensive in memory (argon2id: its
// Memory parameter, per call) and CPU. Running hashes cost that memory;
// waiting calls cost little. So the number running is bounded by limit,
// and the number waiting by the time they would take: a call that joins
// the queue behind `ahead` others expects to wait (ahead + 1) × the
// measured duration of a hash ÷ limit, then to hash. A burst is served for
// as long as it can be served within budget, and the rest learn at once
// when to come back, instead of queueing for a timeout.
type hashGate struct {
	limit  int
	queue  int
	budget time.Duration

	run     chan struct{} // a token per slot held
	waiting atomic.Int64  // calls admitted to wait, not yet holding a slot
	avg     atomic.Int64  // moving average of a hash's duration, ns
}

func newHashGate(limit, queue int, budget, firstHash time.Duration) *hashGate {
	g := &hashGate{limit: limit, queue: queue, budget: budget, run: make(chan struct{}, limit)}
	g.avg.Store(int64(max(firstHash, time.Microsecond)))
	return g
}

// slot is a held place in the gate. release gives it back, once.
type slot struct {
	g    *hashGate
	once sync.Once
}

func (s *slot) release() { s.once.Do(func() { <-s.g.run }) }

// estimate is the expected wait of a call that would queue behind
// `ahead` waiting calls, and the time until its own hash is done.
func (g *hashGate) estimate(ahead int64) (wait, done time.Duration) {
	avg := g.avg.Load()
	wait = time.Duration((ahead + 1) * avg / int64(g.limit))
	return wait, wait + time.Duration(avg)
}

// observe records how long one hash (or verify) took.
func (g *hashGate) observe(d time.Duration) {
	// An exponentially weighted moving average (weight 1/8): it follows a
	// change of load within a few hashes and smooths single outliers.
	for {
		old := g.avg.Load()
		next := old + (int64(d)-old)/8
		if next < 1 {
			next = 1
		}
		if g.avg.CompareAndSwap(old, next) {
			return
		}
	}
}

// acquire takes a slot. It returns a *BusyError at once when every slot is
// taken and the expected wait plus one hash exceeds the budget, or ctx's
// deadline, or the queue is full; ctx's error when ctx is done before a
// slot is free.
// On success the caller must release the slot.
func (g *hashGate) acquire(ctx context.Context) (*slot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case g.run <- struct{}{}:
		return &slot{g: g}, nil
	default:
	}
	dl, hasDeadline := ctx.Deadline()
	for {
		ahead := g.waiting.Load()
		wait, done := g.estimate(ahead)
		if ahead >= int64(g.queue) || done > g.budget ||
			hasDeadline && time.Until(dl) < done { // it would give up before it is done
			return nil, &BusyError{RetryAfter: wait}
		}
		if g.waiting.CompareAndSwap(ahead, ahead+1) {
			break
		}
	}
	defer g.waiting.Add(-1)
	select {
	case g.run <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Both cases may have been ready; a done ctx wins, so that no hashing
	// starts after a deadline.
	if err := ctx.Err(); err != nil {
		<-g.run
		return nil, err
	}
	return &slot{g: g}, nil
}

// wouldShed reports, without taking or reserving anything, whether a call
// arriving now would be refused: a *BusyError when every slot is taken and
// the queue is full or its expected wait is over the budget, else nil. A
// nil answer promises nothing: acquire decides.
func (g *hashGate) wouldShed() error {
	if len(g.run) < g.limit {
		return nil
	}
	ahead := g.waiting.Load()
	if wait, done := g.estimate(ahead); ahead >= int64(g.queue) || done > g.budget {
		return &BusyError{RetryAfter: wait}
	}
	return nil
}

// load returns how many calls hold a slot and how many wait.
func (g *hashGate) load() (running, waiting int) {
	return len(g.run), int(g.waiting.Load())
}

package users

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// HashBusy reports, without waiting and without taking anything, whether a
// call that checks or hashes a password would be refused at once now (see
// Limits.HashConcurrency and Limits.HashWaitBudget): a *BusyError (ErrBusy) with
// the estimated wait, else nil. It depends on the load alone, never on an
// address, so a handler may ask it before reading a request, to shed a
// flood without the work of decoding it; a nil answer promises nothing (the
// call itself decides). A refusal counts as one, for Health and the
// Observer (KindHashShed). Register asks it first.
func (m *Manager) HashBusy() error {
	err := m.hashGate.wouldShed()
	if err != nil {
		m.gateStats.shed(m.clock())
		m.observe(Observation{Kind: KindHashShed})
	}
	return err
}

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

// acquireHash waits for a slot under the hashing limit, as hashGate.acquire
// does, and reports the wait or the refusal.
func (m *Manager) acquireHash(ctx context.Context) (*slot, error) {
	start := time.Now()
	sl, err := m.hashGate.acquire(ctx)
	switch {
	case err == nil:
		m.observe(Observation{Kind: KindHashWait, Duration: time.Since(start)})
	case errors.Is(err, ErrBusy):
		m.gateStats.shed(m.clock())
		m.observe(Observation{Kind: KindHashShed})
	}
	return sl, err
}

// The password work happens in these functions, under the hashing limit
// (Limits.HashConcurrency): hash and verify take a slot for one operation
// (ErrBusy when the queue cannot take the call, ctx's error when ctx is
// done before a slot is free); hashIn and verifyIn run in a slot the
// caller holds. Each hash's duration feeds the gate's estimate.

func (m *Manager) hash(ctx context.Context, pw string) (string, error) {
	sl, err := m.acquireHash(ctx)
	if err != nil {
		return "", err
	}
	defer sl.release()
	return m.hashIn(sl, pw)
}

func (m *Manager) verify(ctx context.Context, pw, encoded string) (bool, error) {
	sl, err := m.acquireHash(ctx)
	if err != nil {
		return false, err
	}
	defer sl.release()
	return m.verifyIn(sl, pw, encoded)
}

func (m *Manager) hashIn(_ *slot, pw string) (string, error) {
	t0 := time.Now()
	h, err := m.hasher.Hash(pw)
	m.hashGate.observe(time.Since(t0))
	return h, err
}

func (m *Manager) verifyIn(_ *slot, pw, encoded string) (bool, error) {
	t0 := time.Now()
	ok, err := m.hasher.Verify(pw, encoded)
	m.hashGate.observe(time.Since(t0))
	return ok, err
}

// newPasswordHash checks a new password (shape, then the policy) and
// hashes it, under the hashing limit: the one way a flow that sets a
// password turns it into a hash.
func (m *Manager) newPasswordHash(ctx context.Context, s *Settings, pw string) (string, error) {
	if err := validatePasswordShape(pw); err != nil {
		return "", err
	}
	sl, err := m.acquireHash(ctx)
	if err != nil {
		return "", err
	}
	if err := m.checkPolicy(s, pw, sl); err != nil {
		return "", err
	}
	defer sl.release()
	return m.hashIn(sl, pw)
}

// checkPolicy checks a new password against the settings' policy in the
// slot sl. On error the slot is released — at once, or, when the check ran
// past its time limit, once the abandoned match has stopped, so that a
// slow policy never runs more matches at once than there are slots.
func (m *Manager) checkPolicy(s *Settings, pw string, sl *slot) error {
	if s.PasswordPolicy == nil {
		return nil
	}
	return policyInSlot(s, sl, policyMatchLimit, func() bool { return s.PasswordPolicy.matchNow(pw) })
}

// policyInSlot runs match (the policy check) within limit in the slot sl;
// see checkPolicy.
func policyInSlot(s *Settings, sl *slot, limit time.Duration, match func() bool) error {
	ok, timedOut := within(match, limit, sl.release)
	if ok {
		return nil
	}
	if !timedOut {
		sl.release()
	}
	return s.policyError()
}

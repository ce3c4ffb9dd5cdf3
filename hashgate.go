package users

import (
	"container/list"
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// HashBusy reports, without waiting and without taking anything, whether a
// call that checks or hashes a password would be refused at once now (see
// Limits.HashConcurrency and Limits.HashWaitBudget): a *BusyError (ErrBusy) with
// the estimated wait, else nil. It judges for a client that has no call
// in the hashing gate yet (the gate is shared fairly between client IPs:
// see Limits.HashQueue), and depends on the load alone, never on an
// address, so a handler may ask it before reading a request, to shed a
// flood without the work of decoding it; a nil answer promises nothing (the
// call itself decides, for its client). A refusal counts as one, for Health and the
// Observer (KindHashShed). Register asks it first, for the client of its
// ctx's RequestInfo.
func (m *Manager) HashBusy() error {
	return m.hashBusy(gateTicket{client: noClient})
}

// noClient is a gate client key no IP has: a client with nothing in the
// gate.
const noClient = "\x00"

func (m *Manager) hashBusy(tk gateTicket) error {
	err := m.hashGate.wouldShed(tk)
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
// within budget and the queue (queue places) has room for it; any other
// call is refused at once with a *BusyError that estimates the wait.
//
// A password hash is deliberately expensive in memory (argon2id: its
// Memory parameter, per call) and CPU. Running hashes cost that memory;
// waiting calls cost little. So the number running is bounded by limit,
// and the number waiting by the time they would take. A burst is served
// for as long as it can be served within budget, and the rest learn at
// once when to come back, instead of queueing for a timeout.
//
// The gate is shared fairly between clients (a client is an IP address,
// an IPv6 address counting by its /64; calls whose IP is unknown are one
// client). It is work-conserving: a client alone may use every slot and
// the whole queue. But when a slot frees, it goes to a waiting call of the
// client that holds the fewest slots, so that clients that want slots
// hold equal shares of them (a client flooding the gate holds no more
// than any other client that wants them, once a hash's time has passed);
// and a call arriving at a full queue takes the place of the newest
// waiting call of the client with the most waiting calls, when that
// client has at least two more than the arriving call's own (fewer would
// only swap them), so that no client holds
// more queue places than another one that wants them: a flood from one
// client makes its own calls wait or be refused, not other clients'.
// (Among clients holding as many slots, the one served longest ago goes
// first, so that with a single slot clients take turns.)
// A client's expected wait counts its own calls ahead of it and the
// number of clients it shares the slots with, so a client behind a flood
// expects, and gets, its turn within a few hashes.
//
// A login that presents a valid device cookie for its address (a known
// device, lane known) goes ahead of its client's other waiting calls, and
// of other clients' that hold as many slots; at a full queue it takes the
// place of a stranger's call (any client's) rather than be refused. So a
// flood of logins for unknown addresses, even from the owner's own IP,
// does not keep a device that logged in before out. Device cookies are
// MACed and issued only by a successful login.
type hashGate struct {
	limit  int
	queue  int
	budget time.Duration

	avg atomic.Int64 // moving average of a hash's duration, ns

	mu      sync.Mutex
	running int                    // slots held
	waiting int                    // calls waiting for one
	queued  int                    // clients with a call waiting
	known   int                    // waiting calls in lane known
	clients map[string]*gateClient // clients holding or waiting for a slot
	seq     uint64                 // arrival order of waiting calls
	grants  uint64                 // slots given so far
}

// The lanes of a client's waiting calls, in the order they are served.
const (
	laneKnown    = iota // logins from a known device
	laneStranger        // every other call
	lanes
)

// gateClient is one client's share of the gate.
type gateClient struct {
	key     string
	running int
	served  uint64           // the gate's grant count when it was last given a slot
	lane    [lanes]list.List // of *gateWaiter, oldest first
}

func (c *gateClient) waiting() int { return c.lane[laneKnown].Len() + c.lane[laneStranger].Len() }

// gateWaiter is a call waiting for a slot.
type gateWaiter struct {
	c    *gateClient
	lane int
	seq  uint64
	elem *list.Element // nil once it left the queue
	// done gets nil when the call is given a slot, a *BusyError when it
	// is pushed out of the queue. Buffered: whoever decides never blocks.
	done chan error
}

// gateTicket says who asks for a slot: the client, and whether the call
// is a login from a known device.
type gateTicket struct {
	client string
	known  bool
}

func newHashGate(limit, queue int, budget, firstHash time.Duration) *hashGate {
	g := &hashGate{limit: limit, queue: queue, budget: budget, clients: make(map[string]*gateClient)}
	g.avg.Store(int64(max(firstHash, time.Microsecond)))
	return g
}

// slot is a held place in the gate. release gives it back, once.
type slot struct {
	g    *hashGate
	c    *gateClient
	once sync.Once
}

func (s *slot) release() { s.once.Do(func() { s.g.release(s.c) }) }

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

// clientLocked returns the client with this key, registering it. g.mu is
// held.
func (g *hashGate) clientLocked(key string) *gateClient {
	c := g.clients[key]
	if c == nil {
		c = &gateClient{key: key}
		g.clients[key] = c
	}
	return c
}

// forgetLocked drops c when it holds and waits for nothing. g.mu is held.
func (g *hashGate) forgetLocked(c *gateClient) {
	if c.running == 0 && c.waiting() == 0 {
		delete(g.clients, c.key)
	}
}

// estimateLocked is the expected wait of a call of client c joining lane,
// and the time until its own hash is done. The client is served its
// calls ahead (in its lanes up to this one) and this one, each in a turn
// shared with the other clients that wait: (ahead + 1) × clients waiting
// turns, but never more than every call waiting (for a known device,
// every known device's call waiting) and this one; a turn comes every
// hash ÷ limit. With one client this is (waiting + 1) × hash ÷
// limit. c may be nil (a client with nothing in the gate). g.mu is held.
func (g *hashGate) estimateLocked(c *gateClient, lane int) (wait, done time.Duration) {
	ahead, clients := 0, g.queued+1
	if c != nil {
		for l := range lane + 1 {
			ahead += c.lane[l].Len()
		}
		if c.waiting() > 0 {
			clients-- // counted already
		}
	}
	turns := min((ahead+1)*clients, g.waiting+1)
	if lane == laneKnown {
		// Served before every stranger of a client holding as many
		// slots — a client that waits holds few.
		turns = min(turns, g.known+1)
	}
	avg := g.avg.Load()
	wait = time.Duration(int64(turns) * avg / int64(g.limit))
	return wait, wait + time.Duration(avg)
}

// acquire takes a slot for the call tk describes. It returns a *BusyError
// at once when every slot is taken and the expected wait plus one hash
// exceeds the budget or ctx's deadline, or the queue is full and the call
// may not take another's place (see hashGate); a waiting call pushed out
// of the queue gets one too. It returns ctx's error when ctx is done
// before a slot is free. On success the caller must release the slot.
func (g *hashGate) acquire(ctx context.Context, tk gateTicket) (*slot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lane := laneStranger
	if tk.known {
		lane = laneKnown
	}
	g.mu.Lock()
	c := g.clientLocked(tk.client)
	if g.running < g.limit {
		// A free slot means nobody waits: a release hands its slot on.
		g.grantLocked(c)
		g.mu.Unlock()
		return &slot{g: g, c: c}, nil
	}
	wait, done := g.estimateLocked(c, lane)
	dl, hasDeadline := ctx.Deadline()
	if g.queue == 0 || done > g.budget ||
		hasDeadline && time.Until(dl) < done { // it would give up before it is done
		g.forgetLocked(c)
		g.mu.Unlock()
		return nil, &BusyError{RetryAfter: wait}
	}
	if g.waiting >= g.queue {
		v := g.victimLocked(c, lane)
		if v == nil {
			g.forgetLocked(c)
			g.mu.Unlock()
			return nil, &BusyError{RetryAfter: wait}
		}
		g.pushOutLocked(v)
		g.clients[c.key] = c // in case c lost its own last call
	}
	g.seq++
	w := &gateWaiter{c: c, lane: lane, seq: g.seq, done: make(chan error, 1)}
	if c.waiting() == 0 {
		g.queued++
	}
	w.elem = c.lane[lane].PushBack(w)
	g.waiting++
	if lane == laneKnown {
		g.known++
	}
	g.mu.Unlock()

	select {
	case err := <-w.done:
		if err != nil {
			return nil, err
		}
	case <-ctx.Done():
		g.mu.Lock()
		if w.elem != nil { // still waiting: leave the queue
			g.removeLocked(w)
			g.forgetLocked(c)
			g.mu.Unlock()
			return nil, ctx.Err()
		}
		g.mu.Unlock()
		if err := <-w.done; err != nil { // decided meanwhile
			return nil, err
		}
	}
	sl := &slot{g: g, c: c}
	// A slot and a done ctx may have come together; a done ctx wins, so
	// that no hashing starts after a deadline.
	if err := ctx.Err(); err != nil {
		sl.release()
		return nil, err
	}
	return sl, nil
}

// removeLocked takes w out of the queue. g.mu is held.
func (g *hashGate) removeLocked(w *gateWaiter) {
	w.c.lane[w.lane].Remove(w.elem)
	w.elem = nil
	g.waiting--
	if w.lane == laneKnown {
		g.known--
	}
	if w.c.waiting() == 0 {
		g.queued--
	}
}

// victimLocked chooses the waiting call whose place a call of client c
// joining lane takes in a full queue, or nil when it may take none: the
// newest stranger's call of the client with the most waiting calls, when
// that client waits with at least two calls more than c; for a known
// device, failing that, the newest stranger's call of any client (its own
// included), and then the newest known device's call of a client with at
// least two waiting calls more than c. g.mu is held.
func (g *hashGate) victimLocked(c *gateClient, lane int) *gateWaiter {
	newest := func(o *gateClient, l int) *gateWaiter {
		if e := o.lane[l].Back(); e != nil {
			return e.Value.(*gateWaiter)
		}
		return nil
	}
	// The client with the most waiting calls that has one in lane l.
	biggest := func(l int, others bool) *gateClient {
		var b *gateClient
		for _, o := range g.clients {
			if o.lane[l].Len() == 0 || others && o == c {
				continue
			}
			if b == nil || o.waiting() > b.waiting() {
				b = o
			}
		}
		return b
	}
	if b := biggest(laneStranger, true); b != nil && b.waiting() >= c.waiting()+2 {
		return newest(b, laneStranger)
	}
	if lane != laneKnown {
		return nil
	}
	if b := biggest(laneStranger, false); b != nil {
		return newest(b, laneStranger)
	}
	if b := biggest(laneKnown, true); b != nil && b.waiting() >= c.waiting()+2 {
		return newest(b, laneKnown)
	}
	return nil
}

// pushOutLocked refuses the waiting call w, which loses its place, with
// the wait its client can expect. g.mu is held.
func (g *hashGate) pushOutLocked(w *gateWaiter) {
	g.removeLocked(w)
	wait, _ := g.estimateLocked(w.c, w.lane)
	g.forgetLocked(w.c)
	w.done <- &BusyError{RetryAfter: wait}
}

// grantLocked gives client c a slot. g.mu is held.
func (g *hashGate) grantLocked(c *gateClient) {
	g.running++
	c.running++
	g.grants++
	c.served = g.grants
}

// release gives back a slot of client c and hands it to the next waiting
// call: of the clients that wait, the one holding the fewest slots (ties:
// a known device's call first, then the client served longest ago, then
// the oldest call), its first call in lane order.
func (g *hashGate) release(c *gateClient) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	c.running--
	var next *gateWaiter
	for _, o := range g.clients {
		var w *gateWaiter
		for l := range lanes {
			if e := o.lane[l].Front(); e != nil {
				w = e.Value.(*gateWaiter)
				break
			}
		}
		if w == nil {
			continue
		}
		if next == nil || before(w, next) {
			next = w
		}
	}
	g.forgetLocked(c)
	if next == nil {
		return
	}
	g.removeLocked(next)
	g.grantLocked(next.c)
	next.done <- nil
}

// before reports whether waiting call a is served before b (see release).
func before(a, b *gateWaiter) bool {
	switch {
	case a.c.running != b.c.running:
		return a.c.running < b.c.running
	case a.lane != b.lane:
		return a.lane < b.lane
	case a.c.served != b.c.served:
		return a.c.served < b.c.served
	}
	return a.seq < b.seq
}

// wouldShed reports, without taking or reserving anything, whether a call
// of the client tk names arriving now would be refused: a *BusyError when
// every slot is taken and its expected wait is over the budget, or the
// queue is full and it could take no other call's place; else nil. A nil
// answer promises nothing: acquire decides.
func (g *hashGate) wouldShed(tk gateTicket) error {
	lane := laneStranger
	if tk.known {
		lane = laneKnown
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running < g.limit {
		return nil
	}
	c := g.clients[tk.client]
	wait, done := g.estimateLocked(c, lane)
	if g.queue == 0 || done > g.budget {
		return &BusyError{RetryAfter: wait}
	}
	if g.waiting >= g.queue {
		probe := c
		if probe == nil {
			probe = &gateClient{key: tk.client}
		}
		if g.victimLocked(probe, lane) == nil {
			return &BusyError{RetryAfter: wait}
		}
	}
	return nil
}

// load returns how many calls hold a slot and how many wait.
func (g *hashGate) load() (running, waiting int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running, g.waiting
}

// gateClientOf is the hashing gate's client for a client IP: the address,
// an IPv6 address by its /64 (one host's, or one site's, whole range), ""
// when unknown. Text that is not an address is its own client.
func gateClientOf(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return clip(ip, 64)
	}
	a = a.WithZone("").Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// ticketOf is the gate ticket of a call made for ctx's request: its
// client IP (RequestInfo), a stranger's call.
func ticketOf(ctx context.Context) gateTicket {
	return gateTicket{client: gateClientOf(requestFrom(ctx).IP)}
}

// acquireHash waits for a slot under the hashing limit, as hashGate.acquire
// does, for the client of ctx's request, and reports the wait or the
// refusal.
func (m *Manager) acquireHash(ctx context.Context) (*slot, error) {
	return m.acquireHashAs(ctx, ticketOf(ctx))
}

// acquireHashAs is acquireHash for the call tk describes.
func (m *Manager) acquireHashAs(ctx context.Context, tk gateTicket) (*slot, error) {
	start := time.Now()
	sl, err := m.hashGate.acquire(ctx, tk)
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

package users

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gateCall is a call waiting in (or refused by) a hashGate.
type gateCall struct {
	name string
	done chan gateResult
}

type gateResult struct {
	sl  *slot
	err error
}

// gateEnter starts a call of tk and waits until the gate has decided about it:
// it holds a slot, waits in the queue, or was refused.
func gateEnter(t *testing.T, g *hashGate, name string, tk gateTicket) *gateCall {
	t.Helper()
	seq := func() uint64 {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.seq
	}
	before := seq()
	c := &gateCall{name: name, done: make(chan gateResult, 1)}
	go func() {
		sl, err := g.acquire(context.Background(), tk)
		c.done <- gateResult{sl, err}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if seq() != before || len(c.done) > 0 { // queued, or answered
			return c
		}
		require.True(t, time.Now().Before(deadline), "%s: the gate did not decide", name)
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// gateNext returns the first of calls that gets a slot (failing t when none
// does within a second, or one is refused).
func gateNext(t *testing.T, calls ...*gateCall) *gateCall {
	t.Helper()
	deadline := time.After(time.Second)
	for {
		for _, c := range calls {
			select {
			case r := <-c.done:
				require.NoError(t, r.err, c.name)
				c.done <- r // keep it for release
				return c
			default:
			}
		}
		select {
		case <-deadline:
			t.Fatalf("no call got a slot")
		case <-time.After(time.Millisecond):
		}
	}
}

func (c *gateCall) release(t *testing.T) {
	t.Helper()
	r := <-c.done
	require.NoError(t, r.err, c.name)
	r.sl.release()
}

func gateRefused(t *testing.T, c *gateCall) *BusyError {
	t.Helper()
	select {
	case r := <-c.done:
		var be *BusyError
		require.ErrorAs(t, r.err, &be, c.name)
		return be
	case <-time.After(time.Second):
		t.Fatalf("%s was not refused", c.name)
		return nil
	}
}

// without drops c from calls.
func without(calls []*gateCall, c *gateCall) []*gateCall {
	out := calls[:0:0]
	for _, o := range calls {
		if o != c {
			out = append(out, o)
		}
	}
	return out
}

// A freed slot goes to the client holding the fewest, then to a known
// device's login, then to the client served longest ago: with one slot,
// a client that arrives behind another's queue is served next, not after
// it, and a known device's login goes ahead of strangers, its own
// client's other calls included.
//
// Checked against a first-come-first-served gate (before returning the
// oldest call): "b" came fourth, not second, and the test failed.
func TestHashGateServesClientsInTurn(t *testing.T) {
	t.Parallel()
	g := newHashGate(1, 100, time.Hour, time.Millisecond)
	a := gateTicket{client: "192.0.2.1"}
	first := gateEnter(t, g, "a0", a)
	var waiting []*gateCall
	for _, n := range []string{"a1", "a2", "a3"} {
		waiting = append(waiting, gateEnter(t, g, n, a))
	}
	waiting = append(waiting, gateEnter(t, g, "b", gateTicket{client: "198.51.100.1"}))
	waiting = append(waiting, gateEnter(t, g, "a-device", gateTicket{client: "192.0.2.1", known: true}))
	first.release(t)
	var order []string
	for len(waiting) > 0 {
		c := gateNext(t, waiting...)
		order = append(order, c.name)
		waiting = without(waiting, c)
		c.release(t)
	}
	assert.Equal(t, []string{"a-device", "b", "a1", "a2", "a3"}, order)
	running, queued := g.load()
	assert.Zero(t, running+queued)
	assert.Empty(t, g.clients, "clients with nothing in the gate are forgotten")
	assert.Zero(t, g.queued)
	assert.Zero(t, g.known)
}

// At a full queue, a call from a client with at least two waiting calls
// fewer than the biggest takes the place of that client's newest call,
// which is refused with a *BusyError; any other stranger's call is
// refused itself. A known device's login takes a stranger's place, its
// own client's included.
//
// Checked against refusing every call at a full queue: "b" was refused
// and the test failed.
func TestHashGatePushesOutTheBiggestClient(t *testing.T) {
	t.Parallel()
	g := newHashGate(1, 3, time.Hour, time.Millisecond)
	a := gateTicket{client: "192.0.2.1"}
	hold := gateEnter(t, g, "a0", a)
	a1, a2, a3 := gateEnter(t, g, "a1", a), gateEnter(t, g, "a2", a), gateEnter(t, g, "a3", a)

	b := gateEnter(t, g, "b", gateTicket{client: "198.51.100.1"})
	gateRefused(t, a3)
	be := gateRefused(t, gateEnter(t, g, "a4", a))
	assert.Positive(t, be.RetryAfter)

	// Now a has two waiting, b one: c (none) pushes out a's newest.
	c := gateEnter(t, g, "c", gateTicket{client: "203.0.113.1"})
	gateRefused(t, a2)
	// a1, b and c wait, one each: a stranger from d pushes out nobody…
	gateRefused(t, gateEnter(t, g, "d", gateTicket{client: "203.0.113.2"}))
	// …but a known device's login from a takes a stranger's place.
	dev := gateEnter(t, g, "a-device", gateTicket{client: "192.0.2.1", known: true})
	_, queued := g.load()
	assert.Equal(t, 3, queued)
	var rest []*gateCall // the strangers still waiting
	for _, w := range []*gateCall{a1, b, c} {
		select {
		case r := <-w.done:
			require.ErrorIs(t, r.err, ErrBusy)
		default:
			rest = append(rest, w)
		}
	}
	assert.Len(t, rest, 2, "one stranger lost its place")

	hold.release(t)
	gateNext(t, dev).release(t)
	for len(rest) > 0 {
		w := gateNext(t, rest...)
		rest = without(rest, w)
		w.release(t)
	}
	running, queued := g.load()
	assert.Zero(t, running+queued)
}

// A client's expected wait counts its own calls ahead of it and the
// clients that wait beside it: behind another client's hundred waiting
// calls, a newcomer expects its turn within two turns, while the flooding
// client's next call expects to wait behind its own hundred.
func TestHashGateEstimatesPerClient(t *testing.T) {
	t.Parallel()
	g := newHashGate(2, 1000, time.Hour, 40*time.Millisecond)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running = 2
	flood := g.clientLocked("192.0.2.1")
	flood.running = 2
	for i := range 100 {
		w := &gateWaiter{c: flood, lane: laneStranger, seq: uint64(i)}
		w.elem = flood.lane[laneStranger].PushBack(w)
		g.waiting++
	}
	g.queued = 1
	wait, _ := g.estimateLocked(nil, laneStranger)
	assert.Equal(t, 2*40*time.Millisecond/2, wait, "a newcomer: one turn of two clients")
	wait, _ = g.estimateLocked(flood, laneStranger)
	assert.Equal(t, 101*40*time.Millisecond/2, wait, "the flood's next call: behind its own")
	wait, _ = g.estimateLocked(flood, laneKnown)
	assert.Equal(t, 40*time.Millisecond/2, wait, "a known device from the flood's IP: ahead of it")

	// Many clients with a call each: a stranger expects to wait for all of
	// them, a known device for the known devices' calls alone.
	for i := range 500 {
		o := g.clientLocked(fmt.Sprintf("198.51.%d.%d", i/250, i%250))
		w := &gateWaiter{c: o, lane: laneStranger, seq: uint64(1000 + i)}
		w.elem = o.lane[laneStranger].PushBack(w)
		g.waiting++
		g.queued++
	}
	wait, _ = g.estimateLocked(nil, laneStranger)
	assert.Equal(t, 502*40*time.Millisecond/2, wait, "a stranger among 501 waiting clients")
	wait, _ = g.estimateLocked(nil, laneKnown)
	assert.Equal(t, 40*time.Millisecond/2, wait, "a known device: no known device ahead")
}

// IPv6 clients count by their /64; IPv4-mapped addresses as IPv4.
func TestGateClientOf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"fe80::1%eth0":         "fe80::/64",
		"":                     "",
		"not an address":       "not an address",
	} {
		assert.Equal(t, want, gateClientOf(in), in)
	}
}

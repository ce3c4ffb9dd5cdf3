package users_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

const (
	sprayIP = "203.0.113.66"
	ownerIP = "192.0.2.10"
	otherIP = "198.51.100.20"
	// sprayers is how many connections the sprayer keeps busy at once.
	sprayers = 128
	// sprayRuns is how many times the spray is repeated: each run must
	// let every legitimate login in.
	sprayRuns = 10
	// legitWithin is how soon a legitimate login must succeed.
	legitWithin = 2 * time.Second
)

// spray keeps sprayers goroutines logging in from ip at ever-new
// addresses until ctx is done; it returns a function that waits for them
// and reports how many attempts they made and how many were refused as
// busy. A refused sprayer retries after a few milliseconds (a real one
// would retry at once, over HTTP; sleeping keeps the test cheap).
func spray(ctx context.Context, m *users.Manager, ip string, run int) func() (attempts, busy int64) {
	var wg sync.WaitGroup
	var attempts, refused atomic.Int64
	for i := range sprayers {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				_, err := m.Login(ctx, users.LoginInput{Email: fmt.Sprintf("spray-%d-%d-%d@example.com", run, i, n),
					Password: "a guess", IP: ip})
				attempts.Add(1)
				if errors.Is(err, users.ErrBusy) {
					refused.Add(1)
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	return func() (int64, int64) {
		wg.Wait()
		return attempts.Load(), refused.Load()
	}
}

// One client spraying logins at ever-new addresses over 128 connections
// — which no per-address limit ever sees twice — cannot deny logins to
// others: the hashing gate is shared fairly between clients, so while
// the spray keeps every slot busy and its queue full, the owner's login
// with its device cookie, the same device behind the sprayer's own IP (a
// shared NAT: the known-device lane goes ahead of the sprayer's calls),
// and a password login from another IP each succeed within 2 s, in every
// one of 10 runs (a password login from the spray IP itself shares the
// spray's turns: it waits among them or is refused as busy). The per-IP
// limit over all addresses (LoginIPTotal) is
// off here: this is the gate's own guarantee. Hashes sleep 40 ms, with
// two slots.
//
// Checked against the first-come-first-served gate (release handing the
// slot to the oldest waiting call, and the estimate counting every
// waiting call): every legitimate login waited behind the sprayer's
// queue, about 2.5 s, and the test failed in its first run.
func TestSprayOfUnknownAddressesDoesNotDenyOthers(t *testing.T) {
	t.Parallel()
	h := &timedHoldHasher{holdHasher: holdHasher{entered: make(chan struct{}, 1)}, d: 40 * time.Millisecond}
	e := newEnv(t, users.WithHasher(h), withSecret(), quiet, limits(func(l *users.Limits) {
		l.HashConcurrency = 2
		l.LoginIPTotal = nil
	}))
	e.owner(nil)
	first, err := e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, IP: ownerIP})
	require.NoError(t, err)
	device := first.Device
	require.NotEmpty(t, device)

	for run := range sprayRuns {
		ctx, stop := context.WithCancel(e.ctx)
		wait := spray(ctx, e.m, sprayIP, run)
		// The spray holds every slot and a queue of its own.
		deadline := time.Now().Add(5 * time.Second)
		for {
			running, waiting := users.HashGateLoad(e.m)
			if running == 2 && waiting >= sprayers/2 {
				break
			}
			require.True(t, time.Now().Before(deadline), "run %d: the spray did not fill the gate (%d/%d)", run, running, waiting)
			time.Sleep(5 * time.Millisecond)
		}
		legit := map[string]users.LoginInput{
			"device cookie":                   {Email: ownerEmail, Password: ownerPass, IP: ownerIP, Device: device},
			"device cookie from the spray IP": {Email: ownerEmail, Password: ownerPass, IP: sprayIP, Device: device},
			"password from another IP":        {Email: ownerEmail, Password: ownerPass, IP: otherIP},
		}
		type result struct {
			name string
			err  error
			took time.Duration
		}
		results := make(chan result, len(legit))
		for name, in := range legit {
			go func() {
				t0 := time.Now()
				_, err := e.m.Login(e.ctx, in)
				results <- result{name, err, time.Since(t0)}
			}()
		}
		// A password login from the spray's own IP is one of the spray's
		// calls: it waits its turn among them or is refused as busy (once:
		// it waits seconds).
		shared := make(chan result, 1)
		if run == 0 {
			go func() {
				t0 := time.Now()
				_, err := e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, IP: sprayIP})
				shared <- result{"password from the spray IP", err, time.Since(t0)}
			}()
		}
		var slowest time.Duration
		for range legit {
			r := <-results
			require.NoError(t, r.err, "run %d: %s", run, r.name)
			assert.Less(t, r.took, legitWithin, "run %d: %s", run, r.name)
			slowest = max(slowest, r.took)
		}
		if run == 0 {
			r := <-shared
			if r.err != nil {
				require.ErrorIs(t, r.err, users.ErrBusy, r.name)
			}
			t.Logf("%s: %v after %v", r.name, r.err, r.took)
		}
		stop()
		attempts, busy := wait()
		t.Logf("run %d: the legitimate logins took at most %v; the spray made %d attempts, %d refused as busy",
			run, slowest, attempts, busy)
		assert.Greater(t, attempts, int64(sprayers), "run %d: the spray was served too (the gate wastes no slot)", run)
	}
}

// A stranger's attempts from one IP stop at the per-IP limit over all
// addresses (LoginIPTotal), counted before any hashing: attempt 4 of a
// 3-attempt budget is refused, a device cookie's login and other IPs are
// not, and an IPv6 client is one client across its /64.
//
// Checked against keying the limit by the IP and the address: the fourth
// address was let through and the test failed.
func TestLoginIPTotalLimitsEverNewAddresses(t *testing.T) {
	t.Parallel()
	h := &countingHasher{}
	e := newEnv(t, users.WithHasher(h), withSecret(), quiet, limits(func(l *users.Limits) {
		l.LoginIPTotal = &users.MemoryLimiter{Points: 3, Window: time.Hour}
	}))
	e.owner(nil)
	s, err := e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, IP: ownerIP})
	require.NoError(t, err, "one attempt of ownerIP's budget")
	for k, c := range []struct{ ip, ip2 string }{
		{sprayIP, sprayIP},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"}, // one /64
	} {
		for i := range 3 {
			ip := c.ip
			if i == 2 {
				ip = c.ip2
			}
			_, err := e.m.Login(e.ctx, users.LoginInput{Email: fmt.Sprintf("n%d-%d@example.com", i, k), Password: "guess", IP: ip})
			require.ErrorIs(t, err, users.ErrInvalidCredentials, "attempt %d from %s", i+1, c.ip)
		}
		h.take()
		_, err := e.m.Login(e.ctx, users.LoginInput{Email: fmt.Sprintf("n3-%d@example.com", k), Password: "guess", IP: c.ip2})
		var rl *users.RateLimitError
		require.ErrorAs(t, err, &rl, "the fourth address from %s", c.ip)
		assert.Zero(t, h.take(), "refused before hashing")
		// The owner's known device from the same IP is not a stranger.
		_, err = e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, IP: c.ip, Device: s.Device})
		require.NoError(t, err, "a device cookie's login from %s", c.ip)
	}
	_, err = e.m.Login(e.ctx, users.LoginInput{Email: "elsewhere@example.com", Password: "guess", IP: "2001:db8:1:3::1"})
	require.ErrorIs(t, err, users.ErrInvalidCredentials, "another /64 has its own budget")
	_, err = e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass, IP: otherIP})
	require.NoError(t, err, "another IP has its own budget")
}

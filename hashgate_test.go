package users_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// timedHoldHasher takes d per hash, unless held: then each call announces
// itself on entered and waits for the hold's release.
type timedHoldHasher struct {
	holdHasher
	d time.Duration
}

func (h *timedHoldHasher) Hash(pw string) (string, error) {
	if h.hold.Load() == nil {
		time.Sleep(h.d)
	}
	return h.holdHasher.Hash(pw)
}

func (h *timedHoldHasher) Verify(pw, enc string) (bool, error) {
	if h.hold.Load() == nil {
		time.Sleep(h.d)
	}
	return h.holdHasher.Verify(pw, enc)
}

// The hashing gate admits a call to wait only while the time it expects
// to take — (calls waiting ahead + 1) × the measured duration of a hash ÷
// the limit, then its own hash — fits the budget, and refuses the rest at
// once with a *BusyError whose RetryAfter is the expected wait; also a
// call whose deadline comes before it would be done. Register asks the
// gate before any store work. The first estimate comes from the hashes New runs.
//
// Checked against the fixed queue (4 × limit, whatever the hash costs):
// the fifth call waited, no refusal said when to retry, and this test
// failed.
func TestHashGateAdmitsByExpectedWait(t *testing.T) {
	t.Parallel()
	h := &timedHoldHasher{holdHasher: holdHasher{entered: make(chan struct{}, 8)}, d: 40 * time.Millisecond}
	e := newEnv(t, users.WithHasher(h), limits(func(l *users.Limits) {
		l.HashConcurrency, l.HashQueue = 1, 1000
		l.HashWaitBudget = 200 * time.Millisecond
	}), quiet)
	e.open()
	_, perHash := users.HashGateBudget(e.m)
	require.GreaterOrEqual(t, perHash, 40*time.Millisecond, "measured from New's hash")
	// Held hashes record no duration, so the estimate stays where it is
	// set (the machine's load would move a measured one).
	perHash = 40 * time.Millisecond
	users.SetHashEstimate(e.m, perHash)

	release := make(chan struct{})
	h.hold.Store(&release)
	var seq atomic.Int64
	register := func(ctx context.Context) error {
		return e.m.Register(ctx, users.RegisterInput{Email: fmt.Sprintf("u%d@example.com", seq.Add(1)), Password: "pw"})
	}
	done := make(chan error, 10)
	go func() { done <- register(e.ctx) }()
	<-h.entered
	go func() { done <- register(e.ctx) }()
	waitForLoad(t, e.m, 1, 1)

	// A deadline sooner than it would be done (a wait of 2 × 40 ms and a
	// hash, within the budget): refused now, not when the deadline passes.
	ctx, cancel := context.WithTimeout(e.ctx, perHash/2)
	defer cancel()
	err := register(ctx)
	var be *users.BusyError
	require.ErrorAs(t, err, &be)
	require.NoError(t, ctx.Err(), "refused before its deadline")
	assert.Equal(t, 2*perHash, be.RetryAfter)

	// Expected waits 1 × 40 ms… 4 × 40 ms, each plus its 40 ms hash: within
	// the 200 ms budget; a fifth would wait 200 ms and be done at 240 ms.
	n := 4 // waiting calls admitted
	for i := 1; i < n; i++ {
		go func() { done <- register(e.ctx) }()
		waitForLoad(t, e.m, 1, i+1)
	}
	ctx2, cancel2 := context.WithTimeout(e.ctx, 2*time.Second) // were it to wait, it would fail
	defer cancel2()
	// HashBusy judges for a client with nothing in the gate, which would
	// get its turn within two hashes; Register asks for its own client,
	// before any store work.
	require.NoError(t, e.m.HashBusy(), "a new client would be served")
	err = register(ctx2)
	require.ErrorIs(t, err, users.ErrBusy)
	require.ErrorAs(t, err, &be)
	assert.Equal(t, time.Duration(n+1)*perHash, be.RetryAfter, "the expected wait: the calls ahead and this one")
	assert.Contains(t, err.Error(), "retry after")

	h.hold.Store(nil)
	close(release)
	served := 0
	for range n + 1 {
		require.NoError(t, <-done)
		served++
	}
	assert.Equal(t, n+1, served, "the running call and every admitted one")
	waitForLoad(t, e.m, 0, 0)
	assert.NoError(t, e.m.HashBusy())
	assert.Len(t, e.allUsers(), n+1, "refused calls wrote nothing")
}

// The estimate follows the hashes the Manager runs: slower hashes make it
// grow, faster ones shrink it.
func TestHashGateEstimateFollowsTheHashes(t *testing.T) {
	t.Parallel()
	h := &timedHoldHasher{holdHasher: holdHasher{entered: make(chan struct{}, 8)}, d: 5 * time.Millisecond}
	e := newEnv(t, users.WithHasher(h), limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = 1, 10 }), quiet)
	e.open()
	var seq atomic.Int64
	hashes := func(n int, d time.Duration) time.Duration {
		h.d = d
		for range n {
			require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: fmt.Sprintf("s%d@example.com", seq.Add(1)), Password: "pw"}))
		}
		_, est := users.HashGateBudget(e.m)
		return est
	}
	slow := hashes(20, 50*time.Millisecond)
	assert.Greater(t, slow, 35*time.Millisecond, "after twenty 50 ms hashes")
	fast := hashes(30, time.Millisecond)
	assert.Less(t, fast, slow/2, "after thirty 1 ms hashes")

	for _, bad := range []time.Duration{-time.Second} {
		_, err := users.New(e.store, e.mail, limits(func(l *users.Limits) { l.HashWaitBudget = bad }))
		require.Error(t, err)
	}
}

// The wait budget holds on the login path too, for a known address and an
// unknown one: with calls ahead that would make a login wait past the
// budget, Login is refused at once with the expected wait, though the
// queue has room and its ctx would wait.
func TestHashGateBudgetOnLogin(t *testing.T) {
	t.Parallel()
	h := &timedHoldHasher{holdHasher: holdHasher{entered: make(chan struct{}, 8)}, d: time.Millisecond}
	e := newEnv(t, users.WithHasher(h), limits(func(l *users.Limits) {
		l.HashConcurrency, l.HashQueue = 1, 1000
		l.HashWaitBudget = 200 * time.Millisecond
		l.Login, l.LoginIP = nil, nil
	}), quiet)
	e.open()
	e.owner(nil)
	perHash := 40 * time.Millisecond
	users.SetHashEstimate(e.m, perHash)

	release := make(chan struct{})
	var once sync.Once
	unhold := func() { once.Do(func() { h.hold.Store(nil); close(release) }) }
	t.Cleanup(unhold)
	h.hold.Store(&release)
	var seq atomic.Int64
	register := func() error {
		return e.m.Register(e.ctx, users.RegisterInput{Email: fmt.Sprintf("u%d@example.com", seq.Add(1)), Password: "pw"})
	}
	done := make(chan error, 10)
	go func() { done <- register() }()
	<-h.entered
	n := 4 // waiting: 4 × 40 ms + a 40 ms hash fits the 200 ms budget; a fifth does not
	for i := 1; i <= n; i++ {
		go func() { done <- register() }()
		waitForLoad(t, e.m, 1, i)
	}
	users.SetHashEstimate(e.m, perHash)
	for _, email := range []string{ownerEmail, "nobody@example.com"} {
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		err := refusedAtOnce(t, "Login "+email, func() error {
			_, err := e.m.Login(ctx, users.LoginInput{Email: email, Password: ownerPass})
			return err
		})
		cancel()
		var be *users.BusyError
		require.ErrorAs(t, err, &be, email)
		assert.Equal(t, time.Duration(n+1)*perHash, be.RetryAfter, email)
	}
	unhold()
	for range n + 1 {
		require.NoError(t, <-done)
	}
	_, err := e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass})
	require.NoError(t, err, "served once the gate is free")
}

package users_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
)

// timedHasher wraps a Hasher and records the longest single call.
type timedHasher struct {
	users.Hasher
	mu      sync.Mutex
	longest time.Duration
}

func (h *timedHasher) note(start time.Time) {
	d := time.Since(start)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.longest = max(h.longest, d)
}

func (h *timedHasher) Hash(pw string) (string, error) {
	defer h.note(time.Now())
	return h.Hasher.Hash(pw)
}

func (h *timedHasher) Verify(pw, enc string) (bool, error) {
	defer h.note(time.Now())
	return h.Hasher.Verify(pw, enc)
}

// A flood of registrations at Directus's argon2id parameters (64 MiB per
// hash) neither exhausts memory nor keeps callers past their deadline:
// the hashing gate lets 2 hash at a time, admits to its queue only the
// calls whose expected wait and hash fit both the budget and their own
// deadline,
// and refuses the rest at once with a *BusyError estimating the wait; a
// waiting call gives up when its deadline passes. Every call returns nil,
// ErrBusy or its deadline error, by its deadline plus the longest single
// hash plus 0.5 s (a call that got its slot just before the deadline
// finishes its hash: argon2 cannot be interrupted); only the calls that
// returned nil wrote anything; the heap in use peaks under 400 MiB (about
// 260 MiB here: two live 64 MiB hashes plus garbage awaiting collection);
// and afterwards no slot is left taken.
//
// Checked against the protection: with Limits.HashConcurrency(16, 30) instead,
// the peak heap reached 1089 MiB (and single hashes took 3.6 s), and the
// test failed; with the gate removed (256 at once) the flood would need
// 256 × 64 MiB = 16 GiB — try it with 16, not 256, unless the machine has
// the memory to spare. With a plain semaphore instead (waiting calls
// ignoring their ctx), queued calls hashed after their deadline, one
// returned 2.2 s late, and the test failed. How many are served within
// the budget, and how fast the rest are shed, is measured over HTTP by
// cmd/usersbench -burst (BENCHMARKS.md), not asserted here.
//
// Not parallel: the heap it measures must be its own.
func TestHashFloodBoundsMemoryAndLatency(t *testing.T) {
	const (
		callers  = 256
		deadline = 2 * time.Second
		maxHeap  = 400 << 20
	)
	if testing.Short() {
		testenv.SkipOrFail(t, "-short: hashes at 64 MiB for a few seconds")
	}
	h := &timedHasher{Hasher: &users.Argon2id{Memory: 64 << 10, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}}
	e := newEnv(t, users.WithHasher(h), limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = 2, 1024 }), quiet)
	e.open()

	runtime.GC()
	var (
		peak    uint64
		stop    = make(chan struct{})
		sampled = make(chan struct{})
	)
	go func() {
		defer close(sampled)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	type result struct {
		err  error
		took time.Duration
	}
	results := make([]result, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			err := e.m.Register(ctx, users.RegisterInput{Email: fmt.Sprintf("flood-%d@example.com", i), Password: "pw"})
			results[i] = result{err, time.Since(t0)}
		})
	}
	close(start)
	wg.Wait()
	close(stop)
	<-sampled

	// A call that got a slot just before its deadline finishes its hash
	// (0.2-0.7 s here, depending on the machine's load; more under -race).
	slack := h.longest + 500*time.Millisecond
	var latest time.Duration
	count := map[string]int{}
	for i, r := range results {
		switch {
		case r.err == nil:
			count["ok"]++
		case errors.Is(r.err, users.ErrBusy):
			count["busy"]++
			var be *users.BusyError
			if assert.ErrorAs(t, r.err, &be, "caller %d", i) {
				assert.Positive(t, be.RetryAfter, "caller %d: a shed call is told when to retry", i)
			}
		case errors.Is(r.err, context.DeadlineExceeded):
			count["deadline"]++
		default:
			t.Errorf("caller %d: unexpected error %v", i, r.err)
		}
		assert.LessOrEqual(t, r.took, deadline+slack, "caller %d returned late (%v)", i, r.err)
		latest = max(latest, r.took)
	}
	t.Logf("outcomes %v; slowest call %v; longest hash %v; peak heap in use %d MiB", count, latest, h.longest, peak>>20)
	// How many go through depends on the machine (under -race on a busy
	// one, a single hash can outlast the deadline); that the gate still
	// admits work afterwards, with no slot leaked, does not.
	assert.Positive(t, count["busy"], "the flood is more than the budget and the deadlines admit")
	assert.Equal(t, callers, count["ok"]+count["busy"]+count["deadline"])
	assert.Len(t, e.allUsers(), count["ok"], "only successful calls wrote a user")
	assert.Len(t, e.allMail(), count["ok"], "only successful calls queued a mail")
	require.Less(t, peak, uint64(maxHeap), "peak heap in use %d MiB", peak>>20)

	running, waiting := users.HashGateLoad(e.m)
	assert.Zero(t, running+waiting, "no slot leaked")
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitLimit)
	defer cancel()
	require.NoError(t, e.m.Register(ctx, users.RegisterInput{Email: "after@example.com", Password: "pw"}),
		"the gate admits work after the flood (a slot leaked if this timed out)")
}

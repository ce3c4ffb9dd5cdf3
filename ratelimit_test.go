package users_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
)

// newTestLimiter returns a MemoryLimiter of points per window (and
// maxKeys, 0 for the default) on a fake clock.
func newTestLimiter(points int, window time.Duration, maxKeys int) (*users.MemoryLimiter, *fakeClock) {
	c := &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	return &users.MemoryLimiter{Points: points, Window: window, MaxKeys: maxKeys, Now: c.Now}, c
}

// The window slides: an event counts for exactly one window after it
// happened, and no more than points events fit in any window (a fixed
// window would let 2×points through across a boundary).
func TestMemoryLimiterSlidingWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, clock := newTestLimiter(3, time.Hour, 0)
	for i := range 3 {
		d, err := l.Allow(ctx, "k")
		require.NoError(t, err, i)
		assert.Zero(t, d)
		clock.Advance(10 * time.Minute) // events at 0, 10, 20 min
	}
	// 30 min: full; the oldest event (0 min) leaves at 60 min.
	d, err := l.Allow(ctx, "k")
	require.ErrorIs(t, err, users.ErrRateLimited)
	var rl *users.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, 30*time.Minute, d)
	assert.Equal(t, users.RateLimitError{Limit: 3, Window: time.Hour, RetryAfter: 30 * time.Minute}, *rl)
	assert.NotContains(t, err.Error(), `"k"`)

	// A denial is not recorded: retrying does not push the wait back.
	clock.Advance(30*time.Minute - time.Nanosecond)
	d, err = l.Allow(ctx, "k")
	require.ErrorIs(t, err, users.ErrRateLimited)
	assert.Equal(t, time.Nanosecond, d)
	clock.Advance(time.Nanosecond) // 60 min: the 0-min event leaves
	_, err = l.Allow(ctx, "k")
	require.NoError(t, err)
	_, err = l.Allow(ctx, "k")
	require.ErrorIs(t, err, users.ErrRateLimited, "10, 20 and 60 min fill the window")

	// Keys are independent.
	_, err = l.Allow(ctx, "other")
	require.NoError(t, err)
}

// A reference model (every event's time, counted in the last window)
// agrees with the limiter on a long pseudo-random sequence.
func TestMemoryLimiterMatchesModel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const points, window = 4, time.Minute
	l, clock := newTestLimiter(points, window, 1000)
	events := map[string][]time.Time{}
	seed := uint32(1)
	for i := range 5000 {
		seed = seed*1664525 + 1013904223
		key := fmt.Sprintf("k%d", seed>>28%3)
		clock.Advance(time.Duration(seed>>8%40) * time.Second)
		now := clock.Now()
		var inWindow []time.Time
		for _, e := range events[key] {
			if now.Sub(e) < window {
				inWindow = append(inWindow, e)
			}
		}
		_, err := l.Allow(ctx, key)
		if len(inWindow) < points {
			require.NoError(t, err, "event %d", i)
			events[key] = append(inWindow, now)
		} else {
			require.ErrorIs(t, err, users.ErrRateLimited, "event %d", i)
			events[key] = inWindow
		}
	}
}

func TestMemoryLimiterReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, _ := newTestLimiter(1, time.Hour, 0)
	_, err := l.Allow(ctx, "k")
	require.NoError(t, err)
	_, err = l.Allow(ctx, "k")
	require.ErrorIs(t, err, users.ErrRateLimited)
	require.NoError(t, l.Reset(ctx, "k"))
	_, err = l.Allow(ctx, "k")
	require.NoError(t, err)
	require.NoError(t, l.Reset(ctx, "never seen"))
	var _ users.Limiter = l
}

// Memory is bounded: idle keys are dropped as new events arrive, and no
// more than MaxKeys keys are ever kept (the least recently used goes).
func TestMemoryLimiterBoundedMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, clock := newTestLimiter(2, time.Minute, 100)
	for i := range 10_000 {
		_, err := l.Allow(ctx, fmt.Sprintf("flood-%d", i))
		require.NoError(t, err)
		require.LessOrEqual(t, l.Len(), 100)
	}
	// The most recent keys are the ones kept.
	_, err := l.Allow(ctx, "flood-9999")
	require.NoError(t, err)
	_, err = l.Allow(ctx, "flood-9999")
	require.ErrorIs(t, err, users.ErrRateLimited)

	// Once the window has passed, steady traffic on a few keys sweeps the
	// idle ones away.
	clock.Advance(time.Minute)
	for i := range 200 {
		clock.Advance(time.Second)
		_, _ = l.Allow(ctx, fmt.Sprintf("live-%d", i%3))
	}
	assert.LessOrEqual(t, l.Len(), 3)
}

// Under concurrent calls on one key exactly points are allowed (run with
// -race).
func TestMemoryLimiterConcurrent(t *testing.T) {
	t.Parallel()
	l := &users.MemoryLimiter{Points: 50, Window: time.Hour}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				if _, err := l.Allow(context.Background(), "shared"); err == nil {
					allowed.Add(1)
				}
				_, _ = l.Allow(context.Background(), fmt.Sprintf("g%d-%d", g, i))
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 50, allowed.Load())
}

// A misconfigured MemoryLimiter decides nothing: its Allow answers an
// error that is not a denial (so a Manager fails the operation rather than
// allow it without a limit), and New refuses it in Limits, naming the
// field.
func TestMemoryLimiterMisconfigured(t *testing.T) {
	t.Parallel()
	for name, l := range map[string]*users.MemoryLimiter{
		"zero":            {},
		"no points":       {Window: time.Hour},
		"no window":       {Points: 1},
		"negative window": {Points: 1, Window: -time.Second},
		"negative keys":   {Points: 1, Window: time.Hour, MaxKeys: -1},
	} {
		_, err := l.Allow(context.Background(), "k")
		require.Error(t, err, name)
		assert.False(t, errors.Is(err, users.ErrRateLimited), name)
		assert.Contains(t, err.Error(), "MemoryLimiter needs Points >= 1", name)
		assert.Zero(t, l.Len(), name)

		_, err = users.New(memstore.New(), memmailer.New(), limits(func(lim *users.Limits) { lim.Device = l }))
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "users: Limits.Device: MemoryLimiter needs", name)
	}
}

// The zero MaxKeys keeps the documented default of 100,000 keys.
func TestMemoryLimiterDefaultMaxKeys(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(1, time.Hour, 0)
	for i := range 100_001 {
		_, err := l.Allow(context.Background(), strconv.Itoa(i))
		require.NoError(t, err)
	}
	assert.Equal(t, 100_000, l.Len())
}

func TestRateLimitErrorMatching(t *testing.T) {
	t.Parallel()
	e := newEnv(t, limits(func(l *users.Limits) {
		l.Login = &recordingLimiter{deny: &users.RateLimitError{Limit: 10, Window: 15 * time.Minute, RetryAfter: time.Minute}}
	}))
	_, err := e.m.Authenticate(e.ctx, "a@example.com", "pw")
	require.ErrorIs(t, err, users.ErrRateLimited)
	assert.False(t, errors.Is(err, users.ErrInvalidCredentials))
	assert.Equal(t, "users: authenticate: too many requests (at most 10 per 15m0s), retry after 1m0s", err.Error(), "one prefix")
}

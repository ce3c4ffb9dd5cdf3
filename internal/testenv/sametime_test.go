package testenv

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// durations returns n durations: base plus spread times a fixed sequence
// in [-1, 1] whose median is 0.
func durations(n int, base, spread time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		x := float64((i*37)%n)/float64(n-1)*2 - 1
		out[i] = base + time.Duration(x*float64(spread))
	}
	return out
}

func TestMedianInterval(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ n, k int }{{1, 0}, {24, 7}, {48, 17}, {96, 38}, {600, 275}} {
		if got := medianInterval(c.n); got != c.k {
			t.Errorf("medianInterval(%d) = %d, want %d", c.n, got, c.k)
		}
	}
}

func TestJudgeSameTime(t *testing.T) {
	t.Parallel()
	const n = 48
	for _, c := range []struct {
		name              string
		da, db, diff      []time.Duration
		interval, samePnt bool
	}{
		{"equal and steady", durations(n, ms(20), ms(0.5)), durations(n, ms(20), ms(0.5)), durations(n, 0, ms(1)), true, true},
		// Rounds that disagree by up to 16 ms either way: the point
		// statistics agree, but so few rounds do not show it.
		{"equal but noisy", durations(n, ms(20), ms(0.5)), durations(n, ms(20), ms(0.5)), durations(n, 0, ms(16)), false, true},
		{"a hash on one path only", durations(n, ms(0.01), 0), durations(n, ms(20), ms(1)), durations(n, ms(-20), ms(1)), false, false},
		{"medians apart, rounds alike", durations(n, ms(10), 0), durations(n, ms(20), 0), durations(n, 0, ms(1)), false, false},
		{"slower cases, 2% tolerance", durations(n, ms(500), 0), durations(n, ms(508), 0), durations(n, ms(-8), ms(1)), true, true},
	} {
		v := judgeSameTime(c.da, c.db, c.diff)
		if got := v.sameInterval(); got != c.interval {
			t.Errorf("%s: sameInterval = %v, want %v (%+v)", c.name, got, c.interval, v)
		}
		if got := v.samePoint(); got != c.samePnt {
			t.Errorf("%s: samePoint = %v, want %v (%+v)", c.name, got, c.samePnt, v)
		}
	}
}

// fakeTB records what SameTime reports; its Fatalf ends the goroutine, as
// testing's does.
type fakeTB struct {
	testing.TB
	logs   []string
	failed bool
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	f.Logf(format, args...)
	runtime.Goexit()
}

func runSameTime(a, b func(int)) (*fakeTB, int) {
	f := &fakeTB{}
	rounds := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		SameTime(f, "case", func(i int) { rounds = max(rounds, i+1); a(i) }, b)
	}()
	<-done
	return f, rounds
}

// Two cases that do nothing pass at the first look; a case that
// sleeps 5 ms more is measured to the last look and fails, every round
// numbered apart.
func TestSameTime(t *testing.T) {
	t.Parallel()
	nothing := func(int) {}
	f, rounds := runSameTime(nothing, nothing)
	if f.failed || rounds != sameTimeWarmUp+sameTimeFirstLook {
		t.Errorf("same work: failed %v after %d rounds, want a pass after %d: %q", f.failed, rounds, sameTimeWarmUp+sameTimeFirstLook, f.logs)
	}

	seen := map[int]bool{}
	slower := func(i int) {
		if seen[i] {
			t.Errorf("round %d numbered twice", i)
		}
		seen[i] = true
		time.Sleep(5 * time.Millisecond)
	}
	f, rounds = runSameTime(func(int) {}, slower)
	if !f.failed || rounds != sameTimeWarmUp+SameTimeMaxRounds {
		t.Errorf("5 ms apart: failed %v after %d rounds, want a failure after %d: %q", f.failed, rounds, sameTimeWarmUp+SameTimeMaxRounds, f.logs)
	}
	if len(f.logs) != 7 { // six looks and the failure
		t.Errorf("logged %d lines, want 7: %q", len(f.logs), f.logs)
	}
}
